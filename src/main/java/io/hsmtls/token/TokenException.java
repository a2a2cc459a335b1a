package io.hsmtls.token;

/**
 * Root of the token errors. Unchecked, because they cross Bouncy Castle's callbacks; each subtype
 * carries the offending value so callers and tests can act on it, and its message follows
 * "what failed (values): why, and what to do". Never a PIN or key byte in a message.
 */
public abstract class TokenException extends RuntimeException {
    protected TokenException(String message) {
        super(message);
    }

    protected TokenException(String message, Throwable cause) {
        super(message, cause);
    }
}
