package io.hsmtls.provision;

/**
 * A provisioning step was refused for a reason the user can fix (the key exists, the certificate
 * belongs to another key, the file holds no certificate). The message follows "what failed
 * (values): why, and what to do".
 */
public final class ProvisionException extends RuntimeException {
    public ProvisionException(String message) {
        super(message);
    }

    public ProvisionException(String message, Throwable cause) {
        super(message, cause);
    }
}
