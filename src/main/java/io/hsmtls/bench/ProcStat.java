package io.hsmtls.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * CPU time and resident memory of a process and all its descendants, read from Linux /proc
 * (proc(5)): {@code utime}+{@code stime} from {@code /proc/PID/stat} in clock ticks, {@code VmRSS}
 * from {@code /proc/PID/status}. The tree matters because nginx does its work in worker processes.
 * The machine is shared, so the harness divides work by the server's own CPU time, never by wall time.
 */
public final class ProcStat {
    private final Path proc;
    private final long clockTicksPerSecond;

    public ProcStat(Path proc, long clockTicksPerSecond) {
        if (clockTicksPerSecond <= 0) {
            throw new IllegalArgumentException("clockTicksPerSecond <= 0: " + clockTicksPerSecond);
        }
        this.proc = proc;
        this.clockTicksPerSecond = clockTicksPerSecond;
    }

    /** The real /proc with the clock tick rate from {@code getconf CLK_TCK}. */
    public static ProcStat system() {
        return new ProcStat(Path.of("/proc"), clockTicks());
    }

    /** CPU time and RSS summed over a process tree at one moment. */
    public record Sample(long cpuTicks, long rssKib, int processes, long clockTicksPerSecond) {
        public double cpuSeconds() {
            return (double) cpuTicks / clockTicksPerSecond;
        }
    }

    /** One line of /proc/PID/stat, the fields the harness needs. */
    record Stat(long pid, long ppid, long utime, long stime) { }

    /**
     * Parses /proc/PID/stat. The second field is the command name in parentheses and may itself
     * contain spaces and parentheses, so the fields are counted from the last ')'.
     */
    static Stat parseStat(String line) {
        int close = line.lastIndexOf(')');
        if (close < 0) {
            throw new IllegalArgumentException("not a /proc/PID/stat line (no ')'): " + abbreviate(line));
        }
        long pid = Long.parseLong(line.substring(0, line.indexOf(' ')).trim());
        String[] f = line.substring(close + 2).trim().split(" +");
        // After the name: state(3) ppid(4) ... utime(14) stime(15), numbered as in proc(5).
        if (f.length < 13) {
            throw new IllegalArgumentException("short /proc/PID/stat line (" + f.length + " fields after the name): "
                    + abbreviate(line));
        }
        return new Stat(pid, Long.parseLong(f[1]), Long.parseLong(f[11]), Long.parseLong(f[12]));
    }

    /** The VmRSS line of /proc/PID/status in KiB; 0 for a zombie or kernel thread (no such line). */
    static long parseRssKib(String status) {
        for (String line : status.split("\n")) {
            if (line.startsWith("VmRSS:")) {
                String v = line.substring("VmRSS:".length()).trim();
                if (!v.endsWith("kB")) {
                    throw new IllegalArgumentException("VmRSS not in kB: " + line);
                }
                return Long.parseLong(v.substring(0, v.length() - 2).trim());
            }
        }
        return 0;
    }

    /** Samples the process and its descendants (found by parent pid across /proc). */
    public Sample sample(long rootPid) {
        Map<Long, Stat> all = readAll();
        Stat root = all.get(rootPid);
        if (root == null) {
            throw new IllegalStateException("process " + rootPid + " not found in " + proc
                    + ": the server under test exited; check its log");
        }
        List<Stat> tree = tree(all, rootPid);
        long ticks = 0;
        long rss = 0;
        for (Stat s : tree) {
            ticks += s.utime() + s.stime();
            rss += readRss(s.pid()).orElse(0L);
        }
        return new Sample(ticks, rss, tree.size(), clockTicksPerSecond);
    }

    /** The root and every descendant, root first. */
    static List<Stat> tree(Map<Long, Stat> all, long rootPid) {
        Map<Long, List<Stat>> children = new HashMap<>();
        for (Stat s : all.values()) {
            children.computeIfAbsent(s.ppid(), k -> new ArrayList<>()).add(s);
        }
        List<Stat> out = new ArrayList<>();
        List<Long> todo = new ArrayList<>(List.of(rootPid));
        // Bounded: each pid is visited once; /proc cannot hold a cycle but a bad test map could.
        while (!todo.isEmpty() && out.size() <= all.size()) {
            long pid = todo.remove(todo.size() - 1);
            Stat s = all.get(pid);
            if (s == null) {
                continue;
            }
            out.add(s);
            for (Stat c : children.getOrDefault(pid, List.of())) {
                if (c.pid() != pid) {
                    todo.add(c.pid());
                }
            }
        }
        return out;
    }

    private Map<Long, Stat> readAll() {
        Map<Long, Stat> all = new HashMap<>();
        try (Stream<Path> dirs = Files.list(proc)) {
            for (Path d : dirs.toList()) {
                String name = d.getFileName().toString();
                if (name.isEmpty() || !name.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                try {
                    Stat s = parseStat(Files.readString(d.resolve("stat"), StandardCharsets.UTF_8));
                    all.put(s.pid(), s);
                } catch (NoSuchFileException e) {
                    // The process exited between the listing and the read.
                } catch (IOException e) {
                    // Same race, reported differently by some kernels (ESRCH).
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + proc + ": " + e.getMessage(), e);
        }
        return all;
    }

    private Optional<Long> readRss(long pid) {
        try {
            return Optional.of(parseRssKib(Files.readString(proc.resolve(Long.toString(pid)).resolve("status"))));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /**
     * CPU ticks of a JVM's JIT compiler threads ("C1 CompilerThre…", "C2 CompilerThre…" in
     * /proc/PID/task/TID/stat), 0 for a process that has none (nginx). A compiler thread the JVM
     * retires takes its ticks along, so this is a lower bound: enough to tell a JVM that is still
     * compiling its hot path from one that has settled.
     */
    public long jitTicks(long pid) {
        Path tasks = proc.resolve(Long.toString(pid)).resolve("task");
        long ticks = 0;
        try (Stream<Path> dirs = Files.list(tasks)) {
            for (Path d : dirs.toList()) {
                try {
                    String line = Files.readString(d.resolve("stat"), StandardCharsets.UTF_8);
                    if (isJitThread(line)) {
                        Stat st = parseStat(line);
                        ticks += st.utime() + st.stime();
                    }
                } catch (IOException e) {
                    // the thread ended between the listing and the read
                }
            }
        } catch (IOException e) {
            return 0; // the process is gone or not ours to read: no JIT figure
        }
        return ticks;
    }

    static boolean isJitThread(String statLine) {
        int open = statLine.indexOf('(');
        return open >= 0 && (statLine.startsWith("C1 CompilerThre", open + 1)
                || statLine.startsWith("C2 CompilerThre", open + 1));
    }

    /** CPU seconds this JVM has used, from /proc/self/stat. */
    public double selfCpuSeconds() {
        try {
            Stat s = parseStat(Files.readString(proc.resolve("self/stat")));
            return (double) (s.utime() + s.stime()) / clockTicksPerSecond;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + proc.resolve("self/stat") + ": " + e.getMessage(), e);
        }
    }

    /** {@code getconf CLK_TCK}; 100 (the Linux USER_HZ on every common architecture) when getconf fails. */
    static long clockTicks() {
        try {
            Process p = new ProcessBuilder("getconf", "CLK_TCK").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
            if (p.waitFor() == 0 && out.matches("\\d+")) {
                return Long.parseLong(out);
            }
        } catch (IOException e) {
            // fall through
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return 100;
    }

    private static String abbreviate(String s) {
        return s.length() > 120 ? s.substring(0, 120) + "…" : s;
    }
}
