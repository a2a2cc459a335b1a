package io.hsmtls.token;

import java.util.Set;

/**
 * A slot and its token as C_GetSlotInfo/C_GetTokenInfo describe them.
 *
 * @param flags CKF_ names of the token flags that are set, e.g. {@code CKF_LOGIN_REQUIRED}
 */
public record TokenInfo(long slotId, String slotDescription, boolean tokenPresent, String label, String manufacturer,
                        String model, String serial, Set<String> flags, long maxSessions, long sessionCount,
                        long maxRwSessions, long rwSessionCount) {
    public TokenInfo {
        flags = Set.copyOf(flags);
    }

    public boolean protectedAuthenticationPath() {
        return flags.contains("CKF_PROTECTED_AUTHENTICATION_PATH");
    }

    public boolean loginRequired() {
        return flags.contains("CKF_LOGIN_REQUIRED");
    }

    public LoginFailedException.PinTries pinTries() {
        if (flags.contains("CKF_USER_PIN_LOCKED")) return LoginFailedException.PinTries.LOCKED;
        if (flags.contains("CKF_USER_PIN_FINAL_TRY")) return LoginFailedException.PinTries.FINAL_TRY;
        if (flags.contains("CKF_USER_PIN_COUNT_LOW")) return LoginFailedException.PinTries.COUNT_LOW;
        return LoginFailedException.PinTries.OK;
    }

    /** "label (serial S, slot N)", as error messages list tokens. */
    public String describe() {
        return (tokenPresent ? "'" + label + "'" : "<no token>") + " (serial " + serial + ", slot " + slotId + ")";
    }
}
