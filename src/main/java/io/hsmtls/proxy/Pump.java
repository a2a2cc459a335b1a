package io.hsmtls.proxy;

import io.hsmtls.tls.Deadlines;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Copies bytes both ways between two endpoints at once, the caller's thread one way and a
 * virtual thread the other, with blocking I/O. End of stream in one direction is passed on as a
 * half-close of the other side's output, so request/response protocols that half-close keep
 * working; the pump ends when both
 * directions have ended, or at the first error, or when neither direction moved for the idle
 * timeout — then both endpoints are closed.
 */
public final class Pump {
    /**
     * What bulk transfer reads at a time: four full TLS records. Each read and each write is a
     * system call (on loopback the sender also pays for the receiver's TCP work), and they were
     * most of the proxy's CPU per byte; a TLS endpoint that sends the records of one write in one
     * go (ours does) turns a 64 KiB read into one write instead of four.
     */
    static final int LARGE = 64 * 1024;
    /**
     * What a direction waits with. Most proxied connections sit idle most of the time, blocked in
     * a read, and the buffer that read holds is their largest per-connection allocation (two
     * 16 KiB buffers were ~30 of ~50 KiB live heap per idle connection). So a direction reads
     * small until a read fills the buffer, grows (×4 per full read, up to {@link #LARGE}) while
     * data streams, and goes back to small after a short read: an idle connection holds 2 × 1 KiB.
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
     * Runs until both directions end; closes both endpoints before returning. The calling thread
     * copies a to b itself and one virtual thread copies b to a: an idle proxied connection is two
     * parked threads, not three.
     *
     * @param idleTimeout no data either way for this long ends the pump; zero or negative = never
     */
    public static Result run(Endpoint a, Endpoint b, Duration idleTimeout) throws InterruptedException {
        AtomicLong lastActivity = new AtomicLong(System.nanoTime());
        AtomicLong aToB = new AtomicLong();
        AtomicLong bToA = new AtomicLong();
        AtomicReference<IOException> failure = new AtomicReference<>();
        AtomicBoolean ended = new AtomicBoolean();
        AtomicBoolean idle = new AtomicBoolean();
        Thread down = Thread.ofVirtual().name("pump-b-a").start(
                () -> copy(b, a, bToA, lastActivity, failure, ended, a, b));
        IdleWatch watch = idleTimeout == null || idleTimeout.isZero() || idleTimeout.isNegative() ? null
                : new IdleWatch(idleTimeout.toNanos(), lastActivity, idle, a, b);
        try {
            copy(a, b, aToB, lastActivity, failure, ended, a, b);
            down.join();
        } finally {
            if (watch != null) {
                watch.stop();
            }
            closeQuietly(a);
            closeQuietly(b);
            down.join();
        }
        IOException f = idle.get() ? null : failure.get();
        return new Result(aToB.get(), bToA.get(), idle.get(), Optional.ofNullable(f));
    }

    /** Closes both endpoints once neither direction has moved for the limit; re-arms itself otherwise. */
    private static final class IdleWatch implements Runnable {
        private final long limit;
        private final AtomicLong lastActivity;
        private final AtomicBoolean idle;
        private final Endpoint a;
        private final Endpoint b;
        private Deadlines.Entry next;
        private boolean stopped;

        IdleWatch(long limit, AtomicLong lastActivity, AtomicBoolean idle, Endpoint a, Endpoint b) {
            this.limit = limit;
            this.lastActivity = lastActivity;
            this.idle = idle;
            this.a = a;
            this.b = b;
            arm(limit);
        }

        private synchronized void arm(long delayNanos) {
            if (!stopped) {
                // On the shared coarse deadlines (see there): arming and stopping wake nobody.
                next = Deadlines.shared().after(Duration.ofNanos(delayNanos), this);
            }
        }

        @Override
        public void run() {
            long quiet = System.nanoTime() - lastActivity.get();
            if (quiet < limit) {
                arm(limit - quiet);
                return;
            }
            synchronized (this) {
                if (stopped) {
                    return;
                }
                idle.set(true);
            }
            // Not here on the deadlines' thread, which every connection's timeouts share: closing
            // TLS sends close_notify, which waits (up to a grace) on a peer that stopped reading.
            Thread.ofVirtual().name("idle-close").start(() -> {
                closeQuietly(a);
                closeQuietly(b);
            });
        }

        synchronized void stop() {
            stopped = true;
            if (next != null) {
                next.cancel();
            }
        }
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
                // Shrinking while more input is already here would only regrow the buffer
                // (and split the stream into small writes); it is for a direction about to wait.
                buf = n < SMALL && buf.length > SMALL && in.available() > 0 ? buf : nextBuffer(buf, n);
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

    /**
     * The buffer for the next read: growing while reads fill what they get, small after a short
     * one. Growing in steps keeps a burst that fills 1 KiB now and then from allocating 64 KiB.
     */
    static byte[] nextBuffer(byte[] buf, int lastRead) {
        if (lastRead == buf.length && buf.length < LARGE) {
            return new byte[Math.min(LARGE, buf.length * 4)];
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
