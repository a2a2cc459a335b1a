package io.hsmtls.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;
import javax.net.ssl.SSLEngine;

/**
 * Established connections that echo a small message at a fixed rate while another load runs, to
 * show what that load does to connections already up (e.g. handshakes waiting on a slow token
 * must not hold up records of other connections).
 *
 * <p>Each connection is its own platform thread: the handshake load keeps the load generator's
 * virtual-thread carriers busy, and an echo waiting for a carrier would count the client's own
 * queueing as the server's latency. Sends are scheduled at a fixed period and latency counts from
 * the scheduled time, so a stalled echo is not hidden by the sends it delayed (no coordinated
 * omission). Only echoes sent while {@link #recording} is on are counted.
 */
final class EchoProbe {
    /** Bytes per echo: a small request, one TLS record each way. */
    static final int MESSAGE = 64;
    private static final int MAX_SAMPLES = 1_000_000;

    private final List<Thread> threads = new ArrayList<>();
    private final long[] samples = new long[MAX_SAMPLES];
    private final AtomicInteger sampleCount = new AtomicInteger();
    private final LongAdder errors = new LongAdder();
    private final AtomicReference<Throwable> firstError = new AtomicReference<>();
    private volatile boolean recording;
    private volatile boolean stop;
    private final PrintStream log;

    private EchoProbe(PrintStream log) {
        this.log = log;
    }

    @FunctionalInterface
    interface Connector {
        TlsConnection open(SSLEngine engine) throws IOException;
    }

    /**
     * Opens {@code connections} TLS connections (handshakes done before this returns) and starts
     * echoing on each, {@code rate} messages per second per connection, start times spread over
     * one period so the connections do not send in lockstep.
     */
    static EchoProbe start(int connections, double rate, Connector connector, Supplier<SSLEngine> engines,
                           PrintStream log) throws IOException {
        EchoProbe p = new EchoProbe(log);
        List<TlsConnection> open = new ArrayList<>();
        try {
            for (int i = 0; i < connections; i++) {
                open.add(connector.open(engines.get()));
            }
        } catch (IOException | RuntimeException e) {
            for (TlsConnection c : open) {
                c.close();
            }
            throw new IOException("opening echo connection " + (open.size() + 1) + " of " + connections + " failed: "
                    + e.getMessage(), e);
        }
        long period = (long) (1e9 / rate);
        long t0 = System.nanoTime() + 1_000_000;
        for (int i = 0; i < connections; i++) {
            TlsConnection c = open.get(i);
            long first = t0 + period * i / connections;
            p.threads.add(Thread.ofPlatform().daemon(true).name("echo-" + i).start(() -> p.loop(c, first, period)));
        }
        return p;
    }

    private void loop(TlsConnection c, long first, long period) {
        ByteBuffer msg = ByteBuffer.allocate(MESSAGE);
        try (c) {
            for (long i = 0; !stop; i++) {
                long scheduled = first + i * period;
                long wait;
                while ((wait = scheduled - System.nanoTime()) > 0 && !stop) {
                    LockSupport.parkNanos(wait);
                }
                if (stop) {
                    break;
                }
                boolean counted = recording;
                msg.clear();
                c.write(msg);
                long got = 0;
                while (got < MESSAGE) {
                    // A TLS 1.3 NewSessionTicket arrives as a record with no application data (0 bytes).
                    long n = c.readDiscard();
                    if (n < 0) {
                        throw new IOException("the server closed an echo connection after " + got + " of "
                                + MESSAGE + " bytes");
                    }
                    got += n;
                }
                if (counted) {
                    int k = sampleCount.getAndIncrement();
                    if (k < samples.length) {
                        samples[k] = System.nanoTime() - scheduled;
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            if (!stop) {
                errors.increment();
                if (firstError.compareAndSet(null, e)) {
                    log.println("echo: first error: " + e);
                }
            }
        }
    }

    void recording(boolean on) {
        recording = on;
    }

    /** Stops every echo connection (bounded wait) and returns its figures. */
    Map<String, Double> stop(long joinMillis) throws InterruptedException {
        recording = false;
        stop = true;
        long deadline = System.nanoTime() + joinMillis * 1_000_000;
        for (Thread t : threads) {
            long left = Math.max(1, (deadline - System.nanoTime()) / 1_000_000);
            t.join(left);
            if (t.isAlive()) {
                t.interrupt();
            }
        }
        return figures();
    }

    Map<String, Double> figures() {
        int n = Math.min(sampleCount.get(), samples.length);
        Map<String, Double> f = new java.util.LinkedHashMap<>();
        f.put("echo_connections", (double) threads.size());
        f.put("echo_count", (double) n);
        f.put("echo_errors", (double) errors.sum());
        if (n > 0) {
            long[] sorted = Percentiles.sortedCopy(samples, n);
            f.put("echo_p50_ms", Percentiles.nearestRank(sorted, 50) / 1e6);
            f.put("echo_p99_ms", Percentiles.nearestRank(sorted, 99) / 1e6);
            f.put("echo_max_ms", sorted[n - 1] / 1e6);
        }
        return f;
    }
}
