package io.hsmtls.tls;

import java.time.Duration;
import java.util.Optional;

/**
 * The result of one completed server handshake, for the proxy, the connection log and tests.
 *
 * @param version     negotiated protocol version
 * @param cipherSuite IANA suite name
 * @param sni         the server name the client sent, if any
 * @param resumed     true when an earlier session was resumed (no token call)
 * @param client      the verified client certificate, if the client sent one
 * @param tokenTime   time spent waiting for the token during this handshake
 * @param tokenOps    token operations made during this handshake
 * @param duration    handshake wall time
 */
public record HandshakeInfo(TlsVersion version, String cipherSuite, Optional<String> sni, boolean resumed,
                            Optional<ClientIdentity> client, Duration tokenTime, int tokenOps, Duration duration) {
}
