package io.hsmtls.provision;

import io.hsmtls.token.KeyAlgorithm;
import io.hsmtls.token.KeyInfo;
import io.hsmtls.token.SignatureScheme;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.operator.DefaultSignatureAlgorithmIdentifierFinder;

/**
 * The signature a token key makes on a CSR or certificate: the token's {@link SignatureScheme}
 * and the X.509 AlgorithmIdentifier that names it. ECDSA hashes with the curve's own size
 * (P-256 → SHA-256, P-384 → SHA-384); RSA uses sha256WithRSAEncryption, or RSASSA-PSS with
 * SHA-256, MGF1-SHA-256 and a 32-byte salt when asked (RFC 4055 §3.1); Ed25519 is id-Ed25519
 * without parameters (RFC 8410 §3).
 */
public record SignatureChoice(SignatureScheme scheme, AlgorithmIdentifier algorithm) {

    /**
     * @param pss for RSA keys, sign with RSASSA-PSS rather than PKCS#1 v1.5; refused for other keys
     */
    public static SignatureChoice forKey(KeyInfo key, boolean pss) {
        if (pss && key.algorithm() != KeyAlgorithm.RSA) {
            throw new IllegalArgumentException("--pss applies to RSA keys only; key " + key.describe() + " is "
                    + key.algorithm());
        }
        return switch (key.algorithm()) {
            case EC -> switch (curve(key)) {
                case "secp256r1" -> of(SignatureScheme.ECDSA_SECP256R1_SHA256, "SHA256withECDSA");
                case "secp384r1" -> of(SignatureScheme.ECDSA_SECP384R1_SHA384, "SHA384withECDSA");
                case "secp521r1" -> of(SignatureScheme.ECDSA_SECP521R1_SHA512, "SHA512withECDSA");
                default -> throw new ProvisionException("cannot sign with key " + key.describe()
                        + ": curve not supported by hsmtls (use P-256 or P-384)");
            };
            case RSA -> pss ? of(SignatureScheme.RSA_PSS_RSAE_SHA256, "SHA256withRSAandMGF1")
                    : of(SignatureScheme.RSA_PKCS1_SHA256, "SHA256withRSA");
            case ED25519 -> of(SignatureScheme.ED25519, "Ed25519");
        };
    }

    private static String curve(KeyInfo key) {
        if (key.curve() != null) {
            return key.curve();
        }
        return key.bits() <= 256 ? "secp256r1" : key.bits() <= 384 ? "secp384r1" : "secp521r1";
    }

    private static SignatureChoice of(SignatureScheme scheme, String jcaName) {
        return new SignatureChoice(scheme, new DefaultSignatureAlgorithmIdentifierFinder().find(jcaName));
    }
}
