package io.hsmtls.provision;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmtls.testing.SoftHsm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * CSR and certificate building with a software key standing in for the token, checked by openssl:
 * the algorithm identifiers, extensions and encodings are right before a token is involved.
 */
class ProvisioningLogicTest {
    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0} pss={1}")
    @CsvSource({"ec-p256,false,ecdsa-with-SHA256", "ec-p384,false,ecdsa-with-SHA384",
            "rsa-2048,false,sha256WithRSAEncryption", "rsa-2048,true,rsassaPss", "ed25519,false,ED25519"})
    void csr_verifiesWithOpenssl(String type, boolean pss, String algName) throws Exception {
        SoftwareKey key = SoftwareKey.generate(type);
        var csr = CertificateRequests.create(key, DistinguishedNames.parse("CN=host.example,O=Example"),
                List.of(SubjectAltName.parse("dns:host.example"), SubjectAltName.parse("ip:192.0.2.7")), pss);
        Path f = dir.resolve("req.pem");
        Files.writeString(f, CertificateRequests.pem(csr));
        SoftHsm.Result r = SoftHsm.exec(List.of("openssl", "req", "-verify", "-noout", "-text", "-in", f.toString()),
                null);
        assertEquals(0, r.exitCode(), r.output());
        assertTrue(r.output().contains("verify OK") || r.output().contains("Certificate request self-signature verify OK"),
                r.output());
        assertTrue(r.output().contains(algName), r.output());
        assertTrue(r.output().contains("DNS:host.example") && r.output().contains("IP Address:192.0.2.7"), r.output());
    }

    @ParameterizedTest(name = "{0} ca={1}")
    @CsvSource({"ec-p256,false", "rsa-2048,false", "ed25519,false", "ec-p384,true"})
    void selfSigned_verifiesWithOpensslAndHasExtensions(String type, boolean ca) throws Exception {
        SoftwareKey key = SoftwareKey.generate(type);
        X509Certificate cert = Certificates.selfSign(key, new Certificates.SelfSignedSpec(
                DistinguishedNames.parse("CN=svc.example"), Duration.ofDays(30),
                List.of(SubjectAltName.parse("dns:svc.example")), ca, false));
        cert.verify(key.info().publicKey());
        Path f = dir.resolve("cert.pem");
        Files.writeString(f, Pem.certificate(cert));
        SoftHsm.Result r = SoftHsm.exec(List.of("openssl", "verify", "-check_ss_sig", "-partial_chain",
                "-CAfile", f.toString(), f.toString()), null);
        assertEquals(0, r.exitCode(), r.output());
        String text = SoftHsm.run(List.of("openssl", "x509", "-noout", "-text", "-in", f.toString()));
        assertTrue(text.contains("CA:" + (ca ? "TRUE" : "FALSE")), text);
        assertTrue(text.contains("Subject Key Identifier") && text.contains("Authority Key Identifier"), text);
        assertEquals(!ca, text.contains("TLS Web Server Authentication, TLS Web Client Authentication"), text);
        assertEquals(ca, text.contains("Certificate Sign"), text);
        assertEquals(type.startsWith("rsa"), text.contains("Key Encipherment"), text);
        assertTrue(Duration.between(cert.getNotBefore().toInstant(), cert.getNotAfter().toInstant()).toDays() >= 30);
    }

    @Test
    void mismatchedCertificate_isRefusedNamingBoth() throws Exception {
        SoftwareKey key = SoftwareKey.generate("ec-p256");
        SoftwareKey other = SoftwareKey.generate("ec-p256");
        X509Certificate cert = Certificates.selfSign(other, new Certificates.SelfSignedSpec(
                DistinguishedNames.parse("CN=other"), Duration.ofDays(1), List.of(), false, false));
        ProvisionException e = assertThrows(ProvisionException.class,
                () -> Certificates.requireMatch(key, cert, "chain.pem"));
        assertTrue(e.getMessage().contains("CN=other") && e.getMessage().contains("ec-p256 (id 0102"), e.getMessage());
    }

    @Test
    void pssOnNonRsaKey_isUsageError() throws Exception {
        SoftwareKey key = SoftwareKey.generate("ec-p256");
        assertThrows(IllegalArgumentException.class, () -> SignatureChoice.forKey(key.info(), true));
    }

    @Test
    void subjectAltNames_parseAndReject() {
        assertEquals("ip:2001:db8::1", SubjectAltName.parse("ip:2001:db8::1").toString());
        assertEquals(SubjectAltName.Kind.EMAIL, SubjectAltName.parse("email:a@example.org").kind());
        assertEquals(SubjectAltName.Kind.URI, SubjectAltName.parse("URI:spiffe://example.org/x").kind());
        for (String bad : List.of("host.example", "dns:", "ip:host.example", "ip:300.1.1.1", "email:nobody",
                "uri:relative/path", "x400:foo", "dns:bad_name!")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SubjectAltName.parse(bad),
                    bad);
            assertTrue(e.getMessage().contains("'" + bad + "'"), e.getMessage());
        }
    }

    @Test
    void subject_malformedIsRefusedQuotingIt() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> DistinguishedNames.parse("just-a-name"));
        assertTrue(e.getMessage().contains("'just-a-name'"), e.getMessage());
        // RFC 4514 order: the text's first RDN is the most specific and is encoded last.
        var name = DistinguishedNames.parse("CN=host.example,O=Example Org,C=DE");
        assertEquals("C=DE,O=Example Org,CN=host.example", name.toString());
        assertEquals("CN=host.example,O=Example Org,C=DE", DistinguishedNames.format(name));
    }
}
