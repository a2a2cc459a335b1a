package io.hsmtls.token.iaik;

import io.hsmtls.token.TokenUnavailableException;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * Whether a token is usable, since when it is not, and a generation number that changes each
 * time the token comes back. Object handles are only valid within one generation, so a key
 * re-finds its handle when the generation moved.
 *
 * <p>This is the seam for self-healing (issue 6): the token layer marks the token down on a
 * device-class CKR_ code or a call past its deadline and fails new operations fast; a recovery
 * task subscribed with {@link #onChange} re-initialises the module (C_Finalize/C_Initialize, new
 * sessions, login, objects found again) and calls {@link #markUp()}.
 */
public final class TokenHealth {
    private final String token;
    private final List<Consumer<TokenHealth>> listeners = new CopyOnWriteArrayList<>();
    private volatile Instant downSince;
    private volatile TokenUnavailableException.Reason downReason;
    private volatile String downDetail;
    private volatile long generation;

    TokenHealth(String token) {
        this.token = token;
    }

    public boolean up() {
        return downSince == null;
    }

    /** When the token was marked down, or null while it is up. */
    public Instant downSince() {
        return downSince;
    }

    public TokenUnavailableException.Reason downReason() {
        return downReason;
    }

    /** Why it was marked down, e.g. {@code C_Sign failed (CKR_DEVICE_ERROR)}. */
    public String downDetail() {
        return downDetail;
    }

    /** Increases every time the token comes back up; object handles from older generations are stale. */
    public long generation() {
        return generation;
    }

    /** Marks the token down (first reason wins until it is up again) and tells the listeners. */
    public void markDown(TokenUnavailableException.Reason reason, String detail) {
        synchronized (this) {
            if (downSince != null) {
                return;
            }
            downSince = Instant.now();
            downReason = reason;
            downDetail = detail;
        }
        listeners.forEach(l -> l.accept(this));
    }

    /** While down: records what the latest recovery attempt found (e.g. the token is not present now). */
    public void stillDown(TokenUnavailableException.Reason reason, String detail) {
        synchronized (this) {
            if (downSince == null) {
                return;
            }
            downReason = reason;
            downDetail = detail;
        }
    }

    /** Marks the token usable again after recovery; starts a new handle generation. */
    public void markUp() {
        synchronized (this) {
            if (downSince == null) {
                return;
            }
            generation++;
            downSince = null;
            downReason = null;
            downDetail = null;
        }
        listeners.forEach(l -> l.accept(this));
    }

    /** Called on every change (down or up), on the thread that made it. */
    public void onChange(Consumer<TokenHealth> listener) {
        listeners.add(listener);
    }

    /** Fails fast while the token is down. */
    void checkUp() {
        Instant since = downSince;
        if (since != null) {
            TokenUnavailableException.Reason r = downReason == TokenUnavailableException.Reason.NOT_PRESENT
                    ? TokenUnavailableException.Reason.NOT_PRESENT : TokenUnavailableException.Reason.DOWN;
            throw new TokenUnavailableException(token, r, since, downDetail
                    + "; new operations fail at once until the token is back");
        }
    }
}
