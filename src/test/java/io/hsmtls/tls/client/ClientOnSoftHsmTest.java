package io.hsmtls.tls.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmtls.cli.CliRun;
import io.hsmtls.testing.SoftHsm;
import io.hsmtls.testing.TestPki;
import io.hsmtls.tls.TlsVersion;
import io.hsmtls.tls.bc.client.Prober;
import io.hsmtls.token.KeyType;
import io.hsmtls.token.Pkcs11Uri;
import io.hsmtls.token.SignatureScheme;
import io.hsmtls.token.Token;
import io.hsmtls.token.TokenKey;
import io.hsmtls.token.TokenOptions;
import io.hsmtls.token.TokenStats;
import io.hsmtls.token.iaik.IaikTokens;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The client with keys on a real SoftHSM2 token against servers nobody here wrote: {@code openssl
 * s_server -Verify 1} and a SunJSSE server with needClientAuth, TLS 1.3 and 1.2, ECDSA and RSA;
 * an RSA key without CKM_RSA_PKCS_PSS; a CKA_ALWAYS_AUTHENTICATE key.
 */
class ClientOnSoftHsmTest {
    @RegisterExtension
    static SoftHsm hsm = new SoftHsm();

    static TestPki.Ca serverCa;
    static TestPki.Ca clientCa;
    static TestPki.Held server;
    static Path dir;
    static Path serverCrt;
    static Path serverKey;
    static Path serverCaPem;
    static Path clientCaPem;

    @BeforeAll
    static void setUp() throws Exception {
        dir = Files.createTempDirectory(hsm.workDir(), "client");
        serverCa = TestPki.ca("CN=Server Root");
        clientCa = TestPki.ca("CN=Card Issuer");
        server = serverCa.leaf("CN=localhost").serverAuth().generate();
        Path[] p = server.writePem(dir, "server");
        serverCrt = p[0];
        serverKey = p[1];
        serverCaPem = TestPki.writePem(dir.resolve("server-ca.pem"), List.of(serverCa.certificate()));
        clientCaPem = TestPki.writePem(dir.resolve("client-ca.pem"), List.of(clientCa.certificate()));

        // Keys the token layer cannot make: PKCS#1-only RSA and an always-authenticate EC key.
        String module = SoftHsm.modulePath().toString();
        SoftHsm.run(List.of("pkcs11-tool", "--module", module, "--token-label", hsm.label(), "--login", "--pin",
                SoftHsm.USER_PIN, "--keypairgen", "--key-type", "rsa:2048", "--id", "0a01", "--label", "rsa-nopss",
                "--usage-sign", "--allowed-mechanisms", "RSA-PKCS,SHA256-RSA-PKCS"));
        SoftHsm.run(List.of("pkcs11-tool", "--module", module, "--token-label", hsm.label(), "--login", "--pin",
                SoftHsm.USER_PIN, "--keypairgen", "--key-type", "EC:prime256v1", "--id", "0a02", "--label",
                "ec-always", "--usage-sign", "--always-auth"));

        try (Token t = IaikTokens.open(TokenOptions.of(Pkcs11Uri.parse(hsm.tokenUri()), null).withReadWrite(true))) {
            for (String[] k : new String[][] {{"client-ec", "ec"}, {"client-rsa", "rsa"}, {"client-ed", "ed"}}) {
                TokenKey key = t.generateKeyPair("ec".equals(k[1]) ? KeyType.EC_P256
                        : "ed".equals(k[1]) ? KeyType.ED25519 : KeyType.RSA_2048, k[0], Optional.empty(), false);
                certify(t, key, k[0]);
            }
            certify(t, t.key(Pkcs11Uri.parse(hsm.keyUri("rsa-nopss"))), "rsa-nopss");
            certify(t, t.key(Pkcs11Uri.parse(hsm.keyUri("ec-always"))), "ec-always");
        }
    }

