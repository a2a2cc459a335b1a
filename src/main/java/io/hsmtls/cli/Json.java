package io.hsmtls.cli;

/** {@code --json} output: one indented document (see {@link io.hsmtls.observe.Json#pretty}). */
public final class Json {
    private Json() {
    }

    public static String write(Object value) {
        return io.hsmtls.observe.Json.pretty(value);
    }
}
