package io.hsmtls.token;

/**
 * C_Login failed. hsmtls never retries a login by itself: a retry with the same wrong PIN only
 * moves the card closer to locking. The message says how many tries the token reports left.
 */
public class LoginFailedException extends TokenException {
    private final String token;
    private final String ckr;
    private final PinTries tries;

    public LoginFailedException(String token, String ckr, PinTries tries) {
        this(token, ckr, tries, "login to token '" + token + "' failed (" + ckr + "): "
                + tries.describe() + "; hsmtls does not retry: check the PIN and run again");
    }

    protected LoginFailedException(String token, String ckr, PinTries tries, String message) {
        super(message);
        this.token = token;
        this.ckr = ckr;
        this.tries = tries;
    }

    public String token() {
        return token;
    }

    /** The PKCS#11 return code by name, e.g. {@code CKR_PIN_INCORRECT}. */
    public String ckr() {
        return ckr;
    }

    public PinTries tries() {
        return tries;
    }

    /** What the token says about the remaining PIN tries (CKF_USER_PIN_* flags). */
    public enum PinTries {
        UNKNOWN("the token does not say how many tries are left"),
        OK("the token reports no low try count"),
        COUNT_LOW("the token reports the PIN try count is low (CKF_USER_PIN_COUNT_LOW)"),
        FINAL_TRY("one try left before the PIN locks (CKF_USER_PIN_FINAL_TRY)"),
        LOCKED("the PIN is locked (CKF_USER_PIN_LOCKED): unblock it with the SO PIN");

        private final String text;

        PinTries(String text) {
            this.text = text;
        }

        public String describe() {
            return text;
        }
    }
}
