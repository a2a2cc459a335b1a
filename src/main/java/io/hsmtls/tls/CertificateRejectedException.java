package io.hsmtls.tls;

import java.security.cert.X509Certificate;
import java.util.Optional;

/** A peer's certificate chain failed validation; the message names the certificate and the reason. */
public final class CertificateRejectedException extends Exception {
    /** Why, in a form the TLS engine maps to an alert. */
    public enum Reason { EXPIRED, NOT_YET_VALID, UNKNOWN_CA, BAD_SIGNATURE, BAD_USAGE, EMPTY, MALFORMED, OTHER }

    private final Reason reason;
    private final transient X509Certificate certificate;

    public CertificateRejectedException(Reason reason, X509Certificate certificate, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
        this.certificate = certificate;
    }

    public Reason reason() {
        return reason;
    }

    /** The certificate that failed, when one can be named. */
    public Optional<X509Certificate> certificate() {
        return Optional.ofNullable(certificate);
    }
}
