package io.hsmtls.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import javax.net.ssl.SSLContext;

/**
 * The load generator: one JSSE client, many connections on virtual threads, a warm-up that is not
 * counted, then a counted phase bracketed by samples of the server's CPU time and memory.
 */
public final class LoadGenerator {
    /** Latencies kept for percentiles; a run longer than this keeps the first ones. */
    private static final int MAX_LATENCIES = 2_000_000;
    /** A phase stops early when it has failed this often and more often than it succeeded. */
    private static final long ERROR_BUDGET = 200;

    private final LoadSpec spec;
    private final ProcStat proc;
    private final PrintStream log;
    private SSLContext ctx;
    private final AtomicReference<Throwable> lastError = new AtomicReference<>();

    public LoadGenerator(LoadSpec spec, ProcStat proc, PrintStream log) {
        this.spec = spec;
        this.proc = proc;
        this.log = log;
    }

    /** Runs warm-up and the counted phase; returns the figures. */
    public LoadResult run() throws IOException, GeneralSecurityException, InterruptedException {
        ctx = spec.client().context();
        return switch (spec.mode()) {
            case HANDSHAKE -> spec.echoConnections() > 0 ? handshakesWithEcho() : closedLoopRun(this::fullHandshake);
            case RESUME -> closedLoopRun(this::resumedHandshake);
            case BULK -> bulkRun();
            case LATENCY -> latencyRun();
            case IDLE -> idleRun();
        };
    }

    // ---- per-connection tasks; each returns payload bytes moved ----------------------------

    @FunctionalInterface
    interface ConnectionTask {
        long run(Phase phase) throws IOException, InterruptedException;
    }

    private long fullHandshake(Phase phase) throws IOException {
        return handshake(phase, false);
    }

    private long resumedHandshake(Phase phase) throws IOException {
        return handshake(phase, true);
    }

    /** Session IDs seen so far (bounded), to count resumed handshakes in both modes. */
    private final Set<ByteBuffer> seenSessions = ConcurrentHashMap.newKeySet();
    private static final int MAX_SEEN_SESSIONS = 200_000;

    private long handshake(Phase phase, boolean resumable) throws IOException {
        long t0 = System.nanoTime();
        TlsConnection c = TlsConnection.open(spec.client().target(), spec.client().engine(ctx, resumable), timeout());
        phase.latency(System.nanoTime() - t0);
        // A server gives a full handshake a new session ID; one seen before means resumed. In
        // full-handshake mode this proves the run really had no resumption.
        byte[] id = c.session().getId();
        if (id.length > 0) {
            ByteBuffer key = ByteBuffer.wrap(id);
            if (seenSessions.contains(key)) {
                phase.resumed.increment();
            } else if (seenSessions.size() < MAX_SEEN_SESSIONS) {
                seenSessions.add(key);
            }
        }
        long moved = 0;
        int n = spec.roundTripBytes();
        if (n > 0) {
            // A request's worth through the server to its backend and back: both servers of a
            // comparison then dial their backend for every connection.
            c.write(ByteBuffer.allocate(n));
            moved = n + readEcho(c, n);
        }
        c.closeGracefully();
        return moved;
    }

    /** Reads until {@code total} bytes of plaintext have come back; the count read. */
    private static long readEcho(TlsConnection c, long total) throws IOException {
        long received = 0;
        while (received < total) {
            long n = c.readDiscard();
            if (n < 0) {
                throw new IOException("server closed after " + received + " of " + total
                        + " echoed bytes: is the backend an echo server?");
            }
            received += n;
        }
        return received;
    }

