package io.hsmtls.token;

import java.time.Instant;

/**
 * The token cannot take work now: it is down (device error, removed, hung past its deadline) or
 * the queue of pending operations is full. Fails fast so a handshake gets an alert, not a hang.
 */
public final class TokenUnavailableException extends TokenException {
    private final String token;
    private final Reason reason;
    private final Instant since;

    public TokenUnavailableException(String token, Reason reason, Instant since, String detail) {
        super("token '" + token + "' unavailable (" + reason.text + (since == null ? "" : " since " + since)
                + "): " + detail);
        this.token = token;
        this.reason = reason;
        this.since = since;
    }

    public String token() {
        return token;
    }

    public Reason reason() {
        return reason;
    }

    public Instant since() {
        return since;
    }

    public enum Reason {
        DOWN("token down"), QUEUE_FULL("too many pending operations"), DEADLINE("deadline passed"),
        NOT_PRESENT("token not present"), CLOSED("closed");

        private final String text;

        Reason(String text) {
            this.text = text;
        }
    }
}
