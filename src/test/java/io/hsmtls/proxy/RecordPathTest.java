package io.hsmtls.proxy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.hsmtls.testing.SoftHsm;
import io.hsmtls.tls.ClientAuthMode;
import io.hsmtls.tls.Profile;
import java.io.DataInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The record path after the handshake (gathered reads, batched writes, the JDK AES-GCM adapter)
 * with real peers: every record size from 1 byte to past 16 KiB, both ways, for each AEAD suite
 * in TLS 1.3 and 1.2, byte for byte through an echo backend.
 */
class RecordPathTest {
    /** Sizes around the edges: tiny, AES block and tag sizes, the 256-byte gathering limit, one record, more. */
    static final int[] SIZES = {1, 2, 15, 16, 17, 31, 255, 256, 257, 1000, 4096, 16383, 16384, 16385, 40000, 70000};

    @RegisterExtension
    static SoftHsm hsm = new SoftHsm();
    static ServeFixture f;
    static ServerSocket echo;
    static int port;

    @BeforeAll
    static void start() throws Exception {
        f = new ServeFixture(hsm);
        echo = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().start(RecordPathTest::echoLoop);
        port = f.proxy(f.settings("ec", Profile.COMPAT, ClientAuthMode.NONE),
                (InetSocketAddress) echo.getLocalSocketAddress(), ProxyLimits.defaults());
    }

    @AfterAll
    static void stop() throws Exception {
        if (f != null) {
            f.close();
        }
        if (echo != null) {
            echo.close();
        }
    }

    /** Echoes each connection until the peer closes. */
    static void echoLoop() {
        while (!echo.isClosed()) {
            try {
                Socket s = echo.accept();
                Thread.ofVirtual().start(() -> {
                    try (s) {
                        InputStream in = s.getInputStream();
                        OutputStream out = s.getOutputStream();
                        byte[] buf = new byte[8192];
                        int n;
                        while ((n = in.read(buf)) >= 0) {
                            out.write(buf, 0, n);
                        }
                    } catch (Exception ignored) {
                        // the test on the other end reports what went wrong
                    }
                });
            } catch (Exception e) {
                return;
            }
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({
            "TLSv1.3, TLS_AES_128_GCM_SHA256",
            "TLSv1.3, TLS_AES_256_GCM_SHA384",
            "TLSv1.2, TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            // No ChaCha20-Poly1305: Bouncy Castle's JCA crypto builds it from "ChaCha7539" and
            // "Poly1305", names the JDK's providers do not have, so serve never selects it.
            "TLSv1.2, TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"})
    void everyRecordSize_bothWays_throughTheProxy_withSunJsse(String version, String suite) throws Exception {
        try (SSLSocket s = (SSLSocket) f.jsse(null).getSocketFactory().createSocket("localhost", port)) {
            s.setEnabledProtocols(new String[] {version});
            s.setEnabledCipherSuites(new String[] {suite});
            s.setSoTimeout(20_000);
            s.startHandshake();
            assertEquals(suite, s.getSession().getCipherSuite());
            OutputStream out = s.getOutputStream();
            DataInputStream in = new DataInputStream(s.getInputStream());
            Random r = new Random(suite.hashCode());
            // One message at a time: each size is its own record(s) and must come back whole.
            for (int size : SIZES) {
                byte[] msg = new byte[size];
                r.nextBytes(msg);
                out.write(msg);
                out.flush();
                byte[] back = new byte[size];
                in.readFully(back);
                assertArrayEquals(msg, back, version + " " + suite + ": " + size + " bytes");
            }
            // Then all sizes back to back without waiting: records gathered and batched on the way.
            java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
            for (int size : SIZES) {
                byte[] msg = new byte[size];
                r.nextBytes(msg);
                all.write(msg);
            }
            byte[] sent = all.toByteArray();
            Thread writer = Thread.ofVirtual().start(() -> {
                try {
                    for (int i = 0, off = 0; i < SIZES.length; off += SIZES[i], i++) {
                        out.write(sent, off, SIZES[i]);
                    }
                    out.flush();
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            byte[] back = new byte[sent.length];
            in.readFully(back);
            writer.join(TimeUnit.SECONDS.toMillis(20));
            assertArrayEquals(sent, back, version + " " + suite + ": back to back");
        }
    }

    @ParameterizedTest(name = "openssl {0} {1}")
    @CsvSource({
            "-tls1_3, TLS_AES_128_GCM_SHA256",
            "-tls1_3, TLS_AES_256_GCM_SHA384",
            "-tls1_2, ECDHE-ECDSA-AES128-GCM-SHA256",
            "-tls1_2, ECDHE-ECDSA-AES256-GCM-SHA384"})
    void openssl_sClient_sendsAndGetsBack_200KiB(String version, String suite) throws Exception {
        Path dir = Files.createTempDirectory(hsm.workDir(), "records");
        byte[] data = new byte[200 * 1024 + 17];
        new Random(7).nextBytes(data);
        Path input = Files.write(dir.resolve("in.bin"), data);
        List<String> cmd = new ArrayList<>(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + port,
                "-CAfile", f.caPem.toString(), "-quiet", version));
        cmd.addAll(version.equals("-tls1_3") ? List.of("-ciphersuites", suite) : List.of("-cipher", suite));
        Process p = new ProcessBuilder(cmd).redirectInput(input.toFile())
                .redirectError(dir.resolve("err.txt").toFile()).start();
        // openssl stops reading stdin at its end but keeps the connection open (-quiet implies
        // -ign_eof), so the echo comes back in full; then we end it.
        byte[] back = new byte[data.length];
        int got = 0;
        try (InputStream in = p.getInputStream()) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (got < back.length && System.nanoTime() < deadline) {
                int n = in.read(back, got, back.length - got);
                if (n < 0) {
                    break;
                }
                got += n;
            }
        } finally {
            p.destroy();
            p.waitFor(10, TimeUnit.SECONDS);
        }
        assertEquals(data.length, got, "echoed bytes; openssl said: " + Files.readString(dir.resolve("err.txt")));
        assertArrayEquals(data, back);
    }
}
