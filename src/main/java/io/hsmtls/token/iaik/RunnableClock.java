package io.hsmtls.token.iaik;

import io.hsmtls.token.CallTime;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.lang.ref.Cleaner;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * How long the current thread has been runnable: on a CPU (its CPU time) or ready and waiting
 * for one (the kernel's run delay, the second field of {@code /proc/thread-self/schedstat}). Taken
 * before and after a token call, the difference is what the call cost the machine's CPUs; the
 * rest of the call's wall time the thread was blocked, waiting for the token itself (a device, a
 * network HSM, a lock in the module). A wall time alone cannot tell a slow token from a busy
 * machine: under CPU load a local SoftHSM signature that takes 0.7 ms of CPU spends several ms in
 * the run queue.
 *
 * <p>Each thread keeps its schedstat file open (one read per look, not open-read-close); the file
 * is closed when the thread is gone. Without schedstat (an old or restricted kernel) the run delay
 * counts as 0, so a busy machine looks like a slower token, as a wall time would.
 */
final class RunnableClock {
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    private static final boolean CPU_TIME = THREADS.isCurrentThreadCpuTimeSupported();
    private static final Cleaner CLEANER = Cleaner.create();
    private static final Path SCHEDSTAT = Path.of("/proc/thread-self/schedstat");
    private static volatile boolean schedstat = true;
    private static final ThreadLocal<Schedstat> FILE = ThreadLocal.withInitial(RunnableClock::open);
    /**
     * Calls shorter than this are not worth measuring (and the next one is not measured): the
     * event loops count a token as fast while its calls keep their callers blocked under 0.5 ms
     * on average, so a shorter call cannot change where signing runs. (At 250 µs, SoftHSM's ECDSA
     * signatures on a busy 2-CPU machine crossed it often: 0.7 clock reads and 0.7 schedstat reads
     * per TLS 1.3 handshake, 3 % of serve's system calls.)
     */
    static final long MEASURE_FROM = 500_000;
    private static final ThreadLocal<Timing> TIMING = ThreadLocal.withInitial(Timing::new);

    private RunnableClock() {
    }

    /** Nanoseconds the current thread has been runnable, on some fixed origin; compare two readings. */
    static long now() {
        long cpu = CPU_TIME ? THREADS.getCurrentThreadCpuTime() : 0;
        return cpu + runDelay();
    }

    /**
     * Of a run of long calls whose wall times stay within a factor of 2, one in this many is
     * measured; the others are given the blocked share of the last one measured. SoftHSM's RSA
     * signatures (~0.7 ms) are all long: measuring each took 4 system calls per TLS 1.2 handshake,
     * ~2 % of serve's CPU under ECDHE-RSA load (perf, 2026-11-29).
     */
    static final int MEASURE_EVERY = 8;

    /**
     * Starts timing a token call on the current thread; {@link Timing#stop()} when it returns.
     * Reading the clock costs about 3 µs (two system calls) at each end, so a call is measured
     * only when the thread's previous call took {@link #MEASURE_FROM} or more (a call shorter
     * than that cannot have kept its caller waiting long, and one that follows a long call is
     * measured whole), and then only one in {@link #MEASURE_EVERY} while the calls' wall times
     * stay alike: a token's blocked share does not change from call to call unless its wall time
     * does, and a wall time that doubles or halves is measured at the next call.
     */
    static Timing start() {
        Timing t = TIMING.get();
        t.wall = System.nanoTime();
        t.runnable = t.measure ? now() : 0;
        return t;
    }

    /** One thread's timing of its current token call. */
    static final class Timing {
        private boolean measure = true;
        private long wall;
        private long runnable;
        /** The last measured long call of the current run of long calls; 0 when there is none. */
        private long sampleTook;
        private long sampleBlocked;
        /** Long calls since that one. */
        private int sinceSample;
        /** Calls measured on this thread (for tests). */
        long measured;

        /**
         * The call's wall time, and the part of it the thread was neither on a CPU nor waiting for
         * one: measured, or for a long call between samples the last sample's share of its wall
         * time, or 0 (a short call, or a long one right after a short one).
         */
        CallTime stop() {
            long took = Math.max(0, System.nanoTime() - wall);
            long blocked;
            boolean longCall = took >= MEASURE_FROM;
            if (measure) {
                blocked = Math.max(0, took - (now() - runnable));
                measured++;
                if (longCall) {
                    sampleTook = took;
                    sampleBlocked = blocked;
                    sinceSample = 0;
                }
            } else if (longCall && sampleTook > 0) {
                blocked = (long) ((double) sampleBlocked / sampleTook * took);
                sinceSample++;
            } else {
                blocked = 0;
            }
            if (!longCall) {
                sampleTook = 0; // the run of long calls ended: the next one starts a new one
            }
            measure = longCall && (sampleTook == 0 || sinceSample >= MEASURE_EVERY - 1
                    || took > 2 * sampleTook || 2 * took < sampleTook);
            return new CallTime(took, blocked);
        }
    }

    private static long runDelay() {
        if (!schedstat) {
            return 0;
        }
        Schedstat f = FILE.get();
        return f == null ? 0 : f.runDelay();
    }

    private static Schedstat open() {
        if (!schedstat || Thread.currentThread().isVirtual()) {
            return null; // a virtual thread's file would be its carrier's
        }
        try {
            FileChannel ch = FileChannel.open(SCHEDSTAT, StandardOpenOption.READ);
            Schedstat s = new Schedstat(ch);
            CLEANER.register(Thread.currentThread(), new Closer(ch));
            return s;
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            schedstat = false;
            return null;
        }
    }

    /** Closes a gone thread's file; holds the channel only, never the thread. */
    private record Closer(FileChannel channel) implements Runnable {
        @Override
        public void run() {
            try {
                channel.close();
            } catch (IOException ignored) {
                // nothing to do for a file under /proc
            }
        }
    }

    private static final class Schedstat {
        private final FileChannel channel;
        private final ByteBuffer buf = ByteBuffer.allocateDirect(96);

        Schedstat(FileChannel channel) {
            this.channel = channel;
        }

        /** The second of "runtime run_delay timeslices", in ns; 0 when it cannot be read. */
        long runDelay() {
            try {
                buf.clear();
                int n = channel.read(buf, 0);
                long value = 0;
                int field = 0;
                for (int i = 0; i < n; i++) {
                    byte b = buf.get(i);
                    if (b == ' ') {
                        if (++field > 1) {
                            return value;
                        }
                    } else if (field == 1 && b >= '0' && b <= '9') {
                        value = value * 10 + (b - '0');
                    }
                }
                return value;
            } catch (IOException e) {
                return 0;
            }
        }
    }
}
