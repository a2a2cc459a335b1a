package io.hsmtls.tls;

import java.time.Duration;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

/**
 * Coarse per-connection deadlines (the handshake timeout, the idle timeout), checked by one
 * thread every tick (100 ms for the shared one). Each connection sets one deadline and nearly always cancels it
 * before it is due; a {@code ScheduledThreadPoolExecutor} does both under one lock and wakes its
 * thread whenever the earliest task changes, which under a handshake load is about every other
 * connection (its thread woke 0.55 times and took 14 µs of CPU per handshake). Here setting and
 * cancelling are a concurrent-set add and remove, and nothing wakes anybody; the price is that a
 * deadline fires up to one tick late, which is nothing against timeouts of seconds.
 *
 * <p>With no deadline set, the thread parks until one is.
 */
public final class Deadlines {
    private static final Deadlines SHARED = new Deadlines("hsmtls-deadlines", Duration.ofMillis(100));

    private final Set<Entry> entries = ConcurrentHashMap.newKeySet();
    private final long tickNanos;
    private final AtomicBoolean parked = new AtomicBoolean();
    private final Thread sweeper;

    /** A deadline set with {@link #after}; {@link #cancel()} before it is due and its action never runs. */
    public final class Entry {
        private final long due;
        private final Runnable action;

        private Entry(long due, Runnable action) {
            this.due = due;
            this.action = action;
        }

        /** True if the action will not run now (it had not run yet); false if it ran or is running. */
        public boolean cancel() {
            return entries.remove(this);
        }
    }

    Deadlines(String threadName, Duration tick) {
        this.tickNanos = tick.toNanos();
        this.sweeper = Thread.ofPlatform().daemon(true).name(threadName).start(this::sweep);
    }

    /** The process's deadlines: one thread, 100 ms tick. */
    public static Deadlines shared() {
        return SHARED;
    }

    /** Deadlines set and not yet fired or cancelled (for tests: back to zero when connections end). */
    public int pending() {
        return entries.size();
    }

    /**
     * Runs {@code action} on the sweeper thread once {@code after} has passed (up to one tick
     * later), unless cancelled first. The action must be short and must not block: it runs
     * among everybody's.
     */
    public Entry after(Duration after, Runnable action) {
        Entry e = new Entry(System.nanoTime() + after.toNanos(), Objects.requireNonNull(action, "action"));
        entries.add(e);
        if (parked.get() && parked.compareAndSet(true, false)) {
            LockSupport.unpark(sweeper);
        }
        return e;
    }

    private void sweep() {
        while (true) {
            if (entries.isEmpty()) {
                parked.set(true);
                // Re-check after announcing: an add that saw parked == false has its entry in the set.
                if (entries.isEmpty()) {
                    LockSupport.park(this);
                }
                parked.set(false);
                continue;
            }
            LockSupport.parkNanos(this, tickNanos);
            long now = System.nanoTime();
            for (Entry e : entries) {
                if (now - e.due >= 0 && entries.remove(e)) {
                    try {
                        e.action.run();
                    } catch (RuntimeException | Error ex) {
                        System.getLogger("io.hsmtls.deadlines").log(System.Logger.Level.WARNING,
                                "a deadline action failed: " + ex);
                    }
                }
            }
        }
    }
}
