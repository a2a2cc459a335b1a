package io.hsmtls.tls;

/**
 * Told about every private-key operation a handshake makes (the audit log, metrics). Called on the
 * handshake's thread right after the operation; an exception fails that handshake, so a key use
 * that could not be recorded is not followed by a completed handshake.
 */
@FunctionalInterface
public interface KeyUseListener {
    void keyUsed(KeyUse use);
}
