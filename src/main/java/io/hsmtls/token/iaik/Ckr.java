package io.hsmtls.token.iaik;

import io.hsmtls.token.CkrClass;
import io.hsmtls.token.TokenOperationException;
import org.xipki.pkcs11.wrapper.PKCS11Constants;

/** PKCS#11 return codes by name, and the mapping of wrapper exceptions onto hsmtls's typed errors. */
final class Ckr {
    static final long CKR_ATTRIBUTE_SENSITIVE = 0x11;
    static final long CKR_PIN_INCORRECT = 0xA0;
    static final long CKR_PIN_INVALID = 0xA1;
    static final long CKR_PIN_LEN_RANGE = 0xA2;
    static final long CKR_PIN_EXPIRED = 0xA3;
    static final long CKR_PIN_LOCKED = 0xA4;
    static final long CKR_USER_ALREADY_LOGGED_IN = 0x100;
    static final long CKR_USER_NOT_LOGGED_IN = 0x101;
    static final long CKR_CRYPTOKI_ALREADY_INITIALIZED = 0x191;

    private Ckr() {
    }

    /** e.g. {@code CKR_PIN_INCORRECT}; unknown (vendor) codes print as {@code CKR_0x80000001}. */
    static String name(long code) {
        String n = PKCS11Constants.codeToName(PKCS11Constants.Category.CKR, code);
        if (n == null || n.isEmpty() || n.startsWith("unknown")) {
            return "CKR_0x" + Long.toHexString(code).toUpperCase(java.util.Locale.ROOT);
        }
        return n;
    }

    /** The return code carried by either of the wrapper's exception types, or -1 when there is none. */
    static long code(Throwable e) {
        if (e instanceof org.xipki.pkcs11.wrapper.PKCS11Exception x) {
            return x.getErrorCode();
        }
        if (e instanceof iaik.pkcs.pkcs11.wrapper.PKCS11Exception x) {
            return x.getErrorCode();
        }
        return -1;
    }

    static CkrClass classOf(Throwable e) {
        long c = code(e);
        return c < 0 ? CkrClass.OTHER : CkrClass.of(c);
    }

    /** A TokenOperationException for a failed call, e.g. {@code C_Sign with key 'web' on token 't'}. */
    static TokenOperationException failure(String operation, Throwable e) {
        long c = code(e);
        if (c < 0) {
            return new TokenOperationException(operation, 0x5, "CKR_GENERAL_ERROR (" + e.getClass().getSimpleName()
                    + ": " + e.getMessage() + ")", e);
        }
        return new TokenOperationException(operation, c, name(c), e);
    }
}
