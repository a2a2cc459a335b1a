package io.hsmtls.tls.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmtls.cli.CliRun;
import io.hsmtls.testing.TestPki;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code hsmtls probe} without a client key against a SunJSSE server that does not ask for one:
 * each server-validation failure has its own message and exit 1.
 */
class ProbeCliTest {
    @TempDir
    static Path dir;
    static TestPki.Ca serverCa;
    static Path caPem;

    @BeforeAll
    static void pki() {
        serverCa = TestPki.ca("CN=Probe Root");
        caPem = TestPki.writePem(dir.resolve("ca.pem"), List.of(serverCa.certificate()));
    }

    /** A JSSE server with client auth off (a client CA is still needed by the fixture). */
    static JsseServer server(TestPki.Held cert) throws Exception {
        return new JsseServer(cert, serverCa.certificate(), false, "TLSv1.3", "TLSv1.2");
    }

    @Test
    void validServer_exit0_reportInOrder() throws Exception {
        try (JsseServer s = server(serverCa.leaf("CN=localhost").serverAuth().generate())) {
            CliRun r = CliRun.of("probe", "localhost:" + s.port(), "--trust", caPem.toString());
            assertEquals(0, r.code(), r.toString());
            String out = r.out();
            int hello = out.indexOf("ClientHello");
            int serverHello = out.indexOf("ServerHello");
            int cert = out.indexOf("Server certificate");
            int fin = out.indexOf("Finished");
            assertTrue(hello > 0 && serverHello > hello && cert > serverHello && fin > cert, out);
            assertTrue(out.contains("'localhost' matches SAN DNS:localhost"), out);
            assertTrue(out.contains("Result: OK"), out);
        }
    }

    @Test
    void unknownCa_ownMessage_exit1() throws Exception {
        try (JsseServer s = server(TestPki.ca("CN=Rogue Root").leaf("CN=localhost").serverAuth().generate())) {
            CliRun r = CliRun.of("probe", "127.0.0.1:" + s.port(), "--trust", caPem.toString(), "--server-name",
                    "localhost");
            assertEquals(1, r.code(), r.toString());
            assertTrue(r.err().contains("no trusted CA issued it"), r.err());
            assertTrue(r.err().contains("the chain sent ends at CN=localhost, serial"), r.err());
            assertTrue(r.err().contains("issued by CN=Rogue Root"), r.err());
            assertTrue(r.out().contains("Result: VALIDATION_FAILED UNKNOWN_CA"), r.out());
        }
    }

    @Test
    void unknownCa_defaultTrustStore_saysSo() throws Exception {
        try (JsseServer s = server(serverCa.leaf("CN=localhost").serverAuth().generate())) {
            CliRun r = CliRun.of("probe", "localhost:" + s.port());
            assertEquals(1, r.code(), r.toString());
            assertTrue(r.err().contains("trusting the JDK default trust store"), r.err());
            assertTrue(r.err().contains("pass the server's CA with --trust ca.pem"), r.err());
        }
    }

    @Test
    void wrongHost_ownMessage_exit1() throws Exception {
        try (JsseServer s = server(serverCa.leaf("CN=localhost").serverAuth().generate())) {
            CliRun r = CliRun.of("probe", "127.0.0.1:" + s.port(), "--trust", caPem.toString(), "--server-name",
                    "api.example.com");
            assertEquals(1, r.code(), r.toString());
            assertTrue(r.err().contains("host name 'api.example.com' does not match the server certificate (CN=localhost)"),
                    r.err());
            assertTrue(r.out().contains("Result: VALIDATION_FAILED HOST_MISMATCH"), r.out());
        }
    }

    @Test
    void expired_ownMessage_exit1() throws Exception {
        try (JsseServer s = server(serverCa.leaf("CN=localhost").serverAuth().expired().generate())) {
            CliRun r = CliRun.of("probe", "localhost:" + s.port(), "--trust", caPem.toString(), "--json");
            assertEquals(1, r.code(), r.toString());
            assertTrue(r.err().contains("certificate 0 (CN=localhost"), r.err());
            assertTrue(r.err().contains("expired on"), r.err());
            assertTrue(r.out().contains("\"failureKind\":\"EXPIRED\""), r.out());
        }
    }

    @Test
    void wrongEku_rejected() throws Exception {
        try (JsseServer s = server(serverCa.leaf("CN=localhost").dns("localhost").wrongEku().generate())) {
            CliRun r = CliRun.of("probe", "localhost:" + s.port(), "--trust", caPem.toString());
            assertEquals(1, r.code(), r.toString());
            assertTrue(r.err().contains("lacks serverAuth"), r.err());
        }
    }

    @Test
    void insecureSkipVerify_loudWarning_exit0() throws Exception {
        try (JsseServer s = server(TestPki.ca("CN=Rogue Root").leaf("CN=localhost").serverAuth().generate())) {
            CliRun r = CliRun.of("probe", "localhost:" + s.port(), "--insecure-skip-verify");
            assertEquals(0, r.code(), r.toString());
            assertTrue(r.err().contains("WARNING: --insecure-skip-verify"), r.err());
            assertTrue(r.out().contains("SKIPPED (--insecure-skip-verify)"), r.out());
        }
    }

    @Test
    void nothingListening_connectFailed_exit1() throws Exception {
        int port;
        try (var ss = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = ss.getLocalPort();
        }
        CliRun r = CliRun.of("probe", "127.0.0.1:" + port, "--trust", caPem.toString(), "--timeout", "2");
        assertEquals(1, r.code(), r.toString());
        assertTrue(r.err().contains("cannot connect to 127.0.0.1:" + port), r.err());
    }

    @Test
    void badTarget_usageError() {
        CliRun r = CliRun.of("probe", "no-port-here");
        assertEquals(2, r.code(), r.toString());
        assertTrue(r.err().contains("is not HOST:PORT"), r.err());
        assertFalse(r.out().contains("Result"), r.out());
    }

    @Test
    void trustFileMissing_clearError() throws Exception {
        CliRun r = CliRun.of("probe", "127.0.0.1:1", "--trust", dir.resolve("nope.pem").toString());
        assertEquals(1, r.code(), r.toString());
        assertTrue(r.err().contains("nope.pem: no such file"), r.err());
        assertTrue(Files.exists(caPem));
    }
}
