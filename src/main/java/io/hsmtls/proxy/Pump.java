package io.hsmtls.proxy;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Copies bytes both ways between two endpoints at once, one virtual thread per direction, with
 * blocking I/O. End of stream in one direction is passed on as a half-close of the other side's
 * output, so request/response protocols that half-close keep working; the pump ends when both
 * directions have ended, or at the first error, or when neither direction moved for the idle
 * timeout — then both endpoints are closed.
 */
public final class Pump {
    /** A full TLS record's worth: what bulk transfer reads at a time. */
    static final int LARGE = 16 * 1024;
    /**
     * What a direction waits with. Most proxied connections sit idle most of the time, blocked in
     * a read, and the buffer that read holds is their largest per-connection allocation (two
     * 16 KiB buffers were ~30 of ~50 KiB live heap per idle connection). So a direction reads
     * small until a read fills the buffer, switches to {@link #LARGE} while data streams, and goes
     * back to small after a short read: an idle connection holds 2 × 1 KiB.
     */
    static final int SMALL = 1024;

    /**
     * What one pump did.
     *
     * @param aToB    bytes copied from a to b (client to backend in the proxy)
     * @param bToA    bytes copied from b to a
     * @param idle    true when the idle timeout ended it
     * @param failure the first I/O error in either direction, if any (not a plain close)
     */
    public record Result(long aToB, long bToA, boolean idle, Optional<IOException> failure) {
    }

    private Pump() {
    }

    /**
     * Runs until both directions end; closes both endpoints before returning.
     *
     * @param idleTimeout no data either way for this long ends the pump; zero or negative = never
     */
    public static Result run(Endpoint a, Endpoint b, Duration idleTimeout) throws InterruptedException {
        AtomicLong lastActivity = new AtomicLong(System.nanoTime());
        AtomicLong aToB = new AtomicLong();
        AtomicLong bToA = new AtomicLong();
        AtomicReference<IOException> failure = new AtomicReference<>();
        AtomicBoolean ended = new AtomicBoolean();
        Thread up = Thread.ofVirtual().name("pump-a-b").start(
                () -> copy(a, b, aToB, lastActivity, failure, ended, a, b));
        Thread down = Thread.ofVirtual().name("pump-b-a").start(
                () -> copy(b, a, bToA, lastActivity, failure, ended, a, b));
        boolean idle = false;
        try {
            if (idleTimeout == null || idleTimeout.isZero() || idleTimeout.isNegative()) {
                up.join();
                down.join();
            } else {
                long limit = idleTimeout.toNanos();
                while (up.isAlive() || down.isAlive()) {
                    long quiet = System.nanoTime() - lastActivity.get();
                    if (quiet >= limit) {
                        idle = true;
                        closeQuietly(a);
                        closeQuietly(b);
                        up.join();
                        down.join();
                        break;
                    }
                    long waitMs = Math.max(1, (limit - quiet) / 1_000_000 + 1);
                    Thread alive = up.isAlive() ? up : down;
                    alive.join(waitMs);
                }
            }
        } finally {
            closeQuietly(a);
            closeQuietly(b);
            up.join();
            down.join();
        }
        IOException f = idle ? null : failure.get();
        return new Result(aToB.get(), bToA.get(), idle, Optional.ofNullable(f));
    }

    private static void copy(Endpoint from, Endpoint to, AtomicLong count, AtomicLong lastActivity,
                             AtomicReference<IOException> failure, AtomicBoolean ended, Endpoint a, Endpoint b) {
        byte[] buf = new byte[SMALL];
        try {
            InputStream in = from.in();
            OutputStream out = to.out();
            int n;
            while ((n = in.read(buf)) >= 0) {
                if (n == 0) {
                    continue;
                }
                out.write(buf, 0, n);
                out.flush();
                count.addAndGet(n);
                lastActivity.set(System.nanoTime());
                buf = nextBuffer(buf, n);
            }
            ended.set(true);
            to.shutdownOutput();
        } catch (IOException e) {
            // After the other direction ended cleanly, a transport that cannot half-close (TLS in
            // Bouncy Castle) closes both ways: the error that follows here is that close, not a failure.
            if (!ended.get()) {
                failure.compareAndSet(null, e);
            }
            closeQuietly(a);
            closeQuietly(b);
        }
    }

    /** The buffer for the next read: large while reads fill what they get, small after a short one. */
    static byte[] nextBuffer(byte[] buf, int lastRead) {
        if (lastRead == buf.length && buf.length < LARGE) {
            return new byte[LARGE];
        }
        if (lastRead < SMALL && buf.length > SMALL) {
            return new byte[SMALL];
        }
        return buf;
    }

    static void closeQuietly(Endpoint e) {
        try {
            e.close();
        } catch (IOException ignored) {
            // closing after an error or for shutdown: nothing useful to report
        }
    }
}
