package io.hsmtls.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Collects BENCH lines of repeated runs and prints min / median / max per figure per server,
 * one row per scenario and figure, one column per server in the order they first appear.
 */
public final class ResultTable {
    /** Figures worth a row, in row order; the others stay in the raw lines. */
    static final List<String> HEADLINE = List.of("hs_per_s", "hs_per_cpu_s", "share_of_token", "ratio_hs_per_s",
            "ratio_hs_per_cpu_s", "resumed_share", "p50_ms", "p99_ms", "echo_p50_ms", "echo_p99_ms", "echo_errors", "mb_per_s", "mb_per_cpu_s", "kib_per_conn", "rss_after_kib", "connections", "ops_per_s",
            "ops_per_cpu_s", "errors", "failed");

    /** scenario → figure → server → values of each repeat. */
    private final Map<String, Map<String, Map<String, List<Double>>>> values = new LinkedHashMap<>();
    private final Set<String> servers = new LinkedHashSet<>();
    private final List<String> problems = new ArrayList<>();

    /** Adds one line; lines that are not BENCH lines are ignored, malformed ones are reported. */
    public void add(String line) {
        if (!line.startsWith(LoadResult.PREFIX + "\t")) {
            return;
        }
        String server = null;
        String scenario = null;
        Map<String, Double> figures = new LinkedHashMap<>();
        for (String field : line.substring(LoadResult.PREFIX.length() + 1).split("\t")) {
            int eq = field.indexOf('=');
            if (eq <= 0) {
                problems.add("field without '=' (" + field + ") in: " + line);
                return;
            }
            String k = field.substring(0, eq);
            String v = field.substring(eq + 1);
            switch (k) {
                case "server" -> server = v;
                case "scenario" -> scenario = v;
                default -> {
                    try {
                        figures.put(k, Double.parseDouble(v));
                    } catch (NumberFormatException e) {
                        problems.add("figure " + k + " is not a number (" + v + ") in: " + line);
                        return;
                    }
                }
            }
        }
        if (server == null || scenario == null) {
            problems.add("no server= or scenario= in: " + line);
            return;
        }
        servers.add(server);
        String srv = server;
        Map<String, Map<String, List<Double>>> byFigure = values.computeIfAbsent(scenario, s -> new LinkedHashMap<>());
        figures.forEach((k, v) -> byFigure.computeIfAbsent(k, x -> new LinkedHashMap<>())
                .computeIfAbsent(srv, x -> new ArrayList<>()).add(v));
    }

    public List<String> problems() {
        return List.copyOf(problems);
    }

    /** The values of every repeat, for tests and for the share computation. */
    public List<Double> values(String scenario, String figure, String server) {
        return values.getOrDefault(scenario, Map.of()).getOrDefault(figure, Map.of()).getOrDefault(server, List.of());
    }

    /**
     * Adds a {@code share_of_token} figure to a scenario: each repeat's server-side handshakes per
     * CPU-second divided by the median raw token rate per CPU-second (from the token scenario's
     * {@code ops_per_cpu_s}), so a handshake figure reads as a share of what the token alone can do.
     */
    public void addShareOfToken(String scenario, String tokenScenario) {
        Map<String, List<Double>> token = values.getOrDefault(tokenScenario, Map.of()).get("ops_per_cpu_s");
        Map<String, List<Double>> hs = values.getOrDefault(scenario, Map.of()).get("hs_per_cpu_s");
        if (token == null || hs == null) {
            return;
        }
        List<Double> all = token.values().stream().flatMap(List::stream).toList();
        if (all.isEmpty()) {
            return;
        }
        double rate = Percentiles.median(all);
        Map<String, List<Double>> share = new LinkedHashMap<>();
        hs.forEach((server, v) -> share.put(server, v.stream().map(x -> x / rate).toList()));
        values.get(scenario).put("share_of_token", share);
    }

    /**
     * Adds {@code ratio_hs_per_s} and {@code ratio_hs_per_cpu_s} to {@code scenario}: its figure
     * over the same server's figure in {@code base} (e.g. slow token over plain token). Repeat i is
     * divided by repeat i of the base when both have the same number of repeats (bench.sh
     * interleaves them, so they ran under the same conditions), else by the base's median.
     */
    public void addRatio(String scenario, String base) {
        for (String figure : List.of("hs_per_s", "hs_per_cpu_s")) {
            Map<String, List<Double>> num = values.getOrDefault(scenario, Map.of()).get(figure);
            Map<String, List<Double>> den = values.getOrDefault(base, Map.of()).get(figure);
            if (num == null || den == null) {
                continue;
            }
            Map<String, List<Double>> ratio = new LinkedHashMap<>();
            num.forEach((server, v) -> {
                List<Double> b = den.get(server);
                if (b == null || b.isEmpty()) {
                    return;
                }
                List<Double> r = new ArrayList<>();
                double median = Percentiles.median(b);
                for (int i = 0; i < v.size(); i++) {
                    r.add(v.get(i) / (v.size() == b.size() ? b.get(i) : median));
                }
                ratio.put(server, r);
            });
            values.get(scenario).put("ratio_" + figure, ratio);
        }
    }

