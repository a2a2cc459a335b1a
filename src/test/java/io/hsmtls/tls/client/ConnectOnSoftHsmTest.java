package io.hsmtls.tls.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmtls.cli.Main;
import io.hsmtls.testing.SoftHsm;
import io.hsmtls.testing.TestPki;
import io.hsmtls.token.KeyType;
import io.hsmtls.token.Pkcs11Uri;
import io.hsmtls.token.Token;
import io.hsmtls.token.TokenKey;
import io.hsmtls.token.TokenOptions;
import io.hsmtls.token.iaik.IaikTokens;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@code hsmtls connect} in-process: a plaintext local port carried over TLS with a SoftHSM client key. */
class ConnectOnSoftHsmTest {
    @RegisterExtension
    static SoftHsm hsm = new SoftHsm();

    static TestPki.Ca serverCa;
    static TestPki.Ca clientCa;
    static TestPki.Held server;
    static Path serverCrt;
    static Path serverKey;
    static Path serverCaPem;
    static Path clientCaPem;

    @BeforeAll
    static void setUp() throws Exception {
        Path dir = Files.createTempDirectory(hsm.workDir(), "connect");
        serverCa = TestPki.ca("CN=Server Root");
        clientCa = TestPki.ca("CN=Card Issuer");
        server = serverCa.leaf("CN=localhost").serverAuth().generate();
        Path[] p = server.writePem(dir, "server");
        serverCrt = p[0];
        serverKey = p[1];
        serverCaPem = TestPki.writePem(dir.resolve("server-ca.pem"), List.of(serverCa.certificate()));
        clientCaPem = TestPki.writePem(dir.resolve("client-ca.pem"), List.of(clientCa.certificate()));
        try (Token t = IaikTokens.open(TokenOptions.of(Pkcs11Uri.parse(hsm.tokenUri()), null).withReadWrite(true))) {
            for (String[] k : new String[][] {{"client-ec", "ec"}, {"client-rsa", "rsa"}}) {
                TokenKey key = t.generateKeyPair("ec".equals(k[1]) ? KeyType.EC_P256 : KeyType.RSA_2048, k[0],
                        Optional.empty(), false);
                t.storeCertificate(key, clientCa.leaf("CN=" + k[0]).publicKey(key.info().publicKey()).clientAuth()
                        .sign(), false);
            }
        }
        SoftHsm.run(List.of("pkcs11-tool", "--module", SoftHsm.modulePath().toString(), "--token-label", hsm.label(),
                "--login", "--pin", SoftHsm.USER_PIN, "--keypairgen", "--key-type", "EC:prime256v1", "--id", "0b01",
                "--label", "ec-always", "--usage-sign", "--always-auth"));
        try (Token t = IaikTokens.open(TokenOptions.of(Pkcs11Uri.parse(hsm.tokenUri()), null).withReadWrite(true))) {
            TokenKey key = t.key(Pkcs11Uri.parse(hsm.keyUri("ec-always")));
            t.storeCertificate(key, clientCa.leaf("CN=ec-always").publicKey(key.info().publicKey()).clientAuth()
                    .sign(), false);
        }
    }

    /** A running {@code hsmtls connect}; closing interrupts it and waits for it to end. */
    static final class Running implements AutoCloseable {
        final StringWriter err = new StringWriter();
        final StringWriter out = new StringWriter();
        final int port;
        final Thread thread;
        final CompletableFuture<Integer> exit = new CompletableFuture<>();

        Running(String upstream, String key, String... extra) throws Exception {
            this(upstream, hsm.keyUri(key), new byte[0], extra);
        }

        Running(String upstream, String keyUri, byte[] stdin, String... extra) throws Exception {
            try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                port = probe.getLocalPort();
            }
            List<String> args = new ArrayList<>(List.of("connect", "--listen", "127.0.0.1:" + port, "--upstream",
                    upstream, "--key", keyUri, "--trust", serverCaPem.toString(), "--server-name",
                    "localhost"));
            args.addAll(List.of(extra));
            byte[] in = stdin.clone();
            thread = Thread.ofVirtual().start(() -> exit.complete(Main.run(new ByteArrayInputStream(in),
                    new PrintWriter(out), new PrintWriter(err), args.toArray(new String[0]))));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (!err.toString().contains("connect listening on")) {
                if (exit.isDone() || System.nanoTime() > deadline) {
                    throw new IllegalStateException("connect did not start: " + err);
                }
                Thread.sleep(20);
            }
        }

