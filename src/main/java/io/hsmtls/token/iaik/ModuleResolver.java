package io.hsmtls.token.iaik;

import io.hsmtls.token.ModuleLoadException;
import io.hsmtls.token.Pkcs11Uri;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Finds the PKCS#11 module to load, in this order: the {@code --module} override; the URI's
 * module-path (a file, or a directory to look for module-name in, RFC 7512 §2.3); the URI's
 * module-name in the usual library directories; {@code HSMTLS_PKCS11_MODULE}; SoftHSM2 where it
 * is installed. The error names every place that was tried.
 */
public final class ModuleResolver {
    /** Where distributions put PKCS#11 modules (p11-kit's directory first). */
    public static final List<Path> SEARCH_DIRS = List.of(Path.of("/usr/lib/x86_64-linux-gnu/pkcs11"),
            Path.of("/usr/lib/softhsm"), Path.of("/usr/lib/x86_64-linux-gnu"), Path.of("/usr/lib"),
            Path.of("/usr/local/lib"));
    static final List<Path> SOFTHSM_DEFAULTS = List.of(Path.of("/usr/lib/softhsm/libsofthsm2.so"),
            Path.of("/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"), Path.of("/usr/local/lib/softhsm/libsofthsm2.so"));
    public static final String ENV = "HSMTLS_PKCS11_MODULE";

    private ModuleResolver() {
    }

    public static Path resolve(Pkcs11Uri uri, Optional<Path> override) {
        return resolve(uri, override, System.getenv());
    }

    static Path resolve(Pkcs11Uri uri, Optional<Path> override, Map<String, String> env) {
        List<String> tried = new ArrayList<>();
        if (override.isPresent()) {
            Path p = override.get();
            if (Files.isRegularFile(p)) {
                return p;
            }
            throw new ModuleLoadException(p.toString(), Files.isDirectory(p)
                    ? "--module names a directory: give the module's .so file"
                    : "no such file: check --module (e.g. /usr/lib/softhsm/libsofthsm2.so)", null);
        }
        Optional<String> name = uri.moduleName();
        if (uri.modulePath().isPresent()) {
            Path p = Path.of(uri.modulePath().get());
            if (Files.isDirectory(p)) {
                if (name.isEmpty()) {
                    throw new ModuleLoadException(p.toString(),
                            "module-path is a directory and the URI has no module-name to look for in it", null);
                }
                Optional<Path> found = findByName(List.of(p), name.get(), tried);
                if (found.isPresent()) {
                    return found.get();
                }
                throw new ModuleLoadException(name.get(), "not found; tried " + String.join(", ", tried), null);
            }
            if (Files.isRegularFile(p)) {
                return p;
            }
            throw new ModuleLoadException(p.toString(), "module-path names no file: check the URI's module-path", null);
        }
        if (name.isPresent()) {
            Optional<Path> found = findByName(SEARCH_DIRS, name.get(), tried);
            if (found.isPresent()) {
                return found.get();
            }
            throw new ModuleLoadException(name.get(), "module-name not found; tried " + String.join(", ", tried)
                    + ": give module-path or --module", null);
        }
        String fromEnv = env.get(ENV);
        if (fromEnv != null && !fromEnv.isEmpty()) {
            Path p = Path.of(fromEnv);
            if (Files.isRegularFile(p)) {
                return p;
            }
            throw new ModuleLoadException(fromEnv, ENV + " names no file: fix or unset it", null);
        }
        for (Path p : SOFTHSM_DEFAULTS) {
            if (Files.isRegularFile(p)) {
                return p;
            }
            tried.add(p.toString());
        }
        throw new ModuleLoadException("(none given)", "no module in the URI (module-path/module-name), no --module, no "
                + ENV + ", and no SoftHSM2 at " + String.join(", ", tried) + ": say which module to load", null);
    }

    private static Optional<Path> findByName(List<Path> dirs, String name, List<String> tried) {
        List<String> candidates = new ArrayList<>();
        candidates.add(name);
        if (!name.endsWith(".so")) {
            candidates.add(name + ".so");
            if (!name.startsWith("lib")) {
                candidates.add("lib" + name + ".so");
            }
        }
        if (name.contains("/")) {
            // module-name is a name, not a path (RFC 7512 §2.3): refuse rather than load from anywhere.
            tried.add(name + " (module-name must not contain '/')");
            return Optional.empty();
        }
        for (Path dir : dirs) {
            for (String c : candidates) {
                Path p = dir.resolve(c);
                if (Files.isRegularFile(p)) {
                    return Optional.of(p);
                }
                tried.add(p.toString());
            }
        }
        return Optional.empty();
    }
}
