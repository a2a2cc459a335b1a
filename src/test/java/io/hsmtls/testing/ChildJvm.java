package io.hsmtls.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A child JVM on the test class path (for an environment the test JVM cannot set, or a real
 * signal), its stdout and stderr merged and kept line by line.
 */
public final class ChildJvm implements AutoCloseable {
    private final Process process;
    private final List<String> lines = new CopyOnWriteArrayList<>();
    private final Thread reader;

    private ChildJvm(Process process) {
        this.process = process;
        this.reader = Thread.ofPlatform().daemon(true).name("child-out-" + process.pid()).start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8))) {
                String l;
                while ((l = r.readLine()) != null) {
                    lines.add(l);
                }
            } catch (IOException ignored) {
                // child gone
            }
        });
    }

    /** Starts {@code mainClass args…} with extra environment variables. */
    public static ChildJvm start(String mainClass, Map<String, String> env, String... args) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-cp", cp,
                mainClass));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().putAll(env);
        return new ChildJvm(pb.start());
    }

    public Process process() {
        return process;
    }

    /** Every line so far. */
    public List<String> lines() {
        return List.copyOf(lines);
    }

    public String output() {
        return String.join("\n", lines);
    }

    /** The first line matching, waiting up to {@code seconds}; fails with the output so far. */
    public String await(Predicate<String> p, int seconds, String what) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (true) {
            Optional<String> l = lines.stream().filter(p).findFirst();
            if (l.isPresent()) {
                return l.get();
            }
            if (System.nanoTime() > end || (!process.isAlive() && !reader.isAlive())) {
                throw new AssertionError("no " + what + " within " + seconds + " s; output:\n" + output());
            }
            Thread.sleep(20);
        }
    }

    /** Sends SIGTERM and waits for the exit code. */
    public int terminate(int seconds) throws Exception {
        SoftHsm.run(List.of("kill", "-TERM", Long.toString(process.pid())));
        if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
            throw new AssertionError("child did not exit within " + seconds + " s of SIGTERM; output:\n" + output());
        }
        reader.join(5_000);
        return process.exitValue();
    }

    @Override
    public void close() {
        process.destroyForcibly();
    }
}
