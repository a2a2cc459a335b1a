package io.hsmtls.cli;

import picocli.CommandLine.Option;

/** {@code --json}: listings print one JSON document instead of text. {@code @Mixin JsonOption json;} */
public class JsonOption {
    @Option(names = "--json", description = "print JSON instead of text")
    boolean json;

    public boolean enabled() {
        return json;
    }
}
