package io.hsmtls.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** Imports point one way: tls is engine-neutral, proxy sees tls only through its interfaces. */
class LayeringTest {
    static List<String> violations(String pkgDir, boolean recurse, List<String> forbidden) throws IOException {
        Path dir = Path.of("src/main/java/io/hsmtls").resolve(pkgDir);
        List<String> out = new ArrayList<>();
        try (Stream<Path> files = recurse ? Files.walk(dir) : Files.list(dir)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                for (String line : Files.readAllLines(f)) {
                    if (line.startsWith("import ") && forbidden.stream().anyMatch(line::contains)) {
                        out.add(f.getFileName() + ": " + line);
                    }
                }
            }
        }
        return out;
    }

    @Test
    void tlsPolicy_importsNoBouncyCastleNorProxyNorCli() throws IOException {
        assertEquals(List.of(), violations("tls", false,
                List.of("org.bouncycastle", "io.hsmtls.proxy", "io.hsmtls.cli", "io.hsmtls.tls.bc", "org.xipki")));
    }

    @Test
    void tlsBc_importsNoProxyNorCliNorWrapper() throws IOException {
        assertEquals(List.of(), violations("tls/bc", true, List.of("io.hsmtls.proxy", "io.hsmtls.cli", "org.xipki",
                "io.hsmtls.token.iaik")));
    }

    @Test
    void proxy_importsNoBouncyCastleNorEngineNorCli() throws IOException {
        assertEquals(List.of(), violations("proxy", true, List.of("org.bouncycastle", "io.hsmtls.tls.bc",
                "io.hsmtls.cli", "io.hsmtls.token.iaik", "org.xipki")));
    }
}
