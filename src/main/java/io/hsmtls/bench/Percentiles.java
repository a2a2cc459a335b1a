package io.hsmtls.bench;

import java.util.Arrays;
import java.util.List;

/** Order statistics for latencies and for the min/median/max of repeated runs. */
public final class Percentiles {
    private Percentiles() {
    }

    /**
     * The nearest-rank percentile (the smallest value with at least p % of the values at or below
     * it), so p99 of 100 values is the 99th smallest, not an interpolation between two samples.
     *
     * @param sorted values in ascending order, not empty
     */
    public static long nearestRank(long[] sorted, double p) {
        if (sorted.length == 0) {
            throw new IllegalArgumentException("percentile of no values");
        }
        if (!(p > 0 && p <= 100)) {
            throw new IllegalArgumentException("percentile outside (0, 100]: " + p);
        }
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(0, rank - 1)];
    }

    /** Median: the middle value, or the mean of the two middle values for an even count. */
    public static double median(List<Double> values) {
        if (values.isEmpty()) {
            throw new IllegalArgumentException("median of no values");
        }
        double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        int n = v.length;
        return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }

    public static long[] sortedCopy(long[] values, int count) {
        long[] c = Arrays.copyOf(values, count);
        Arrays.sort(c);
        return c;
    }
}
