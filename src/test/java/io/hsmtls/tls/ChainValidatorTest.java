package io.hsmtls.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmtls.testing.TestPki;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** PKIX validation outcomes, each naming the certificate that failed. */
class ChainValidatorTest {
    static final TestPki.Ca ROOT = TestPki.ca("CN=Root A");
    static final TestPki.Ca OTHER = TestPki.ca("CN=Root B");
    static final ChainValidator CLIENTS = new ChainValidator(List.of(ROOT.certificate()), ChainValidator.Purpose.CLIENT_AUTH);

    @Test
    void goodClientChain_viaIntermediate_withOrWithoutRoot_validates() throws Exception {
        TestPki.Ca mid = ROOT.intermediate("CN=Mid");
        TestPki.Held leaf = mid.leaf("CN=alice").clientAuth().generate();
        CLIENTS.validate(leaf.chain());
        List<java.security.cert.X509Certificate> withRoot = new ArrayList<>(leaf.chain());
        withRoot.add(ROOT.certificate());
        CLIENTS.validate(withRoot);
        assertEquals(List.of(ROOT.certificate().getSubjectX500Principal()), CLIENTS.caNames());
    }

    @Test
    void expiredLeaf_rejectedAsExpired_namingIt() {
        TestPki.Held leaf = ROOT.leaf("CN=old").clientAuth().expired().generate();
        var e = assertThrows(CertificateRejectedException.class, () -> CLIENTS.validate(leaf.chain()));
        assertEquals(CertificateRejectedException.Reason.EXPIRED, e.reason());
        assertTrue(e.getMessage().contains("certificate 0 (CN=old"), e.getMessage());
        assertTrue(e.getMessage().contains("expired on"), e.getMessage());
    }

    @Test
    void otherCa_rejectedAsUnknownCa_listingTrusted() {
        TestPki.Held leaf = OTHER.leaf("CN=mallory").clientAuth().generate();
        var e = assertThrows(CertificateRejectedException.class, () -> CLIENTS.validate(leaf.chain()));
        assertEquals(CertificateRejectedException.Reason.UNKNOWN_CA, e.reason());
        assertTrue(e.getMessage().contains("CN=Root A"), e.getMessage());
    }

    @Test
    void serverEku_forClientAuth_rejectedAsBadUsage() throws Exception {
        TestPki.Held leaf = ROOT.leaf("CN=server").serverAuth().generate();
        var e = assertThrows(CertificateRejectedException.class, () -> CLIENTS.validate(leaf.chain()));
        assertEquals(CertificateRejectedException.Reason.BAD_USAGE, e.reason());
        assertTrue(e.getMessage().contains("lacks clientAuth"), e.getMessage());
        new ChainValidator(List.of(ROOT.certificate()), ChainValidator.Purpose.SERVER_AUTH).validate(leaf.chain());
    }

    @Test
    void pinnedEndEntityCertificate_isTrustedAsItself_butStillDatedAndUsageChecked() throws Exception {
        TestPki.Held pinned = ROOT.leaf("CN=pinned").serverAuth().generate();
        new ChainValidator(List.of(pinned.certificate()), ChainValidator.Purpose.SERVER_AUTH)
                .validate(List.of(pinned.certificate()));
        var wrongPurpose = assertThrows(CertificateRejectedException.class,
                () -> new ChainValidator(List.of(pinned.certificate()), ChainValidator.Purpose.CLIENT_AUTH)
                        .validate(List.of(pinned.certificate())));
        assertEquals(CertificateRejectedException.Reason.BAD_USAGE, wrongPurpose.reason());
        TestPki.Held old = ROOT.leaf("CN=old-pinned").serverAuth().expired().generate();
        var expired = assertThrows(CertificateRejectedException.class,
                () -> new ChainValidator(List.of(old.certificate()), ChainValidator.Purpose.SERVER_AUTH)
                        .validate(List.of(old.certificate())));
        assertEquals(CertificateRejectedException.Reason.EXPIRED, expired.reason());
    }

    @Test
    void caCertificatePresentedAsLeaf_rejected() {
        var e = assertThrows(CertificateRejectedException.class, () -> CLIENTS.validate(List.of(ROOT.certificate())));
        assertEquals(CertificateRejectedException.Reason.BAD_USAGE, e.reason());
        assertTrue(e.getMessage().contains("is a CA certificate and itself a trust anchor"), e.getMessage());
    }

    @Test
    void emptyChain_rejected() {
        var e = assertThrows(CertificateRejectedException.class, () -> CLIENTS.validate(List.of()));
        assertEquals(CertificateRejectedException.Reason.EMPTY, e.reason());
    }

    @Test
    void leafSignedByNonCa_rejected() {
        TestPki.Held notCa = ROOT.leaf("CN=leafy").clientAuth().generate();
        TestPki.Ca fake = new TestPki.Ca(notCa);
        TestPki.Held leaf = fake.leaf("CN=child").clientAuth().generate();
        List<java.security.cert.X509Certificate> chain = List.of(leaf.certificate(), notCa.certificate());
        var e = assertThrows(CertificateRejectedException.class, () -> CLIENTS.validate(chain));
        assertTrue(e.getMessage().contains("CN=leafy"), e.getMessage());
    }
}
