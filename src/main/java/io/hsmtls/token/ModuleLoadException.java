package io.hsmtls.token;

/** The PKCS#11 module (shared library) could not be found, loaded or initialised. */
public final class ModuleLoadException extends TokenException {
    private final String module;

    public ModuleLoadException(String module, String reason, Throwable cause) {
        super("cannot load PKCS#11 module '" + module + "': " + reason, cause);
        this.module = module;
    }

    public String module() {
        return module;
    }
}
