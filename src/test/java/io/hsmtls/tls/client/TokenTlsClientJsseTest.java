package io.hsmtls.tls.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmtls.testing.JcaTokenKey;
import io.hsmtls.testing.TestPki;
import io.hsmtls.tls.TlsVersion;
import io.hsmtls.tls.bc.client.Prober;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Logic of the Bouncy Castle client against a SunJSSE server that requires client certificates,
 * with a JVM-held key standing in for the token (the token proof is in the SoftHSM tests).
 */
class TokenTlsClientJsseTest {
    static TestPki.Ca serverCa;
    static TestPki.Ca clientCa;
    static TestPki.Held server;

    @BeforeAll
    static void pki() {
        serverCa = TestPki.ca("CN=Server Root");
        clientCa = TestPki.ca("CN=Client Root");
        server = serverCa.leaf("CN=localhost").serverAuth().generate();
    }

    static Stream<Arguments> matrix() {
        return Stream.of(Arguments.of("TLSv1.3", "EC"), Arguments.of("TLSv1.3", "RSA"),
                Arguments.of("TLSv1.2", "EC"), Arguments.of("TLSv1.2", "RSA"));
    }

    static ClientCandidate candidate(TestPki.Ca ca, String kind) {
        KeyPair kp = "RSA".equals(kind) ? TestPki.rsaKeyPair() : TestPki.ecKeyPair();
        X509Certificate cert = ca.leaf("CN=alice " + kind).publicKey(kp.getPublic()).clientAuth().sign();
        JcaTokenKey key = new JcaTokenKey(kp, cert);
        return ClientCandidate.of(key, List.of()).orElseThrow();
    }

