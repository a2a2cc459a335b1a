package io.hsmtls.bench;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The figures of one run, by name (e.g. {@code hs_per_cpu_s}). Printed as one tab-separated
 * {@code BENCH} line that {@link ResultTable} reads back, so a shell script can collect runs of
 * different servers in one file.
 */
public record LoadResult(Map<String, Double> figures) {
    public static final String PREFIX = "BENCH";

    public LoadResult {
        figures = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(figures));
    }

    public double get(String name) {
        Double v = figures.get(name);
        if (v == null) {
            throw new IllegalArgumentException("no figure '" + name + "' in " + figures.keySet());
        }
        return v;
    }

    /** {@code BENCH<TAB>server=S<TAB>scenario=X<TAB>name=value…}. */
    public String toLine(String server, String scenario) {
        StringBuilder b = new StringBuilder(PREFIX).append("\tserver=").append(clean(server))
                .append("\tscenario=").append(clean(scenario));
        figures.forEach((k, v) -> b.append('\t').append(k).append('=').append(format(v)));
        return b.toString();
    }

    static String format(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e15) {
            return Long.toString((long) v);
        }
        return String.format(Locale.ROOT, "%.4f", v);
    }

    private static String clean(String s) {
        if (s.isEmpty() || !s.matches("[A-Za-z0-9._:+-]+")) {
            throw new IllegalArgumentException("label '" + s + "': use letters, digits and . _ : + - only");
        }
        return s;
    }
}
