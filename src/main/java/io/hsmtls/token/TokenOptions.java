package io.hsmtls.token;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * How to open a token.
 *
 * @param uri            selects module (module-path/module-name), token and, for keys, objects
 * @param module         a module path that overrides the URI's (the {@code --module} flag)
 * @param pin            where the PIN comes from; empty when the token needs no login or has a PIN pad
 * @param maxSessions    session pool size; 0 = from the token's ulMaxSessionCount, capped at 16
 * @param acquireTimeout how long an operation waits for a free session
 * @param opDeadline     how long one token call may take before the token is treated as hung
 * @param maxPending     operations that may queue for the token before new ones are refused
 * @param readWrite      open read-write sessions (provisioning) rather than read-only
 */
public record TokenOptions(Pkcs11Uri uri, Optional<Path> module, Optional<PinSource> pin, int maxSessions,
                           Duration acquireTimeout, Duration opDeadline, int maxPending, boolean readWrite) {
    public TokenOptions {
        Objects.requireNonNull(uri, "uri");
        if (maxSessions < 0) throw new IllegalArgumentException("maxSessions < 0: " + maxSessions);
        if (maxPending < 1) throw new IllegalArgumentException("maxPending < 1: " + maxPending);
    }

    /** Defaults for a server: pool from the token, 2 s to get a session, 5 s per call, 256 pending. */
    public static TokenOptions of(Pkcs11Uri uri, PinSource pin) {
        return new TokenOptions(uri, Optional.empty(), Optional.ofNullable(pin), 0, Duration.ofSeconds(2),
                Duration.ofSeconds(5), 256, false);
    }

    public TokenOptions withModule(Path path) {
        return new TokenOptions(uri, Optional.ofNullable(path), pin, maxSessions, acquireTimeout, opDeadline,
                maxPending, readWrite);
    }

    public TokenOptions withReadWrite(boolean rw) {
        return new TokenOptions(uri, module, pin, maxSessions, acquireTimeout, opDeadline, maxPending, rw);
    }

    public TokenOptions withMaxSessions(int n) {
        return new TokenOptions(uri, module, pin, n, acquireTimeout, opDeadline, maxPending, readWrite);
    }

    public TokenOptions withOpDeadline(Duration d) {
        return new TokenOptions(uri, module, pin, maxSessions, acquireTimeout, d, maxPending, readWrite);
    }

    public TokenOptions withMaxPending(int n) {
        return new TokenOptions(uri, module, pin, maxSessions, acquireTimeout, opDeadline, n, readWrite);
    }
}
