package io.hsmtls.token;

/** A PIN source gave no PIN (unreadable file, no terminal, empty input). Not an empty PIN. */
public final class PinUnavailableException extends TokenException {
    private final String source;

    public PinUnavailableException(String source, String reason) {
        super("no PIN from " + source + ": " + reason);
        this.source = source;
    }

    public String source() {
        return source;
    }
}
