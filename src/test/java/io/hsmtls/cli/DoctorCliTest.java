package io.hsmtls.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmtls.testing.SoftHsm;
import io.hsmtls.testing.TestPki;
import io.hsmtls.token.KeyPolicy;
import io.hsmtls.token.KeyType;
import io.hsmtls.token.Mechanism;
import io.hsmtls.token.Pkcs11Uri;
import io.hsmtls.token.TokenKey;
import io.hsmtls.token.TokenOptions;
import io.hsmtls.token.iaik.IaikToken;
import io.hsmtls.token.iaik.IaikTokens;
import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code hsmtls doctor} in-process against a real SoftHSM2 token: a good key, a key without
 * RSA-PSS, an extractable key made by pkcs11-tool, an expired certificate, a foreign certificate,
 * a wrong PIN; text and JSON.
 */
class DoctorCliTest {
    @RegisterExtension
    static SoftHsm hsm = new SoftHsm();

    @TempDir
    static Path dir;

    private static String key(String object) {
        return "pkcs11:token=" + hsm.label() + ";object=" + object;
    }

    private static CliRun hsmtls(String... args) {
        List<String> all = new ArrayList<>(Arrays.asList(args));
        all.addAll(List.of("--module", SoftHsm.modulePath().toString(), "--pin-file", hsm.pinFile().toString()));
        return CliRun.of(all.toArray(String[]::new));
    }

    private static CliRun doctor(String object, String... extra) {
        List<String> args = new ArrayList<>(List.of("doctor", "--key", key(object), "--speed-seconds", "0.2"));
        args.addAll(Arrays.asList(extra));
        return hsmtls(args.toArray(String[]::new));
    }

    private static void ok(CliRun r) {
        assertEquals(0, r.code(), r::toString);
    }

    @BeforeAll
    static void keys() {
        ok(hsmtls("key", "generate", "--key", key("ec-good"), "--type", "ec-p256"));
        ok(hsmtls("cert", "self-sign", "--key", key("ec-good"), "--subject", "CN=doctor.test", "--san", "dns:doctor.test"));

        // CKA_ALLOWED_MECHANISMS without CKM_RSA_PKCS_PSS: what some HSM policies and smart cards give.
        try (IaikToken t = IaikTokens.open(TokenOptions.of(Pkcs11Uri.parse(hsm.tokenUri()), null)
                .withReadWrite(true), m -> { })) {
            t.generateKeyPair(KeyType.RSA_2048, "rsa-nopss", Optional.empty(), false,
                    KeyPolicy.standard().withAllowedMechanisms(Set.of(Mechanism.CKM_RSA_PKCS, Mechanism.CKM_RSA_X_509)));
        }
        ok(hsmtls("cert", "self-sign", "--key", key("rsa-nopss"), "--subject", "CN=nopss.test"));

        // Made by a tool nobody here wrote, as someone might have done by hand.
        SoftHsm.run(List.of("pkcs11-tool", "--module", SoftHsm.modulePath().toString(), "--token-label", hsm.label(),
                "--login", "--pin", SoftHsm.USER_PIN, "--keypairgen", "--key-type", "EC:prime256v1",
                "--label", "ec-extractable", "--id", "e0e0", "--usage-sign", "--extractable"));
        ok(hsmtls("cert", "self-sign", "--key", key("ec-extractable"), "--subject", "CN=extractable.test"));

        ok(hsmtls("key", "generate", "--key", key("ec-expired"), "--type", "ec-p256"));
    }

    private static List<String> lines(CliRun r, String prefix) {
        return r.out().lines().filter(l -> l.startsWith(prefix)).toList();
    }

    private static String checkLine(CliRun r, String name) {
        List<String> l = r.out().lines().filter(s -> s.matches("^(ok|warn|fail)\\s+" + name + "\\s.*")).toList();
        assertEquals(1, l.size(), () -> "one '" + name + "' line in\n" + r);
        return l.get(0);
    }

