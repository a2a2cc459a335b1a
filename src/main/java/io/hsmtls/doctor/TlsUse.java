package io.hsmtls.doctor;

/**
 * The ways a server key is used in TLS, each needing something different of the token: TLS 1.3
 * signs the handshake (RSA keys must use RSA-PSS, RFC 8446 §4.2.3); TLS 1.2 ECDHE signs the
 * ServerKeyExchange (PKCS#1 v1.5 allowed, RFC 5246 §7.4.3); TLS 1.2 RSA key exchange decrypts the
 * client's premaster on the token (RFC 5246 §7.4.7.1, profile legacy-rsa only).
 */
public enum TlsUse {
    TLS_1_3("TLS 1.3", "tls1.3"),
    TLS_1_2_ECDHE("TLS 1.2 ECDHE", "tls1.2-ecdhe"),
    TLS_1_2_RSA_KEY_EXCHANGE("TLS 1.2 RSA key exchange (legacy-rsa)", "tls1.2-rsa-kx");

    private final String display;
    private final String id;

    TlsUse(String display, String id) {
        this.display = display;
        this.id = id;
    }

    /** How the report names it, e.g. "TLS 1.2 ECDHE". */
    public String display() {
        return display;
    }

    /** A stable key for JSON, e.g. {@code tls1.2-ecdhe}. */
    public String id() {
        return id;
    }
}
