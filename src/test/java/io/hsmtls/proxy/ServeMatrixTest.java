package io.hsmtls.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmtls.testing.SoftHsm;
import io.hsmtls.testing.TestPki;
import io.hsmtls.tls.ClientAuthMode;
import io.hsmtls.tls.Profile;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The serve matrix on SoftHSM keys with peers nobody here wrote: openssl s_client, curl and a
 * SunJSSE socket, each through the proxy to an HTTP backend, over ECDSA P-256 and RSA-2048 ×
 * TLS 1.3 and 1.2 × client auth none/optional/required.
 */
class ServeMatrixTest {
    @RegisterExtension
    static SoftHsm hsm = new SoftHsm();
    static ServeFixture f;
    static final Map<String, Map<ClientAuthMode, Integer>> ports = new HashMap<>();

    @BeforeAll
    static void start() throws Exception {
        f = new ServeFixture(hsm);
        for (String key : List.of("ec", "rsa")) {
            Map<ClientAuthMode, Integer> m = new EnumMap<>(ClientAuthMode.class);
            for (ClientAuthMode mode : ClientAuthMode.values()) {
                m.put(mode, f.proxy(f.settings(key, Profile.COMPAT, mode)));
            }
            ports.put(key, m);
        }
    }

    @AfterAll
    static void stop() {
        if (f != null) {
            f.close();
        }
    }

    static Stream<Arguments> matrix() {
        List<Arguments> out = new ArrayList<>();
        for (String key : List.of("ec", "rsa")) {
            for (String v : List.of("1.3", "1.2")) {
                for (ClientAuthMode mode : ClientAuthMode.values()) {
                    out.add(Arguments.of(key + "-tls" + v + "-clientauth-" + mode.cliName(), key, v, mode));
                }
            }
        }
        return out.stream();
    }

    static String expectedSuitePrefix(String key, String v) {
        return v.equals("1.3") ? "TLS_AES_" : key.equals("ec") ? "ECDHE-ECDSA-" : "ECDHE-RSA-";
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("matrix")
    void opensslSClient(String name, String key, String v, ClientAuthMode mode) throws Exception {
        int port = ports.get(key).get(mode);
        List<String> cmd = new ArrayList<>(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + port,
                "-servername", "localhost", v.equals("1.3") ? "-tls1_3" : "-tls1_2", "-CAfile", f.caPem.toString(),
                "-verify_return_error", "-ign_eof"));
        if (mode != ClientAuthMode.NONE) {
            cmd.addAll(List.of("-cert", f.dir.resolve("alice.crt").toString(), "-key", f.dir.resolve("alice.key").toString()));
        }
        int before = f.quiesce();
        SoftHsm.Result r = SoftHsm.exec(cmd, "GET / HTTP/1.0\r\nHost: localhost\r\n\r\n");
        String out = r.output();
        // OpenSSL 3.0 prints "New, TLSv1.3, Cipher is TLS_AES_256_GCM_SHA384" (version and suite in one line).
        assertTrue(out.contains("New, TLSv" + v + ", Cipher is " + expectedSuitePrefix(key, v)),
                name + ": protocol and cipher\n" + out);
        assertTrue(out.contains("Verify return code: 0 (ok)"), name + ": server chain verified\n" + out);
        assertTrue(out.contains(ServeFixture.BODY.trim()), name + ": backend body through the proxy\n" + out);
        ConnectionRecord rec = awaitRecord(before);
        assertEquals("TLSv" + v, rec.handshake().orElseThrow().version().display());
        assertEquals(mode == ClientAuthMode.NONE ? "-" : f.alice.certificate().getSubjectX500Principal().getName(),
                rec.handshake().get().client().map(c -> c.subject()).orElse("-"));
        assertEquals(java.util.Optional.of("localhost"), rec.sni());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("matrix")
    void curlThroughProxy(String name, String key, String v, ClientAuthMode mode) throws Exception {
        int port = ports.get(key).get(mode);
        List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "-v", "--cacert", f.caPem.toString(),
                "--resolve", "localhost:" + port + ":127.0.0.1", "--tlsv" + v, "--tls-max", v,
                "https://localhost:" + port + "/"));
        if (mode != ClientAuthMode.NONE) {
            cmd.addAll(List.of("--cert", f.dir.resolve("alice.crt").toString(), "--key", f.dir.resolve("alice.key").toString()));
        }
        SoftHsm.Result r = SoftHsm.exec(cmd, null);
        assertEquals(0, r.exitCode(), name + "\n" + r.output());
        assertTrue(r.output().contains("SSL connection using TLSv" + v), name + "\n" + r.output());
        assertTrue(r.output().contains(ServeFixture.BODY.trim()), name + "\n" + r.output());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("matrix")
    void sunJsseSocket(String name, String key, String v, ClientAuthMode mode) throws Exception {
        int port = ports.get(key).get(mode);
        TestPki.Held client = mode == ClientAuthMode.NONE ? null : f.alice;
        int before = f.quiesce();
        try (SSLSocket s = (SSLSocket) f.jsse(client).getSocketFactory().createSocket("localhost", port)) {
            s.setEnabledProtocols(new String[] {"TLSv" + v});
            OutputStream o = s.getOutputStream();
            o.write("GET / HTTP/1.0\r\nHost: localhost\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            o.flush();
            String resp = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(resp.startsWith("HTTP/1.1 200"), name + "\n" + resp);
            assertTrue(resp.endsWith(ServeFixture.BODY), name + "\n" + resp);
            assertEquals("TLSv" + v, s.getSession().getProtocol());
            assertTrue(s.getSession().getCipherSuite().startsWith(v.equals("1.3") ? "TLS_AES_"
                    : key.equals("ec") ? "TLS_ECDHE_ECDSA_" : "TLS_ECDHE_RSA_"), s.getSession().getCipherSuite());
        }
        ConnectionRecord rec = awaitRecord(before);
        assertEquals(mode == ClientAuthMode.NONE ? "-" : f.alice.certificate().getSubjectX500Principal().getName(),
                rec.handshake().orElseThrow().client().map(c -> c.subject()).orElse("-"));
        assertTrue(rec.tokenTime().toNanos() > 0, "token time recorded: " + rec.line());
    }

    static ConnectionRecord awaitRecord(int before) throws InterruptedException {
        return awaitRecordIn(f, before);
    }

    static ConnectionRecord awaitRecordIn(ServeFixture f, int before) throws InterruptedException {
        for (int i = 0; i < 250 && f.records.size() <= before; i++) {
            Thread.sleep(20);
        }
        assertTrue(f.records.size() > before, "a connection record was logged");
        return f.records.get(before);
    }
}