    @Test
    void goodEcKey_allOk_tls13Yes_legacyRsaNo() {
        CliRun r = doctor("ec-good");
        ok(r);
        for (String name : List.of("module", "token", "login", "key", "key-protection", "key-auth", "key-usage",
                "key-mechanisms", "mechanisms", "call-path", "cert-match", "chain", "validity", "sign", "serve")) {
            assertTrue(checkLine(r, name).startsWith("ok "), () -> name + " not ok:\n" + r);
        }
        assertTrue(checkLine(r, "module").contains(SoftHsm.modulePath().toString()), r::toString);
        assertTrue(checkLine(r, "token").contains("'" + hsm.label() + "'"), r::toString);
        assertTrue(checkLine(r, "key-protection").contains("CKA_EXTRACTABLE false"), r::toString);
        assertTrue(checkLine(r, "chain").contains("self-signed 'CN=doctor.test'"), r::toString);
        assertTrue(checkLine(r, "call-path").contains("straight into the module's function list"), r::toString);
        assertTrue(checkLine(r, "serve").contains("hsmtls serve accepts --profile modern, compat; refuses legacy-rsa: "
                + "profile legacy-rsa adds RSA key exchange, which needs an RSA key"), r::toString);
        assertTrue(checkLine(r, "sign").matches(".*ecdsa_secp256r1_sha256 with CKM_ECDSA: signature verifies; "
                + "\\d+ signatures in [0-9.]+ s, [0-9.]+/s, mean [0-9.]+ ms"), r::toString);
        assertEquals(List.of("TLS 1.3: yes, ecdsa_secp256r1_sha256 with CKM_ECDSA"), lines(r, "TLS 1.3:"), r::toString);
        // The curve binds the scheme: a P-256 key offers only ecdsa_secp256r1_sha256.
        assertEquals(List.of("TLS 1.2 ECDHE: yes, ecdsa_secp256r1_sha256 with CKM_ECDSA"), lines(r, "TLS 1.2 ECDHE:"),
                r::toString);
        assertEquals(List.of("TLS 1.2 RSA key exchange (legacy-rsa): no, not an RSA key (EC secp256r1): RSA key "
                + "exchange decrypts with the server's RSA key"), lines(r, "TLS 1.2 RSA"), r::toString);
        assertTrue(r.out().strip().endsWith("result: ok"), r::toString);
        // Not a terminal: the speed loop prints no progress.
        assertEquals("", r.err(), r::toString);
    }

    @Test
    void rsaKeyWithoutPss_tls13No_tls12Yes_serveRefusesIt() {
        CliRun r = doctor("rsa-nopss");
        // Every serve profile includes TLS 1.3: serve would not start with this key, so doctor fails.
        assertEquals(1, r.code(), r::toString);
        assertTrue(checkLine(r, "serve").startsWith("fail ") && checkLine(r, "serve").contains("CKM_RSA_PKCS_PSS"),
                r::toString);
        assertTrue(r.out().contains("result: FAIL (1 failed"), r::toString);
        assertTrue(checkLine(r, "key-mechanisms").startsWith("warn ")
                && checkLine(r, "key-mechanisms").contains("omits CKM_RSA_PKCS_PSS"), r::toString);
        assertEquals(List.of("TLS 1.3: no, key's CKA_ALLOWED_MECHANISMS omits CKM_RSA_PKCS_PSS (TLS 1.3 needs "
                + "RSA-PSS for RSA keys)"), lines(r, "TLS 1.3:"), r::toString);
        assertEquals(List.of("TLS 1.2 ECDHE: yes, rsa_pkcs1_sha256, rsa_pkcs1_sha384, rsa_pkcs1_sha512 with "
                + "CKM_RSA_PKCS (no RSA-PSS: only clients that accept PKCS#1 v1.5)"), lines(r, "TLS 1.2 ECDHE:"),
                r::toString);
        assertEquals(List.of("TLS 1.2 RSA key exchange (legacy-rsa): yes, premaster decrypted with CKM_RSA_X_509; "
                + "only with --profile legacy-rsa (no forward secrecy)"), lines(r, "TLS 1.2 RSA"), r::toString);
        assertTrue(checkLine(r, "sign").contains("rsa_pkcs1_sha256 with CKM_RSA_PKCS: signature verifies"),
                r::toString);
    }

