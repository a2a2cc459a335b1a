package io.hsmtls.jmh;

import io.hsmtls.tls.ServerSettings;
import io.hsmtls.tls.SessionCache;
import io.hsmtls.tls.TlsVersion;
import io.hsmtls.tls.TokenTimer;
import io.hsmtls.tls.bc.FastTlsCrypto;
import io.hsmtls.tls.bc.JdkTlsCrypto;
import java.io.IOException;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
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
 * apart from sockets and threads.
 *
 * <p>{@code HsmTlsServer} and {@code PreparedServer} are package-private and the benchmarks live
 * in their own package, so they are built through method handles; a public factory on
 * {@code io.hsmtls.tls.bc} (one non-blocking {@code TlsServer} per call) would make this plain code.
 */
final class InMemoryTls {
    private static final MethodHandle NEW_PREPARED = constructor("io.hsmtls.tls.bc.PreparedServer",
            JcaTlsCrypto.class, ServerSettings.class);
    private static final MethodHandle NEW_SERVER = constructor("io.hsmtls.tls.bc.HsmTlsServer",
            JcaTlsCrypto.class, ServerSettings.class, SessionCache.class, TokenTimer.class,
            classNamed("io.hsmtls.tls.bc.PreparedServer"));

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
     * What {@code BcServerHandshaker} keeps per listener (the crypto, the prepared Certificate
     * messages and suites, the TLS 1.2 session cache), making a fresh {@code HsmTlsServer} per
     * handshake as it does.
     */
    static final class Listener {
        final JcaTlsCrypto crypto;
        final ServerSettings settings;
        final SessionCache<TlsSession> cache;
        private final Object prepared;

        Listener(JcaTlsCrypto crypto, ServerSettings settings) {
            this.crypto = crypto;
            this.settings = settings;
            this.cache = new SessionCache<>(settings.sessionCacheSize(), settings.sessionLifetime());
            this.prepared = invoke(NEW_PREPARED, crypto, settings);
        }

        TlsServer newServer() {
            try {
                return (TlsServer) NEW_SERVER.invoke(crypto, settings, cache, TokenTimer.server(null, 0, null), prepared);
            } catch (RuntimeException | Error e) {
                throw e;
            } catch (Throwable e) {
                throw new IllegalStateException("HsmTlsServer constructor failed: " + e, e);
            }
        }
    }

    private static Class<?> classNamed(String name) {
        try {
            return Class.forName(name);
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException(name + " not found: update InMemoryTls to BcServerHandshaker's current set-up", e);
        }
    }

    private static Object invoke(MethodHandle constructor, Object... args) {
        try {
            return constructor.invokeWithArguments(args);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException(constructor + " failed: " + e, e);
        }
    }

    private static MethodHandle constructor(String className, Class<?>... parameters) {
        try {
            Class<?> type = Class.forName(className);
            var lookup = MethodHandles.privateLookupIn(type, MethodHandles.lookup());
            return lookup.findConstructor(type, MethodType.methodType(void.class, parameters));
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(className + java.util.Arrays.toString(parameters)
                    + " not found: the benchmarks follow BcServerHandshaker's use of it; update InMemoryTls", e);
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
