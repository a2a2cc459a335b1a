package io.hsmtls.bench;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.hsmtls.testing.SoftHsm;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Builds the slow PKCS#11 test double (src/test/c/slow-pkcs11.c) for a test. The test JVM cannot
 * set its own environment, so the real module's path and the delay are compiled in as the
 * shim's defaults; a test without a C compiler is skipped, not failed.
 */
public final class SlowPkcs11 {
    static final Path SOURCE = Path.of("src/test/c/slow-pkcs11.c");

    private SlowPkcs11() {
    }

    /** Compiles the shim into {@code dir} forwarding to SoftHSM with {@code delayMs}; skips the test if there is no cc. */
    public static Path build(Path dir, int delayMs) {
        return build(dir, delayMs, false);
    }

    /**
     * As {@link #build(Path, int)}; with {@code refuseLengthQueries} the shim fails a C_Sign or
     * C_Decrypt that has no output buffer (a length query), so only one-call operations work.
     */
    public static Path build(Path dir, int delayMs, boolean refuseLengthQueries) {
        assumeTrue(onPath("cc"), "no C compiler (cc) on PATH: the slow-token test double cannot be built");
        assumeTrue(Files.exists(Path.of("/usr/include/p11-kit-1/p11-kit/pkcs11.h")),
                "no /usr/include/p11-kit-1/p11-kit/pkcs11.h (apt-get install libp11-kit-dev)");
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Path out = dir.resolve("libslow-pkcs11-" + delayMs + "ms" + (refuseLengthQueries ? "-one-call" : "") + ".so");
        SoftHsm.Result r = SoftHsm.exec(List.of("cc", "-O2", "-Wall", "-Werror", "-shared", "-fPIC",
                "-I/usr/include/p11-kit-1", refuseLengthQueries ? "-DSLOW_PKCS11_REFUSE_LENGTH_QUERIES" : "-UNONE",
                "-DSLOW_PKCS11_DEFAULT_MODULE=\"" + SoftHsm.modulePath() + "\"",
                "-DSLOW_PKCS11_DEFAULT_DELAY_MS=\"" + delayMs + "\"",
                "-o", out.toString(), SOURCE.toAbsolutePath().toString(), "-ldl", "-lpthread"), "");
        if (r.exitCode() != 0) {
            throw new IllegalStateException("cc " + SOURCE + " failed (exit " + r.exitCode() + "): " + r.output());
        }
        return out;
    }

    private static boolean onPath(String tool) {
        String path = System.getenv().getOrDefault("PATH", "");
        for (String d : path.split(":")) {
            if (!d.isEmpty() && Files.isExecutable(Path.of(d, tool))) {
                return true;
            }
        }
        return false;
    }
}
