package io.hsmtls.token;

/** The user PIN is locked or expired: nothing hsmtls may do about it without the SO. */
public final class PinLockedException extends LoginFailedException {
    public PinLockedException(String token, String ckr) {
        super(token, ckr, PinTries.LOCKED, "login to token '" + token + "' refused (" + ckr
                + "): the user PIN is locked or expired; unblock or change it with the SO PIN, then run again");
    }
}
