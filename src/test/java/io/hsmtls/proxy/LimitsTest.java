package io.hsmtls.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmtls.testing.SoftHsm;
import io.hsmtls.tls.ClientAuthMode;
import io.hsmtls.tls.Profile;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Handshake timeout (slowloris), max connections, idle timeout and graceful drain. */
class LimitsTest {
    @RegisterExtension
    static SoftHsm hsm = new SoftHsm();
    static ServeFixture f;

    @BeforeAll
    static void start() throws Exception {
        f = new ServeFixture(hsm);
    }

    @AfterAll
    static void stop() {
        if (f != null) {
            f.close();
        }
    }

    @Test
    void silentClient_closedAtHandshakeTimeout() throws Exception {
        int port = f.proxy(f.settings("ec", Profile.COMPAT, ClientAuthMode.NONE)
                .withHandshakeTimeout(Duration.ofMillis(500)));
        int before = f.quiesce();
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            s.setSoTimeout(10_000);
            long t0 = System.nanoTime();
            s.getOutputStream().write(0x16); // one byte of a record header, then nothing
            assertEquals(-1, s.getInputStream().read(), "server closes");
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(ms >= 400 && ms < 5_000, "closed after " + ms + " ms");
        }
        ConnectionRecord rec = ServeMatrixTest.awaitRecordIn(f, before);
        assertTrue(rec.outcome().contains("handshake not finished within PT0.5S"), rec.line());
    }

    @Test
    void maxConnections_excessClosedAtAccept_logged() throws Exception {
        int port = f.proxy(f.settings("ec", Profile.COMPAT, ClientAuthMode.NONE),
                f.http.getAddress(), ProxyLimits.defaults().withMaxConnections(1));
        try (Socket first = new Socket(InetAddress.getLoopbackAddress(), port)) {
            assertTrue(first.isConnected());
            Thread.sleep(100); // let the acceptor hand the first one its slot
            int before = f.records.size();
            try (Socket second = new Socket(InetAddress.getLoopbackAddress(), port)) {
                second.setSoTimeout(5_000);
                assertEquals(-1, second.getInputStream().read(), "second connection closed at once");
            }
            ConnectionRecord rec = ServeMatrixTest.awaitRecordIn(f, before);
            assertTrue(rec.outcome().startsWith("rejected: 1 connections open"), rec.line());
        }
    }

    @Test
    void idleConnection_closedAfterIdleTimeout() throws Exception {
        try (ServerSocket backend = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
            int port = f.proxy(f.settings("ec", Profile.COMPAT, ClientAuthMode.NONE),
                    (InetSocketAddress) backend.getLocalSocketAddress(),
                    ProxyLimits.defaults().withIdleTimeout(Duration.ofMillis(400)));
            int before = f.quiesce();
            try (SSLSocket s = (SSLSocket) f.jsse(null).getSocketFactory().createSocket("localhost", port);
                 Socket b = acceptLater(backend)) {
                s.setSoTimeout(10_000);
                s.startHandshake();
                assertTrue(b.isBound() || !b.isBound(), "backend side held open");
                assertEquals(-1, s.getInputStream().read(), "closed when idle");
            }
            ConnectionRecord rec = ServeMatrixTest.awaitRecordIn(f, before);
            assertTrue(rec.outcome().startsWith("idle timeout"), rec.line());
        }
    }

    static Socket acceptLater(ServerSocket ss) {
        return new Socket() {
            final CompletableFuture<Socket> s = CompletableFuture.supplyAsync(() -> {
                try {
                    return ss.accept();
                } catch (Exception e) {
                    return null;
                }
            }, Executors.newVirtualThreadPerTaskExecutor());

            @Override
            public synchronized void close() {
                s.thenAccept(x -> {
                    try {
                        if (x != null) {
                            x.close();
                        }
                    } catch (Exception ignored) {
                        // test cleanup
                    }
                });
            }
        };
    }

    @Test
    void shutdown_drainsOpenConnection_thenRefusesNew() throws Exception {
        try (ServerSocket backend = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
            int port = f.proxy(f.settings("ec", Profile.COMPAT, ClientAuthMode.NONE),
                    (InetSocketAddress) backend.getLocalSocketAddress(), ProxyLimits.defaults());
            ProxyServer proxy = f.proxies.get(f.proxies.size() - 1);
            var exec = Executors.newVirtualThreadPerTaskExecutor();
            try (SSLSocket s = (SSLSocket) f.jsse(null).getSocketFactory().createSocket("localhost", port)) {
                s.startHandshake();
                s.getOutputStream().write("ping".getBytes(StandardCharsets.US_ASCII));
                s.getOutputStream().flush();
                Socket b = backend.accept();
                InputStream bin = b.getInputStream();
                assertEquals('p', bin.read());
                // Shutdown with a 10 s drain while the connection is open; the backend answers and closes 300 ms later.
                CompletableFuture<Integer> cut = CompletableFuture.supplyAsync(() -> proxy.shutdown(Duration.ofSeconds(10)), exec);
                Thread.sleep(300);
                try (Socket refused = new Socket()) {
                    boolean connected;
                    try {
                        refused.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1000);
                        connected = true;
                    } catch (java.io.IOException e) {
                        connected = false;
                    }
                    assertTrue(!connected, "no longer accepting");
                }
                OutputStream bout = b.getOutputStream();
                bout.write("pong".getBytes(StandardCharsets.US_ASCII));
                b.close();
                assertEquals("pong", new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII));
                assertEquals(0, cut.get(10, TimeUnit.SECONDS), "nothing had to be cut");
            }
        }
    }


    @Test
    void swapHandshaker_newConnectionsGetNewKey_openOneKeepsFlowing() throws Exception {
        int port = f.proxy(f.settings("ec", Profile.COMPAT, ClientAuthMode.NONE));
        ProxyServer proxy = f.proxies.get(f.proxies.size() - 1);
        try (SSLSocket open = (SSLSocket) f.jsse(null).getSocketFactory().createSocket("localhost", port)) {
            open.startHandshake();
            assertEquals("EC", open.getSession().getPeerCertificates()[0].getPublicKey().getAlgorithm());
            proxy.swapHandshaker(new io.hsmtls.tls.bc.BcServerHandshaker(f.settings("rsa", Profile.COMPAT, ClientAuthMode.NONE)));
            try (SSLSocket next = (SSLSocket) f.jsse(null).getSocketFactory().createSocket("localhost", port)) {
                next.startHandshake();
                assertEquals("RSA", next.getSession().getPeerCertificates()[0].getPublicKey().getAlgorithm());
            }
            open.getOutputStream().write("GET / HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            open.getOutputStream().flush();
            assertTrue(new String(open.getInputStream().readAllBytes(), StandardCharsets.UTF_8).endsWith(ServeFixture.BODY));
        }
    }
}
