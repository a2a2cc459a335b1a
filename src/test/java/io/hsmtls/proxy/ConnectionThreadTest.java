package io.hsmtls.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmtls.testing.SoftHsm;
import io.hsmtls.tls.ClientAuthMode;
import io.hsmtls.tls.Profile;
import io.hsmtls.tls.ServerHandshaker;
import io.hsmtls.tls.TlsConnection;
import io.hsmtls.tls.bc.BcServerHandshaker;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The thread that ran a connection's handshake does not carry the established connection: a
 * virtual thread keeps the stack chunk of its deepest park, and the handshake parks deep, so an
 * idle connection on the handshake's thread held about 2–3 KiB more heap
 * (IdleConnectionMemoryTest measures the total). Shutdown still waits for the handed-off
 * connection.
 */
class ConnectionThreadTest {
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
    void establishedConnection_leavesHandshakeThread_andDrainWaitsForIt() throws Exception {
        AtomicReference<Thread> handshakeThread = new AtomicReference<>();
        BcServerHandshaker bc = new BcServerHandshaker(f.settings("ec", Profile.COMPAT, ClientAuthMode.NONE));
        ServerHandshaker recording = new ServerHandshaker() {
            @Override
            public io.hsmtls.tls.ServerSettings settings() {
                return bc.settings();
            }

            @Override
            public TlsConnection handshake(Socket socket) throws io.hsmtls.tls.HandshakeFailedException {
                return handshake(socket, 0);
            }

            @Override
            public TlsConnection handshake(Socket socket, long id) throws io.hsmtls.tls.HandshakeFailedException {
                handshakeThread.set(Thread.currentThread());
                return bc.handshake(socket, id);
            }
        };
        try (ServerSocket backend = new ServerSocket(0, 5, InetAddress.getLoopbackAddress());
             ProxyServer proxy = new ProxyServer(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                     (InetSocketAddress) backend.getLocalSocketAddress(), recording, ProxyLimits.defaults(), r -> { })
                     .withEventLoops(0)) {
            int port = proxy.start().getPort();
            try (SSLSocket c = (SSLSocket) f.jsse(null).getSocketFactory().createSocket("localhost", port)) {
                c.setSoTimeout(10_000);
                c.getOutputStream().write('a');
                c.getOutputStream().flush();
                try (Socket b = backend.accept()) {
                    b.setSoTimeout(10_000);
                    assertEquals('a', b.getInputStream().read());
                    Thread hs = handshakeThread.get();
                    assertNotNull(hs, "handshake ran");
                    hs.join(5_000);
                    assertFalse(hs.isAlive(), "the handshake's thread ended while its connection stays open");
                    assertEquals(1, proxy.openConnections(), "the connection is counted on its new thread");

                    b.getOutputStream().write('b');
                    b.getOutputStream().flush();
                    assertEquals('b', c.getInputStream().read(), "the connection still carries data both ways");

                    // Drain: shutdown waits for the handed-off connection, which ends on its own.
                    CompletableFuture<Integer> cut = CompletableFuture.supplyAsync(() -> proxy.shutdown(Duration.ofSeconds(10)));
                    Thread.sleep(300);
                    assertFalse(cut.isDone(), "shutdown drains the open connection");
                    c.close();
                    b.close(); // the backend's side ends too (the pump passes half-closes on)
                    assertEquals(0, cut.get(10, TimeUnit.SECONDS), "no connection cut: it ended within the drain");
                    assertEquals(0, proxy.openConnections());
                }
            }
        }
    }
}
