package io.hsmtls.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmtls.testing.SoftHsm;
import io.hsmtls.token.Pkcs11Uri;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.X509EncodedKeySpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The provisioning commands, run in-process through {@link Main#run} against a real SoftHSM2
 * token, checked with tools nobody here wrote: openssl, keytool (SunPKCS11), pkcs11-tool.
 */
class ProvisioningCliTest {
    @RegisterExtension
    static SoftHsm hsm = new SoftHsm();

    @TempDir
    Path dir;

    private static String module() {
        return SoftHsm.modulePath().toString();
    }

    private static String key(String object) {
        return "pkcs11:token=" + hsm.label() + ";object=" + object;
    }

    /** Runs hsmtls with --module and --pin-file of the class token added. */
    private static CliRun hsmtls(String... args) {
        List<String> all = new ArrayList<>(Arrays.asList(args));
        all.addAll(List.of("--module", module(), "--pin-file", hsm.pinFile().toString()));
        return CliRun.of(all.toArray(String[]::new));
    }

    private static String generate(String object, String type) {
        CliRun r = hsmtls("key", "generate", "--key", key(object), "--type", type);
        assertEquals(0, r.code(), r::toString);
        return r.out().strip();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"ec-p256", "ec-p384", "rsa-2048", "rsa-3072", "rsa-4096", "ed25519"})
    void keyGenerate_printsUri_andRefusesSecondWithoutForce(String type) {
        String object = "gen-" + type;
        String uri = generate(object, type);
        Pkcs11Uri parsed = Pkcs11Uri.parse(uri);
        assertEquals(object, parsed.object().orElseThrow(), uri);
        assertEquals(hsm.label(), parsed.token().orElseThrow(), uri);
        assertTrue(parsed.id().isPresent(), "printed URI carries the CKA_ID: " + uri);
        assertFalse(uri.contains("pin"), uri);

        // Read back by a tool nobody here wrote: the private key is sensitive and was never extractable.
        String block = privateKeyBlock(object);
        assertTrue(block.contains("never extractable") && block.contains("sensitive"), block);
        // Only the usages the type needs: RSA also decrypts (TLS 1.2 RSA key exchange), the others only sign.
        assertTrue(block.matches("(?s).*Usage:\\s+" + (type.startsWith("rsa") ? "decrypt, sign" : "sign") + "\\s*\n.*"),
                block);

        CliRun again = hsmtls("key", "generate", "--key", key(object), "--type", type);
        assertEquals(1, again.code(), again::toString);
        assertTrue(again.err().contains("'" + object + "'") && again.err().contains("--force"), again::toString);
        assertEquals(1, again.err().lines().count(), again::toString);

        if (!type.equals("rsa-3072") && !type.equals("rsa-4096")) { // replacing works alike for every type; skip the slow ones
            CliRun forced = hsmtls("key", "generate", "--key", key(object), "--type", type, "--force");
            assertEquals(0, forced.code(), forced::toString);
            assertFalse(forced.out().strip().equals(uri), "a replaced key gets a new id");
        }
    }

    /** The pkcs11-tool --list-objects paragraph of the private key labelled {@code label}. */
    private static String privateKeyBlock(String label) {
        String out = SoftHsm.run(List.of("pkcs11-tool", "--module", module(), "--token-label", hsm.label(), "--login",
                "--pin", SoftHsm.USER_PIN, "--list-objects", "--type", "privkey"));
        for (String block : out.split("(?m)^(?=\\S)")) {
            if (block.startsWith("Private Key Object") && block.matches("(?s).*label:\\s+" + label + "\\s*\n.*")) {
                return block;
            }
        }
        throw new AssertionError("no private key '" + label + "' in pkcs11-tool output:\n" + out);
    }

    @Test
    void keyGenerate_withId_usesIt_andRefusesTheSameIdUnderAnotherName() {
        CliRun r = hsmtls("key", "generate", "--key", key("with-id"), "--type", "ec-p256", "--id", "c0:ff:ee:01");
        assertEquals(0, r.code(), r::toString);
        assertEquals("c0ffee01", Pkcs11Uri.parse(r.out().strip()).id().orElseThrow().hex(), r::toString);

        CliRun clash = hsmtls("key", "generate", "--key", key("other-name"), "--type", "ec-p256", "--id", "c0ffee01");
        assertEquals(1, clash.code(), clash::toString);
        assertTrue(clash.err().contains("c0ffee01") && clash.err().contains("--force"), clash::toString);

        CliRun badHex = hsmtls("key", "generate", "--key", key("bad-id"), "--type", "ec-p256", "--id", "xyz");
        assertEquals(2, badHex.code(), badHex::toString);
        assertTrue(badHex.err().contains("xyz"), badHex::toString);
    }

    @Test
    void keyList_json_parsesAndShowsKeyAttributes() {
        String uri = generate("listed", "ec-p256");
        CliRun r = hsmtls("key", "list", "--token", "pkcs11:token=" + hsm.label(), "--json");
        assertEquals(0, r.code(), r::toString);
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> keys = (List<Map<String, Object>>) MiniJson.parse(r.out());
        Map<String, Object> k = keys.stream().filter(m -> "listed".equals(m.get("label"))).findFirst().orElseThrow();
        assertEquals(uri, k.get("uri"));
        assertEquals(Boolean.TRUE, k.get("sensitive"));
        assertEquals(Boolean.FALSE, k.get("extractable"));
        assertEquals("EC", k.get("algorithm"));

        CliRun tokens = hsmtls("token", "list", "--json");
        assertEquals(0, tokens.code(), tokens::toString);
        assertTrue(((List<?>) MiniJson.parse(tokens.out())).stream()
                .anyMatch(t -> hsm.label().equals(((Map<?, ?>) t).get("label"))), tokens::toString);

        CliRun mechs = hsmtls("token", "mechanisms", "--token", "pkcs11:token=" + hsm.label(), "--json");
        assertEquals(0, mechs.code(), mechs::toString);
        assertTrue(((List<?>) MiniJson.parse(mechs.out())).stream()
                .anyMatch(m -> "CKM_ECDSA".equals(((Map<?, ?>) m).get("name"))), mechs::toString);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"ec-p256", "rsa-2048", "rsa-2048-pss", "ed25519"})
    void csr_isSignedOnToken_andOpensslVerifiesIt(String variant) throws Exception {
        boolean pss = variant.endsWith("-pss");
        generate("csr-" + variant, variant.replace("-pss", ""));
        Path out = dir.resolve("req.pem");
        List<String> args = new ArrayList<>(List.of("csr", "--key", key("csr-" + variant), "--subject",
                "CN=csr.example,O=hsmtls", "--san", "dns:csr.example", "--san", "ip:127.0.0.1", "--out", out.toString()));
        if (pss) {
            args.add("--pss");
        }
        CliRun r = hsmtls(args.toArray(String[]::new));
        assertEquals(0, r.code(), r::toString);
        SoftHsm.Result v = SoftHsm.exec(List.of("openssl", "req", "-verify", "-noout", "-text", "-in", out.toString()),
                null);
        assertEquals(0, v.exitCode(), v.output());
        assertTrue(v.output().contains("verify OK"), v.output());
        assertTrue(v.output().contains("DNS:csr.example"), v.output());
        if (pss) {
            assertTrue(v.output().contains("rsassaPss"), v.output());
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"ec-p256", "ec-p384", "rsa-2048", "ed25519"})
    void selfSign_storesCertificate_signatureVerifiesWithExportedKey(String type) throws Exception {
        String object = "ss-" + type;
        generate(object, type);
        CliRun r = hsmtls("cert", "self-sign", "--key", key(object), "--subject",
                "CN=" + object + ".example,O=hsmtls test", "--days", "30", "--san", "dns:" + object + ".example");
        assertEquals(0, r.code(), r::toString);
        Path certFile = dir.resolve("cert.pem");
        Files.writeString(certFile, r.out());
        String text = SoftHsm.run(List.of("openssl", "x509", "-noout", "-text", "-in", certFile.toString()));
        assertTrue(text.contains("CN=" + object + ".example") || text.contains("CN = " + object + ".example"), text);

        CliRun pub = hsmtls("key", "export-public", "--key", key(object));
        assertEquals(0, pub.code(), pub::toString);
        assertTrue(pub.out().startsWith("-----BEGIN PUBLIC KEY-----"), pub::toString);
        X509Certificate cert = (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(r.out().getBytes(StandardCharsets.US_ASCII)));
        PublicKey exported = publicKey(pub.out(), cert.getPublicKey().getAlgorithm());
        cert.verify(exported);
        Path pubFile = dir.resolve("pub.pem");
        Files.writeString(pubFile, pub.out());
        assertEquals(SoftHsm.run(List.of("openssl", "pkey", "-pubin", "-in", pubFile.toString())),
                SoftHsm.run(List.of("openssl", "x509", "-noout", "-pubkey", "-in", certFile.toString())));

        CliRun show = hsmtls("cert", "show", "--key", key(object), "--json");
        assertEquals(0, show.code(), show::toString);
        @SuppressWarnings("unchecked")
        Map<String, Object> s = (Map<String, Object>) MiniJson.parse(show.out());
        assertEquals("CN=" + object + ".example,O=hsmtls test", s.get("subject"));
        assertTrue(text.contains("Subject: O = hsmtls test, CN = " + object + ".example"), text);
        assertEquals(List.of("dns:" + object + ".example"), s.get("subjectAltNames"));
        String fp = SoftHsm.run(List.of("openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in",
                certFile.toString()));
        assertTrue(fp.strip().endsWith((String) s.get("sha256")), fp + " vs " + s);

        CliRun twice = hsmtls("cert", "self-sign", "--key", key(object), "--subject", "CN=again");
        assertEquals(1, twice.code(), twice::toString);
        assertTrue(twice.err().contains("--force"), twice::toString);
    }

    @Test
    void selfSign_rsaPss_andCa_opensslVerifies() throws Exception {
        generate("ss-pss-ca", "rsa-2048");
        CliRun r = hsmtls("cert", "self-sign", "--key", key("ss-pss-ca"), "--subject", "CN=hsmtls test CA", "--ca",
                "--pss", "--days", "10");
        assertEquals(0, r.code(), r::toString);
        Path certFile = dir.resolve("ca.pem");
        Files.writeString(certFile, r.out());
        String text = SoftHsm.run(List.of("openssl", "x509", "-noout", "-text", "-in", certFile.toString()));
        assertTrue(text.contains("Signature Algorithm: rsassaPss") && text.contains("CA:TRUE"), text);
        assertFalse(text.contains("TLS Web Server Authentication"), text);
        SoftHsm.Result v = SoftHsm.exec(List.of("openssl", "verify", "-CAfile", certFile.toString(),
                certFile.toString()), null);
        assertEquals(0, v.exitCode(), v.output());

        CliRun ec = hsmtls("cert", "self-sign", "--key", key("ss-pss-ca"), "--subject", "CN=x", "--days", "0",
                "--force");
        assertEquals(2, ec.code(), ec::toString);
        assertTrue(ec.err().contains("--days 0"), ec::toString);
    }

    private static PublicKey publicKey(String pem, String algorithm) throws Exception {
        String b64 = pem.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
        return KeyFactory.getInstance(algorithm).generatePublic(new X509EncodedKeySpec(Base64.getDecoder().decode(b64)));
    }

    @Test
    void certImport_ofOtherKeysCertificate_isRefusedNamingBoth() throws Exception {
        generate("imp-a", "ec-p256");
        generate("imp-b", "ec-p256");
        CliRun b = hsmtls("cert", "self-sign", "--key", key("imp-b"), "--subject", "CN=belongs-to-b");
        assertEquals(0, b.code(), b::toString);
        Path chain = dir.resolve("b.pem");
        Files.writeString(chain, b.out());

        CliRun r = hsmtls("cert", "import", "--key", key("imp-a"), chain.toString());
        assertEquals(1, r.code(), r::toString);
        assertTrue(r.err().contains("CN=belongs-to-b"), r::toString);
        assertTrue(r.err().contains("imp-a"), r::toString);
        assertEquals(1, r.err().lines().count(), r::toString);

        // The right key takes it (replacing its self-signed certificate only with --force).
        CliRun ok = hsmtls("cert", "import", "--key", key("imp-b"), chain.toString(), "--force");
        assertEquals(0, ok.code(), ok::toString);
    }

    @Test
    void certImport_storesLeafForMatchingKey() throws Exception {
        generate("imp-c", "rsa-2048");
        CliRun c = hsmtls("csr", "--key", key("imp-c"), "--subject", "CN=imp-c");
        assertEquals(0, c.code(), c::toString);
        // An outside CA (openssl) signs our CSR; the chain file holds leaf then CA.
        Path csr = dir.resolve("c.csr");
        Files.writeString(csr, c.out());
        Path caKey = dir.resolve("ca.key");
        Path caCert = dir.resolve("ca.pem");
        SoftHsm.run(List.of("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", caKey.toString(), "-out", caCert.toString(), "-subj", "/CN=Outside CA",
                "-days", "2"));
        Path leaf = dir.resolve("leaf.pem");
        SoftHsm.run(List.of("openssl", "x509", "-req", "-in", csr.toString(), "-CA", caCert.toString(), "-CAkey",
                caKey.toString(), "-CAcreateserial", "-out", leaf.toString(), "-days", "2"));
        Path chain = dir.resolve("chain.pem");
        Files.writeString(chain, Files.readString(leaf) + Files.readString(caCert));

        CliRun r = hsmtls("cert", "import", "--key", key("imp-c"), chain.toString());
        assertEquals(0, r.code(), r::toString);
        CliRun show = hsmtls("cert", "show", "--key", key("imp-c"));
        assertEquals(0, show.code(), show::toString);
        assertTrue(show.out().contains("issuer:     CN=Outside CA"), show::toString);
    }

    @Test
    void keytool_seesOnePrivateKeyEntryPairingKeyAndCertificate() throws Exception {
        // A token of its own, so the keystore holds exactly this key.
        SoftHsm own = SoftHsm.create();
        String uri = "pkcs11:token=" + own.label() + ";object=jdk";
        List<String> common = List.of("--module", module(), "--pin-file", own.pinFile().toString());
        CliRun g = CliRun.of(concat(List.of("key", "generate", "--key", uri, "--type", "ec-p256"), common));
        assertEquals(0, g.code(), g::toString);
        CliRun s = CliRun.of(concat(List.of("cert", "self-sign", "--key", uri, "--subject", "CN=jdk.example"), common));
        assertEquals(0, s.code(), s::toString);

        CliRun tokens = CliRun.of("token", "list", "--module", module(), "--json");
        long slot = ((List<?>) MiniJson.parse(tokens.out())).stream().map(t -> (Map<?, ?>) t)
                .filter(t -> own.label().equals(t.get("label"))).map(t -> ((Number) t.get("slotId")).longValue())
                .findFirst().orElseThrow();
        Path config = dir.resolve("sunpkcs11.cfg");
        Files.writeString(config, "name = hsmtls-test\nlibrary = " + module() + "\nslot = " + slot + "\n");
        String java = System.getProperty("java.home");
        SoftHsm.Result r = SoftHsm.exec(List.of(Path.of(java, "bin", "keytool").toString(), "-list", "-keystore",
                "NONE", "-storetype", "PKCS11", "-providerClass", "sun.security.pkcs11.SunPKCS11", "-providerArg",
                config.toString(), "-storepass:file", own.pinFile().toString()), null);
        assertEquals(0, r.exitCode(), r.output());
        assertTrue(r.output().contains("Your keystore contains 1 entry"), r.output());
        assertTrue(r.output().contains("jdk, PrivateKeyEntry"), r.output());
    }

    @Test
    void pkcs11Tool_listsKeyAndCertificate() {
        generate("p11tool", "ec-p256");
        CliRun s = hsmtls("cert", "self-sign", "--key", key("p11tool"), "--subject", "CN=p11tool");
        assertEquals(0, s.code(), s::toString);
        String out = SoftHsm.run(List.of("pkcs11-tool", "--module", module(), "--token-label", hsm.label(), "--login",
                "--pin", SoftHsm.USER_PIN, "--list-objects"));
        int i = out.indexOf("label:      p11tool");
        assertTrue(i >= 0, out);
        assertTrue(out.contains("Private Key Object; EC"), out);
        assertTrue(out.matches("(?s).*Certificate Object; type = X\\.509 cert\\s+label:\\s+p11tool.*"), out);
    }

    @Test
    void keyDelete_needsYesWithoutTerminal_thenDeletesPairAndCertificate() {
        generate("doomed", "ec-p256");
        assertEquals(0, hsmtls("cert", "self-sign", "--key", key("doomed"), "--subject", "CN=doomed").code());
        CliRun refused = hsmtls("key", "delete", "--key", key("doomed"));
        assertEquals(1, refused.code(), refused::toString);
        assertTrue(refused.err().contains("--yes"), refused::toString);

        CliRun r = hsmtls("key", "delete", "--key", key("doomed"), "--yes");
        assertEquals(0, r.code(), r::toString);
        CliRun gone = hsmtls("key", "export-public", "--key", key("doomed"));
        assertEquals(1, gone.code(), gone::toString);
        String objects = SoftHsm.run(List.of("pkcs11-tool", "--module", module(), "--token-label", hsm.label(),
                "--login", "--pin", SoftHsm.USER_PIN, "--list-objects"));
        assertFalse(objects.contains("label:      doomed"), objects);
    }

    /** Runs with a pretend terminal: {@code interactive} for prompts, {@code stderrTerminal} for progress. */
    private static CliRun onTerminal(String stdin, boolean interactive, boolean stderrTerminal, String... args) {
        List<String> all = new ArrayList<>(Arrays.asList(args));
        all.addAll(List.of("--module", module(), "--pin-file", hsm.pinFile().toString()));
        java.io.StringWriter out = new java.io.StringWriter();
        java.io.StringWriter err = new java.io.StringWriter();
        Io io = new Io(new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)), new java.io.PrintWriter(out),
                new java.io.PrintWriter(err), interactive, stderrTerminal);
        int code = Main.execute(io, all.toArray(String[]::new));
        io.out().flush();
        io.err().flush();
        return new CliRun(code, out.toString(), err.toString());
    }

    @Test
    void keyGenerate_showsProgressOnlyOnTerminal() {
        CliRun tty = onTerminal("", false, true, "key", "generate", "--key", key("progress-tty"), "--type", "rsa-2048");
        assertEquals(0, tty.code(), tty::toString);
        assertTrue(tty.err().contains("generating rsa-2048 on token '" + hsm.label() + "'"), tty::toString);
        CliRun piped = hsmtls("key", "generate", "--key", key("progress-pipe"), "--type", "rsa-2048");
        assertEquals(0, piped.code(), piped::toString);
        assertEquals("", piped.err(), piped::toString);
    }

    @Test
    void keyDelete_onTerminal_asksAndHonoursTheAnswer() {
        generate("asked", "ec-p256");
        CliRun no = onTerminal("n\n", true, true, "key", "delete", "--key", key("asked"));
        assertEquals(1, no.code(), no::toString);
        assertTrue(no.err().contains("[y/N]") && no.err().contains("not confirmed"), no::toString);
        assertEquals(0, hsmtls("key", "export-public", "--key", key("asked")).code(), "still there after 'n'");

        CliRun yes = onTerminal("y\n", true, true, "key", "delete", "--key", key("asked"));
        assertEquals(0, yes.code(), yes::toString);
        assertEquals(1, hsmtls("key", "export-public", "--key", key("asked")).code(), "gone after 'y'");
    }

    @Test
    void realProcess_pinFromEnvWarns_andExitCodesReachTheShell() {
        generate("env-pin", "ec-p256");
        List<String> java = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                Main.class.getName());
        SoftHsm.Result ok = SoftHsm.exec(concatList(java, List.of("key", "export-public", "--key", key("env-pin"),
                "--module", module(), "--pin-env", "HSMTLS_TEST_PIN")), null, Map.of("HSMTLS_TEST_PIN", SoftHsm.USER_PIN));
        assertEquals(0, ok.exitCode(), ok.output());
        assertTrue(ok.output().contains("warning: reading the PIN from environment variable HSMTLS_TEST_PIN"),
                ok.output());
        assertFalse(ok.output().contains(SoftHsm.USER_PIN), ok.output());

        SoftHsm.Result usage = SoftHsm.exec(concatList(java, List.of("key", "list", "--token", "pkcs11:bogus")), null);
        assertEquals(2, usage.exitCode(), usage.output());
        SoftHsm.Result failed = SoftHsm.exec(concatList(java, List.of("key", "export-public", "--key", key("absent"),
                "--module", module(), "--pin-file", hsm.pinFile().toString())), null);
        assertEquals(1, failed.exitCode(), failed.output());
        assertTrue(failed.output().contains("no private key matches"), failed.output());
    }

    @Test
    void pinFromStdin_works() {
        generate("stdin", "ec-p256");
        CliRun r = CliRun.withStdin(SoftHsm.USER_PIN + "\n", "key", "export-public", "--key", key("stdin"),
                "--module", module(), "--pin-stdin");
        assertEquals(0, r.code(), r::toString);
        assertTrue(r.out().contains("BEGIN PUBLIC KEY"), r::toString);
    }

    @Test
    void malformedKeyUri_isUsageErrorQuotingIt() {
        CliRun r = hsmtls("key", "generate", "--key", "pkcs11:token=x;objekt=y", "--type", "ec-p256");
        assertEquals(2, r.code(), r::toString);
        assertTrue(r.err().contains("'pkcs11:token=x;objekt=y'"), r::toString);
    }

    @Test
    void unknownKeyType_isUsageErrorListingTypes() {
        CliRun r = hsmtls("key", "generate", "--key", key("x"), "--type", "dsa-1024");
        assertEquals(2, r.code(), r::toString);
        assertTrue(r.err().contains("dsa-1024") && r.err().contains("ec-p256"), r::toString);
    }

    @Test
    void wrongPinFile_failsWithOneCleanLine_noPinNoStackTrace() throws Exception {
        generate("pinned", "ec-p256");
        Path wrong = dir.resolve("wrong.pin");
        Files.writeString(wrong, "999111\n");
        CliRun r = CliRun.of("key", "export-public", "--key", key("pinned"), "--module", module(), "--pin-file",
                wrong.toString());
        assertEquals(1, r.code(), r::toString);
        assertEquals("", r.out());
        assertEquals(1, r.err().lines().count(), r::toString);
        assertTrue(r.err().startsWith("hsmtls: "), r::toString);
        assertTrue(r.err().contains("CKR_PIN_INCORRECT"), r::toString);
        assertFalse(r.err().contains("999111") || r.err().contains(SoftHsm.USER_PIN), r::toString);
        assertFalse(r.err().contains("\tat "), r::toString);
    }

    @Test
    void unknownTokenLabel_listsTheLabelsFound() {
        CliRun r = hsmtls("key", "list", "--token", "pkcs11:token=no-such-token");
        assertEquals(1, r.code(), r::toString);
        assertTrue(r.err().contains("no-such-token"), r::toString);
        assertTrue(r.err().contains(hsm.label()), r::toString);
    }

    @Test
    void missingModulePath_inUri_failsClearly() {
        CliRun r = CliRun.of("key", "list", "--token", "pkcs11:token=x?module-path=/no/such/lib.so");
        assertEquals(1, r.code(), r::toString);
        assertTrue(r.err().contains("/no/such/lib.so") && r.err().contains("module-path"), r::toString);
    }

    @Test
    void noPinSourceAndNoTerminal_failsSayingWhatToGive() {
        CliRun r = CliRun.of("key", "list", "--token", "pkcs11:token=" + hsm.label(), "--module", module());
        assertEquals(1, r.code(), r::toString);
        assertTrue(r.err().contains("no terminal") && r.err().contains("--pin-file"), r::toString);
    }

    @Test
    void pinFromUriPinSource_isUsed() {
        generate("uri-pin", "ec-p256");
        CliRun r = CliRun.of("key", "export-public", "--key", hsm.keyUri("uri-pin"));
        assertEquals(0, r.code(), r::toString);
    }

    @Test
    void generateWithoutObject_isUsageError() {
        CliRun r = hsmtls("key", "generate", "--key", "pkcs11:token=" + hsm.label(), "--type", "ec-p256");
        assertEquals(2, r.code(), r::toString);
        assertTrue(r.err().contains("object=NAME"), r::toString);
    }

    @Test
    void badSan_isUsageErrorQuotingIt() {
        CliRun r = hsmtls("csr", "--key", key("x"), "--subject", "CN=x", "--san", "ip:not-an-ip");
        assertEquals(2, r.code(), r::toString);
        assertTrue(r.err().contains("'ip:not-an-ip'"), r::toString);
    }

    @Test
    void noModuleGiven_fallsBackToSoftHsm() {
        CliRun r = CliRun.of("token", "list", "--token", "pkcs11:token=" + hsm.label());
        assertEquals(0, r.code(), r::toString);
        assertTrue(r.out().contains("token:        " + hsm.label()), r::toString);
    }

    @Test
    void unreadablePinFile_failsClearly() {
        CliRun r = CliRun.of("key", "export-public", "--key", key("whatever"), "--module", module(), "--pin-file",
                dir.resolve("absent.pin").toString());
        assertEquals(1, r.code(), r::toString);
        assertTrue(r.err().contains("absent.pin"), r::toString);
    }

    private static String[] concat(List<String> a, List<String> b) {
        return concatList(a, b).toArray(String[]::new);
    }

    private static List<String> concatList(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }
}