    /**
     * Rows that describe the machine and the token rather than a server under test ({@code
     * server=machine}, {@code server=token}) go in a table of their own, so the server table stays
     * narrow.
     */
    static final Set<String> REFERENCE = Set.of("machine", "token");

    /** min / median / max (repeats) for each headline figure: the limits first, then the servers. */
    public String render() {
        List<String> refCols = servers.stream().filter(REFERENCE::contains).toList();
        List<String> serverCols = servers.stream().filter(s -> !REFERENCE.contains(s)).toList();
        List<String> refScenarios = new ArrayList<>();
        List<String> serverScenarios = new ArrayList<>();
        for (var sc : values.entrySet()) {
            boolean onlyReference = sc.getValue().values().stream().flatMap(m -> m.keySet().stream())
                    .allMatch(REFERENCE::contains);
            (onlyReference ? refScenarios : serverScenarios).add(sc.getKey());
        }
        StringBuilder b = new StringBuilder();
        if (!refScenarios.isEmpty()) {
            b.append(render(refScenarios, refCols)).append('\n');
        }
        if (!serverScenarios.isEmpty()) {
            b.append(render(serverScenarios, serverCols));
        }
        return b.toString();
    }

    private String render(List<String> scenarios, List<String> cols) {
        List<String[]> rows = new ArrayList<>();
        rows.add(header(cols));
        for (var sc : values.entrySet().stream().filter(e -> scenarios.contains(e.getKey())).toList()) {
            for (String figure : HEADLINE) {
                Map<String, List<Double>> byServer = sc.getValue().get(figure);
                if (byServer == null || figure.endsWith("errors") && byServer.values().stream()
                        .flatMap(List::stream).allMatch(v -> v == 0)) {
                    continue; // an errors row only when some run had errors
                }
                String[] row = new String[cols.size() + 2];
                row[0] = sc.getKey();
                row[1] = figure;
                for (int i = 0; i < cols.size(); i++) {
                    List<Double> v = byServer.get(cols.get(i));
                    row[i + 2] = v == null || v.isEmpty() ? "-" : cell(v);
                }
                rows.add(row);
            }
        }
        return format(rows);
    }

    private static String[] header(List<String> cols) {
        String[] h = new String[cols.size() + 2];
        h[0] = "scenario";
        h[1] = "figure";
        for (int i = 0; i < cols.size(); i++) {
            h[i + 2] = cols.get(i) + " min/med/max (n)";
        }
        return h;
    }

    static String cell(List<Double> v) {
        double min = v.stream().mapToDouble(Double::doubleValue).min().orElseThrow();
        double max = v.stream().mapToDouble(Double::doubleValue).max().orElseThrow();
        return num(min) + " / " + num(Percentiles.median(v)) + " / " + num(max) + " (" + v.size() + ")";
    }

    /** Three significant figures is all a shared machine supports. */
    static String num(double v) {
        double a = Math.abs(v);
        if (a >= 100 || v == Math.rint(v)) {
            return String.format(Locale.ROOT, "%.0f", v);
        }
        if (a >= 10) {
            return String.format(Locale.ROOT, "%.1f", v);
        }
        if (a >= 1) {
            return String.format(Locale.ROOT, "%.2f", v);
        }
        return String.format(Locale.ROOT, "%.3f", v);
    }

    private static String format(List<String[]> rows) {
        int n = rows.get(0).length;
        int[] w = new int[n];
        for (String[] r : rows) {
            for (int i = 0; i < n; i++) {
                w[i] = Math.max(w[i], r[i].length());
            }
        }
        StringBuilder b = new StringBuilder();
        for (String[] r : rows) {
            for (int i = 0; i < n; i++) {
                b.append(i == 0 ? "" : "  ").append(r[i]).append(" ".repeat(w[i] - r[i].length()));
            }
            b.setLength(b.length() - (w[n - 1] - r[n - 1].length()));
            b.append('\n');
        }
        return b.toString();
    }
}
