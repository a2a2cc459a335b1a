package io.hsmtls.token;

/**
 * Where a private-key operation runs for the calling thread. Normally on the token's own threads
 * (a lane), the caller waiting for the result, so that a call that hangs in the module holds up
 * a lane thread and not the caller. An event loop instead runs its token calls on its own thread
 * ({@link #onCallingThread()}) and watches itself for a hang. Scoped to the calling thread:
 *
 * <pre>{@code
 * try (TokenWait.Scope w = TokenWait.onCallingThread()) {
 *     ... token calls ...
 * }
 * }</pre>
 */
public final class TokenWait {
    private static final ThreadLocal<Boolean> CALLING_THREAD = new ThreadLocal<>();
    /** The last operation the thread asked for, as the thread that made the call measured it. */
    private static final ThreadLocal<CallTime> LAST_CALL = new ThreadLocal<>();

    private TokenWait() {
    }

    /** Restores the thread's previous setting on close. */
    public interface Scope extends AutoCloseable {
        @Override
        void close();
    }

    /**
     * Token calls in this scope run on the calling platform thread instead of being handed to the
     * token's own threads and waited for: two thread switches fewer per operation (measured on an
     * event loop: TLS 1.3 handshakes per CPU-second 1,141–1,562 handed over, 1,131–2,079 on the
     * loop, medians 1,407 and 1,741). The caller then owns the risk of a call that hangs: it
     * must watch its own thread (an event loop hands its connections to a new thread). Ignored on
     * a virtual thread, whose carrier a native call would pin.
     */
    public static Scope onCallingThread() {
        Boolean previous = CALLING_THREAD.get();
        CALLING_THREAD.set(Boolean.TRUE);
        return () -> {
            if (previous == null) {
                CALLING_THREAD.remove();
            } else {
                CALLING_THREAD.set(previous);
            }
        };
    }

    /** True inside {@link #onCallingThread()} on a platform thread. */
    public static boolean onCallingThreadNow() {
        return CALLING_THREAD.get() != null && !Thread.currentThread().isVirtual();
    }

    /**
     * Reports, on the thread that asked for a token operation, how long the call took on the
     * thread that made it and how long that thread was blocked in it. For a token's
     * implementation, once per operation; see {@link #takeLastCall()}.
     */
    public static void called(CallTime time) {
        LAST_CALL.set(time);
    }

    /**
     * What the calling thread's last token operation reported through {@link #called}, or null
     * when it reported nothing (a key that is not on a token's threads); reading clears it. Unlike
     * the operation's wall time as the caller saw it, neither CPU load on this machine nor a queue
     * before the token stretches the blocked time: it tells a slow token from a busy machine.
     */
    public static CallTime takeLastCall() {
        CallTime t = LAST_CALL.get();
        if (t != null) {
            LAST_CALL.remove();
        }
        return t;
    }
}
