package io.hsmtls.tls;

import io.hsmtls.token.Mechanism;
import io.hsmtls.token.Pkcs11Uri;
import io.hsmtls.token.TokenException;
import io.hsmtls.token.TokenOperationException;
import io.hsmtls.token.TokenUnavailableException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Optional;

/**
 * One private-key operation on the token during a handshake, as the audit log and the metrics see
 * it. Holds no secret: no data signed, no premaster, no PIN.
 *
 * @param key          the key's URI (print it {@link Pkcs11Uri#withoutQuery() without query})
 * @param connectionId the connection's number within its listener (0 outside a connection)
 * @param peer         the other end of the TLS connection
 * @param certificateSha256 the client certificate's SHA-256 when known at the time of the operation:
 *                     the verified client certificate on the server, our own on the client
 * @param result       "ok" or the error: a {@code CKR_} name, or {@code token-down},
 *                     {@code queue-full}, {@code deadline}, {@code not-present}, {@code closed}
 */
public record KeyUse(Instant time, Pkcs11Uri key, Mechanism mechanism, Purpose purpose, long connectionId,
                     Optional<String> sni, Optional<InetSocketAddress> peer, Optional<String> certificateSha256,
                     Duration latency, String result) {

    /** Why the key was used. */
    public enum Purpose { SERVER_SIGNATURE, RSA_KEY_EXCHANGE_DECRYPT, CLIENT_SIGNATURE }

    public boolean ok() {
        return "ok".equals(result);
    }

    /** The result text for a failed operation: the CKR_ name when the token gave one. */
    public static String resultOf(Throwable e) {
        if (e == null) {
            return "ok";
        }
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof TokenOperationException op) {
                return op.ckrName();
            }
            if (t instanceof TokenUnavailableException u) {
                return u.reason() == TokenUnavailableException.Reason.DOWN ? "token-down"
                        : u.reason().name().toLowerCase(Locale.ROOT).replace('_', '-');
            }
        }
        return e instanceof TokenException ? e.getClass().getSimpleName() : "error:" + e.getClass().getSimpleName();
    }
}
