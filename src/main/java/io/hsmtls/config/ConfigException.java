package io.hsmtls.config;

import java.util.List;
import java.util.stream.Collectors;

/** A configuration with problems; the message lists all of them, each with file and path. */
public final class ConfigException extends RuntimeException {
    private final String file;
    private final List<ConfigProblem> problems;

    public ConfigException(String file, List<ConfigProblem> problems) {
        super(problems.size() + (problems.size() == 1 ? " problem" : " problems") + " in " + file + ":\n"
                + problems.stream().map(p -> "  " + file + ": " + p).collect(Collectors.joining("\n")));
        this.file = file;
        this.problems = List.copyOf(problems);
    }

    public String file() {
        return file;
    }

    public List<ConfigProblem> problems() {
        return problems;
    }
}
