package io.hsmtls.tls.client;

import io.hsmtls.tls.CertificateRejectedException;

/**
 * The server's certificate was not accepted. Each kind has its own message, so a user can tell an
 * unknown CA from a wrong host name or an expired certificate; the message names the certificate.
 */
public final class ServerCertificateException extends Exception {
    public enum Kind {
        UNKNOWN_CA, EXPIRED, NOT_YET_VALID, HOST_MISMATCH, BAD_USAGE, BAD_SIGNATURE, EMPTY, OTHER;

        static Kind of(CertificateRejectedException.Reason r) {
            return switch (r) {
                case UNKNOWN_CA -> UNKNOWN_CA;
                case EXPIRED -> EXPIRED;
                case NOT_YET_VALID -> NOT_YET_VALID;
                case BAD_USAGE -> BAD_USAGE;
                case BAD_SIGNATURE -> BAD_SIGNATURE;
                case EMPTY -> EMPTY;
                case MALFORMED, OTHER -> OTHER;
            };
        }
    }

    private final Kind kind;

    public ServerCertificateException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }
}
