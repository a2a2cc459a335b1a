package io.hsmtls.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmtls.testing.SoftHsm;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The load generator against a peer nobody here wrote: {@code openssl s_server} with a P-256 key
 * file, its CPU read from /proc. Slow (a few seconds of handshakes), so tagged and excluded by default:
 * {@code mvn test -Dhsmtls.excludedGroups= -Dtest=LoadGeneratorSmokeTest}.
 */
@Tag("slow")
class LoadGeneratorSmokeTest {
    @TempDir
    static Path dir;
    private static Process server;
    private static InetSocketAddress address;

    @BeforeAll
    static void startOpensslServer() throws Exception {
        SoftHsm.run(List.of("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", dir.resolve("key.pem").toString(), "-out", dir.resolve("cert.pem").toString(),
                "-subj", "/CN=localhost", "-days", "1"));
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        address = new InetSocketAddress("127.0.0.1", port);
        // -no_ticket: TLS 1.2 resumption by session ID, as the harness measures it.
        server = new ProcessBuilder("openssl", "s_server", "-accept", "127.0.0.1:" + port, "-cert",
                dir.resolve("cert.pem").toString(), "-key", dir.resolve("key.pem").toString(), "-quiet",
                "-no_ticket").redirectErrorStream(true).redirectOutput(dir.resolve("s_server.log").toFile()).start();
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (true) {
            try (Socket probe = new Socket()) {
                probe.connect(address, 200);
                break;
            } catch (IOException e) {
                if (System.nanoTime() > deadline || !server.isAlive()) {
                    throw new IllegalStateException("openssl s_server did not start on " + address, e);
                }
                Thread.sleep(50);
            }
        }
    }

    @AfterAll
    static void stop() throws InterruptedException {
        if (server != null) {
            server.destroy();
            server.waitFor();
        }
    }

    private static LoadSpec spec(Mode mode, String version, Optional<String> suite, long count) {
        // TLS 1.2 with an ECDSA certificate needs its curve among the offered groups (RFC 8422 §5.1):
        // pin x25519 only for TLS 1.3.
        Optional<String> group = version.equals("TLSv1.3") ? Optional.of("x25519") : Optional.empty();
        ClientConfig c = new ClientConfig(address, version, suite, group,
                List.of(dir.resolve("cert.pem")), Optional.empty());
        return new LoadSpec(mode, c, 4, Duration.ofSeconds(30), count, 50, Duration.ofSeconds(20), 1, 1, 1,
                Duration.ZERO, OptionalLong.of(server.pid()), Duration.ofSeconds(5));
    }

    private static LoadResult run(LoadSpec spec) throws Exception {
        return new LoadGenerator(spec, ProcStat.system(), new PrintStream(new ByteArrayOutputStream())).run();
    }

    @Test
    void fullTls13Handshakes_countedExactly_withServerCpuAndLatencies() throws Exception {
        LoadResult r = run(spec(Mode.HANDSHAKE, "TLSv1.3", Optional.empty(), 300));
        assertEquals(300, r.get("count"));
        assertEquals(0, r.get("errors"));
        assertTrue(r.get("server_cpu_s") > 0, r.toString());
        assertTrue(r.get("hs_per_cpu_s") > r.get("hs_per_s") / 2, r.toString());
        assertTrue(r.get("p50_ms") > 0 && r.get("p50_ms") <= r.get("p99_ms"), r.toString());
    }

    @Test
    void tls12Resumption_resumesNearlyEveryHandshake() throws Exception {
        LoadResult r = run(spec(Mode.RESUME, "TLSv1.2",
                Optional.of("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"), 300));
        assertEquals(300, r.get("count"));
        assertTrue(r.get("resumed_share") > 0.95, r.toString());
    }

    @Test
    void fullHandshakeMode_neverResumes_evenWhereTheServerWould() throws Exception {
        // Same server and suite as the resumption test: only the client's choice differs.
        LoadResult r = run(spec(Mode.HANDSHAKE, "TLSv1.2", Optional.of("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"), 150));
        assertEquals(150, r.get("count"));
        assertEquals(0.0, r.get("resumed_share"));
    }

    @Test
    void suiteTheServerCannotDo_failsWithTheReason() {
        // s_server has an EC key: an RSA-authenticated suite cannot be negotiated.
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> run(
                spec(Mode.HANDSHAKE, "TLSv1.2", Optional.of("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"), 20)));
        assertTrue(e.getMessage().startsWith("no connection succeeded against"), e.getMessage());
    }
}
