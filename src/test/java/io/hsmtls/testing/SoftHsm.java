package io.hsmtls.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * A real SoftHSM2 token for a test class. Register with
 * {@code @RegisterExtension static SoftHsm hsm = new SoftHsm();} or use as a parameter.
 *
 * <p>SoftHSM reads {@code SOFTHSM2_CONF} from the process environment, which a JVM cannot change,
 * so the build sets it for the test JVM (see pom.xml: {@code ${buildDir}/softhsm2.conf}) and this
 * fixture writes that file (token directory beside it) the first time it runs. Each instance then
 * initialises a fresh token with a unique label in that directory; child processes (pkcs11-tool,
 * openssl, hsmtls itself) inherit the same environment.
 */
public final class SoftHsm implements BeforeAllCallback, ParameterResolver {
    public static final String USER_PIN = "123456";
    public static final String SO_PIN = "12345678";
    private static final AtomicInteger COUNTER = new AtomicInteger();

    private final String userPin;
    private String label;
    private Path pinFile;
    private Path workDir;

    public SoftHsm() {
        this(USER_PIN);
    }

    /** A token with its own user PIN (e.g. a distinctive one a test searches logs for). */
    public SoftHsm(String userPin) {
        this.userPin = userPin;
    }

    /** Creates the token right away (for use outside JUnit's lifecycle). */
    public static SoftHsm create() {
        SoftHsm h = new SoftHsm();
        h.init("adhoc");
        return h;
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        init(context.getRequiredTestClass().getSimpleName());
    }

    private synchronized void init(String prefix) {
        if (label != null) {
            return;
        }
        Path conf = confPath();
        ensureConf(conf);
        workDir = conf.getParent().resolve("work");
        try {
            Files.createDirectories(workDir);
            label = (prefix.length() > 20 ? prefix.substring(0, 20) : prefix) + "-" + ProcessHandle.current().pid()
                    + "-" + COUNTER.incrementAndGet();
            pinFile = workDir.resolve(label + ".pin");
            Files.writeString(pinFile, userPin + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        run(List.of("softhsm2-util", "--init-token", "--free", "--label", label, "--pin", userPin,
                "--so-pin", SO_PIN));
    }

    /** The SOFTHSM2_CONF the test JVM was started with. */
    public static Path confPath() {
        String env = System.getenv("SOFTHSM2_CONF");
        if (env == null) {
            throw new IllegalStateException("SOFTHSM2_CONF is not set for the test JVM: run the tests through Maven");
        }
        return Path.of(env);
    }

    private static synchronized void ensureConf(Path conf) {
        if (Files.exists(conf)) {
            return;
        }
        try {
            Path tokens = conf.getParent().resolve("softhsm-tokens");
            Files.createDirectories(tokens);
            Files.writeString(conf, "directories.tokendir = " + tokens + "\nobjectstore.backend = file\n"
                    + "log.level = ERROR\nslots.removable = false\n", StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static Path modulePath() {
        for (String p : List.of("/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
                "/usr/local/lib/softhsm/libsofthsm2.so")) {
            if (Files.exists(Path.of(p))) {
                return Path.of(p);
            }
        }
        throw new IllegalStateException("libsofthsm2.so not found: apt-get install softhsm2");
    }

    public String label() {
        return label;
    }

    public String userPin() {
        return userPin;
    }

    /** A file holding the user PIN (the tests' only PIN source besides stdin). */
    public Path pinFile() {
        return pinFile;
    }

    /** A scratch directory next to the token store. */
    public Path workDir() {
        return workDir;
    }

    /** {@code pkcs11:token=LABEL?module-path=…&pin-source=file:…}. */
    public String tokenUri() {
        return "pkcs11:token=" + label + "?module-path=" + modulePath() + "&pin-source=file:" + pinFile;
    }

    /** {@code pkcs11:token=LABEL;object=OBJECT?module-path=…&pin-source=file:…}. */
    public String keyUri(String object) {
        return "pkcs11:token=" + label + ";object=" + object + "?module-path=" + modulePath() + "&pin-source=file:"
                + pinFile;
    }

    /** Runs a tool with this JVM's SOFTHSM2_CONF; fails the test with its output when it exits non-zero. */
    public static String run(List<String> command) {
        Result r = exec(command, null);
        if (r.exitCode() != 0) {
            throw new IllegalStateException(String.join(" ", command) + " exited " + r.exitCode() + ":\n" + r.output());
        }
        return r.output();
    }

    /** Runs a command, merges stdout and stderr, waits at most two minutes. */
    public static Result exec(List<String> command, String stdin) {
        return exec(command, stdin, Map.of());
    }

    public static Result exec(List<String> command, String stdin, Map<String, String> env) {
        ProcessBuilder pb = new ProcessBuilder(new ArrayList<>(command)).redirectErrorStream(true);
        pb.environment().putAll(env);
        try {
            Process p = pb.start();
            if (stdin != null) {
                p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
            }
            p.getOutputStream().close();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(2, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new IllegalStateException(String.join(" ", command) + " did not finish in 2 minutes");
            }
            return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public record Result(int exitCode, String output) { }

    @Override
    public boolean supportsParameter(ParameterContext p, ExtensionContext e) {
        return p.getParameter().getType() == SoftHsm.class;
    }

    @Override
    public Object resolveParameter(ParameterContext p, ExtensionContext e) {
        return this;
    }
}
