package io.hsmtls.tls;

/** The protocol versions hsmtls negotiates; older ones are never offered. */
public enum TlsVersion {
    TLS_1_2("TLSv1.2"), TLS_1_3("TLSv1.3");

    private final String display;

    TlsVersion(String display) {
        this.display = display;
    }

    /** The JSSE/OpenSSL spelling, e.g. {@code TLSv1.3}. */
    public String display() {
        return display;
    }

    @Override
    public String toString() {
        return display;
    }
}
