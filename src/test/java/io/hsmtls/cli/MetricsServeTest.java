package io.hsmtls.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import io.hsmtls.testing.SoftHsm;
import io.hsmtls.testing.TestPki;
import io.hsmtls.token.KeyType;
import io.hsmtls.token.Pkcs11Uri;
import io.hsmtls.token.Token;
import io.hsmtls.token.TokenKey;
import io.hsmtls.token.TokenOptions;
import io.hsmtls.token.iaik.IaikTokens;
import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@code serve --metrics}: after a known sequence of handshakes from curl, the counters are exact. */
class MetricsServeTest {
    @RegisterExtension
    static SoftHsm hsm = new SoftHsm();
    static TestPki.Ca ca = TestPki.ca("CN=Metrics Root");
    static X509Certificate cert;
    static Path caPem;
    static HttpServer backend;

    @BeforeAll
    static void setUp() throws Exception {
        try (Token t = IaikTokens.open(TokenOptions.of(Pkcs11Uri.parse(hsm.tokenUri()), null).withReadWrite(true))) {
            TokenKey ec = t.generateKeyPair(KeyType.EC_P256, "ec", Optional.empty(), false);
            cert = ca.leaf("CN=localhost").dns("localhost").publicKey(ec.info().publicKey()).serverAuth().sign();
            t.storeCertificate(ec, cert, false);
        }
        caPem = TestPki.writePem(Files.createTempDirectory(hsm.workDir(), "metrics").resolve("ca.pem"),
                List.of(ca.certificate()));
        backend = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 10);
        backend.createContext("/", ex -> {
            byte[] b = "measured backend\n".getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, b.length);
            ex.getResponseBody().write(b);
            ex.close();
        });
        backend.start();
    }

    @AfterAll
    static void tearDown() {
        backend.stop(0);
    }

    @Test
    void twoTls13_oneTls12_oneFailed_givesExactCounts_andHealthOk() throws Exception {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CompletableFuture<Integer> run = CompletableFuture.supplyAsync(() -> Main.run(
                new ByteArrayInputStream(new byte[0]), new PrintWriter(out), new PrintWriter(err),
                "serve", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:" + backend.getAddress().getPort(),
                "--key", hsm.keyUri("ec"), "--metrics", "127.0.0.1:0"), Executors.newVirtualThreadPerTaskExecutor());
        String port = AuditServeTest.ports(out, run, 1).get(0);
        Matcher mm = Pattern.compile("metrics on http://127\\.0\\.0\\.1:(\\d+)/metrics").matcher(out.toString());
        for (int i = 0; i < 200 && !mm.find(); i++) {
            Thread.sleep(20);
            mm = Pattern.compile("metrics on http://127\\.0\\.0\\.1:(\\d+)/metrics").matcher(out.toString());
        }
        String metricsPort = mm.group(1);
        try {
            for (int i = 0; i < 2; i++) {
                assertEquals(0, curl(port, "--tlsv1.3").exitCode());
            }
            assertEquals(0, curl(port, "--tlsv1.2", "--tls-max", "1.2").exitCode());
            // No trust anchor: curl refuses our certificate and ends the handshake with an alert.
            SoftHsm.Result refused = SoftHsm.exec(List.of("curl", "-sS", "--resolve", "localhost:" + port
                    + ":127.0.0.1", "https://localhost:" + port + "/"), null);
            assertTrue(refused.exitCode() != 0, refused.output());

            String text = "";
            // The failed handshake is counted when the server reads the client's alert: wait for it.
            for (int i = 0; i < 200; i++) {
                text = get(metricsPort, "/metrics").body();
                if (value(text, "hsmtls_handshakes_total", "result=\"failed\"") == 1.0
                        && value(text, "hsmtls_connections_open") == 0.0) {
                    break;
                }
                Thread.sleep(25);
            }
            assertEquals(2.0, value(text, "hsmtls_handshakes_total", "result=\"ok\"", "version=\"TLSv1.3\"",
                    "resumed=\"false\""), text);
            assertEquals(1.0, value(text, "hsmtls_handshakes_total", "result=\"ok\"", "version=\"TLSv1.2\"",
                    "suite=\"TLS_ECDHE_ECDSA_WITH_AES_"), text);
            assertEquals(1.0, value(text, "hsmtls_handshakes_total", "result=\"failed\""), text);
            assertEquals(4.0, value(text, "hsmtls_handshakes_total"), text);
            assertEquals(1.0, value(text, "hsmtls_handshake_failures_total", "listener=\"main\""), text);
            assertEquals(3.0, value(text, "hsmtls_handshake_duration_seconds_count", "result=\"ok\""), text);
            // Each full handshake signs once, the refused one too (the client refuses after our signature).
            assertEquals(4.0, value(text, "hsmtls_token_operation_duration_seconds_count", "mechanism=\"CKM_ECDSA\""),
                    text);
            assertTrue(Double.isNaN(value(text, "hsmtls_token_errors_total")), text);
            assertEquals(0.0, value(text, "hsmtls_connections_open", "listener=\"main\""), text);
            // Bytes each way equal what the connection log says each connection carried.
            long in = 0;
            long outBytes = 0;
            Matcher io = Pattern.compile(" in=(\\d+) out=(\\d+) ").matcher(err.toString());
            int logged = 0;
            while (io.find()) {
                in += Long.parseLong(io.group(1));
                outBytes += Long.parseLong(io.group(2));
                logged++;
            }
            assertEquals(4, logged, err.toString());
            assertTrue(outBytes > 3 * "measured backend\n".length(), err.toString());
            assertEquals((double) outBytes, value(text, "hsmtls_connection_bytes_total",
                    "direction=\"backend_to_client\""), text);
            assertEquals((double) in, value(text, "hsmtls_connection_bytes_total", "direction=\"client_to_backend\""),
                    text);
            assertEquals(1.0, value(text, "hsmtls_token_up", "token=\"" + hsm.label() + "\""), text);
            assertEquals(0.0, value(text, "hsmtls_token_queue_depth", "token=\"" + hsm.label() + "\""), text);
            assertEquals(0.0, value(text, "hsmtls_token_reinitializations_total"), text);
            assertEquals((double) cert.getNotAfter().toInstant().getEpochSecond(),
                    value(text, "hsmtls_certificate_expiry_timestamp_seconds", "listener=\"main\""), text);

            // A TLS 1.2 session, then its resumption: counted as resumed, and no token operation for it.
            Path sess = caPem.resolveSibling("metrics.sess");
            String first = sClient(port, "-sess_out", sess);
            assertTrue(first.contains("New, TLSv1.2"), first);
            String again = sClient(port, "-sess_in", sess);
            assertTrue(again.contains("Reused, TLSv1.2"), again);
            String after = "";
            for (int i = 0; i < 200; i++) {
                after = get(metricsPort, "/metrics").body();
                if (value(after, "hsmtls_handshakes_total", "resumed=\"true\"") == 1.0) {
                    break;
                }
                Thread.sleep(25);
            }
            assertEquals(1.0, value(after, "hsmtls_handshakes_total", "result=\"ok\"", "version=\"TLSv1.2\"",
                    "resumed=\"true\""), after);
            assertEquals(5.0, value(after, "hsmtls_token_operation_duration_seconds_count"), after);

            HttpResponse<String> health = get(metricsPort, "/healthz");
            assertEquals(200, health.statusCode());
            assertEquals("ok\n", health.body());
        } finally {
            ServeCommand.stopForTests.countDown();
        }
        assertEquals(0, run.get(20, TimeUnit.SECONDS), err.toString());
    }

    private static SoftHsm.Result curl(String port, String... versions) {
        List<String> cmd = new java.util.ArrayList<>(List.of("curl", "-sS", "--cacert", caPem.toString(), "--resolve",
                "localhost:" + port + ":127.0.0.1"));
        cmd.addAll(List.of(versions));
        cmd.add("https://localhost:" + port + "/");
        SoftHsm.Result r = SoftHsm.exec(cmd, null);
        assertTrue(r.output().contains("measured backend"), r.output());
        return r;
    }

    private static String sClient(String port, String sessOption, Path sess) {
        return SoftHsm.exec(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + port, "-tls1_2", "-servername",
                "localhost", "-CAfile", caPem.toString(), "-ign_eof", sessOption, sess.toString()),
                "GET / HTTP/1.0\r\n\r\n").output();
    }

    static double value(String text, String name, String... labels) {
        return io.hsmtls.observe.MetricsTest.value(text, name, labels);
    }

    static HttpResponse<String> get(String port, String path) throws Exception {
        try (HttpClient c = HttpClient.newHttpClient()) {
            return c.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
                    HttpResponse.BodyHandlers.ofString());
        }
    }
}
