package io.hsmtls.bench;

import java.io.PrintStream;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * The raw token rate: one private-key operation in a loop on a few platform threads (a JNI call
 * pins a virtual thread's carrier anyway), bounded by count and time. The token runs inside this
 * process (SoftHSM is a library), so operations per CPU-second of this process is the token's cost.
 */
public final class TokenRate {
    /** One private-key operation on the input; throws on failure. */
    @FunctionalInterface
    public interface Operation {
        byte[] apply(byte[] input);
    }

    private TokenRate() {
    }

    public static LoadResult run(Operation op, int inputLength, int threads, long warmup, long count,
                                 Duration duration, ProcStat proc, PrintStream log) throws InterruptedException {
        if (threads < 1 || threads > 256) {
            throw new IllegalArgumentException("threads outside 1..256: " + threads);
        }
        byte[] input = new byte[inputLength];
        new SecureRandom().nextBytes(input);
        loop(op, input, threads, warmup, duration);
        double cpu0 = proc.selfCpuSeconds();
        long t0 = System.nanoTime();
        long[] done = loop(op, input, threads, count, duration);
        double seconds = (System.nanoTime() - t0) / 1e9;
        double cpu = proc.selfCpuSeconds() - cpu0;
        if (done[0] == 0) {
            throw new IllegalStateException("the token did no operation (" + done[1] + " failures): check the key and scheme");
        }
        log.printf("token: %d operations, %d failures in %.1f s%n", done[0], done[1], seconds);
        Map<String, Double> f = new LinkedHashMap<>();
        f.put("count", (double) done[0]);
        f.put("errors", (double) done[1]);
        f.put("seconds", seconds);
        f.put("cpu_s", cpu);
        f.put("ops_per_s", done[0] / seconds);
        if (cpu > 0) {
            f.put("ops_per_cpu_s", done[0] / cpu);
        }
        return new LoadResult(f);
    }

    private static long[] loop(Operation op, byte[] input, int threads, long count, Duration duration)
            throws InterruptedException {
        if (count == 0) {
            return new long[] {0, 0};
        }
        AtomicLong claimed = new AtomicLong();
        LongAdder ok = new LongAdder();
        LongAdder failed = new LongAdder();
        long deadline = System.nanoTime() + duration.toNanos();
        Thread[] ts = new Thread[threads];
        for (int i = 0; i < threads; i++) {
            ts[i] = Thread.ofPlatform().name("token-rate-" + i).start(() -> {
                while (System.nanoTime() < deadline && claimed.incrementAndGet() <= count) {
                    try {
                        op.apply(input);
                        ok.increment();
                    } catch (RuntimeException e) {
                        failed.increment();
                        if (failed.sum() > 100 && failed.sum() > ok.sum()) {
                            return;
                        }
                    }
                }
            });
        }
        for (Thread t : ts) {
            t.join(duration.toMillis() + 30_000);
        }
        return new long[] {ok.sum(), failed.sum()};
    }
}
