package io.hsmtls.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmtls.testing.SoftHsm;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Handshake load with echo connections beside it, against a small TLS echo server in this JVM
 * (SunJSSE, a keytool key): the echoes are counted only in the measured phase, and the result
 * line carries their latency next to the handshake figures.
 */
class LoadGeneratorEchoTest {
    @TempDir
    static Path dir;
    static SSLServerSocket server;
    static Thread acceptor;

    @BeforeAll
    static void startTlsEchoServer() throws Exception {
        Path p12 = dir.resolve("server.p12");
        char[] pass = "changeit".toCharArray();
        SoftHsm.run(List.of("keytool", "-genkeypair", "-keyalg", "EC", "-groupname", "secp256r1", "-alias", "s",
                "-dname", "CN=localhost", "-ext", "san=ip:127.0.0.1", "-validity", "1", "-storetype", "PKCS12",
                "-keystore", p12.toString(), "-storepass", "changeit"));
        SoftHsm.run(List.of("keytool", "-exportcert", "-rfc", "-alias", "s", "-keystore", p12.toString(),
                "-storepass", "changeit", "-file", dir.resolve("server.pem").toString()));
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = java.nio.file.Files.newInputStream(p12)) {
            ks.load(in, pass);
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance("PKIX");
        kmf.init(ks, pass);
        SSLContext ctx = SSLContext.getInstance("TLSv1.3");
        ctx.init(kmf.getKeyManagers(), null, null);
        server = (SSLServerSocket) ctx.getServerSocketFactory().createServerSocket(0, 200,
                InetAddress.getLoopbackAddress());
        acceptor = Thread.ofPlatform().daemon(true).start(() -> {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    Thread.ofVirtual().start(() -> echo(s));
                } catch (IOException e) {
                    return;
                }
            }
        });
    }

    private static void echo(Socket s) {
        try (s) {
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            byte[] buf = new byte[4096];
            int n;
            while ((n = in.read(buf)) >= 0) {
                out.write(buf, 0, n);
                out.flush();
            }
        } catch (IOException e) {
            // the load generator closes or resets its connections; nothing to check here
        }
    }

    @AfterAll
    static void stop() throws IOException {
        if (server != null) {
            server.close();
        }
    }

    @Test
    void handshakesWithEcho_reportEchoLatency_countedOnlyWhileMeasuring() throws Exception {
        ClientConfig c = new ClientConfig(new InetSocketAddress("127.0.0.1", server.getLocalPort()), "TLSv1.3",
                Optional.empty(), Optional.empty(), List.of(dir.resolve("server.pem")), Optional.empty());
        // Bounded by count: 150 handshakes, 4 echo connections at 100/s each.
        LoadSpec spec = new LoadSpec(Mode.HANDSHAKE, c, 4, Duration.ofSeconds(30), 150, 20, Duration.ofSeconds(20),
                1, 1, 1, Duration.ZERO, OptionalLong.empty(), Duration.ofSeconds(5)).withEcho(4, 100);
        LoadResult r = new LoadGenerator(spec, ProcStat.system(), new PrintStream(new ByteArrayOutputStream())).run();
        assertEquals(150, r.get("count"));
        assertEquals(4, r.get("echo_connections"));
        assertEquals(0, r.get("echo_errors"));
        // Echoes are counted only during the handshakes (not the second of echo before them): at
        // most 4 × 100/s for the measured seconds, and some at all.
        double ceiling = 4 * 100 * (r.get("seconds") + 0.1) + 4;
        assertTrue(r.get("echo_count") > 0 && r.get("echo_count") <= ceiling, r.toString());
        assertTrue(r.get("echo_p50_ms") > 0 && r.get("echo_p50_ms") <= r.get("echo_p99_ms")
                && r.get("echo_p99_ms") <= r.get("echo_max_ms"), r.toString());
        String line = r.toLine("jsse", "hs13-echo");
        for (String f : List.of("hs_per_s=", "p99_ms=", "echo_p50_ms=", "echo_p99_ms=", "echo_count=")) {
            assertTrue(line.contains("\t" + f), f + " missing from " + line);
        }
    }

    @Test
    void roundTripAfterEachHandshake_sendsAndReadsBackItsBytes() throws Exception {
        ClientConfig c = new ClientConfig(new InetSocketAddress("127.0.0.1", server.getLocalPort()), "TLSv1.3",
                Optional.empty(), Optional.empty(), List.of(dir.resolve("server.pem")), Optional.empty());
        LoadSpec spec = new LoadSpec(Mode.HANDSHAKE, c, 4, Duration.ofSeconds(30), 100, 10, Duration.ofSeconds(20),
                1, 1, 1, Duration.ZERO, OptionalLong.empty(), Duration.ofSeconds(5)).withRoundTrip(64);
        LoadResult r = new LoadGenerator(spec, ProcStat.system(), new PrintStream(new ByteArrayOutputStream())).run();
        assertEquals(100, r.get("count"));
        assertEquals(0, r.get("errors"));
        assertEquals(100 * 2 * 64, r.get("round_trip_bytes"), "64 bytes out and 64 back per measured connection");
    }
}
