package io.hsmtls.token;

/**
 * How long token calls took on the thread that made them (not counting a queue before the
 * token), and of that how long that thread was blocked: neither on a CPU nor waiting for one, so
 * waiting for the token itself (a device, a network HSM, a lock in the module). A local module's
 * work is CPU time; a busy machine stretches it with run-queue waits, which are not blocked time
 * either. Sums over one or more calls.
 *
 * @param nanos        the calls' wall time on the thread that made them
 * @param blockedNanos of that, the time the thread was blocked
 */
public record CallTime(long nanos, long blockedNanos) {
    public static final CallTime ZERO = new CallTime(0, 0);

    public CallTime {
        if (nanos < 0 || blockedNanos < 0) {
            throw new IllegalArgumentException("negative call time: " + nanos + " ns, blocked " + blockedNanos + " ns");
        }
        blockedNanos = Math.min(blockedNanos, nanos);
    }

    public CallTime plus(CallTime other) {
        return new CallTime(nanos + other.nanos, blockedNanos + other.blockedNanos);
    }
}