    static void certify(Token t, TokenKey key, String name) {
        t.storeCertificate(key, clientCa.leaf("CN=" + name).publicKey(key.info().publicKey()).clientAuth().sign(),
                false);
    }

    @AfterAll
    static void tearDown() {
    }

    static Stream<Arguments> matrix() {
        return Stream.of(Arguments.of("client-ec", "1.3"), Arguments.of("client-rsa", "1.3"),
                Arguments.of("client-ec", "1.2"), Arguments.of("client-rsa", "1.2"));
    }

    static CliRun probe(String target, String key, String... extra) {
        List<String> args = new java.util.ArrayList<>(List.of("probe", target, "--trust", serverCaPem.toString(),
                "--server-name", "localhost"));
        if (key != null) {
            args.addAll(List.of("--key", hsm.keyUri(key)));
        }
        args.addAll(List.of(extra));
        return CliRun.of(args.toArray(new String[0]));
    }

    @ParameterizedTest(name = "openssl s_server TLS {1}, {0}")
    @MethodSource("matrix")
    void probe_opensslServerRequiringClientCert_succeeds(String key, String version) throws Exception {
        try (OpensslServer s = new OpensslServer(serverCrt, serverKey, clientCaPem, "-tls" + version.replace('.', '_'))) {
            CliRun r = probe("127.0.0.1:" + s.port(), key, "--tls" + version);
            assertEquals(0, r.code(), r.toString());
            assertTrue(r.out().contains("sent: CN=" + key), r.out());
            assertTrue(r.out().contains("issuer CN=Card Issuer is a CA the server accepts"), r.out());
            assertTrue(r.out().contains("Totals: handshake"), r.out());
            assertTrue(r.out().contains(", TLSv" + version + ","), r.out());
            assertTrue(r.out().contains("1 token operation(s)"), r.out());
            String mech = key.equals("client-ec") ? "CKM_ECDSA" : version.equals("1.3") ? "CKM_RSA_PKCS_PSS"
                    : "CKM_RSA_PKCS";
            assertTrue(r.out().contains("mechanism: " + mech), r.out());
        }
    }

    static Stream<Arguments> jsseMatrix() {
        return Stream.concat(matrix(), Stream.of(Arguments.of("client-ed", "1.3"), Arguments.of("client-ed", "1.2")));
    }

    @ParameterizedTest(name = "SunJSSE TLS {1}, {0}")
    @MethodSource("jsseMatrix")
    void probe_jsseServerRequiringClientCert_json(String key, String version) throws Exception {
        try (JsseServer s = new JsseServer(server, clientCa.certificate(), "TLSv" + version)) {
            CliRun r = probe("127.0.0.1:" + s.port(), key, "--json");
            assertEquals(0, r.code(), r.toString());
            assertEquals("CN=" + key + " TLSv" + version, s.nextClient());
            assertTrue(r.out().startsWith("{\"target\":\"127.0.0.1:" + s.port() + "\""), r.out());
            assertTrue(r.out().contains("\"outcome\":\"OK\""), r.out());
            assertTrue(r.out().contains("\"clientCertificate\":\"CN=" + key + "\""), r.out());
        }
    }

    @Test
    void probe_withoutKey_serverRequiresCert_failsAndSaysWhy() throws Exception {
        try (OpensslServer s = new OpensslServer(serverCrt, serverKey, clientCaPem, "-tls1_3")) {
            CliRun r = probe("127.0.0.1:" + s.port(), null);
            assertEquals(1, r.code(), r.toString());
            assertTrue(r.out().contains("sent: none"), r.out());
            assertTrue(r.err().contains("none was sent"), r.err());
        }
    }

    @Test
    void tokenUriWithSeveralSuitableCertificates_errorListsThem() throws Exception {
        try (OpensslServer s = new OpensslServer(serverCrt, serverKey, clientCaPem, "-tls1_3")) {
            CliRun r = CliRun.of("probe", "127.0.0.1:" + s.port(), "--trust", serverCaPem.toString(),
                    "--server-name", "localhost", "--key", hsm.tokenUri());
            assertEquals(1, r.code(), r.toString());
            assertTrue(r.err().contains("several client certificates on the token suit the server's "
                    + "CertificateRequest"), r.err());
            assertTrue(r.err().contains("object=client-ec") && r.err().contains("object=client-rsa"), r.err());
            assertTrue(r.err().contains("add object= or id= to --key to pick one"), r.err());
        }
    }

