package io.hsmtls.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The CLI is a leaf and provisioning stays beside the token seam: nothing imports {@code cli},
 * and {@code provision} imports only {@code token}, Bouncy Castle and the JDK (never the PKCS#11
 * wrapper or {@code token.iaik}). Reads the sources, since there is no ArchUnit here.
 */
class CliLayeringTest {
    private static final Path MAIN = Path.of("src/main/java/io/hsmtls");
    private static final Pattern IMPORT = Pattern.compile("^import\\s+(?:static\\s+)?([\\w.]+)", Pattern.MULTILINE);

    @Test
    void nothingOutsideCli_importsCli() throws IOException {
        List<String> offenders = new ArrayList<>();
        for (Path f : javaFiles(MAIN)) {
            if (f.startsWith(MAIN.resolve("cli"))) {
                continue;
            }
            for (String imp : imports(f)) {
                if (imp.startsWith("io.hsmtls.cli.")) {
                    offenders.add(f + " imports " + imp);
                }
            }
        }
        assertEquals(List.of(), offenders);
    }

    @Test
    void provision_importsOnlyTokenBouncyCastleAndJdk() throws IOException {
        List<String> offenders = new ArrayList<>();
        for (Path f : javaFiles(MAIN.resolve("provision"))) {
            for (String imp : imports(f)) {
                boolean ok = imp.startsWith("java.") || imp.startsWith("javax.") || imp.startsWith("org.bouncycastle.")
                        || imp.startsWith("io.hsmtls.provision.")
                        || imp.startsWith("io.hsmtls.token.") && !imp.startsWith("io.hsmtls.token.iaik.");
                if (!ok) {
                    offenders.add(f + " imports " + imp);
                }
            }
        }
        assertEquals(List.of(), offenders);
    }

    private static List<Path> javaFiles(Path root) throws IOException {
        try (Stream<Path> s = Files.walk(root)) {
            return s.filter(p -> p.toString().endsWith(".java")).toList();
        }
    }

    private static List<String> imports(Path f) throws IOException {
        List<String> out = new ArrayList<>();
        Matcher m = IMPORT.matcher(Files.readString(f));
        while (m.find()) {
            out.add(m.group(1));
        }
        return out;
    }
}
