package io.hsmtls.jmh;

import java.lang.management.ManagementFactory;
import java.util.Collection;
import java.util.List;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.profile.InternalProfiler;
import org.openjdk.jmh.results.AggregationPolicy;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.ScalarResult;

/**
 * CPU time per operation, next to JMH's wall-clock score: {@code -prof io.hsmtls.jmh.CpuProfiler}
 * (scripts/jmh.sh always adds it). This machine is shared, so wall-clock rates fall when others
 * run; the benchmark JVM's own CPU seconds do not, which makes this row the one to compare across
 * runs (as scripts/bench.sh divides by the server's CPU time).
 *
 * <p>The figure is the whole fork's CPU time (every thread: the lane and SoftHSM in it for the
 * token benchmarks, GC and JIT too) over every operation JMH ran in the iteration. In
 * throughput mode it is operations per CPU-second (and, for benchmarks with a {@code size}
 * parameter, MB of it per CPU-second); in average-time mode, CPU µs per operation.
 * It includes the benchmark's untimed per-call set-up: for {@code RecordBenchmark.decrypt} that is
 * the client encrypting the batch, so that row's CPU figure is a round trip, not a decrypt.
 */
public final class CpuProfiler implements InternalProfiler {
    private static final com.sun.management.OperatingSystemMXBean OS =
            (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

    private long cpuStart;

    @Override
    public String getDescription() {
        return "process CPU time per operation (ops per CPU-second, or CPU µs per operation)";
    }

    @Override
    public void beforeIteration(BenchmarkParams benchmark, IterationParams iteration) {
        cpuStart = OS.getProcessCpuTime();
    }

    @Override
    @SuppressWarnings("rawtypes") // JMH's interface declares the raw Result
    public Collection<? extends Result> afterIteration(BenchmarkParams benchmark, IterationParams iteration,
                                                       IterationResult result) {
        long cpu = OS.getProcessCpuTime() - cpuStart;
        long ops = result.getMetadata() == null ? 0 : result.getMetadata().getAllOps();
        if (cpu <= 0 || ops <= 0) {
            return List.of();
        }
        if (benchmark.getMode() != Mode.Throughput) {
            return List.of(new ScalarResult("cpu", cpu / 1e3 / ops, "us-cpu/op", AggregationPolicy.AVG));
        }
        double perCpuSecond = ops / (cpu / 1e9);
        String size = benchmark.getParam("size");
        if (size == null) {
            return List.of(new ScalarResult("cpu", perCpuSecond, "ops/cpu-s", AggregationPolicy.AVG));
        }
        // RecordBenchmark: one operation is one record of `size` plaintext bytes
        return List.of(new ScalarResult("cpu", perCpuSecond, "ops/cpu-s", AggregationPolicy.AVG),
                new ScalarResult("cpu.mb", perCpuSecond * Integer.parseInt(size) / 1e6, "MB/cpu-s",
                        AggregationPolicy.AVG));
    }
}
