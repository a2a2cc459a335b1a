package io.hsmtls.observe;

import java.io.PrintWriter;
import java.util.Objects;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Lines (the connection log) written by one thread, many at a time. Printing and flushing a
 * line per connection from the connection's own thread was a write system call per connection,
 * taken under the stream's lock by every connection thread in turn (about 4 % of a TLS 1.3
 * server handshake's CPU in a profile of {@code serve} under load). Here a connection puts its
 * line on a lock-free queue and goes on, without waking anyone (a wake-up per line would be a
 * futex call per connection, which is what this is here to save); the writer wakes every
 * {@link #INTERVAL_MS} ms, prints all that is queued and flushes once. {@link #flush(long)}
 * wakes it and waits until every line handed over so far is out; {@link #close()} flushes and
 * stops, so a drained server still prints every connection's line before it says it stopped.
 */
public final class LineLog implements AutoCloseable {
    /** How stale a line may get before it is written: a log reader will not notice 50 ms. */
    static final long INTERVAL_MS = 50;
    /** Characters handed to the stream at a time. */
    private static final int BATCH_CHARS = 64 * 1024;
    private static final String LINE_END = System.lineSeparator();

    private final PrintWriter out;
    private final ConcurrentLinkedQueue<String> queue = new ConcurrentLinkedQueue<>();
    private final AtomicLong queued = new AtomicLong();
    private final AtomicLong written = new AtomicLong();
    private final Thread writer;
    private volatile boolean closed;
    private volatile boolean stop;

    public LineLog(PrintWriter out, String threadName) {
        this.out = Objects.requireNonNull(out, "out");
        this.writer = Thread.ofPlatform().daemon(true).name(threadName).start(this::run);
    }

    /** Hands a line over; printed within {@link #INTERVAL_MS} ms, in order. After {@link #close()}, printed at once. */
    public void append(String line) {
        if (closed) {
            synchronized (out) {
                out.println(line);
                out.flush();
            }
            return;
        }
        queued.incrementAndGet();
        queue.add(line);
        if (closed) {
            drain(); // close() ran meanwhile and may have drained before this line was in
        }
    }

    /** Waits (up to {@code timeoutMillis}) until every line handed over so far is printed. */
    public void flush(long timeoutMillis) {
        long target = queued.get();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (written.get() < target && writer.isAlive() && System.nanoTime() < deadline) {
            LockSupport.unpark(writer);
            LockSupport.parkNanos(200_000);
        }
    }

    private void run() {
        while (true) {
            boolean last = stop;
            drain();
            if (last) {
                return;
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(INTERVAL_MS));
        }
    }

    private void drain() {
        if (queue.isEmpty()) {
            return;
        }
        // One write of the whole batch, not println per line: the connection log's PrintWriter
        // flushes at every println (autoflush, so a warning is seen at once), which was still a
        // write system call per connection here, on this thread.
        long n = 0;
        StringBuilder batch = new StringBuilder(4096);
        synchronized (out) {
            String l;
            while ((l = queue.poll()) != null) {
                batch.append(l).append(LINE_END);
                n++;
                if (batch.length() >= BATCH_CHARS) {
                    out.write(batch.toString());
                    batch.setLength(0);
                }
            }
            if (batch.length() > 0) {
                out.write(batch.toString());
            }
            out.flush();
        }
        written.addAndGet(n);
    }

    /**
     * Stops taking lines into the queue (later ones are printed by their caller), prints what is
     * queued and stops the writer, waiting for it up to 5 s.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        // A line whose caller saw closed == false just before may still be added: the writer's
        // last drain runs after stop is set, and join waits for it.
        stop = true;
        LockSupport.unpark(writer);
        try {
            writer.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        drain(); // anything added between the writer's last drain and now
    }
}
