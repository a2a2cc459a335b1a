package io.hsmtls.proxy;

import io.hsmtls.tls.ClientIdentity;
import io.hsmtls.tls.HandshakeInfo;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Optional;

/**
 * What one connection did, logged as one line when it ends. Holds no secret: no PIN, key byte,
 * premaster or application data.
 *
 * @param id        sequence number within the listener
 * @param peer      client address
 * @param handshake the handshake result, if it completed
 * @param outcome   "closed", "idle", "error: …", "handshake failed: ALERT (reason)", "rejected: …"
 * @param clientToBackend bytes of plaintext from the client to the backend
 * @param backendToClient bytes of plaintext from the backend to the client
 * @param duration  accept to close
 */
public record ConnectionRecord(long id, InetSocketAddress peer, Optional<HandshakeInfo> handshake, Optional<String> sni,
                               String outcome, long clientToBackend, long backendToClient, Duration duration,
                               Duration tokenTime) {

    /** The log line: {@code key=value} pairs, stable order. */
    public String line() {
        StringBuilder b = new StringBuilder("conn=").append(id)
                .append(" peer=").append(peer.getAddress().getHostAddress()).append(':').append(peer.getPort())
                .append(" sni=").append(sni.orElse("-"));
        if (handshake.isPresent()) {
            HandshakeInfo h = handshake.get();
            b.append(" version=").append(h.version().display())
                    .append(" suite=").append(h.cipherSuite())
                    .append(" resumed=").append(h.resumed())
                    .append(" client=\"").append(h.client().map(ClientIdentity::subject).orElse("-")).append('"');
        }
        b.append(" in=").append(clientToBackend)
                .append(" out=").append(backendToClient)
                .append(" duration_ms=").append(duration.toMillis())
                .append(" token_ms=").append(millis3(tokenTime))
                .append(" outcome=\"").append(outcome.replace('"', '\'')).append('"');
        return b.toString();
    }

    /** Milliseconds with three decimals ("0.071"), without a Formatter per line. */
    static String millis3(Duration d) {
        long micros = Math.max(0, (d.toNanos() + 500) / 1000);
        long frac = micros % 1000;
        return (micros / 1000) + (frac < 10 ? ".00" : frac < 100 ? ".0" : ".") + frac;
    }
}
