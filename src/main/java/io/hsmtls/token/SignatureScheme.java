package io.hsmtls.token;

import java.util.Optional;

/**
 * TLS signature schemes (RFC 8446 §4.2.3) with what the token must do for each. For every scheme
 * except Ed25519 the JVM hashes and the token signs the digest; Ed25519 ({@code CKM_EDDSA}) signs
 * the whole message. Signatures come out in the TLS/X.509 encoding: DER for ECDSA, raw for RSA
 * and Ed25519.
 */
public enum SignatureScheme {
    ECDSA_SECP256R1_SHA256(0x0403, KeyAlgorithm.EC, "SHA-256", "secp256r1", Mechanism.CKM_ECDSA),
    ECDSA_SECP384R1_SHA384(0x0503, KeyAlgorithm.EC, "SHA-384", "secp384r1", Mechanism.CKM_ECDSA),
    ECDSA_SECP521R1_SHA512(0x0603, KeyAlgorithm.EC, "SHA-512", "secp521r1", Mechanism.CKM_ECDSA),
    RSA_PSS_RSAE_SHA256(0x0804, KeyAlgorithm.RSA, "SHA-256", null, Mechanism.CKM_RSA_PKCS_PSS),
    RSA_PSS_RSAE_SHA384(0x0805, KeyAlgorithm.RSA, "SHA-384", null, Mechanism.CKM_RSA_PKCS_PSS),
    RSA_PSS_RSAE_SHA512(0x0806, KeyAlgorithm.RSA, "SHA-512", null, Mechanism.CKM_RSA_PKCS_PSS),
    RSA_PKCS1_SHA256(0x0401, KeyAlgorithm.RSA, "SHA-256", null, Mechanism.CKM_RSA_PKCS),
    RSA_PKCS1_SHA384(0x0501, KeyAlgorithm.RSA, "SHA-384", null, Mechanism.CKM_RSA_PKCS),
    RSA_PKCS1_SHA512(0x0601, KeyAlgorithm.RSA, "SHA-512", null, Mechanism.CKM_RSA_PKCS),
    ED25519(0x0807, KeyAlgorithm.ED25519, null, "ed25519", Mechanism.CKM_EDDSA);

    private final int code;
    private final KeyAlgorithm keyAlgorithm;
    private final String hash;
    private final String curve;
    private final Mechanism mechanism;

    SignatureScheme(int code, KeyAlgorithm keyAlgorithm, String hash, String curve, Mechanism mechanism) {
        this.code = code;
        this.keyAlgorithm = keyAlgorithm;
        this.hash = hash;
        this.curve = curve;
        this.mechanism = mechanism;
    }

    /** The TLS SignatureScheme code point. */
    public int code() {
        return code;
    }

    public KeyAlgorithm keyAlgorithm() {
        return keyAlgorithm;
    }

    /** JCA digest name, or null for Ed25519 (which hashes inside the signature). */
    public String hash() {
        return hash;
    }

    /** True when the JVM hashes and the token signs the digest. */
    public boolean prehashed() {
        return hash != null;
    }

    /** For ECDSA and Ed25519, the curve the key must be on (TLS 1.3 binds curve to scheme). */
    public String curve() {
        return curve;
    }

    public Mechanism mechanism() {
        return mechanism;
    }

    public boolean isPss() {
        return mechanism == Mechanism.CKM_RSA_PKCS_PSS;
    }

    /** RSA PKCS#1 v1.5 signatures are not allowed in TLS 1.3 handshakes (RFC 8446 §4.2.3). */
    public boolean allowedInTls13() {
        return mechanism != Mechanism.CKM_RSA_PKCS;
    }

    /** Digest length in bytes (also the PSS salt length TLS requires), 0 for Ed25519. */
    public int hashLength() {
        return hash == null ? 0 : Integer.parseInt(hash.substring(4)) / 8;
    }

    public static Optional<SignatureScheme> ofCode(int code) {
        for (SignatureScheme s : values()) {
            if (s.code == code) {
                return Optional.of(s);
            }
        }
        return Optional.empty();
    }

    /** The lower-case TLS name, e.g. {@code ecdsa_secp256r1_sha256}. */
    public String tlsName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
