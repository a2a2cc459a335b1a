package io.hsmtls.tls.bc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmtls.testing.JcaTokenKey;
import io.hsmtls.testing.TestPki;
import io.hsmtls.tls.CpuGate;
import io.hsmtls.tls.Profile;
import io.hsmtls.tls.ServerCredentials;
import io.hsmtls.tls.ServerSettings;
import io.hsmtls.tls.TlsConnection;
import io.hsmtls.token.SignatureScheme;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The server handshakes' CPU gate ({@link CpuGate#shared()}) over real sockets and a JSSE client:
 * a handshake holds a place only while it computes, not while it waits for the peer or the
 * token. Were a waiting handshake to keep its place, a few stalled peers (or a slow token) would
 * stop every other handshake. The key is a JVM key behind the token interface; what is tested is
 * the scheduling around it.
 */
class HandshakeGateTest {
    private final CpuGate gate = CpuGate.shared();
    private TestPki.Ca ca;
    private ServerSocket listener;
    private final List<Socket> open = new ArrayList<>();
    private Thread acceptor;

    @BeforeEach
    void pki() throws Exception {
        ca = TestPki.ca("CN=Gate Root");
        listener = new ServerSocket(0, 100, InetAddress.getLoopbackAddress());
    }

    @AfterEach
    void close() throws Exception {
        listener.close();
        for (Socket s : open) {
            s.close();
        }
        if (acceptor != null) {
            acceptor.join(5_000);
        }
    }

    private void serve(JcaTokenKey key, X509Certificate cert) {
        var settings = ServerSettings.of(ServerCredentials.checked(key, List.of(cert), Profile.COMPAT), Profile.COMPAT);
        BcServerHandshaker hs = new BcServerHandshaker(settings);
        acceptor = Thread.ofPlatform().start(() -> {
            while (!listener.isClosed()) {
                Socket s;
                try {
                    s = listener.accept();
                } catch (java.io.IOException e) {
                    return;
                }
                Thread.ofVirtual().start(() -> {
                    try (TlsConnection c = hs.handshake(s)) {
                        int b = c.in().read();
                        c.out().write(b);
                        c.out().flush();
                    } catch (Exception e) {
                        // a stalled peer closed at the end of the test
                    }
                });
            }
        });
    }

    private SSLSocket client() throws Exception {
        SSLContext ctx = ca.trustingClient("TLSv1.3");
        SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("localhost", listener.getLocalPort());
        s.setSoTimeout(20_000);
        return s;
    }

    private static int echo(SSLSocket s) throws Exception {
        s.getOutputStream().write(42);
        s.getOutputStream().flush();
        return s.getInputStream().read();
    }

    @Test
    void handshakesWaitingForTheirPeerHoldNoPlace() throws Exception {
        KeyPair kp = TestPki.ecKeyPair();
        X509Certificate cert = ca.leaf("CN=localhost").publicKey(kp.getPublic()).serverAuth().sign();
        serve(new JcaTokenKey(kp, cert), cert);
        // More stalled peers than places: each sends the first bytes of a record and then nothing.
        for (int i = 0; i < gate.size() + 2; i++) {
            Socket s = new Socket(InetAddress.getLoopbackAddress(), listener.getLocalPort());
            open.add(s);
            s.getOutputStream().write(new byte[] {22, 3, 1});
            s.getOutputStream().flush();
        }
        awaitTrue(() -> gate.free() == gate.size(), "every place free while the stalled handshakes wait");
        try (SSLSocket s = client()) {
            assertEquals(42, echo(s), "a real client still gets its handshake");
        }
        assertEquals(gate.size(), gate.free(), "a finished handshake gives its place back");
    }

    @Test
    void handshakesWaitingForTheTokenHoldNoPlace() throws Exception {
        KeyPair kp = TestPki.ecKeyPair();
        X509Certificate cert = ca.leaf("CN=localhost").publicKey(kp.getPublic()).serverAuth().sign();
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger inToken = new AtomicInteger();
        JcaTokenKey slow = new JcaTokenKey(kp, cert) {
            @Override
            public byte[] sign(SignatureScheme scheme, byte[] message) {
                hold();
                return super.sign(scheme, message);
            }

            @Override
            public byte[] signDigest(SignatureScheme scheme, byte[] digest) {
                hold();
                return super.signDigest(scheme, digest);
            }

            private void hold() {
                inToken.incrementAndGet();
                try {
                    release.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        };
        serve(slow, cert);
        int handshakes = gate.size() + 2;
        List<Future<Integer>> results = new ArrayList<>();
        try (var pool = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < handshakes; i++) {
                results.add(pool.submit(() -> {
                    try (SSLSocket s = client()) {
                        return echo(s);
                    }
                }));
            }
            // More handshakes than places reach the token at once: none kept its place while it waited.
            awaitTrue(() -> inToken.get() == handshakes, "all " + handshakes + " handshakes inside the token");
            assertEquals(gate.size(), gate.free(), "no place held during token calls");
            release.countDown();
            for (Future<Integer> r : results) {
                assertEquals(42, r.get(20, TimeUnit.SECONDS));
            }
        }
        assertEquals(gate.size(), gate.free());
    }

    private static void awaitTrue(BooleanSupplier condition, String what) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < until, "timed out waiting: " + what);
            Thread.sleep(20);
        }
    }
}
