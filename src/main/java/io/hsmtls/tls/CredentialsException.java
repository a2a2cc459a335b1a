package io.hsmtls.tls;

import java.util.List;

/** Server credentials failed a startup check; {@link #problems()} lists every failure found. */
public final class CredentialsException extends RuntimeException {
    private final List<String> problems;

    public CredentialsException(String subject, List<String> problems) {
        super(subject + ": " + String.join("; ", problems));
        this.problems = List.copyOf(problems);
    }

    public List<String> problems() {
        return problems;
    }
}
