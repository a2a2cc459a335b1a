package io.hsmtls.token.iaik;

import io.hsmtls.token.ModuleLoadException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import iaik.pkcs.pkcs11.wrapper.PKCS11;
import org.xipki.pkcs11.wrapper.PKCS11Module;

/**
 * One loaded and initialised PKCS#11 module, shared by every token opened from it in this JVM.
 *
 * <p>PKCS#11 (v2.40 §5.4) allows one C_Initialize per process and C_Finalize ends every session of
 * every user of the library, so two tokens on one module must share it: the registry is keyed by
 * the module's canonical path and counts users; the last {@link #release()} finalises. The module
 * is initialised with CKF_OS_LOCKING_OK (the wrapper does that), so calls on different sessions
 * run in parallel. CKR_CRYPTOKI_ALREADY_INITIALIZED (someone else in the process initialised it)
 * is accepted; then hsmtls does not finalise it either.
 */
public final class SharedModule {
    private static final Map<Path, SharedModule> REGISTRY = new HashMap<>();

    static {
        WrapperLog.install();
    }

    private final Path path;
    private final PKCS11Module module;
    private final boolean ownsInit;
    private final DirectCalls.Loaded direct;
    private int refs;
    private volatile long generation;

    private SharedModule(Path path, PKCS11Module module, boolean ownsInit) {
        this.path = path;
        this.module = module;
        this.ownsInit = ownsInit;
        this.direct = DirectCalls.load(path);
    }

    /** Loads (or shares) the module at {@code path}; the caller must {@link #release()} it. */
    public static SharedModule acquire(Path path) {
        Path canonical;
        try {
            canonical = path.toRealPath();
        } catch (IOException e) {
            throw new ModuleLoadException(path.toString(), "the file does not exist or cannot be read ("
                    + e.getClass().getSimpleName() + "): check the path or install the module", e);
        }
        synchronized (REGISTRY) {
            SharedModule m = REGISTRY.get(canonical);
            if (m == null) {
                m = load(canonical);
                REGISTRY.put(canonical, m);
            }
            m.refs++;
            return m;
        }
    }

    private static SharedModule load(Path canonical) {
        if (!Files.isRegularFile(canonical)) {
            throw new ModuleLoadException(canonical.toString(), "not a regular file: give the module's .so file", null);
        }
        prepareNativeTempDir();
        PKCS11Module module;
        try {
            module = PKCS11Module.getInstance(canonical.toString());
        } catch (IOException | UnsatisfiedLinkError e) {
            throw new ModuleLoadException(canonical.toString(), "the library cannot be loaded (" + e.getMessage()
                    + "); is it a PKCS#11 module for this architecture? If the wrapper's JNI library cannot be"
                    + " extracted, set PKCS11_TEMP_DIR to a writable, exec-allowed directory", e);
        }
        boolean owns = true;
        try {
            module.initialize();
        } catch (org.xipki.pkcs11.wrapper.PKCS11Exception e) {
            if (e.getErrorCode() == Ckr.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
                owns = false;
            } else {
                throw new ModuleLoadException(canonical.toString(), "C_Initialize failed (" + Ckr.name(e.getErrorCode())
                        + "): check the module's own configuration (e.g. SOFTHSM2_CONF)", e);
            }
        }
        return new SharedModule(canonical, module, owns);
    }

    /**
     * The wrapper extracts its JNI library into the directory named by the system property
     * PKCS11_TEMP_DIR (else java.io.tmpdir, which may be mounted noexec). Builds and scripts set
     * it as an environment variable, so carry that over, creating the directory if needed.
     */
    private static void prepareNativeTempDir() {
        String prop = System.getProperty("PKCS11_TEMP_DIR");
        String dir = prop != null && !prop.isEmpty() ? prop : System.getenv("PKCS11_TEMP_DIR");
        if (dir == null || dir.isEmpty()) {
            return;
        }
        try {
            Files.createDirectories(Path.of(dir));
        } catch (IOException e) {
            throw new ModuleLoadException("(wrapper JNI library)", "PKCS11_TEMP_DIR " + dir
                    + " cannot be created (" + e.getMessage() + "): point it at a writable directory", e);
        }
        if (prop == null || prop.isEmpty()) {
            System.setProperty("PKCS11_TEMP_DIR", dir);
        }
    }

    public Path path() {
        return path;
    }

    PKCS11Module module() {
        return module;
    }

    /** The raw PKCS#11 interface: hot-path calls go here so every CKR_ code reaches hsmtls unchanged. */
    PKCS11 raw() {
        return module.getPKCS11Module();
    }

    /** The hot calls straight into the module, or null: then they go through {@link #raw()}. */
    DirectCalls direct() {
        return direct.calls();
    }

    /** Why signing and decryption go through the wrapper's JNI instead of {@link #direct()}; empty when they don't. */
    public Optional<String> whyNotDirect() {
        return Optional.ofNullable(direct.whyNot());
    }

    /** False when something else in this process had initialised the module before hsmtls (e.g. SunPKCS11). */
    boolean ownsInitialization() {
        return ownsInit;
    }

    /** Increases each time the module is re-initialised; sessions and logins of older generations are gone. */
    long generation() {
        return generation;
    }

    /**
     * C_Finalize then C_Initialize, once per generation: the first token to notice a device failure
     * does it, the others sharing the module see the new generation and only rebuild their own
     * sessions and login. Every session handle of the old generation is invalid afterwards.
     *
     * @throws ModuleLoadException when C_Initialize fails (the token is still unreachable)
     */
    synchronized void reinitialize(long seenGeneration) {
        if (generation != seenGeneration) {
            return;
        }
        try {
            module.finalize(null);
        } catch (org.xipki.pkcs11.wrapper.PKCS11Exception | RuntimeException e) {
            // CKR_CRYPTOKI_NOT_INITIALIZED after an earlier failed attempt, or a dead device: initialise anyway.
        }
        try {
            module.initialize();
        } catch (org.xipki.pkcs11.wrapper.PKCS11Exception e) {
            if (e.getErrorCode() != Ckr.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
                throw new ModuleLoadException(path.toString(), "C_Initialize failed again ("
                        + Ckr.name(e.getErrorCode()) + ") while recovering the token", e);
            }
        }
        generation++;
    }

    /** Users of this module right now (for tests of the sharing). */
    public int users() {
        synchronized (REGISTRY) {
            return refs;
        }
    }

    /** Drops one user; the last one finalises the module (C_Finalize) and unregisters it. */
    public void release() {
        synchronized (REGISTRY) {
            if (refs <= 0) {
                return;
            }
            if (--refs == 0) {
                REGISTRY.remove(path);
                if (ownsInit) {
                    try {
                        module.finalize(null);
                    } catch (org.xipki.pkcs11.wrapper.PKCS11Exception e) {
                        // Nothing left to do with a module we are letting go of.
                    }
                }
            }
        }
    }

    /** How many distinct modules are loaded (tests). */
    static int loadedModules() {
        synchronized (REGISTRY) {
            return REGISTRY.size();
        }
    }
}