    private long bulkTransfer(Phase phase) throws IOException, InterruptedException {
        long t0 = System.nanoTime();
        TlsConnection c = TlsConnection.open(spec.client().target(), spec.client().engine(ctx, false), timeout());
        phase.latency(System.nanoTime() - t0);
        long total = spec.bulkBytes();
        AtomicReference<IOException> writeFailure = new AtomicReference<>();
        Thread writer = Thread.ofVirtual().start(() -> {
            ByteBuffer chunk = ByteBuffer.allocate(16 * 1024);
            long left = total;
            try {
                while (left > 0) {
                    chunk.clear().limit((int) Math.min(chunk.capacity(), left));
                    c.write(chunk);
                    left -= chunk.limit();
                }
            } catch (IOException e) {
                writeFailure.set(e);
            }
        });
        long received;
        try {
            received = readEcho(c, total);
        } catch (IOException e) {
            c.close();
            writer.join(timeout());
            throw e;
        }
        writer.join(timeout());
        if (writeFailure.get() != null) {
            throw writeFailure.get();
        }
        c.closeGracefully();
        return total + received;
    }

    // ---- runs ---------------------------------------------------------------------------

    private LoadResult closedLoopRun(ConnectionTask task) throws InterruptedException {
        warmUp(task);
        Measured m = measure(() -> closedLoop(task, spec.maxCount(), spec.duration()));
        return new LoadResult(handshakeFigures(m));
    }

    private Map<String, Double> handshakeFigures(Measured m) {
        Map<String, Double> f = common(m);
        f.put("hs_per_s", m.phase.ok.sum() / m.seconds);
        perCpu(f, "hs_per_cpu_s", m.phase.ok.sum(), m);
        latencies(f, m.phase);
        f.put("resumed_share", m.phase.ok.sum() == 0 ? 0 : (double) m.phase.resumed.sum() / m.phase.ok.sum());
        if (spec.roundTripBytes() > 0) {
            f.put("round_trip_bytes", (double) m.phase.bytes.sum());
        }
        return f;
    }

    /**
     * Full handshakes as in {@link #closedLoopRun}, while established connections echo small
     * messages: the echo latency shows whether handshake work (e.g. a slow token) holds up
     * connections that are already up. The echo connections open after the warm-up and echo for
     * a second before the count starts, so their own first records are not counted.
     */
    private LoadResult handshakesWithEcho() throws InterruptedException, IOException {
        warmUp(this::fullHandshake);
        EchoProbe echo = EchoProbe.start(spec.echoConnections(), spec.echoRate(),
                engine -> TlsConnection.open(spec.client().target(), engine, timeout()),
                () -> spec.client().engine(ctx, false), log);
        Map<String, Double> e;
        Measured m;
        try {
            Thread.sleep(1000);
            echo.recording(true);
            m = measure(() -> closedLoop(this::fullHandshake, spec.maxCount(), spec.duration()));
        } finally {
            e = echo.stop(2L * timeout());
        }
        Map<String, Double> f = handshakeFigures(m);
        f.putAll(e);
        return new LoadResult(f);
    }

    private LoadResult bulkRun() throws InterruptedException {
        warmUp(this::fullHandshake);
        // The record path warms up too: one round of bulk connections, uncounted.
        closedLoop(this::bulkTransfer, Math.min(spec.concurrency(), spec.maxCount()), spec.warmupDuration());
        Measured m = measure(() -> closedLoop(this::bulkTransfer, spec.maxCount(), spec.duration()));
        Map<String, Double> f = common(m);
        double mb = m.phase.bytes.sum() / 1e6;
        f.put("mb", mb);
        f.put("mb_per_s", mb / m.seconds);
        perCpu(f, "mb_per_cpu_s", mb, m);
        return new LoadResult(f);
    }

    private LoadResult latencyRun() throws InterruptedException {
        warmUp(this::fullHandshake);
        Measured m = measure(this::openLoop);
        Map<String, Double> f = common(m);
        f.put("offered_per_s", spec.rate());
        f.put("hs_per_s", m.phase.ok.sum() / m.seconds);
        f.put("dropped", (double) m.phase.dropped.sum());
        perCpu(f, "hs_per_cpu_s", m.phase.ok.sum(), m);
        latencies(f, m.phase);
        return new LoadResult(f);
    }

