package io.hsmtls.observe;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Lines (the connection log) written by one thread, many at a time. Printing and flushing a
 * line per connection from the connection's own thread was a write system call per connection,
 * taken under the stream's lock by every connection thread in turn (about 4 % of a TLS 1.3
 * server handshake's CPU in a profile of {@code serve} under load). Here a connection hands its
 * line over and goes on; the writer takes everything queued, prints it and flushes once. Under
 * load that is one write for many lines, when quiet one per line as before. {@link #flush()}
 * waits until every line handed over so far is out; {@link #close()} flushes and stops, so a
 * drained server still prints every connection's line before it says it stopped.
 */
public final class LineLog implements AutoCloseable {
    private static final String STOP = new String("stop"); // identity marker, never printed

    private final PrintWriter out;
    private final LinkedBlockingQueue<String> queue = new LinkedBlockingQueue<>();
    private final Thread writer;
    private final Object progress = new Object();
    private long queued;
    private long written;
    private boolean closed; // guarded by progress

    public LineLog(PrintWriter out, String threadName) {
        this.out = Objects.requireNonNull(out, "out");
        this.writer = Thread.ofPlatform().daemon(true).name(threadName).start(this::run);
    }

    /** Hands a line over; printed soon, in order. After {@link #close()}, printed at once by the caller. */
    public void append(String line) {
        synchronized (progress) {
            if (!closed) {
                queued++;
                queue.add(line);
                return;
            }
        }
        synchronized (out) {
            out.println(line);
            out.flush();
        }
    }

    /** Waits (up to {@code timeoutMillis}) until every line handed over so far is printed. */
    public void flush(long timeoutMillis) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        synchronized (progress) {
            long target = queued;
            while (written < target && writer.isAlive()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return;
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(progress, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    private void run() {
        List<String> batch = new ArrayList<>();
        try {
            while (true) {
                String first = queue.take();
                batch.add(first);
                queue.drainTo(batch);
                boolean stop = false;
                int lines = 0;
                synchronized (out) {
                    for (String l : batch) {
                        if (l == STOP) {
                            stop = true;
                            continue;
                        }
                        out.println(l);
                        lines++;
                    }
                    out.flush();
                }
                synchronized (progress) {
                    written += lines;
                    progress.notifyAll();
                }
                batch.clear();
                if (stop) {
                    return;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Prints what is queued (waiting up to 5 s) and stops the writer; later lines print directly. */
    @Override
    public void close() {
        synchronized (progress) {
            if (closed) {
                return;
            }
        }
        flush(5_000);
        synchronized (progress) {
            closed = true;
            queue.add(STOP);
        }
        try {
            writer.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
