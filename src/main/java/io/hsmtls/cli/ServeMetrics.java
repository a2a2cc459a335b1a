package io.hsmtls.cli;

import io.hsmtls.observe.Metrics;
import io.hsmtls.proxy.ProxyServer;
import io.hsmtls.tls.HandshakeFailedException;
import io.hsmtls.tls.HandshakeInfo;
import io.hsmtls.tls.ServerCredentials;
import io.hsmtls.token.Token;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Feeds {@link Metrics} from serve's listeners and tokens with plain values. */
final class ServeMetrics {
    private ServeMetrics() {
    }

    /** Counts each handshake when it ends (not when its connection closes). */
    static ProxyServer.HandshakeListener handshakes(Metrics m, String listener) {
        return new ProxyServer.HandshakeListener() {
            @Override
            public void completed(HandshakeInfo info) {
                m.handshakeCompleted(listener, info.version().display(), info.cipherSuite(), info.resumed(),
                        info.duration().toNanos() / 1e9);
            }

            @Override
            public void failed(HandshakeFailedException e) {
                m.handshakeFailed(listener, e.alert(), e.duration().toNanos() / 1e9);
            }
        };
    }

    /** States read at scrape time: tokens, open connections, the certificates each listener presents now. */
    static void wire(Metrics m, List<ServeCommand.Live> live, Map<String, Token> tokens) {
        m.tokens(() -> {
            List<Token> all;
            synchronized (tokens) {
                all = List.copyOf(tokens.values());
            }
            return all.stream().map(Tokens::state).toList();
        });
        m.openConnections(() -> {
            Map<String, Integer> open = new LinkedHashMap<>();
            live.forEach(l -> open.put(l.name, l.proxy.openConnections()));
            return open;
        });
        m.certificates(() -> {
            List<Metrics.CertificateExpiry> out = new ArrayList<>();
            for (ServeCommand.Live l : live) {
                out.add(expiry(l.name, "", l.settings.credentials()));
                l.settings.sniCredentials().forEach((name, c) -> out.add(expiry(l.name, name, c)));
            }
            return out;
        });
    }

    private static Metrics.CertificateExpiry expiry(String listener, String serverName, ServerCredentials c) {
        return new Metrics.CertificateExpiry(listener, serverName, c.leaf().getNotAfter().toInstant());
    }
}
