package io.hsmtls.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
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
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Handshake timeout as a total deadline (slowloris), max connections in all and per source address,
 * idle timeout, Bouncy Castle's record and handshake message limits, and graceful drain.
 */
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
                assertEquals(-1, s.getInputStream().read(), "closed when idle");
            }
            ConnectionRecord rec = ServeMatrixTest.awaitRecordIn(f, before);
            assertTrue(rec.outcome().startsWith("idle timeout"), rec.line());
        }
    }

    /**
     * A client that stops reading while the backend keeps sending: the proxy's write to it blocks
     * on a full send buffer, the connection goes idle, and its close_notify cannot be written. The
     * idle timeout still ends the connection, and a silent client that comes afterwards is still
     * cut at its handshake timeout: a close waiting on one peer holds up nobody else's deadlines
     * (they share one thread).
     */
    @Test
    void idleTimeout_clientStoppedReading_connectionEnds_andOtherDeadlinesStillFire() throws Exception {
        try (ServerSocket backend = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
            int port = f.proxy(f.settings("ec", Profile.COMPAT, ClientAuthMode.NONE)
                            .withHandshakeTimeout(Duration.ofMillis(500)),
                    (InetSocketAddress) backend.getLocalSocketAddress(),
                    ProxyLimits.defaults().withIdleTimeout(Duration.ofMillis(400)));
            int before = f.quiesce();
            try (SSLSocket s = nonReadingClient(port)) {
                try (Socket b = backend.accept()) {
                    Thread flood = flood(b);
                    Thread.sleep(1_500); // buffers full within milliseconds; the 400 ms idle timeout is past
                    try (Socket silent = new Socket(InetAddress.getLoopbackAddress(), port)) {
                        silent.setSoTimeout(8_000);
                        long t0 = System.nanoTime();
                        silent.getOutputStream().write(0x16);
                        assertEquals(-1, silent.getInputStream().read(), "silent client cut at its handshake timeout");
                        long ms = (System.nanoTime() - t0) / 1_000_000;
                        assertTrue(ms < 3_000, "cut after " + ms + " ms (handshake timeout 500 ms)");
                    }
                    flood.join(Duration.ofSeconds(10));
                    assertTrue(!flood.isAlive(), "the stuck connection ended: its backend side was closed");
                }
            }
            f.quiesce();
            assertTrue(f.records.subList(before, f.records.size()).stream()
                            .anyMatch(r -> r.outcome().startsWith("idle timeout")),
                    "an idle-timeout record among " + f.records.subList(before, f.records.size()));
        }
    }

    /**
     * Shutdown with connections whose clients stopped reading: each cut connection's close_notify
     * waits on its peer up to a grace, so they are closed side by side, not one after another
     * (three in a row would take three graces).
     */
    @Test
    void shutdown_clientsStoppedReading_closedSideBySide() throws Exception {
        try (ServerSocket backend = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
            ProxyServer proxy = f.proxyTo(backend);
            int port = proxy.localAddress().getPort();
            List<SSLSocket> clients = new ArrayList<>();
            List<Thread> floods = new ArrayList<>();
            try {
                for (int i = 0; i < 3; i++) {
                    clients.add(nonReadingClient(port));
                    floods.add(flood(backend.accept()));
                }
                Thread.sleep(500); // every proxy write to the clients blocked on a full buffer
                long t0 = System.nanoTime();
                assertEquals(3, proxy.shutdown(Duration.ZERO), "three connections cut");
                long ms = (System.nanoTime() - t0) / 1_000_000;
                long grace = io.hsmtls.tls.bc.GracefulClose.GRACE.toMillis();
                assertTrue(ms < 2 * grace, "shutdown took " + ms + " ms: close_notify grace " + grace + " ms each");
                for (Thread t : floods) {
                    t.join(Duration.ofSeconds(5));
                    assertTrue(!t.isAlive(), "every connection's backend side closed");
                }
            } finally {
                for (SSLSocket s : clients) {
                    s.close();
                }
            }
        }
    }

    /** A TLS client with a small receive window that completes its handshake and then never reads. */
    private static SSLSocket nonReadingClient(int port) throws Exception {
        SSLSocket s = (SSLSocket) f.jsse(null).getSocketFactory().createSocket();
        s.setReceiveBufferSize(8 * 1024);
        s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        s.startHandshake();
        return s;
    }

    /** Writes to the backend side of a connection until the proxy closes it; the thread then ends. */
    private static Thread flood(Socket backendSide) {
        return Thread.ofVirtual().start(() -> {
            byte[] chunk = new byte[16 * 1024];
            try (backendSide) {
                while (true) {
                    backendSide.getOutputStream().write(chunk);
                }
            } catch (java.io.IOException closed) {
                // the proxy closed this side: the end the tests wait for
            }
        });
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
            ProxyServer proxy = f.proxyTo(backend);
            int port = proxy.localAddress().getPort();
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

    @Test
    void perSource_thirdConnectionFromOneAddressClosedAtAccept_slotComesBack() throws Exception {
        int port = f.proxy(f.settings("ec", Profile.COMPAT, ClientAuthMode.NONE), f.http.getAddress(),
                ProxyLimits.defaults().withMaxConnectionsPerSource(2));
        ProxyServer proxy = f.proxies.get(f.proxies.size() - 1);
        try (Socket a = new Socket(InetAddress.getLoopbackAddress(), port);
             Socket b = new Socket(InetAddress.getLoopbackAddress(), port)) {
            waitUntil(() -> proxy.openConnections() == 2);
            int before = f.records.size();
            try (Socket third = new Socket(InetAddress.getLoopbackAddress(), port)) {
                third.setSoTimeout(5_000);
                assertEquals(-1, third.getInputStream().read(), "third connection from 127.0.0.1 closed at once");
            }
            ConnectionRecord rec = ServeMatrixTest.awaitRecordIn(f, before);
            assertEquals("rejected: 2 connections open from 127.0.0.1 (max connections per source)", rec.outcome());
            a.close();
            waitUntil(() -> proxy.openConnections() == 1);
            try (SSLSocket ok = (SSLSocket) f.jsse(null).getSocketFactory().createSocket("localhost", port)) {
                ok.startHandshake();
                assertEquals("TLSv1.3", ok.getSession().getProtocol(), "the freed slot is usable again");
            }
        }
        waitUntil(() -> proxy.openConnections() == 0);
        assertEquals(0, proxy.sourcesTracked(), "no per-source entry outlives its connections");
        // The sockets kept for closing at shutdown must go with their connection: a TLS connection
        // or backend socket left in that set keeps the connection's whole state reachable, and a
        // server under load then fills its heap (found at 82,000 leaked connections in a bench run).
        assertEquals(0, proxy.resourcesTracked(), "no socket or TLS connection outlives its connection");
    }

    @Test
    void slowloris_realClientHelloOneBytePerSecond_cutAtTotalDeadline() throws Exception {
        byte[] hello = io.hsmtls.testing.ClientHellos.jsse("localhost");
        int port = f.proxy(f.settings("ec", Profile.COMPAT, ClientAuthMode.NONE)
                .withHandshakeTimeout(Duration.ofSeconds(3)));
        int before = f.quiesce();
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            s.setSoTimeout(15_000);
            long t0 = System.nanoTime();
            Thread trickle = Thread.ofVirtual().start(() -> {
                try {
                    // Each byte is progress, so only a total deadline can end this: a read timeout never fires.
                    for (byte x : hello) {
                        s.getOutputStream().write(x);
                        s.getOutputStream().flush();
                        Thread.sleep(1_000);
                    }
                } catch (Exception cut) {
                    // the server closed the connection
                }
            });
            int r;
            try {
                r = s.getInputStream().read();
            } catch (java.net.SocketException reset) {
                r = -1;
            }
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertEquals(-1, r, "closed without an answer");
            assertTrue(ms >= 2_800 && ms < 4_500, "cut at the 3 s deadline, after " + ms + " ms");
            trickle.interrupt();
        }
        ConnectionRecord rec = ServeMatrixTest.awaitRecordIn(f, before);
        assertTrue(rec.outcome().contains("handshake not finished within PT3S"), rec.line());
    }

    @Test
    void idleTimeout_trafficEitherWayKeepsConnection_silenceEndsIt() throws Exception {
        try (io.hsmtls.testing.EchoServer echo = new io.hsmtls.testing.EchoServer()) {
            int port = f.proxy(f.settings("ec", Profile.COMPAT, ClientAuthMode.NONE),
                    new InetSocketAddress(InetAddress.getLoopbackAddress(), echo.port()),
                    ProxyLimits.defaults().withIdleTimeout(Duration.ofMillis(800)));
            try (SSLSocket s = (SSLSocket) f.jsse(null).getSocketFactory().createSocket("localhost", port)) {
                s.setSoTimeout(10_000);
                s.startHandshake();
                long t0 = System.nanoTime();
                for (int i = 0; i < 8; i++) { // 2.4 s in all: three idle timeouts' worth, never idle
                    s.getOutputStream().write('a' + i);
                    s.getOutputStream().flush();
                    assertEquals('a' + i, s.getInputStream().read());
                    Thread.sleep(300);
                }
                assertTrue(System.nanoTime() - t0 > 2_000_000_000L);
                long quiet = System.nanoTime();
                assertEquals(-1, s.getInputStream().read(), "closed once silent");
                long ms = (System.nanoTime() - quiet) / 1_000_000;
                assertTrue(ms >= 400 && ms < 3_000, "after the idle timeout: " + ms + " ms");
            }
        }
    }

    @Test
    void handshakeMessageOverLimit_refusedBeforeTheBodyArrives() throws Exception {
        int port = f.proxy(f.settings("ec", Profile.COMPAT, ClientAuthMode.NONE));
        // A ClientHello header announcing 16 MiB - 1 and 33 KiB: refused from the 4-byte header alone
        // (send() fails unless the server closes within 2 s, long before any body could arrive).
        for (int announced : new int[] {0xFFFFFF, 33 * 1024}) {
            int before = f.quiesce();
            send(port, new byte[] {0x16, 3, 1, 0, 4, 1, (byte) (announced >> 16), (byte) (announced >> 8),
                (byte) announced});
            ConnectionRecord rec = ServeMatrixTest.awaitRecordIn(f, before);
            assertTrue(rec.outcome().contains("Handshake message length exceeds the maximum: client_hello(1), "
                    + announced + " > 32768"), rec.line());
        }
        // Just under the limit is a legal size: the server waits for the body (until we give up).
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            s.setSoTimeout(700);
            int n = 31 * 1024;
            s.getOutputStream().write(new byte[] {0x16, 3, 1, 0, 4, 1, 0, (byte) (n >> 8), (byte) n});
            assertThrows(java.net.SocketTimeoutException.class, () -> s.getInputStream().read(),
                    "a 31 KiB ClientHello is within the limit: the server waits for it");
        }
    }

    @Test
    void recordOverLimit_closedAtOnce_recordOverflowLogged() throws Exception {
        int port = f.proxy(f.settings("ec", Profile.COMPAT, ClientAuthMode.NONE));
        int before = f.quiesce();
        // 18433 bytes announced: over 2^14 + 2048, so the 5-byte header alone ends the connection. (No
        // alert reaches the wire: Bouncy Castle has no record version to write one before a ClientHello.)
        byte[] answer = send(port, new byte[] {0x16, 3, 3, 0x48, 0x01});
        assertEquals(0, answer.length);
        ConnectionRecord rec = ServeMatrixTest.awaitRecordIn(f, before);
        assertTrue(rec.outcome().startsWith("handshake failed: record_overflow"), rec.line());
    }

    /** Sends bytes, keeps the connection open, returns what the server answers before it closes (2 s at most). */
    private static byte[] send(int port, byte[] bytes) throws Exception {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            s.setSoTimeout(2_000);
            long t0 = System.nanoTime();
            s.getOutputStream().write(bytes);
            s.getOutputStream().flush();
            java.io.ByteArrayOutputStream got = new java.io.ByteArrayOutputStream();
            try {
                byte[] buf = new byte[64];
                int n;
                while ((n = s.getInputStream().read(buf)) > 0) {
                    got.write(buf, 0, n);
                }
            } catch (java.io.IOException resetOrTimeout) {
                // what arrived before counts
            }
            assertTrue(System.nanoTime() - t0 < 2_000_000_000L, "answered at once, not at a timeout");
            return got.toByteArray();
        }
    }

    private static void waitUntil(java.util.function.BooleanSupplier ok) throws InterruptedException {
        for (int i = 0; i < 500 && !ok.getAsBoolean(); i++) {
            Thread.sleep(10);
        }
        assertTrue(ok.getAsBoolean(), "condition not reached in 5 s");
    }
}
