package io.hsmtls.token;

import java.time.Duration;

/**
 * How long the calling thread is willing to wait for a private-key operation, when that is less
 * than the token's own deadline. An event loop that calls the token waits with every connection
 * it carries: past this limit the call gives up with {@link TokenUnavailableException.Reason#DEADLINE}
 * while the operation itself runs on (its result is dropped), and the token is not marked hung —
 * it may only be slow, which is for the caller to act on. Scoped to the calling thread:
 *
 * <pre>{@code
 * try (TokenWait.Scope w = TokenWait.atMost(Duration.ofMillis(200))) {
 *     ... token calls ...
 * }
 * }</pre>
 */
public final class TokenWait {
    private static final ThreadLocal<Long> LIMIT = new ThreadLocal<>();

    private TokenWait() {
    }

    /** Restores the thread's previous limit on close. */
    public interface Scope extends AutoCloseable {
        @Override
        void close();
    }

    public static Scope atMost(Duration limit) {
        if (limit.isNegative() || limit.isZero()) {
            throw new IllegalArgumentException("token wait limit must be positive: " + limit);
        }
        Long previous = LIMIT.get();
        LIMIT.set(limit.toNanos());
        return () -> {
            if (previous == null) {
                LIMIT.remove();
            } else {
                LIMIT.set(previous);
            }
        };
    }

    /** The calling thread's limit in nanoseconds, or 0 when it has none. */
    public static long limitNanos() {
        Long l = LIMIT.get();
        return l == null ? 0 : l;
    }
}