    private LoadResult idleRun() throws InterruptedException, IOException {
        warmUp(this::fullHandshake);
        long pid = spec.serverPid().orElseThrow(() -> new IllegalArgumentException(
                "idle mode measures the server's memory: pass --server-pid"));
        Thread.sleep(1000); // let the warm-up connections close on the server
        ProcStat.Sample before = proc.sample(pid);
        ConcurrentLinkedQueue<Socket> held = new ConcurrentLinkedQueue<>();
        Phase opening;
        long t0 = System.nanoTime();
        try {
            opening = closedLoop(p -> {
                TlsConnection c = TlsConnection.open(spec.client().target(), spec.client().engine(ctx, false),
                        timeout());
                // Keep the socket only: the engine and its buffers are client memory, not the server's.
                held.add(c.socket());
                return 0;
            }, spec.idleConnections(), spec.duration());
            double openSeconds = (System.nanoTime() - t0) / 1e9;
            log.printf("idle: %d connections open in %.1f s (%d errors); holding %s%n", held.size(), openSeconds,
                    opening.errors.sum(), spec.idleHold());
            Thread.sleep(spec.idleHold().toMillis());
            ProcStat.Sample after = proc.sample(pid);
            Map<String, Double> f = new LinkedHashMap<>();
            f.put("connections", (double) held.size());
            f.put("errors", (double) opening.errors.sum());
            f.put("rss_before_kib", (double) before.rssKib());
            f.put("rss_after_kib", (double) after.rssKib());
            f.put("kib_per_conn", held.isEmpty() ? 0 : (double) (after.rssKib() - before.rssKib()) / held.size());
            return new LoadResult(f);
        } finally {
            for (Socket s : held) {
                try {
                    s.close();
                } catch (IOException e) {
                    // closing; nothing to do
                }
            }
        }
    }

    // ---- phases ---------------------------------------------------------------------------

    /** Counters of one phase. */
    static final class Phase {
        final LongAdder ok = new LongAdder();
        final LongAdder errors = new LongAdder();
        final LongAdder bytes = new LongAdder();
        final LongAdder resumed = new LongAdder();
        final LongAdder dropped = new LongAdder();
        final long[] latencies;
        final AtomicInteger latencyCount = new AtomicInteger();

        Phase(long expected) {
            latencies = new long[(int) Math.min(expected, MAX_LATENCIES)];
        }

        void latency(long nanos) {
            int i = latencyCount.getAndIncrement();
            if (i < latencies.length) {
                latencies[i] = nanos;
            }
        }

        int latencies() {
            return Math.min(latencyCount.get(), latencies.length);
        }
    }

    private record Measured(Phase phase, double seconds, Optional<Double> serverCpuSeconds, double clientCpuSeconds,
                            Optional<Double> jitShare) { }

    @FunctionalInterface
    private interface PhaseBody {
        Phase run() throws InterruptedException;
    }

    private Measured measure(PhaseBody body) throws InterruptedException {
        Optional<ProcStat.Sample> before = spec.serverPid().isPresent()
                ? Optional.of(proc.sample(spec.serverPid().getAsLong())) : Optional.empty();
        long jit0 = spec.serverPid().isPresent() ? proc.jitTicks(spec.serverPid().getAsLong()) : 0;
        double self0 = proc.selfCpuSeconds();
        long t0 = System.nanoTime();
        Phase p = body.run();
        double seconds = (System.nanoTime() - t0) / 1e9;
        double self = proc.selfCpuSeconds() - self0;
        Optional<ProcStat.Sample> after = before.map(b -> proc.sample(spec.serverPid().getAsLong()));
        Optional<Double> cpu = after.map(a -> a.cpuSeconds() - before.get().cpuSeconds());
        Optional<Double> jitShare = after.map(a -> {
            long ticks = a.cpuTicks() - before.get().cpuTicks();
            return ticks <= 0 ? 0.0 : (double) (proc.jitTicks(spec.serverPid().getAsLong()) - jit0) / ticks;
        });
        if (p.ok.sum() == 0) {
            Throwable e = lastError.get();
            throw new IllegalStateException("no connection succeeded against " + spec.client().target() + " ("
                    + spec.client().describe() + ", " + p.errors.sum() + " errors)"
                    + (e == null ? "" : ": last error " + e) + "; check that the server is up and offers this", e);
        }
        return new Measured(p, seconds, cpu, self, jitShare);
    }

