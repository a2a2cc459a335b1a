package io.hsmtls.config;

/** One problem in a configuration file: where (a dotted path like {@code listeners[1].backend}) and why. */
public record ConfigProblem(String path, String message) {
    @Override
    public String toString() {
        return path + ": " + message;
    }
}
