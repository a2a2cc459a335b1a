package io.hsmtls.tls;

import java.time.Duration;
import java.util.Optional;

/**
 * A handshake that did not complete: the alert (sent or received), the SNI if known, and why —
 * for the connection log. Never carries key material or secrets.
 */
public final class HandshakeFailedException extends Exception {
    private final String alert;
    private final boolean alertSent;
    private final Optional<String> sni;
    private final Duration duration;

    public HandshakeFailedException(String alert, boolean alertSent, Optional<String> sni, Duration duration,
                                    String reason, Throwable cause) {
        super(reason, cause);
        this.alert = alert;
        this.alertSent = alertSent;
        this.sni = sni;
        this.duration = duration;
    }

    /** The alert description name (e.g. {@code certificate_required}), or "none" for a plain close/timeout. */
    public String alert() {
        return alert;
    }

    /** True when we sent the alert, false when the peer did (or none was exchanged). */
    public boolean alertSent() {
        return alertSent;
    }

    public Optional<String> sni() {
        return sni;
    }

    public Duration duration() {
        return duration;
    }
}
