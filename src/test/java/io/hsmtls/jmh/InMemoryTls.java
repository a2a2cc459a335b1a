package io.hsmtls.jmh;

import io.hsmtls.tls.ServerSettings;
import io.hsmtls.tls.TlsVersion;
import io.hsmtls.tls.bc.BcServerHandshaker;
import io.hsmtls.tls.bc.FastTlsCrypto;
import io.hsmtls.tls.bc.JdkTlsCrypto;
import java.io.IOException;
import java.security.SecureRandom;
import java.util.Vector;
import org.bouncycastle.tls.CipherSuite;
import org.bouncycastle.tls.DefaultTlsClient;
import org.bouncycastle.tls.ProtocolVersion;
import org.bouncycastle.tls.SecurityParameters;
import org.bouncycastle.tls.ServerOnlyTlsAuthentication;
import org.bouncycastle.tls.TlsAuthentication;
import org.bouncycastle.tls.TlsClientProtocol;
import org.bouncycastle.tls.TlsServer;
import org.bouncycastle.tls.TlsServerCertificate;
import org.bouncycastle.tls.TlsServerProtocol;
import org.bouncycastle.tls.TlsSession;
import org.bouncycastle.tls.crypto.TlsCrypto;
import org.bouncycastle.tls.crypto.impl.jcajce.JcaTlsCrypto;

/**
 * Both ends of a TLS connection in one thread, no sockets: Bouncy Castle's non-blocking protocol
 * objects hand each other their bytes. The server is the product's own {@code HsmTlsServer}
 * (our policy, suites and credential choice), so a benchmark measures what {@code serve} runs
 * apart from sockets and threads ({@code BcServerHandshaker.newTlsServer()}).
 */
final class InMemoryTls {
    private InMemoryTls() {
    }

    /**
     * The crypto {@code BcServerHandshaker} picks for {@code -Dhsmtls.crypto=fast|jdk}: Bouncy
     * Castle's curve code for the key exchange, or the JDK's for everything.
     */
    static JcaTlsCrypto crypto(String name) {
        return switch (name) {
            case "fast" -> FastTlsCrypto.create();
            case "jdk" -> new JdkTlsCrypto(new SecureRandom());
            default -> throw new IllegalArgumentException("crypto '" + name + "': unknown; use 'fast' or 'jdk'");
        };
    }

    /**
     * One listener's server side, as {@code serve} builds it: a {@code BcServerHandshaker} (the
     * crypto, the prepared Certificate messages and suites, the TLS 1.2 session cache), making a
     * fresh server per handshake.
     */
    static final class Listener {
        final JcaTlsCrypto crypto;
        private final BcServerHandshaker handshaker;

        Listener(JcaTlsCrypto crypto, ServerSettings settings) {
            this.crypto = crypto;
            this.handshaker = new BcServerHandshaker(settings, crypto);
        }

        TlsServer newServer() {
            return handshaker.newTlsServer();
        }
    }

    /** A connected (or, on failure, abandoned) pair after the handshake. */
    record Pair(TlsClientProtocol client, TlsServerProtocol server, LoadClient peer) {
    }

    /**
     * Runs one handshake to its end, flight by flight, through {@code buf}.
     *
     * @throws IOException when either side raises an alert
     */
    static Pair handshake(TlsServer server, LoadClient peer, byte[] buf) throws IOException {
        TlsClientProtocol cp = new TlsClientProtocol();
        cp.connect(peer);
        TlsServerProtocol sp = new TlsServerProtocol();
        sp.accept(server);
        for (int flights = 0; cp.isHandshaking() || sp.isHandshaking(); flights++) {
            if (flights > 20) {
                throw new IllegalStateException("handshake did not finish in 20 flights");
            }
            // offerInput copies what it is given, so one buffer serves both directions.
            int n = cp.readOutput(buf, 0, buf.length);
            if (n > 0) {
                sp.offerInput(buf, 0, n);
            }
            n = sp.readOutput(buf, 0, buf.length);
            if (n > 0) {
                cp.offerInput(buf, 0, n);
            }
        }
        return new Pair(cp, sp, peer);
    }

    /**
     * A Bouncy Castle client that offers one version, one group and (optionally) one suite, and
     * takes any server certificate: a load client, the server's certificate is ours.
     */
    static final class LoadClient extends DefaultTlsClient {
        private final TlsVersion version;
        private final int group;
        private final TlsSession resume;
        private final int[] suites;
        TlsSession session;

        LoadClient(TlsCrypto crypto, TlsVersion version, int group, TlsSession resume, int... suites) {
            super(crypto);
            this.version = version;
            this.group = group;
            this.resume = resume;
            this.suites = suites.clone();
        }

        /** TLS 1.3 with TLS_AES_128_GCM_SHA256 only. */
        static LoadClient tls13Aes128(TlsCrypto crypto, int group) {
            return new LoadClient(crypto, TlsVersion.TLS_1_3, group, null, CipherSuite.TLS_AES_128_GCM_SHA256);
        }

        @Override
        protected ProtocolVersion[] getSupportedVersions() {
            return version == TlsVersion.TLS_1_3 ? ProtocolVersion.TLSv13.only() : ProtocolVersion.TLSv12.only();
        }

        @Override
        protected int[] getSupportedCipherSuites() {
            return suites.length > 0 ? suites.clone() : super.getSupportedCipherSuites();
        }

        @Override
        @SuppressWarnings({"rawtypes", "unchecked"})
        protected Vector getSupportedGroups(Vector namedGroupRoles) {
            Vector v = new Vector();
            v.add(group);
            return v;
        }

        @Override
        public TlsSession getSessionToResume() {
            return resume;
        }

        @Override
        public void notifyHandshakeComplete() throws IOException {
            super.notifyHandshakeComplete();
            session = context.getResumableSession();
        }

        /** What was negotiated, from the client's side. */
        SecurityParameters parameters() {
            return context.getSecurityParametersConnection();
        }

        @Override
        public TlsAuthentication getAuthentication() {
            return new ServerOnlyTlsAuthentication() {
                @Override
                public void notifyServerCertificate(TlsServerCertificate serverCertificate) {
                    // a load client: the certificate is the benchmark's own
                }
            };
        }
    }
}
