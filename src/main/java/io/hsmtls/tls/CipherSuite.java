package io.hsmtls.tls;

import java.util.Optional;

/**
 * The cipher suites hsmtls may offer, with their IANA code points. Only AEAD suites: TLS 1.3's,
 * TLS 1.2 ECDHE with AES-GCM or ChaCha20-Poly1305, and (legacy-rsa only) TLS 1.2 RSA key
 * exchange with AES-GCM.
 */
public enum CipherSuite {
    TLS_AES_128_GCM_SHA256(0x1301, TlsVersion.TLS_1_3, null),
    TLS_AES_256_GCM_SHA384(0x1302, TlsVersion.TLS_1_3, null),
    TLS_CHACHA20_POLY1305_SHA256(0x1303, TlsVersion.TLS_1_3, null),
    TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256(0xC02B, TlsVersion.TLS_1_2, Kx.ECDHE_ECDSA),
    TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384(0xC02C, TlsVersion.TLS_1_2, Kx.ECDHE_ECDSA),
    TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256(0xCCA9, TlsVersion.TLS_1_2, Kx.ECDHE_ECDSA),
    TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256(0xC02F, TlsVersion.TLS_1_2, Kx.ECDHE_RSA),
    TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384(0xC030, TlsVersion.TLS_1_2, Kx.ECDHE_RSA),
    TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256(0xCCA8, TlsVersion.TLS_1_2, Kx.ECDHE_RSA),
    TLS_RSA_WITH_AES_128_GCM_SHA256(0x009C, TlsVersion.TLS_1_2, Kx.RSA),
    TLS_RSA_WITH_AES_256_GCM_SHA384(0x009D, TlsVersion.TLS_1_2, Kx.RSA);

    /** TLS 1.2 key exchange: which key the suite needs and what the token does for it. */
    public enum Kx {
        /** Token signs the ServerKeyExchange with an EC (or Ed25519) key. */
        ECDHE_ECDSA,
        /** Token signs the ServerKeyExchange with an RSA key. */
        ECDHE_RSA,
        /** Token decrypts the client's premaster with an RSA key (no forward secrecy). */
        RSA
    }

    private final int code;
    private final TlsVersion version;
    private final Kx kx;

    CipherSuite(int code, TlsVersion version, Kx kx) {
        this.code = code;
        this.version = version;
        this.kx = kx;
    }

    public int code() {
        return code;
    }

    public TlsVersion version() {
        return version;
    }

    /** The TLS 1.2 key exchange, or null for TLS 1.3 suites. */
    public Kx kx() {
        return kx;
    }

    public static Optional<CipherSuite> ofCode(int code) {
        for (CipherSuite s : values()) {
            if (s.code == code) {
                return Optional.of(s);
            }
        }
        return Optional.empty();
    }

    /** The IANA name, or hex for a suite outside this set. */
    public static String nameOf(int code) {
        // orElseGet: the hex string is built only for an unknown suite, not on every handshake.
        return ofCode(code).map(Enum::name).orElseGet(() -> String.format("0x%04X", code));
    }
}
