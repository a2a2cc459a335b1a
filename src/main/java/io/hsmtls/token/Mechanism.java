package io.hsmtls.token;

/**
 * The PKCS#11 mechanisms hsmtls itself uses, with their CKM_ codes. Listings of everything a
 * token offers use names from the wrapper; this closed set is what the code acts on.
 */
public enum Mechanism {
    CKM_RSA_PKCS_KEY_PAIR_GEN(0x0000),
    CKM_RSA_PKCS(0x0001),
    CKM_RSA_X_509(0x0003),
    CKM_RSA_PKCS_PSS(0x000D),
    CKM_EC_KEY_PAIR_GEN(0x1040),
    CKM_ECDSA(0x1041),
    CKM_EC_EDWARDS_KEY_PAIR_GEN(0x1055),
    CKM_EDDSA(0x1057);

    private final long code;

    Mechanism(long code) {
        this.code = code;
    }

    public long code() {
        return code;
    }

    public static java.util.Optional<Mechanism> ofCode(long code) {
        for (Mechanism m : values()) {
            if (m.code == code) {
                return java.util.Optional.of(m);
            }
        }
        return java.util.Optional.empty();
    }
}
