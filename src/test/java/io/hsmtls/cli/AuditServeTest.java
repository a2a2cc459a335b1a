package io.hsmtls.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import io.hsmtls.testing.SoftHsm;
import io.hsmtls.testing.TestPki;
import io.hsmtls.tls.ClientIdentity;
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
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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

/**
 * The audit log of {@code serve}: a known sequence of handshakes from real peers gives exactly the
 * expected key-use lines (a resumed handshake none), the chain verifies, and an edited line is caught.
 */
class AuditServeTest {
    @RegisterExtension
    static SoftHsm hsm = new SoftHsm();
    static TestPki.Ca ca = TestPki.ca("CN=Audit Root");
    static TestPki.Ca clientCa = TestPki.ca("CN=Audit Client CA");
    static TestPki.Held alice = clientCa.leaf("CN=alice").clientAuth().generate();
    static Path dir;
    static Path caPem;
    static Path[] alicePem;
    static HttpServer backend;

    @BeforeAll
    static void setUp() throws Exception {
        try (Token t = IaikTokens.open(TokenOptions.of(Pkcs11Uri.parse(hsm.tokenUri()), null).withReadWrite(true))) {
            TokenKey ec = t.generateKeyPair(KeyType.EC_P256, "ec", Optional.empty(), false);
            t.storeCertificate(ec, ca.leaf("CN=localhost").dns("localhost").publicKey(ec.info().publicKey())
                    .serverAuth().sign(), false);
            TokenKey rsa = t.generateKeyPair(KeyType.RSA_2048, "rsa", Optional.empty(), false);
            t.storeCertificate(rsa, ca.leaf("CN=localhost").dns("localhost").publicKey(rsa.info().publicKey())
                    .serverAuth().sign(), false);
        }
        dir = Files.createTempDirectory(hsm.workDir(), "audit");
        caPem = TestPki.writePem(dir.resolve("ca.pem"), List.of(ca.certificate()));
        TestPki.writePem(dir.resolve("client-ca.pem"), List.of(clientCa.certificate()));
        alicePem = alice.writePem(dir, "alice");
        backend = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 10);
        backend.createContext("/", ex -> {
            byte[] b = "audited backend\n".getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, b.length);
            ex.getResponseBody().write(b);
            ex.close();
        });
        backend.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        backend.start();
    }

    @AfterAll
    static void tearDown() {
        backend.stop(0);
    }

    @Test
    void knownHandshakes_giveExactlyTheExpectedLines_resumedNone_andAnEditIsCaught() throws Exception {
        Path audit = dir.resolve("audit.jsonl");
        Path config = Files.writeString(dir.resolve("serve.yaml"), """
                audit-log: %s
                listeners:
                  - name: ec
                    listen: 127.0.0.1:0
                    backend: 127.0.0.1:%d
                    key: "%s"
                  - name: rsa
                    listen: 127.0.0.1:0
                    backend: 127.0.0.1:%d
                    key: "%s"
                    profile: legacy-rsa
                    client-auth: optional
                    client-ca: %s
                """.formatted(audit, backend.getAddress().getPort(), hsm.keyUri("ec"), backend.getAddress().getPort(),
                hsm.keyUri("rsa"), dir.resolve("client-ca.pem")));
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CompletableFuture<Integer> run = CompletableFuture.supplyAsync(() -> Main.run(
                new ByteArrayInputStream(new byte[0]), new PrintWriter(out), new PrintWriter(err),
                "serve", "--config", config.toString()), Executors.newVirtualThreadPerTaskExecutor());
        List<String> ports = ports(out, run, 2);
        String ecPort = ports.get(0);
        String rsaPort = ports.get(1);
        try {
            // 1: TLS 1.3 full handshake (curl): one server signature.
            SoftHsm.Result curl = SoftHsm.exec(List.of("curl", "-sS", "--tlsv1.3", "--cacert", caPem.toString(),
                    "--resolve", "localhost:" + ecPort + ":127.0.0.1", "https://localhost:" + ecPort + "/"), null);
            assertEquals(0, curl.exitCode(), curl.output());
            assertTrue(curl.output().contains("audited backend"), curl.output());
            // 2: TLS 1.2 ECDHE full handshake, session saved: one server signature.
            Path sess = dir.resolve("s.sess");
            String full = sClient(ecPort, List.of("-tls1_2", "-sess_out", sess.toString()));
            assertTrue(full.contains("New, TLSv1.2"), full);
            // 3: the same session resumed: no token call, so no line.
            String resumed = sClient(ecPort, List.of("-tls1_2", "-sess_in", sess.toString()));
            assertTrue(resumed.contains("Reused, TLSv1.2"), resumed);
            // 4: legacy RSA key exchange with a client certificate: one decryption, its fingerprint known.
            String rsa = sClient(rsaPort, List.of("-tls1_2", "-cipher", "AES128-GCM-SHA256", "-cert",
                    alicePem[0].toString(), "-key", alicePem[1].toString()));
            assertTrue(rsa.contains("New, TLSv1.2, Cipher is AES128-GCM-SHA256"), rsa);
            assertTrue(rsa.contains("audited backend"), rsa);
        } finally {
            ServeCommand.stopForTests.countDown();
        }
        assertEquals(0, run.get(20, TimeUnit.SECONDS), err.toString());

        List<String> lines = Files.readAllLines(audit);
        assertEquals(3, lines.size(), String.join("\n", lines));
        String tokenPart = "pkcs11:token=" + hsm.label();
        List<Map<?, ?>> recs = new ArrayList<>();
        lines.forEach(l -> recs.add((Map<?, ?>) MiniJson.parse(l)));
        expect(recs.get(0), 1, tokenPart + ";object=ec", "CKM_ECDSA", "server-signature", "ec/1", null);
        expect(recs.get(1), 2, tokenPart + ";object=ec", "CKM_ECDSA", "server-signature", "ec/2", null);
        expect(recs.get(2), 3, tokenPart + ";object=rsa", "CKM_RSA_X_509", "rsa-key-exchange-decrypt", "rsa/1",
                ClientIdentity.fingerprint(alice.certificate()));
        String all = String.join("\n", lines);
        assertFalse(all.contains("pin-source") || all.contains("module-path") || all.contains(SoftHsm.USER_PIN + "\""),
                "no PIN or PIN source in the audit log: " + all);

        CliRun ok = CliRun.of("audit", "verify", audit.toString());
        assertEquals(0, ok.code(), ok.toString());
        assertTrue(ok.out().contains(": ok, 3 records, chain intact"), ok.out());

        // An operator (or intruder) rewrites the peer address of the second record.
        List<String> edited = new ArrayList<>(lines);
        edited.set(1, lines.get(1).replace("\"peer\":\"127.0.0.1:", "\"peer\":\"10.9.9.9:"));
        assertTrue(!edited.get(1).equals(lines.get(1)));
        Files.write(audit, edited);
        CliRun broken = CliRun.of("audit", "verify", audit.toString());
        assertEquals(1, broken.code(), broken.toString());
        assertTrue(broken.out().contains("BROKEN at line 3 does not chain to the line before it"), broken.out());
    }

    private static void expect(Map<?, ?> r, int seq, String key, String mechanism, String purpose, String connection,
                               String clientSha256) {
        String s = r.toString();
        assertEquals(seq, ((Number) r.get("seq")).intValue(), s);
        // The key as the token knows it: label, CKA_ID and type; never the module path or PIN source.
        assertTrue(String.valueOf(r.get("key")).matches(Pattern.quote(key) + ";id=(%[0-9A-F]{2})+;type=private"), s);
        assertEquals(mechanism, r.get("mechanism"), s);
        assertEquals(purpose, r.get("purpose"), s);
        assertEquals(connection, r.get("connection"), s);
        assertEquals("ok", r.get("result"), s);
        assertEquals(clientSha256, r.get("client_cert_sha256"), s);
        assertTrue(String.valueOf(r.get("peer")).startsWith("127.0.0.1:"), s);
        assertEquals("localhost", r.get("sni"), s);
        assertTrue(((Number) r.get("latency_us")).longValue() > 0, s);
        assertTrue(java.time.Instant.parse((String) r.get("time")).isAfter(java.time.Instant.now().minusSeconds(120)), s);
    }

    private static String sClient(String port, List<String> extra) {
        List<String> cmd = new ArrayList<>(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + port,
                "-servername", "localhost", "-CAfile", caPem.toString(), "-verify_return_error", "-ign_eof"));
        cmd.addAll(extra);
        return SoftHsm.exec(cmd, "GET / HTTP/1.0\r\n\r\n").output();
    }

    static List<String> ports(StringWriter out, CompletableFuture<Integer> run, int n) throws InterruptedException {
        Pattern listening = Pattern.compile("hsmtls: listening on 127\\.0\\.0\\.1:(\\d+)");
        List<String> ports = new ArrayList<>();
        for (int i = 0; i < 1000 && ports.size() < n && !run.isDone(); i++) {
            Thread.sleep(20);
            ports.clear();
            Matcher m = listening.matcher(out.toString());
            while (m.find()) {
                ports.add(m.group(1));
            }
        }
        assertEquals(n, ports.size(), "listeners did not start: " + out);
        return ports;
    }
}
