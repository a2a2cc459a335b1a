package io.hsmtls.cli;

/**
 * A command could not do its job for a reason the user can act on (refused confirmation, no
 * terminal to ask on, a file that exists). Exit code 1; the message is printed as it is.
 */
public final class OperationFailedException extends RuntimeException {
    public OperationFailedException(String message) {
        super(message);
    }
}
