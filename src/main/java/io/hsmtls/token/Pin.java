package io.hsmtls.token;

import java.util.Arrays;

/**
 * A PIN in memory. Closing it overwrites the characters; it never prints, in {@code toString()},
 * a log or an exception. Comes only from a {@link PinSource}, never from a command line.
 */
public final class Pin implements AutoCloseable {
    private final char[] chars;
    private volatile boolean closed;

    private Pin(char[] chars) {
        this.chars = chars;
    }

    /** Takes ownership of {@code chars}: the caller must not keep or reuse the array. */
    public static Pin of(char[] chars) {
        return new Pin(chars);
    }

    /**
     * The characters, for the one call that hands them to the token ({@code C_Login}). The array is
     * the Pin's own: do not keep it, and do not use it after {@link #close()}.
     */
    public char[] reveal() {
        if (closed) {
            throw new IllegalStateException("PIN already closed (zeroed)");
        }
        return chars;
    }

    public boolean isEmpty() {
        return chars.length == 0;
    }

    public boolean isClosed() {
        return closed;
    }

    /** A copy with its own lifetime, for a cache that outlives the caller's Pin. */
    public Pin copy() {
        return new Pin(reveal().clone());
    }

    @Override
    public void close() {
        closed = true;
        Arrays.fill(chars, '\0');
    }

    @Override
    public String toString() {
        return "Pin[redacted]";
    }
}
