package io.hsmtls.tls;

import java.time.Duration;

/**
 * Time one connection's handshake spent waiting for the token (queue plus call), and how many
 * operations it made. One per handshake; only that handshake's thread writes it.
 */
public final class TokenTimer {
    private long nanos;
    private int operations;

    /** Records one token operation that started at {@code startNanos} ({@link System#nanoTime()}). */
    public void add(long startNanos) {
        nanos += System.nanoTime() - startNanos;
        operations++;
    }

    public Duration elapsed() {
        return Duration.ofNanos(nanos);
    }

    public int operations() {
        return operations;
    }
}
