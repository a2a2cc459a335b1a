package io.hsmtls.tls;

import java.util.Locale;

/** Whether the server asks for a client certificate, and whether it insists on one. */
public enum ClientAuthMode {
    /** No CertificateRequest. */
    NONE,
    /** CertificateRequest sent; a client without a certificate proceeds, one with a bad chain is refused. */
    OPTIONAL,
    /** A client without a valid certificate gets certificate_required (TLS 1.3) or handshake_failure (TLS 1.2). */
    REQUIRED;

    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public boolean requests() {
        return this != NONE;
    }

    public static ClientAuthMode fromCliName(String name) {
        for (ClientAuthMode m : values()) {
            if (m.cliName().equalsIgnoreCase(name)) {
                return m;
            }
        }
        throw new IllegalArgumentException("unknown client-auth mode '" + name + "': use none, optional or required");
    }
}
