package io.hsmtls.token;

import java.util.Arrays;
import java.util.stream.Collectors;

/** The key types hsmtls generates, by their command-line names. */
public enum KeyType {
    EC_P256("ec-p256", KeyAlgorithm.EC, 256, "secp256r1", "1.2.840.10045.3.1.7"),
    EC_P384("ec-p384", KeyAlgorithm.EC, 384, "secp384r1", "1.3.132.0.34"),
    RSA_2048("rsa-2048", KeyAlgorithm.RSA, 2048, null, null),
    RSA_3072("rsa-3072", KeyAlgorithm.RSA, 3072, null, null),
    RSA_4096("rsa-4096", KeyAlgorithm.RSA, 4096, null, null),
    ED25519("ed25519", KeyAlgorithm.ED25519, 255, "ed25519", "1.3.101.112");

    private final String cliName;
    private final KeyAlgorithm algorithm;
    private final int bits;
    private final String curve;
    private final String curveOid;

    KeyType(String cliName, KeyAlgorithm algorithm, int bits, String curve, String curveOid) {
        this.cliName = cliName;
        this.algorithm = algorithm;
        this.bits = bits;
        this.curve = curve;
        this.curveOid = curveOid;
    }

    public String cliName() {
        return cliName;
    }

    public KeyAlgorithm algorithm() {
        return algorithm;
    }

    /** Modulus bits for RSA, field size for EC. */
    public int bits() {
        return bits;
    }

    /** Curve name (secp256r1, secp384r1, ed25519), or null for RSA. */
    public String curve() {
        return curve;
    }

    /** The curve's OID in dotted form (the CKA_EC_PARAMS namedCurve), or null for RSA. */
    public String curveOid() {
        return curveOid;
    }

    public static KeyType fromCliName(String name) {
        for (KeyType t : values()) {
            if (t.cliName.equalsIgnoreCase(name)) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown key type '" + name + "': use one of "
                + Arrays.stream(values()).map(KeyType::cliName).collect(Collectors.joining(", ")));
    }

    @Override
    public String toString() {
        return cliName;
    }
}