    @Test
    void extractableKey_fails_exit1() {
        CliRun r = doctor("ec-extractable");
        assertEquals(1, r.code(), r::toString);
        String line = checkLine(r, "key-protection");
        assertTrue(line.startsWith("fail ") && line.contains("CKA_EXTRACTABLE true"), r::toString);
        assertTrue(line.contains("hsmtls key generate"), r::toString);
        assertTrue(r.out().contains("result: FAIL (1 failed"), r::toString);
    }

    @Test
    void expiredCertificate_fails_andTlsVerdictsSayWhy() throws Exception {
        TokenKey k;
        try (IaikToken t = IaikTokens.open(TokenOptions.of(Pkcs11Uri.parse(hsm.keyUri("ec-expired")), null), m -> { })) {
            k = t.key(Pkcs11Uri.parse(hsm.keyUri("ec-expired")));
        }
        TestPki.Ca ca = TestPki.ca("CN=Doctor Test CA");
        X509Certificate leaf = ca.leaf("CN=expired.test").publicKey(k.info().publicKey()).serverAuth().expired().sign();
        Path chain = TestPki.writePem(dir.resolve("expired-chain.pem"), List.of(leaf, ca.certificate()));

        CliRun r = doctor("ec-expired", "--cert", chain.toString());
        assertEquals(1, r.code(), r::toString);
        assertTrue(checkLine(r, "cert-match").startsWith("ok "), r::toString);
        String validity = checkLine(r, "validity");
        assertTrue(validity.startsWith("fail ") && validity.contains("certificate 'CN=expired.test' expired on "
                + leaf.getNotAfter().toInstant()), r::toString);
        // Dates are the validity check's business: the chain itself is sound, and fails only once.
        assertTrue(checkLine(r, "chain").startsWith("ok ") && checkLine(r, "chain").contains("validity periods do not "
                + "overlap"), r::toString);
        assertTrue(r.out().contains("result: FAIL (1 failed"), r::toString);
        assertEquals(List.of("TLS 1.3: no, certificate 'CN=expired.test' expired on " + leaf.getNotAfter().toInstant()),
                lines(r, "TLS 1.3:"), r::toString);
    }

    @Test
    void notYetValidCertificate_fails() throws Exception {
        TokenKey k;
        try (IaikToken t = IaikTokens.open(TokenOptions.of(Pkcs11Uri.parse(hsm.keyUri("ec-expired")), null), m -> { })) {
            k = t.key(Pkcs11Uri.parse(hsm.keyUri("ec-expired")));
        }
        TestPki.Ca ca = TestPki.ca("CN=Doctor Test CA");
        Instant from = Instant.now().plus(Duration.ofDays(2));
        X509Certificate leaf = ca.leaf("CN=future.test").publicKey(k.info().publicKey()).serverAuth()
                .validity(from, from.plus(Duration.ofDays(90))).sign();
        Path chain = TestPki.writePem(dir.resolve("future-chain.pem"), List.of(leaf, ca.certificate()));

        CliRun r = doctor("ec-expired", "--cert", chain.toString());
        assertEquals(1, r.code(), r::toString);
        assertTrue(checkLine(r, "chain").startsWith("ok "), r::toString);
        assertTrue(checkLine(r, "validity").startsWith("fail ") && checkLine(r, "validity").contains(
                "'CN=future.test' is not valid before " + leaf.getNotBefore().toInstant()), r::toString);
    }

