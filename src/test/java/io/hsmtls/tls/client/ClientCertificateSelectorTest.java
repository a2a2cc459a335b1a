package io.hsmtls.tls.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmtls.testing.TestPki;
import io.hsmtls.tls.TlsVersion;
import io.hsmtls.token.SignatureScheme;
import java.security.KeyPair;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import javax.security.auth.x500.X500Principal;
import org.junit.jupiter.api.Test;

/** Selection logic over certificates only (no token): CA names × signature schemes × version. */
class ClientCertificateSelectorTest {
    static final TestPki.Ca A = TestPki.ca("CN=CA A");
    static final TestPki.Ca B = TestPki.ca("CN=CA B");
    static final Set<SignatureScheme> EC = EnumSet.of(SignatureScheme.ECDSA_SECP256R1_SHA256);
    static final Set<SignatureScheme> RSA_PKCS1_ONLY = EnumSet.of(SignatureScheme.RSA_PKCS1_SHA256,
            SignatureScheme.RSA_PKCS1_SHA384);
    static final List<Integer> ALL = List.of(0x0403, 0x0804, 0x0401);

    static ClientCandidate cand(String name, TestPki.Ca ca, Set<SignatureScheme> schemes) {
        KeyPair kp = TestPki.ecKeyPair();
        return new ClientCandidate(null, name, List.of(ca.leaf("CN=" + name).publicKey(kp.getPublic()).sign()),
                schemes);
    }

    static CertificateRequestInfo req(boolean tls13, List<X500Principal> cas, List<Integer> schemes) {
        return new CertificateRequestInfo(tls13, cas, schemes);
    }

    @Test
    void picksTheCandidateFromTheNamedCa() {
        CertificateSelection s = ClientCertificateSelector.select(List.of(cand("a", A, EC), cand("b", B, EC)),
                req(true, List.of(B.certificate().getSubjectX500Principal()), ALL));
        CertificateSelection.Chosen c = assertInstanceOf(CertificateSelection.Chosen.class, s);
        assertEquals("b", c.candidate().description());
        assertEquals(SignatureScheme.ECDSA_SECP256R1_SHA256, c.scheme());
        assertTrue(c.why().contains("issuer CN=CA B is a CA the server accepts"), c.why());
    }

    @Test
    void noCaNames_severalSuitable_errorListsThem() {
        AmbiguousClientCertificateException e = assertThrows(AmbiguousClientCertificateException.class,
                () -> ClientCertificateSelector.select(List.of(cand("a", A, EC), cand("b", B, EC)),
                        req(false, List.of(), ALL)));
        assertEquals(2, e.candidates().size());
        assertTrue(e.getMessage().contains("add object= or id= to --key"), e.getMessage());
    }

    @Test
    void schemeTheKeyCannotDo_noCertificateAndWhy() {
        CertificateSelection s = ClientCertificateSelector.select(List.of(cand("a", A, EC)),
                req(true, List.of(), List.of(0x0804)));
        CertificateSelection.NoCertificate n = assertInstanceOf(CertificateSelection.NoCertificate.class, s);
        assertTrue(n.why().contains("the token can sign with ecdsa_secp256r1_sha256 but the server accepts "
                + "rsa_pss_rsae_sha256"), n.why());
    }

    @Test
    void pkcs1OnlyKey_tls13_noCertificate_explainsPss() {
        CertificateSelection s = ClientCertificateSelector.select(List.of(cand("rsa", A, RSA_PKCS1_ONLY)),
                req(true, List.of(), ALL));
        CertificateSelection.NoCertificate n = assertInstanceOf(CertificateSelection.NoCertificate.class, s);
        assertTrue(n.why().contains("TLS 1.3 needs RSA-PSS: the key or token lacks CKM_RSA_PKCS_PSS"), n.why());
    }

    @Test
    void pkcs1OnlyKey_tls12_chosenWithPkcs1() {
        CertificateSelection s = ClientCertificateSelector.select(List.of(cand("rsa", A, RSA_PKCS1_ONLY)),
                req(false, List.of(), ALL));
        assertEquals(SignatureScheme.RSA_PKCS1_SHA256,
                assertInstanceOf(CertificateSelection.Chosen.class, s).scheme());
    }

    @Test
    void tls12CertificateTypes_rsaOnly_ecKeyRejectedWithWhy() {
        CertificateSelection s = ClientCertificateSelector.select(List.of(cand("a", A, EC)),
                new CertificateRequestInfo(false, List.of(), ALL, Set.of(io.hsmtls.token.KeyAlgorithm.RSA)));
        CertificateSelection.NoCertificate n = assertInstanceOf(CertificateSelection.NoCertificate.class, s);
        assertTrue(n.why().contains("the server accepts only RSA certificates (certificate_types) and this key is EC"),
                n.why());
    }

    @Test
    void schemeNames_unsignableOnesNamedNotNumbered() {
        assertEquals(List.of("ecdsa_secp256r1_sha256", "ed448 (not signable by hsmtls)",
                        "ecdsa_sha224 (not signable by hsmtls)", "0x0fff (not signable by hsmtls)"),
                new CertificateRequestInfo(true, List.of(), List.of(0x0403, 0x0808, 0x0303, 0x0fff)).schemeNames());
    }

    @Test
    void noCandidates_noCertificate() {
        assertInstanceOf(CertificateSelection.NoCertificate.class,
                ClientCertificateSelector.select(List.of(), req(true, List.of(), ALL)));
    }

    @Test
    void versionPolicy_pkcs1OnlyKey_fallsBackToTls12WithReason() {
        VersionPolicy.Decision d = VersionPolicy.decide(List.of(TlsVersion.TLS_1_3, TlsVersion.TLS_1_2),
                List.of(cand("rsa", A, RSA_PKCS1_ONLY)));
        assertEquals(List.of(TlsVersion.TLS_1_2), d.versions());
        assertTrue(d.note().startsWith("TLS 1.3 not offered"), d.note());
        assertTrue(d.note().contains("CKM_RSA_PKCS_PSS"), d.note());
    }

    @Test
    void versionPolicy_tls13Only_keepsTls13AndWarns() {
        VersionPolicy.Decision d = VersionPolicy.decide(List.of(TlsVersion.TLS_1_3),
                List.of(cand("rsa", A, RSA_PKCS1_ONLY)));
        assertEquals(List.of(TlsVersion.TLS_1_3), d.versions());
        assertTrue(d.warning());
    }

    @Test
    void versionPolicy_ecKey_offersBoth() {
        VersionPolicy.Decision d = VersionPolicy.decide(List.of(TlsVersion.TLS_1_3, TlsVersion.TLS_1_2),
                List.of(cand("a", A, EC)));
        assertEquals(List.of(TlsVersion.TLS_1_3, TlsVersion.TLS_1_2), d.versions());
        assertEquals(null, d.note());
    }
}