    @Test
    void pssLessRsaKey_fallsBackToTls12_andProbeExplains() throws Exception {
        try (JsseServer s = new JsseServer(server, clientCa.certificate(), "TLSv1.3", "TLSv1.2")) {
            CliRun r = probe("127.0.0.1:" + s.port(), "rsa-nopss");
            assertEquals(0, r.code(), r.toString());
            assertEquals("CN=rsa-nopss TLSv1.2", s.nextClient());
            assertTrue(r.out().contains("TLS 1.3 not offered"), r.out());
            assertTrue(r.out().contains("CKM_RSA_PKCS_PSS"), r.out());
            assertTrue(r.out().contains("mechanism: CKM_RSA_PKCS"), r.out());
            assertTrue(r.out().contains(", TLSv1.2,"), r.out());
        }
    }

    @Test
    void pssLessRsaKey_tls13Only_noCertificate_explained() throws Exception {
        try (JsseServer s = new JsseServer(server, clientCa.certificate(), "TLSv1.3")) {
            CliRun r = probe("127.0.0.1:" + s.port(), "rsa-nopss", "--tls1.3");
            assertEquals(1, r.code(), r.toString());
            assertTrue(r.out().contains("TLS 1.3 needs RSA-PSS"), r.out());
        }
    }

    @Test
    void alwaysAuthenticateKey_eachHandshakeLogsInOnce_pinReadOnce() throws Exception {
        Pkcs11Uri uri = Pkcs11Uri.parse(hsm.keyUri("ec-always"));
        try (Token token = IaikTokens.open(TokenOptions.of(uri, io.hsmtls.token.PinSource.of(uri).orElseThrow()));
             JsseServer s = new JsseServer(server, clientCa.certificate(), "TLSv1.3", "TLSv1.2")) {
            TokenKey key = token.key(uri);
            assertTrue(key.info().alwaysAuthenticate());
            ClientCandidate c = ClientCandidate.of(key, List.of()).orElseThrow();
            ClientSettings settings = new ClientSettings("localhost", List.of(TlsVersion.TLS_1_3, TlsVersion.TLS_1_2),
                    ServerVerifier.trusting(List.of(serverCa.certificate()), "test"), List.of(c));
            TokenStats before = token.stats();
            int rounds = 3;
            for (int i = 0; i < rounds; i++) {
                ProbeReport r = Prober.probe("127.0.0.1", s.port(), settings, Duration.ofSeconds(10), List.of());
                assertEquals(ProbeReport.Outcome.OK, r.outcome(), r.toText());
                assertTrue(s.nextClient().startsWith("CN=ec-always"));
            }
            TokenStats after = token.stats();
            assertEquals(rounds, after.contextLogins() - before.contextLogins(), after.toString());
            assertEquals(rounds, after.signs() - before.signs(), after.toString());
            assertEquals(before.userLogins(), after.userLogins(), "the user PIN is used once per process");
        }
    }

    @Test
    void signatureSchemes_pssLessKey_notOffered() throws Exception {
        Pkcs11Uri uri = Pkcs11Uri.parse(hsm.keyUri("rsa-nopss"));
        try (Token token = IaikTokens.open(TokenOptions.of(uri, io.hsmtls.token.PinSource.of(uri).orElseThrow()))) {
            TokenKey key = token.key(uri);
            assertFalse(key.signatureSchemes().stream().anyMatch(SignatureScheme::isPss), key.signatureSchemes()
                    .toString());
            assertTrue(key.signatureSchemes().contains(SignatureScheme.RSA_PKCS1_SHA256));
        }
    }
}
