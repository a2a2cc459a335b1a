package io.hsmtls.proxy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.hsmtls.testing.SoftHsm;
import io.hsmtls.tls.ClientAuthMode;
import io.hsmtls.tls.Profile;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.security.MessageDigest;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** 64 MiB each way at once through the proxy, SHA-256 checked at both ends. */
class BulkTransferTest {
    static final long SIZE = 64L << 20;

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

    // Not the common pool: with two cores it has one worker, and these tasks block on sockets.
    static final java.util.concurrent.ExecutorService THREADS = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor();

    static <T> CompletableFuture<T> async(java.util.function.Supplier<T> s) {
        return CompletableFuture.supplyAsync(s, THREADS);
    }

    /** Sends SIZE pseudo-random bytes from a seed; returns their SHA-256. */
    static byte[] send(OutputStream out, long seed) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        Random r = new Random(seed);
        byte[] buf = new byte[64 * 1024];
        for (long sent = 0; sent < SIZE; sent += buf.length) {
            r.nextBytes(buf);
            md.update(buf);
            out.write(buf);
        }
        out.flush();
        return md.digest();
    }

    /** Reads exactly SIZE bytes; returns their SHA-256. */
    static byte[] receive(InputStream in) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        byte[] buf = new byte[64 * 1024];
        long got = 0;
        while (got < SIZE) {
            int n = in.read(buf, 0, (int) Math.min(buf.length, SIZE - got));
            if (n < 0) {
                throw new java.io.EOFException("stream ended after " + got + " of " + SIZE + " bytes");
            }
            md.update(buf, 0, n);
            got += n;
        }
        return md.digest();
    }

    @Test
    void sixtyFourMiB_eachWayAtOnce_sha256MatchesAtBothEnds() throws Exception {
        try (ServerSocket backend = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
            int port = f.proxy(f.settings("ec", Profile.COMPAT, ClientAuthMode.NONE),
                    (InetSocketAddress) backend.getLocalSocketAddress(),
                    ProxyLimits.defaults().withIdleTimeout(java.time.Duration.ofSeconds(20)));
            CompletableFuture<byte[][]> backendSide = async(() -> {
                try (Socket s = backend.accept()) {
                    CompletableFuture<byte[]> sent = async(() -> {
                        try {
                            return send(s.getOutputStream(), 2);
                        } catch (Exception e) {
                            throw new RuntimeException(e);
                        }
                    });
                    byte[] received = receive(s.getInputStream());
                    return new byte[][] {received, sent.get(60, TimeUnit.SECONDS)};
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            try (SSLSocket s = (SSLSocket) f.jsse(null).getSocketFactory().createSocket("localhost", port)) {
                s.startHandshake();
                CompletableFuture<byte[]> clientSent = async(() -> {
                    try {
                        return send(s.getOutputStream(), 1);
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                });
                byte[] clientReceived = receive(s.getInputStream());
                byte[] sentByClient = clientSent.get(60, TimeUnit.SECONDS);
                byte[][] b = backendSide.get(60, TimeUnit.SECONDS);
                assertArrayEquals(sentByClient, b[0], "client -> backend SHA-256");
                assertArrayEquals(b[1], clientReceived, "backend -> client SHA-256");
            }
            ConnectionRecord rec = ServeMatrixTest.awaitRecordIn(f, 0);
            assertEquals(SIZE, rec.clientToBackend(), rec.line());
            assertEquals(SIZE, rec.backendToClient(), rec.line());
        }
    }
}