    @Test
    void keyWithoutCertificate_failsAtKey_verdictsSayNoCertificate() {
        ok(hsmtls("key", "generate", "--key", key("ec-nocert"), "--type", "ec-p256"));
        CliRun r = doctor("ec-nocert");
        assertEquals(1, r.code(), r::toString);
        String line = checkLine(r, "key");
        assertTrue(line.startsWith("fail ") && line.contains("no certificate") && line.contains("--cert"), r::toString);
        assertEquals(List.of("TLS 1.3: no, no certificate for the key"), lines(r, "TLS 1.3:"), r::toString);
        // The key itself is still checked: a person learns everything in one run.
        assertTrue(checkLine(r, "key-protection").startsWith("ok ") && checkLine(r, "sign").startsWith("ok "),
                r::toString);
    }

    @Test
    void alwaysAuthenticateKey_warns_butPasses() {
        try (IaikToken t = IaikTokens.open(TokenOptions.of(Pkcs11Uri.parse(hsm.tokenUri()), null)
                .withReadWrite(true), m -> { })) {
            t.generateKeyPair(KeyType.EC_P256, "ec-piv", Optional.empty(), false,
                    KeyPolicy.standard().withAlwaysAuthenticate(true));
        }
        ok(hsmtls("cert", "self-sign", "--key", key("ec-piv"), "--subject", "CN=piv.test"));
        CliRun r = doctor("ec-piv");
        ok(r);
        assertTrue(checkLine(r, "key-auth").startsWith("warn ")
                && checkLine(r, "key-auth").contains("CKA_ALWAYS_AUTHENTICATE true"), r::toString);
        assertTrue(checkLine(r, "sign").startsWith("ok "), r::toString);
        assertEquals(List.of("TLS 1.3: yes, ecdsa_secp256r1_sha256 with CKM_ECDSA"), lines(r, "TLS 1.3:"), r::toString);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "ec-p384 | TLS 1.3: yes, ecdsa_secp384r1_sha384 with CKM_ECDSA | no, not an RSA key",
            "rsa-2048 | TLS 1.3: yes, rsa_pss_rsae_sha256, rsa_pss_rsae_sha384, rsa_pss_rsae_sha512 with CKM_RSA_PKCS_PSS"
                    + " | yes, premaster decrypted with CKM_RSA_X_509",
            "ed25519 | TLS 1.3: yes, ed25519 with CKM_EDDSA | no, not an RSA key"})
    void keyTypes_verdicts(String type, String tls13, String legacy) {
        String object = "matrix-" + type;
        ok(hsmtls("key", "generate", "--key", key(object), "--type", type));
        ok(hsmtls("cert", "self-sign", "--key", key(object), "--subject", "CN=" + object));
        CliRun r = doctor(object);
        ok(r);
        assertEquals(List.of(tls13), lines(r, "TLS 1.3:"), r::toString);
        assertTrue(lines(r, "TLS 1.2 ECDHE:").get(0).startsWith("TLS 1.2 ECDHE: yes, "), r::toString);
        assertTrue(lines(r, "TLS 1.2 RSA").get(0).startsWith("TLS 1.2 RSA key exchange (legacy-rsa): " + legacy),
                r::toString);
        // Speed depends on the machine's load (a slow loop is a warning); every other check is ok.
        assertTrue(r.out().lines().filter(l -> l.matches("^(ok|warn|fail)\\s.*") && !l.matches("^\\w+\\s+sign\\s.*"))
                .allMatch(l -> l.startsWith("ok ")), r::toString);
        assertTrue(checkLine(r, "sign").matches("^(ok|warn) .*signature verifies.*"), r::toString);
    }

    @Test
    void certificateForAnotherKey_failsMatch() {
        TestPki.Held other = TestPki.ca("CN=Other CA").leaf("CN=other.test").serverAuth().generate();
        Path chain = TestPki.writePem(dir.resolve("other.pem"), other.chain());
        CliRun r = doctor("ec-good", "--cert", chain.toString());
        assertEquals(1, r.code(), r::toString);
        assertTrue(checkLine(r, "cert-match").startsWith("fail ")
                && checkLine(r, "cert-match").contains("'CN=other.test'"), r::toString);
        assertTrue(lines(r, "TLS 1.3:").get(0).equals("TLS 1.3: no, the certificate's public key is not the key's"),
                r::toString);
    }

    @Test
    void caIssuedChain_validates() {
        TokenKey k;
        try (IaikToken t = IaikTokens.open(TokenOptions.of(Pkcs11Uri.parse(hsm.keyUri("ec-good")), null), m -> { })) {
            k = t.key(Pkcs11Uri.parse(hsm.keyUri("ec-good")));
        }
        TestPki.Ca ca = TestPki.ca("CN=Doctor Root");
        TestPki.Ca mid = ca.intermediate("CN=Doctor Intermediate");
        X509Certificate leaf = mid.leaf("CN=chained.test").publicKey(k.info().publicKey()).serverAuth().sign();
        Path chain = TestPki.writePem(dir.resolve("good-chain.pem"), List.of(leaf, mid.certificate(), ca.certificate()));
        CliRun r = doctor("ec-good", "--cert", chain.toString());
        ok(r);
        assertTrue(checkLine(r, "key").contains("certificate 'CN=chained.test' from " + chain + "; the token's own "
                + "certificate 'CN=doctor.test' is not used"), r::toString);
        assertTrue(checkLine(r, "chain").startsWith("ok ") && checkLine(r, "chain").contains("'CN=chained.test' <- "
                + "'CN=Doctor Intermediate' <- 'CN=Doctor Root' (root)"), r::toString);
        // Leaf valid 30 days from TestPki's default: under the 30-day warning line.
        assertTrue(checkLine(r, "validity").startsWith("warn ") && checkLine(r, "validity").contains("renew it soon"),
                r::toString);
    }

    @Test
    void wrongPin_oneFailLine_loginTriedOnce() throws Exception {
        Path wrong = dir.resolve("wrong.pin");
        Files.writeString(wrong, "000000\n");
        long before = IaikTokens.userLoginAttempts();
        CliRun r = CliRun.of("doctor", "--key", key("ec-good"), "--module", SoftHsm.modulePath().toString(),
                "--pin-file", wrong.toString(), "--speed-seconds", "0");
        assertEquals(1, r.code(), r::toString);
        assertEquals(1, IaikTokens.userLoginAttempts() - before, "exactly one C_Login");
        String line = checkLine(r, "login");
        assertTrue(line.startsWith("fail ") && line.contains("CKR_PIN_INCORRECT") && line.contains("not retried"),
                r::toString);
        assertFalse(r.out().contains("000000") || r.err().contains("000000"), "the PIN never printed");
        assertEquals(List.of("TLS 1.3: no, login failed (CKR_PIN_INCORRECT)"), lines(r, "TLS 1.3:"), r::toString);
        assertTrue(r.out().lines().noneMatch(l -> l.matches("^(ok|warn|fail)\\s+key\\s.*")), "stops after login");
    }

    @Test
    void unknownToken_failsAtToken_listingWhatIsThere() {
        CliRun r = CliRun.of("doctor", "--key", "pkcs11:token=no-such-token;object=x", "--module",
                SoftHsm.modulePath().toString(), "--pin-file", hsm.pinFile().toString());
        assertEquals(1, r.code(), r::toString);
        assertTrue(checkLine(r, "module").startsWith("ok "), r::toString);
        String line = checkLine(r, "token");
        assertTrue(line.startsWith("fail ") && line.contains("no-such-token") && line.contains(hsm.label()), r::toString);
    }

    @Test
    void missingModule_isTheModuleLine() {
        CliRun r = CliRun.of("doctor", "--key", key("ec-good"), "--module", "/nonexistent/libpkcs11.so",
                "--pin-file", hsm.pinFile().toString());
        assertEquals(1, r.code(), r::toString);
        String line = checkLine(r, "module");
        assertTrue(line.startsWith("fail ") && line.contains("/nonexistent/libpkcs11.so"), r::toString);
        assertEquals(List.of("TLS 1.3: no, the PKCS#11 module does not load"), lines(r, "TLS 1.3:"), r::toString);
    }

    @Test
    void noModuleGiven_usesTheDefault_andNamesIt() {
        CliRun r = CliRun.of("doctor", "--key", key("ec-good"), "--pin-file", hsm.pinFile().toString(),
                "--speed-seconds", "0");
        ok(r);
        assertTrue(checkLine(r, "module").startsWith("ok    module  " + SoftHsm.modulePath() + " loaded: ")
                || checkLine(r, "module").contains(SoftHsm.modulePath() + " loaded: "), r::toString);
        assertTrue(checkLine(r, "sign").contains("speed not measured (--speed-seconds 0)"), r::toString);
    }

    @Test
    @SuppressWarnings("unchecked")
    void json_parses_andHoldsChecksVerdictsAndSpeed() {
        CliRun r = doctor("rsa-nopss", "--json");
        assertEquals(1, r.code(), r::toString);
        Map<String, Object> doc = (Map<String, Object>) MiniJson.parse(r.out());
        assertEquals("fail", doc.get("result"));
        assertTrue(((String) doc.get("key")).contains("object=rsa-nopss"), r::toString);
        List<Map<String, Object>> verdicts = (List<Map<String, Object>>) doc.get("verdicts");
        assertEquals(List.of("tls1.3", "tls1.2-ecdhe", "tls1.2-rsa-kx"), verdicts.stream().map(v -> v.get("use")).toList());
        assertEquals(List.of(false, true, true), verdicts.stream().map(v -> v.get("supported")).toList());
        assertTrue(((String) verdicts.get(0).get("reason")).contains("CKM_RSA_PKCS_PSS"), r::toString);
        List<Map<String, Object>> checks = (List<Map<String, Object>>) doc.get("checks");
        assertEquals("warn", checks.stream().filter(c -> c.get("name").equals("key-mechanisms")).findFirst()
                .orElseThrow().get("status"));
        Map<String, Object> speed = (Map<String, Object>) doc.get("signSpeed");
        assertNotNull(speed, r::toString);
        assertEquals("rsa_pkcs1_sha256", speed.get("scheme"));
        assertTrue(((Number) speed.get("operations")).intValue() > 0, r::toString);
        assertTrue(((Number) speed.get("seconds")).doubleValue() < 2, r::toString);
    }

    @Test
    @SuppressWarnings("unchecked")
    void json_onFailure_stillOneDocument_exit1() {
        CliRun r = doctor("ec-extractable", "--json");
        assertEquals(1, r.code(), r::toString);
        Map<String, Object> doc = (Map<String, Object>) MiniJson.parse(r.out());
        assertEquals("fail", doc.get("result"));
    }

    @Test
    void onATerminal_speedLoopShowsProgress_onStderr() {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        PrintWriter o = new PrintWriter(out);
        PrintWriter e = new PrintWriter(err);
        int code = Main.execute(new Io(new ByteArrayInputStream(new byte[0]), o, e, true, true), "doctor", "--key",
                key("ec-good"), "--module", SoftHsm.modulePath().toString(), "--pin-file", hsm.pinFile().toString(),
                "--speed-seconds", "1.2");
        o.flush();
        e.flush();
        assertEquals(0, code, () -> out + "\n" + err);
        assertTrue(err.toString().lines().anyMatch(l -> l.matches("signing with ecdsa_secp256r1_sha256: \\d+ "
                + "signatures in \\d+ ms")), err::toString);
        assertFalse(out.toString().contains("signing with"), "progress stays off stdout");
    }

    @Test
    void badSpeedSeconds_isUsageError() {
        CliRun r = hsmtls("doctor", "--key", key("ec-good"), "--speed-seconds", "-1");
        assertEquals(2, r.code(), r::toString);
        assertTrue(r.err().contains("--speed-seconds -1"), r::toString);
    }
}
