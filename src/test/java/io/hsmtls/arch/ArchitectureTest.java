package io.hsmtls.arch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Keeps the dependency direction of DESIGN.md: cli → everything, nothing → cli; proxy → tls,
 * observe; tls.bc → tls, token; tls → token; token → JDK only; foreign (native calls) → JDK only,
 * used by token.iaik and tls.bc; only token.iaik imports the PKCS#11 wrapper and only tls.bc (and
 * provision for PKIX objects) import Bouncy Castle.
 */
class ArchitectureTest {
    private static final Path MAIN = Path.of("src/main/java/io/hsmtls");
    private static final Pattern IMPORT = Pattern.compile("^import\\s+(?:static\\s+)?([\\w.]+)", Pattern.MULTILINE);

    /** Package → project packages it may import (besides itself and its own sub-packages). */
    private static final Map<String, Set<String>> ALLOWED = Map.ofEntries(
            Map.entry("foreign", Set.of()),
            Map.entry("token", Set.of()),
            Map.entry("token.iaik", Set.of("token", "foreign")),
            Map.entry("tls", Set.of("token", "observe")),
            Map.entry("tls.bc", Set.of("tls", "token", "observe", "foreign")),
            Map.entry("tls.client", Set.of("tls", "token", "observe")),
            Map.entry("tls.bc.client", Set.of("tls", "tls.bc", "tls.client", "token", "observe")),
            Map.entry("proxy", Set.of("tls", "tls.client", "token", "observe", "config")),
            Map.entry("provision", Set.of("token")),
            Map.entry("config", Set.of("token", "tls")),
            Map.entry("observe", Set.of()),
            Map.entry("bench", Set.of("token", "tls", "observe")),
            Map.entry("doctor", Set.of("token", "tls", "observe")));

    /** Third-party roots and the packages allowed to import them. */
    private static final Map<String, Set<String>> THIRD_PARTY = Map.of(
            "org.xipki.pkcs11", Set.of("token.iaik"),
            "iaik.pkcs", Set.of("token.iaik"),
            "org.bouncycastle.tls", Set.of("tls.bc", "tls.bc.client"),
            "picocli", Set.of("cli"));

    @Test
    void packagesImportOnlyInTheDirectionOfTheDesign() throws IOException {
        List<String> violations = new ArrayList<>();
        try (Stream<Path> files = Files.walk(MAIN)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                String pkg = MAIN.relativize(f.getParent()).toString().replace('/', '.');
                String src = Files.readString(f);
                Matcher m = IMPORT.matcher(src);
                while (m.find()) {
                    String imp = m.group(1);
                    check(pkg, imp, f, violations);
                }
            }
        }
        assertEquals(List.of(), violations, "imports against the architecture");
    }

    private static void check(String pkg, String imp, Path file, List<String> violations) {
        for (var e : THIRD_PARTY.entrySet()) {
            if (imp.startsWith(e.getKey() + ".") && e.getValue().stream().noneMatch(a -> within(pkg, a))
                    && !pkg.equals("cli")) {
                violations.add(file + " imports " + imp + " (only " + e.getValue() + " may)");
            }
        }
        if (!imp.startsWith("io.hsmtls.")) {
            return;
        }
        String target = imp.substring("io.hsmtls.".length());
        target = target.substring(0, Math.max(0, target.lastIndexOf('.')));
        while (!target.isEmpty() && !isPackage(target)) {
            target = target.contains(".") ? target.substring(0, target.lastIndexOf('.')) : "";
        }
        if (target.isEmpty() || within(pkg, target) || pkg.equals("cli")) {
            return;
        }
        if (target.equals("cli")) {
            violations.add(file + " imports the cli package (" + imp + "): the CLI is a leaf");
            return;
        }
        Set<String> allowed = ALLOWED.get(pkg);
        if (allowed == null) {
            violations.add(file + " is in package " + pkg + ", which has no rule in ArchitectureTest");
        } else if (!allowed.contains(target)) {
            violations.add(file + " (" + pkg + ") imports " + imp + "; " + pkg + " may import " + allowed);
        }
    }

    private static boolean isPackage(String p) {
        return Files.isDirectory(MAIN.resolve(p.replace('.', '/')));
    }

    private static boolean within(String pkg, String root) {
        return pkg.equals(root);
    }

    @Test
    void everyPackageSaysWhatLivesThere() throws IOException {
        try (Stream<Path> dirs = Files.walk(MAIN)) {
            List<Path> missing = dirs.filter(Files::isDirectory)
                    .filter(d -> hasJava(d))
                    .filter(d -> !Files.exists(d.resolve("package-info.java")))
                    .toList();
            assertTrue(missing.isEmpty(), "packages without package-info.java: " + missing);
        }
    }

    private static boolean hasJava(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.anyMatch(p -> p.toString().endsWith(".java"));
        } catch (IOException e) {
            return false;
        }
    }
}
