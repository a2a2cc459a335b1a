package io.hsmtls.tls.bc;

import io.hsmtls.tls.ServerSettings;
import io.hsmtls.tls.SessionCache;
import io.hsmtls.tls.TlsVersion;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Vector;
import org.bouncycastle.tls.DefaultTlsClient;
import org.bouncycastle.tls.ProtocolVersion;
import org.bouncycastle.tls.SecurityParameters;
import org.bouncycastle.tls.ServerOnlyTlsAuthentication;
import org.bouncycastle.tls.TlsAuthentication;
import org.bouncycastle.tls.TlsClientProtocol;
import org.bouncycastle.tls.TlsServerCertificate;
import org.bouncycastle.tls.TlsServerProtocol;
import org.bouncycastle.tls.TlsSession;
import org.bouncycastle.tls.crypto.TlsCrypto;
import org.bouncycastle.tls.crypto.impl.jcajce.JcaTlsCrypto;

/**
 * Both ends of a handshake in one thread, no sockets: Bouncy Castle's non-blocking protocol
 * objects hand each other their bytes. The server is our {@link HsmTlsServer}; the server's CPU
 * time is counted apart from the client's (thread CPU time around the server's calls only), so
 * one loop measures what a server pays per handshake.
 */
final class InMemoryHandshake {
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    private final ServerSettings settings;
    private final JcaTlsCrypto serverCrypto;
    private final TlsCrypto clientCrypto;
    private final SessionCache<TlsSession> cache;
    /** Server CPU nanoseconds of the handshakes run so far. */
    long serverCpuNanos;
    /** Server CPU nanoseconds spent inside the key's sign/decrypt (the token's share). */
    final long[] keyCpuNanos = new long[1];

    InMemoryHandshake(ServerSettings settings, JcaTlsCrypto serverCrypto, TlsCrypto clientCrypto) {
        this.settings = settings;
        this.serverCrypto = serverCrypto;
        this.clientCrypto = clientCrypto;
        this.cache = new SessionCache<>(settings.sessionCacheSize(), settings.sessionLifetime());
    }

    /** What one handshake negotiated, from the server's side. */
    record Outcome(ProtocolVersion version, int cipherSuite, boolean resumed, TlsSession clientSession) {
    }

    /**
     * One full or resumed handshake, then one application record each way.
     *
     * @param group   the only group the client offers (and sends a key share for)
     * @param resume  a session the client tries to resume (TLS 1.2), or null
     */
    Outcome run(TlsVersion version, int group, TlsSession resume) throws IOException {
        Client client = new Client(clientCrypto, version, group, resume);
        TlsClientProtocol cp = new TlsClientProtocol();
        cp.connect(client);
        HsmTlsServer server = new HsmTlsServer(serverCrypto, settings, cache);
        long t0 = THREADS.getCurrentThreadCpuTime();
        TlsServerProtocol sp = new TlsServerProtocol();
        sp.accept(server);
        serverCpuNanos += THREADS.getCurrentThreadCpuTime() - t0;
        byte[] buf = new byte[32 * 1024];
        for (int rounds = 0; cp.isHandshaking() || sp.isHandshaking(); rounds++) {
            if (rounds > 20) {
                throw new IllegalStateException("handshake did not finish in 20 flights");
            }
            int n = cp.readOutput(buf, 0, buf.length);
            if (n > 0) {
                t0 = THREADS.getCurrentThreadCpuTime();
                sp.offerInput(java.util.Arrays.copyOf(buf, n));
                serverCpuNanos += THREADS.getCurrentThreadCpuTime() - t0;
            }
            t0 = THREADS.getCurrentThreadCpuTime();
            n = sp.readOutput(buf, 0, buf.length);
            serverCpuNanos += THREADS.getCurrentThreadCpuTime() - t0;
            if (n > 0) {
                cp.offerInput(java.util.Arrays.copyOf(buf, n));
            }
        }
        // One record each way proves both ends derived the same traffic keys.
        cp.writeApplicationData(new byte[] {1, 2, 3}, 0, 3);
        int n = cp.readOutput(buf, 0, buf.length);
        t0 = THREADS.getCurrentThreadCpuTime();
        sp.offerInput(java.util.Arrays.copyOf(buf, n));
        byte[] got = new byte[3];
        if (sp.readInput(got, 0, 3) != 3 || got[2] != 3) {
            throw new IllegalStateException("server did not read the client's record");
        }
        sp.writeApplicationData(got, 0, 3);
        n = sp.readOutput(buf, 0, buf.length);
        serverCpuNanos += THREADS.getCurrentThreadCpuTime() - t0;
        cp.offerInput(java.util.Arrays.copyOf(buf, n));
        if (cp.readInput(got, 0, 3) != 3) {
            throw new IllegalStateException("client did not read the server's record");
        }
        SecurityParameters s = server.connectionParameters();
        return new Outcome(s.getNegotiatedVersion(), s.getCipherSuite(), s.isResumedSession(), client.session);
    }

    /** Thread CPU time now, for callers that time parts of a handshake (e.g. the key's sign). */
    static long cpuNow() {
        return THREADS.getCurrentThreadCpuTime();
    }

    /** A Bouncy Castle client that offers one group and trusts any server certificate (a load client). */
    static final class Client extends DefaultTlsClient {
        private final TlsVersion version;
        private final int group;
        private final TlsSession resume;
        TlsSession session;

        Client(TlsCrypto crypto, TlsVersion version, int group, TlsSession resume) {
            super(crypto);
            this.version = version;
            this.group = group;
            this.resume = resume;
        }

        @Override
        protected ProtocolVersion[] getSupportedVersions() {
            return version == TlsVersion.TLS_1_3 ? ProtocolVersion.TLSv13.only() : ProtocolVersion.TLSv12.only();
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

        @Override
        public TlsAuthentication getAuthentication() {
            return new ServerOnlyTlsAuthentication() {
                @Override
                public void notifyServerCertificate(TlsServerCertificate serverCertificate) {
                    // a load client: the certificate is ours and the test checks the key agreement
                }
            };
        }
    }
}
