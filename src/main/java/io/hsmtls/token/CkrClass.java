package io.hsmtls.token;

/**
 * How hsmtls reacts to a PKCS#11 return code. Transient: retry once on a fresh session. Device:
 * mark the token down and re-initialise the module. Credential: stop, never retry (a retry can
 * lock a card). Other: fail this operation only.
 */
public enum CkrClass {
    OK("no error"),
    TRANSIENT("the session or handle went stale; retried once on a fresh session"),
    DEVICE("the token or its link failed; hsmtls marks it down and re-initialises it"),
    CREDENTIAL("the PIN was refused, is locked or expired; hsmtls does not retry"),
    OTHER("the token refused this operation");

    private final String advice;

    CkrClass(String advice) {
        this.advice = advice;
    }

    public String advice() {
        return advice;
    }

    public static CkrClass of(long ckr) {
        return switch ((int) ckr) {
            case 0x000 -> OK;
            // CKR_SESSION_HANDLE_INVALID, CKR_SESSION_CLOSED, CKR_OBJECT_HANDLE_INVALID,
            // CKR_KEY_HANDLE_INVALID, CKR_USER_NOT_LOGGED_IN
            case 0x0B3, 0x0B0, 0x082, 0x060, 0x101 -> TRANSIENT;
            // CKR_GENERAL_ERROR, CKR_DEVICE_ERROR, CKR_DEVICE_REMOVED, CKR_TOKEN_NOT_PRESENT,
            // CKR_CRYPTOKI_NOT_INITIALIZED, CKR_DEVICE_MEMORY, CKR_TOKEN_NOT_RECOGNIZED
            case 0x005, 0x030, 0x032, 0x0E0, 0x190, 0x031, 0x0E1 -> DEVICE;
            // CKR_PIN_INCORRECT, CKR_PIN_LOCKED, CKR_PIN_EXPIRED, CKR_PIN_INVALID, CKR_PIN_LEN_RANGE
            case 0x0A0, 0x0A4, 0x0A3, 0x0A1, 0x0A2 -> CREDENTIAL;
            default -> OTHER;
        };
    }
}
