package io.hsmtls.jmh;

import io.hsmtls.testing.JcaTokenKey;
import io.hsmtls.testing.TestPki;
import io.hsmtls.tls.Profile;
import io.hsmtls.tls.ServerCredentials;
import io.hsmtls.tls.ServerSettings;
import io.hsmtls.tls.TlsVersion;
import java.io.IOException;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.bouncycastle.tls.CipherSuite;
import org.bouncycastle.tls.NamedGroup;
import org.bouncycastle.tls.ProtocolVersion;
import org.bouncycastle.tls.SecurityParameters;
import org.bouncycastle.tls.TlsSession;
import org.bouncycastle.tls.crypto.TlsCrypto;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.BenchmarkParams;

/**
 * One whole handshake in memory, client and server in this thread: the product's
 * {@code HsmTlsServer} against a Bouncy Castle load client, the ECDSA P-256 key a JVM key
 * ({@link JcaTokenKey}) so the token is not measured here (see {@link TokenSignBenchmark}).
 *
 * <p>{@code crypto} is the server's: {@code fast} ({@code FastTlsCrypto}, Bouncy Castle's curve
 * code for the key exchange, the product's default) or {@code jdk} ({@code JdkTlsCrypto}, what
 * {@code -Dhsmtls.crypto=jdk} selects). The client is the same for both ({@code FastTlsCrypto}),
 * so the difference between the two rows is the server's. The score is both sides' time per
 * handshake; HandshakeCostTest (slow tag) splits out the server's CPU alone.
 *
 * <p>Warm-up is long on purpose: the JIT needs thousands of handshakes, so each fork first runs
 * {@link #WARMUP_HANDSHAKES} of its kind, then JMH's timed warm-up.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 2, jvmArgsAppend = {"-Xmx1g", "--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class HandshakeBenchmark {
    @Param({"fast", "jdk"})
    public String crypto;

    InMemoryTls.Listener listener;
    TlsCrypto clientCrypto;
    /** A TLS 1.2 session every {@link #tls12Resumed} resumes. */
    TlsSession session12;
    final byte[] buf = new byte[32 * 1024];

    /**
     * Handshakes each fork runs before JMH's own warm-up: JMH warms up for a time, and on a
     * loaded machine 10 s can be a few hundred handshakes, still in the interpreter (a measured
     * 4 ms of CPU each instead of well under 1 ms). A count does not depend on the load.
     */
    static final int WARMUP_HANDSHAKES = Integer.getInteger("hsmtls.jmh.handshakeWarmup", 2000);

    @Setup
    public void setup(BenchmarkParams params) throws IOException {
        prepare();
        boolean full = params.getBenchmark().endsWith(".tls13Full");
        for (int i = 0; i < WARMUP_HANDSHAKES; i++) {
            if (full) {
                tls13Full();
            } else {
                tls12Resumed();
            }
        }
    }

    /** Keys, settings, crypto and the TLS 1.2 session to resume; no warm-up. */
    void prepare() throws IOException {
        TestPki.Ca ca = TestPki.ca("CN=JMH Root");
        KeyPair pair = TestPki.ecKeyPair();
        X509Certificate cert = ca.leaf("CN=localhost").dns("localhost").publicKey(pair.getPublic()).serverAuth().sign();
        JcaTokenKey key = new JcaTokenKey(pair, cert);
        ServerSettings settings = ServerSettings.of(ServerCredentials.checked(key, List.of(cert), Profile.COMPAT),
                Profile.COMPAT);
        listener = new InMemoryTls.Listener(InMemoryTls.crypto(crypto), settings);
        clientCrypto = InMemoryTls.crypto("fast");
        InMemoryTls.LoadClient first = tls12Client(null);
        InMemoryTls.handshake(listener.newServer(), first, buf);
        session12 = first.session;
        if (session12 == null || !session12.isResumable()) {
            throw new IllegalStateException("the TLS 1.2 handshake left no resumable session: check the server's"
                    + " session cache (ServerSettings.sessionCacheSize " + settings.sessionCacheSize() + ")");
        }
    }

    /** A full TLS 1.3 handshake: x25519 key share, ECDSA P-256 signature, TLS_AES_128_GCM_SHA256. */
    @Benchmark
    public SecurityParameters tls13Full() throws IOException {
        InMemoryTls.LoadClient client = InMemoryTls.LoadClient.tls13Aes128(clientCrypto, NamedGroup.x25519);
        InMemoryTls.handshake(listener.newServer(), client, buf);
        SecurityParameters p = client.parameters();
        if (!ProtocolVersion.TLSv13.equals(p.getNegotiatedVersion())) {
            throw new IllegalStateException("negotiated " + p.getNegotiatedVersion() + ", not TLS 1.3");
        }
        return p;
    }

    /** A resumed TLS 1.2 handshake (session ID from the server's cache): no key exchange, no signature. */
    @Benchmark
    public SecurityParameters tls12Resumed() throws IOException {
        InMemoryTls.LoadClient client = tls12Client(session12);
        InMemoryTls.handshake(listener.newServer(), client, buf);
        SecurityParameters p = client.parameters();
        if (!p.isResumedSession()) {
            throw new IllegalStateException("the TLS 1.2 handshake was not resumed");
        }
        return p;
    }

    private InMemoryTls.LoadClient tls12Client(TlsSession resume) {
        return new InMemoryTls.LoadClient(clientCrypto, TlsVersion.TLS_1_2, NamedGroup.x25519, resume,
                CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256);
    }
}