    static ClientSettings settings(String name, List<ClientCandidate> candidates, X509Certificate trust) {
        return new ClientSettings(name, List.of(TlsVersion.TLS_1_3, TlsVersion.TLS_1_2),
                ServerVerifier.trusting(List.of(trust), "test CA"), candidates);
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("matrix")
    void requiredClientAuth_tokenCertificateChosenAndAccepted(String protocol, String kind) throws Exception {
        ClientCandidate c = candidate(clientCa, kind);
        try (JsseServer srv = new JsseServer(server, clientCa.certificate(), protocol)) {
            ProbeReport r = Prober.probe("127.0.0.1", srv.port(), settings("localhost", List.of(c),
                    serverCa.certificate()), Duration.ofSeconds(10), List.of());
            assertEquals(ProbeReport.Outcome.OK, r.outcome(), r.toText());
            assertEquals(0, r.exitCode());
            assertEquals("CN=alice " + kind + " " + protocol, srv.nextClient());
            assertEquals(protocol, r.totals().version());
            assertEquals("CN=alice " + kind, r.totals().clientCertificate());
            assertEquals(1, r.totals().tokenOperations(), r.toText());
            List<String> names = r.steps().stream().map(ProbeStep::name).toList();
            assertEquals(List.of("ClientHello", "ServerHello", "Server certificate", "CertificateRequest",
                    "Client certificate", "Token operation", "Finished", "Server accepted"),
                    names.stream().filter(n -> !n.equals("TCP connect")).toList(), r.toText());
            String text = r.toText();
            assertTrue(text.contains("issuer CN=Client Root is a CA the server accepts"), text);
            assertTrue(text.contains("mechanism: " + ("RSA".equals(kind) ? "CKM_RSA_PKCS" : "CKM_ECDSA")), text);
            assertTrue(r.toJson().contains("\"outcome\":\"OK\""), r.toJson());
        }
    }

    @Test
    void certificateFromOtherCa_notSent_serverRejects() throws Exception {
        ClientCandidate wrong = candidate(TestPki.ca("CN=Other Root"), "EC");
        try (JsseServer srv = new JsseServer(server, clientCa.certificate(), "TLSv1.3")) {
            ProbeReport r = Prober.probe("127.0.0.1", srv.port(), settings("localhost", List.of(wrong),
                    serverCa.certificate()), Duration.ofSeconds(10), List.of());
            assertEquals(ProbeReport.Outcome.HANDSHAKE_FAILED, r.outcome(), r.toText());
            assertEquals(1, r.exitCode());
            assertNull(r.totals().clientCertificate());
            String text = r.toText();
            assertTrue(text.contains("issuer CN=Other Root is not among the CAs the server accepts (CN=Client Root)"),
                    text);
            assertTrue(r.error().contains("none was sent"), r.error());
            assertTrue(srv.nextClient().startsWith("error:"));
        }
    }

    @Test
    void unknownCa_ownMessageAndFailure() throws Exception {
        try (JsseServer srv = new JsseServer(server, clientCa.certificate(), "TLSv1.3")) {
            ProbeReport r = Prober.probe("127.0.0.1", srv.port(), settings("localhost", List.of(),
                    TestPki.ca("CN=Unrelated Root").certificate()), Duration.ofSeconds(10), List.of());
            assertEquals(ProbeReport.Outcome.VALIDATION_FAILED, r.outcome(), r.toText());
            assertEquals("UNKNOWN_CA", r.failureKind());
            assertTrue(r.error().contains("no trusted CA issued it"), r.error());
            assertTrue(r.error().contains("--trust"), r.error());
        }
    }

    @Test
    void wrongHostName_ownMessageAndFailure() throws Exception {
        try (JsseServer srv = new JsseServer(server, clientCa.certificate(), "TLSv1.2")) {
            ProbeReport r = Prober.probe("127.0.0.1", srv.port(), settings("db.example.com", List.of(),
                    serverCa.certificate()), Duration.ofSeconds(10), List.of());
            assertEquals(ProbeReport.Outcome.VALIDATION_FAILED, r.outcome(), r.toText());
            assertEquals("HOST_MISMATCH", r.failureKind());
            assertTrue(r.error().contains("host name 'db.example.com' does not match"), r.error());
            assertTrue(r.error().contains("DNS:localhost, IP:127.0.0.1"), r.error());
        }
    }

    @Test
    void expiredServerCertificate_ownMessageAndFailure() throws Exception {
        TestPki.Held expired = serverCa.leaf("CN=localhost").serverAuth().expired().generate();
        try (JsseServer srv = new JsseServer(expired, clientCa.certificate(), "TLSv1.3")) {
            ProbeReport r = Prober.probe("127.0.0.1", srv.port(), settings("localhost", List.of(),
                    serverCa.certificate()), Duration.ofSeconds(10), List.of());
            assertEquals(ProbeReport.Outcome.VALIDATION_FAILED, r.outcome(), r.toText());
            assertEquals("EXPIRED", r.failureKind());
            assertTrue(r.error().contains("expired on"), r.error());
        }
    }

    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.ValueSource(strings = {"TLSv1.3", "TLSv1.2"})
    void rsaServerKey_pssServerSignatureVerifies(String protocol) throws Exception {
        TestPki.Held rsaServer = serverCa.leaf("CN=localhost").rsa().serverAuth().generate();
        ClientCandidate c = candidate(clientCa, "RSA");
        try (JsseServer srv = new JsseServer(rsaServer, clientCa.certificate(), protocol)) {
            ProbeReport r = Prober.probe("127.0.0.1", srv.port(), settings("localhost", List.of(c),
                    serverCa.certificate()), Duration.ofSeconds(10), List.of());
            assertEquals(ProbeReport.Outcome.OK, r.outcome(), r.toText());
            assertEquals("CN=alice RSA " + protocol, srv.nextClient());
        }
    }

    @Test
    void ipLiteral_checkedAgainstIpSan() throws Exception {
        ClientCandidate c = candidate(clientCa, "EC");
        try (JsseServer srv = new JsseServer(server, clientCa.certificate(), "TLSv1.3")) {
            ProbeReport r = Prober.probe("127.0.0.1", srv.port(), settings("127.0.0.1", List.of(c),
                    serverCa.certificate()), Duration.ofSeconds(10), List.of());
            assertEquals(ProbeReport.Outcome.OK, r.outcome(), r.toText());
            assertTrue(r.toText().contains("matches SAN IP:127.0.0.1"), r.toText());
            assertTrue(r.toText().contains("server name (SNI): not sent"), r.toText());
        }
    }
}