    private void warmUp(ConnectionTask task) throws InterruptedException {
        if (spec.warmupCount() == 0 || spec.warmupDuration().isZero()) {
            return;
        }
        long t0 = System.nanoTime();
        Phase w = closedLoop(task, spec.warmupCount(), spec.warmupDuration());
        log.printf("warm-up: %d handshakes, %d errors in %.1f s%n", w.ok.sum(), w.errors.sum(),
                (System.nanoTime() - t0) / 1e9);
        // Idle runs measure memory, not CPU: a compiling JIT does not change what a connection holds.
        if (spec.serverPid().isPresent() && spec.mode() != Mode.IDLE) {
            settleJit(task, spec.serverPid().getAsLong(), t0);
        }
    }

    /** A warm-up round's length, and the JIT share of the server's CPU below which it counts as settled. */
    static final Duration SETTLE_ROUND = Duration.ofSeconds(2);
    static final double SETTLED_JIT_SHARE = 0.05;

    /**
     * Goes on warming up in short rounds while the server's JIT compiler threads still take more
     * than {@link #SETTLED_JIT_SHARE} of its CPU, within the warm-up duration. A JVM server that
     * has done a few thousand handshakes is often still compiling: measured on serve, the
     * compiler threads took 20–25 % of its CPU for the next 30 s, and handshakes per CPU-second
     * rose by half once they stopped. Counting then measures the JIT, not the server. A server
     * without a JIT (nginx) settles at once.
     */
    private void settleJit(ConnectionTask task, long pid, long t0) throws InterruptedException {
        long deadline = t0 + spec.warmupDuration().toNanos();
        while (System.nanoTime() + SETTLE_ROUND.toNanos() <= deadline) {
            long jit0 = proc.jitTicks(pid);
            long cpu0 = proc.sample(pid).cpuTicks();
            closedLoop(task, LoadSpec.MAX_COUNT, SETTLE_ROUND);
            long cpu = proc.sample(pid).cpuTicks() - cpu0;
            double share = cpu <= 0 ? 0 : (double) (proc.jitTicks(pid) - jit0) / cpu;
            if (share < SETTLED_JIT_SHARE) {
                log.printf("warm-up: JIT settled (%.0f %% of server CPU) after %.1f s%n", share * 100,
                        (System.nanoTime() - t0) / 1e9);
                return;
            }
            log.printf("warm-up: server JIT still %.0f %% of its CPU, warming on%n", share * 100);
        }
        log.printf("warm-up: JIT not settled within the warm-up duration %s; figures include compiling%n",
                spec.warmupDuration());
    }

    /** Workers run the task until the count or the deadline is reached, or errors dominate. */
    private Phase closedLoop(ConnectionTask task, long count, Duration duration) throws InterruptedException {
        Phase phase = new Phase(count);
        AtomicLong claimed = new AtomicLong();
        AtomicBoolean abort = new AtomicBoolean();
        long deadline = System.nanoTime() + duration.toNanos();
        int workers = (int) Math.min(spec.concurrency(), count);
        ExecutorService exec = Executors.newVirtualThreadPerTaskExecutor();
        try {
            for (int w = 0; w < workers; w++) {
                exec.submit(() -> {
                    while (!abort.get() && System.nanoTime() < deadline && claimed.incrementAndGet() <= count) {
                        try {
                            phase.bytes.add(task.run(phase));
                            phase.ok.increment();
                        } catch (IOException | RuntimeException e) {
                            failed(phase, abort, e);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                            return;
                        }
                    }
                });
            }
        } finally {
            exec.shutdown();
            // Each connection is bounded by the I/O timeout; allow one more round of them.
            if (!exec.awaitTermination(duration.toMillis() + 4L * timeout() + 5000, TimeUnit.MILLISECONDS)) {
                exec.shutdownNow();
                log.println("load: workers did not stop in time; interrupted them");
            }
        }
        return phase;
    }

