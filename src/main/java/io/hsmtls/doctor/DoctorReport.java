package io.hsmtls.doctor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * What {@code hsmtls doctor} found: the checks in the order they ran (it stops at the first
 * step that leaves nothing further to check, e.g. a failed login), one verdict per TLS use, and
 * the sign speed when it was measured.
 */
public record DoctorReport(String key, List<Check> checks, List<Verdict> verdicts, Optional<SignSpeed> speed) {
    public DoctorReport {
        checks = List.copyOf(checks);
        verdicts = List.copyOf(verdicts);
    }

    /** True when any check failed: the exit code is then 1. */
    public boolean failed() {
        return checks.stream().anyMatch(c -> c.status() == Status.FAIL);
    }

    public Optional<Check> check(String name) {
        return checks.stream().filter(c -> c.name().equals(name)).findFirst();
    }

    public Optional<Verdict> verdict(TlsUse use) {
        return verdicts.stream().filter(v -> v.use() == use).findFirst();
    }

    /** The text report: one line per check ("ok   login     …"), a blank line, one line per verdict. */
    public List<String> lines() {
        List<String> out = new ArrayList<>();
        out.add("hsmtls doctor: " + key);
        int width = checks.stream().mapToInt(c -> c.name().length()).max().orElse(0);
        for (Check c : checks) {
            out.add(String.format(Locale.ROOT, "%-4s  %-" + width + "s  %s", c.status().display(), c.name(), c.detail()));
        }
        out.add("");
        for (Verdict v : verdicts) {
            out.add(v.line());
        }
        out.add("");
        long fails = checks.stream().filter(c -> c.status() == Status.FAIL).count();
        long warns = checks.stream().filter(c -> c.status() == Status.WARN).count();
        out.add(fails > 0 ? "result: FAIL (" + fails + " failed, " + warns + " warning" + (warns == 1 ? "" : "s") + ")"
                : "result: ok" + (warns > 0 ? " with " + warns + " warning" + (warns == 1 ? "" : "s") : ""));
        return out;
    }

    /** The same as one tree of maps and lists, for a JSON writer. */
    public Map<String, Object> tree() {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("key", key);
        o.put("result", failed() ? "fail" : "ok");
        List<Object> cs = new ArrayList<>();
        for (Check c : checks) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", c.name());
            m.put("status", c.status().display());
            m.put("detail", c.detail());
            cs.add(m);
        }
        o.put("checks", cs);
        List<Object> vs = new ArrayList<>();
        for (Verdict v : verdicts) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("use", v.use().id());
            m.put("name", v.use().display());
            m.put("supported", v.yes());
            m.put("reason", v.reason());
            vs.add(m);
        }
        o.put("verdicts", vs);
        o.put("signSpeed", speed.map(s -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("scheme", s.scheme());
            m.put("operations", s.operations());
            m.put("seconds", s.elapsed().toNanos() / 1e9);
            m.put("opsPerSecond", Math.round(s.opsPerSecond() * 10) / 10.0);
            m.put("meanLatencyMs", Math.round(s.meanLatencyMillis() * 1000) / 1000.0);
            return (Object) m;
        }).orElse(null));
        return o;
    }
}