        String exchange(String request) throws IOException {
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
                s.setSoTimeout(10_000);
                s.getOutputStream().write(request.getBytes(StandardCharsets.UTF_8));
                s.getOutputStream().flush();
                return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            }
        }

        /** Waits for the n-th connection log line. */
        String logLine(int n) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
            while (System.nanoTime() < deadline) {
                List<String> lines = err.toString().lines().filter(l -> l.contains(" conn=")).toList();
                if (lines.size() >= n) {
                    return lines.get(n - 1);
                }
                Thread.sleep(20);
            }
            throw new AssertionError("no log line " + n + " in:\n" + err);
        }

        @Override
        public void close() throws Exception {
            thread.interrupt();
            assertEquals(0, exit.get(10, TimeUnit.SECONDS), () -> "connect ended badly: " + err);
        }
    }

    @ParameterizedTest(name = "openssl s_server {1}, {0}")
    @CsvSource({"client-ec, -tls1_3, TLSv1.3", "client-rsa, -tls1_3, TLSv1.3", "client-ec, -tls1_2, TLSv1.2",
            "client-rsa, -tls1_2, TLSv1.2"})
    void connect_opensslServerRequiringClientCert_carriesHttp(String key, String flag, String version)
            throws Exception {
        try (OpensslServer s = new OpensslServer(serverCrt, serverKey, clientCaPem, flag);
             Running c = new Running("127.0.0.1:" + s.port(), key)) {
            for (int i = 1; i <= 2; i++) {
                String page = c.exchange("GET / HTTP/1.0\r\n\r\n");
                assertTrue(page.startsWith("HTTP/1.0 200 ok"), page);
                assertTrue(page.contains(version.replace("v", "v")), page);
                String line = c.logLine(i);
                assertTrue(line.contains("version=" + version), line);
                assertTrue(line.contains("client-cert=\"CN=" + key + "\""), line);
                assertTrue(line.contains("token-ops=1"), line);
                assertTrue(line.contains("result=ok"), line);
                assertTrue(line.matches(".*bytes-up=18 bytes-down=\\d+.*"), line);
            }
        }
    }

    @Test
    void connect_auditLog_recordsEachClientSignatureWithOurCertificateFingerprint() throws Exception {
        Path audit = Files.createTempDirectory(hsm.workDir(), "connect-audit").resolve("audit.jsonl");
        String fingerprint;
        try (Token t = IaikTokens.open(TokenOptions.of(Pkcs11Uri.parse(hsm.tokenUri()), null))) {
            fingerprint = io.hsmtls.tls.ClientIdentity.fingerprint(
                    t.key(Pkcs11Uri.parse(hsm.keyUri("client-ec"))).certificate().orElseThrow());
        }
        try (OpensslServer s = new OpensslServer(serverCrt, serverKey, clientCaPem, "-tls1_3");
             Running c = new Running("127.0.0.1:" + s.port(), "client-ec", "--audit-log", audit.toString())) {
            for (int i = 1; i <= 2; i++) {
                assertTrue(c.exchange("GET / HTTP/1.0\r\n\r\n").startsWith("HTTP/1.0 200 ok"));
                c.logLine(i);
            }
            List<String> lines = Files.readAllLines(audit);
            assertEquals(2, lines.size(), String.join("\n", lines));
            for (int i = 0; i < 2; i++) {
                String l = lines.get(i);
                assertTrue(l.startsWith("{\"seq\":" + (i + 1) + ","), l);
                assertTrue(l.contains("\"key\":\"pkcs11:token=" + hsm.label() + ";object=client-ec;id="), l);
                assertTrue(l.contains("\"mechanism\":\"CKM_ECDSA\",\"purpose\":\"client-signature\",\"connection\":\""
                        + (i + 1) + "\",\"sni\":\"localhost\",\"peer\":\"127.0.0.1:" + s.port() + "\",\"client_cert_sha256\":\""
                        + fingerprint + "\",\"result\":\"ok\""), l);
            }
        }
        io.hsmtls.observe.AuditVerifier.Result r = io.hsmtls.observe.AuditVerifier.verify(audit);
        assertTrue(r.ok(), r.reason());
        assertEquals(2, r.lines());
    }

    @Test
    void connect_jsseServer_echoesAndServerSeesTheTokenCertificate() throws Exception {
        try (JsseServer s = new JsseServer(server, clientCa.certificate(), "TLSv1.3");
             Running c = new Running("127.0.0.1:" + s.port(), "client-ec")) {
            try (Socket local = new Socket(InetAddress.getLoopbackAddress(), c.port)) {
                local.setSoTimeout(10_000);
                local.getOutputStream().write("hello\n".getBytes(StandardCharsets.UTF_8));
                byte[] buf = new byte[6];
                int n = 0;
                while (n < 6) {
                    n += local.getInputStream().read(buf, n, 6 - n);
                }
                assertEquals("hello\n", new String(buf, StandardCharsets.UTF_8));
            }
            assertEquals("CN=client-ec TLSv1.3", s.nextClient());
            String line = c.logLine(1);
            assertTrue(line.contains("bytes-up=6 bytes-down=6"), line);
            assertTrue(line.contains("result=ok"), line); // the local close ended it, not the idle timeout
        }
    }

    @Test
    void connect_parallelConnections_eachCarriedIntact() throws Exception {
        int clients = 8;
        int size = 256 * 1024;
        try (JsseServer s = new JsseServer(server, clientCa.certificate(), "TLSv1.3", "TLSv1.2");
             Running c = new Running("127.0.0.1:" + s.port(), "client-rsa")) {
            List<CompletableFuture<Boolean>> results = new ArrayList<>();
            for (int i = 0; i < clients; i++) {
                byte[] data = new byte[size];
                new java.util.Random(i).nextBytes(data);
                CompletableFuture<Boolean> f = new CompletableFuture<>();
                results.add(f);
                Thread.ofVirtual().start(() -> {
                    try (Socket local = new Socket(InetAddress.getLoopbackAddress(), c.port)) {
                        local.setSoTimeout(20_000);
                        Thread writer = Thread.ofVirtual().start(() -> {
                            try {
                                local.getOutputStream().write(data);
                                local.getOutputStream().flush();
                            } catch (IOException e) {
                                f.completeExceptionally(e);
                            }
                        });
                        byte[] back = local.getInputStream().readNBytes(size);
                        writer.join();
                        f.complete(java.util.Arrays.equals(data, back));
                    } catch (Exception e) {
                        f.completeExceptionally(e);
                    }
                });
            }
            for (CompletableFuture<Boolean> f : results) {
                assertTrue(f.get(60, TimeUnit.SECONDS), "echoed bytes differ");
            }
            for (int i = 1; i <= clients; i++) {
                String line = c.logLine(i);
                assertTrue(line.contains("bytes-up=" + size + " bytes-down=" + size), line);
                assertTrue(line.contains("client-cert=\"CN=client-rsa\""), line);
            }
        }
    }

    /**
     * A CKA_ALWAYS_AUTHENTICATE key through the CLI with --pin-stdin: standard input holds the PIN
     * once, so every later handshake (each with its own context-specific login) must reuse it.
     */
    @Test
    void connect_alwaysAuthenticateKey_pinFromStdinOnce_severalConnections() throws Exception {
        String uriWithoutPin = "pkcs11:token=" + hsm.label() + ";object=ec-always?module-path=" + SoftHsm.modulePath();
        try (OpensslServer s = new OpensslServer(serverCrt, serverKey, clientCaPem, "-tls1_3");
             Running c = new Running("127.0.0.1:" + s.port(), uriWithoutPin,
                     (SoftHsm.USER_PIN + "\n").getBytes(StandardCharsets.UTF_8), "--pin-stdin")) {
            for (int i = 1; i <= 3; i++) {
                String page = c.exchange("GET / HTTP/1.0\r\n\r\n");
                assertTrue(page.startsWith("HTTP/1.0 200 ok"), page + "\n" + c.err);
                String line = c.logLine(i);
                assertTrue(line.contains("client-cert=\"CN=ec-always\"") && line.contains("token-ops=1"), line);
            }
            assertTrue(!c.err.toString().contains("PIN"), "no PIN prompt or PIN error: " + c.err);
        }
    }

    @Test
    void connect_unknownServerCa_connectionRefusedWithReasonInLog() throws Exception {
        TestPki.Held other = TestPki.ca("CN=Rogue Root").leaf("CN=localhost").serverAuth().generate();
        try (JsseServer s = new JsseServer(other, clientCa.certificate(), "TLSv1.3");
             Running c = new Running("127.0.0.1:" + s.port(), "client-ec")) {
            String got = c.exchange("GET / HTTP/1.0\r\n\r\n");
            assertEquals("", got);
            String line = c.logLine(1);
            assertTrue(line.contains("result=error: server certificate rejected"), line);
            assertTrue(line.contains("no trusted CA issued it"), line);
        }
    }
}