    /** Open loop: starts are scheduled at the offered rate; latency counts from the scheduled start. */
    private Phase openLoop() throws InterruptedException {
        Phase phase = new Phase(spec.maxCount());
        long period = (long) (1e9 / spec.rate());
        long start = System.nanoTime() + 1_000_000;
        long deadline = start + spec.duration().toNanos();
        // Past this many in flight the server is overloaded; count the rest as dropped, not queued.
        Semaphore inFlight = new Semaphore(Math.max(spec.concurrency(), 64));
        AtomicBoolean abort = new AtomicBoolean();
        ExecutorService exec = Executors.newVirtualThreadPerTaskExecutor();
        try {
            for (long i = 0; i < spec.maxCount() && !abort.get(); i++) {
                long scheduled = start + i * period;
                if (scheduled >= deadline) {
                    break;
                }
                long wait;
                while ((wait = scheduled - System.nanoTime()) > 0) {
                    LockSupport.parkNanos(wait);
                }
                if (!inFlight.tryAcquire()) {
                    phase.dropped.increment();
                    continue;
                }
                exec.submit(() -> {
                    try {
                        TlsConnection c = TlsConnection.open(spec.client().target(),
                                spec.client().engine(ctx, false), timeout());
                        phase.latency(System.nanoTime() - scheduled);
                        c.closeGracefully();
                        phase.ok.increment();
                    } catch (IOException | RuntimeException e) {
                        failed(phase, abort, e);
                    } finally {
                        inFlight.release();
                    }
                });
            }
        } finally {
            exec.shutdown();
            if (!exec.awaitTermination(4L * timeout() + 5000, TimeUnit.MILLISECONDS)) {
                exec.shutdownNow();
            }
        }
        return phase;
    }

    private void failed(Phase phase, AtomicBoolean abort, Exception e) {
        phase.errors.increment();
        if (lastError.getAndSet(e) == null) {
            log.println("load: first error: " + e);
        }
        if (phase.errors.sum() > ERROR_BUDGET && phase.errors.sum() > phase.ok.sum()) {
            abort.set(true);
        }
        // A refused or reset connection fails in microseconds; do not spin on it.
        LockSupport.parkNanos(5_000_000);
    }

    // ---- figures --------------------------------------------------------------------------

    private Map<String, Double> common(Measured m) {
        Map<String, Double> f = new LinkedHashMap<>();
        f.put("count", (double) m.phase.ok.sum());
        f.put("errors", (double) m.phase.errors.sum());
        f.put("seconds", m.seconds);
        m.serverCpuSeconds.ifPresent(c -> f.put("server_cpu_s", c));
        m.jitShare.ifPresent(j -> f.put("jit_share", j));
        f.put("client_cpu_s", m.clientCpuSeconds);
        return f;
    }

    private static void perCpu(Map<String, Double> f, String name, double work, Measured m) {
        m.serverCpuSeconds.filter(c -> c > 0).ifPresent(c -> f.put(name, work / c));
    }

    private static void latencies(Map<String, Double> f, Phase p) {
        int n = p.latencies();
        if (n == 0) {
            return;
        }
        long[] sorted = Percentiles.sortedCopy(p.latencies, n);
        f.put("p50_ms", Percentiles.nearestRank(sorted, 50) / 1e6);
        f.put("p99_ms", Percentiles.nearestRank(sorted, 99) / 1e6);
    }

    private int timeout() {
        return (int) spec.ioTimeout().toMillis();
    }
}
