package io.hsmtls.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmtls.testing.JcaTokenKey;
import io.hsmtls.testing.TestPki;
import io.hsmtls.token.SignatureScheme;
import java.security.KeyPair;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Startup checks of key + certificate against a profile; each failure names what is missing. */
class ServerCredentialsTest {
    static final TestPki.Ca CA = TestPki.ca("CN=Creds Root");

    @Test
    void rsaKeyWithoutPss_modernProfile_refusedNamingPss_compatAccepted() {
        KeyPair kp = TestPki.rsaKeyPair();
        var cert = CA.leaf("CN=localhost").publicKey(kp.getPublic()).serverAuth().sign();
        JcaTokenKey pkcs1Only = new JcaTokenKey(kp, cert) {
            @Override
            public Set<SignatureScheme> signatureSchemes() {
                return EnumSet.of(SignatureScheme.RSA_PKCS1_SHA256);
            }
        };
        var e = assertThrows(CredentialsException.class, () -> ServerCredentials.checked(pkcs1Only, List.of(cert), Profile.MODERN));
        assertEquals(1, e.problems().size(), e.getMessage());
        assertTrue(e.getMessage().contains("TLSv1.3") && e.getMessage().contains("CKM_RSA_PKCS_PSS"), e.getMessage());
        var compat = assertThrows(CredentialsException.class,
                () -> ServerCredentials.checked(pkcs1Only, List.of(cert), Profile.COMPAT));
        assertTrue(compat.getMessage().contains("TLSv1.3"), "compat offers 1.3 too: " + compat.getMessage());
    }

    @Test
    void certificateForAnotherKey_andEmptyChain_refused() {
        KeyPair kp = TestPki.ecKeyPair();
        var other = CA.leaf("CN=localhost").serverAuth().generate();
        JcaTokenKey key = new JcaTokenKey(kp, null);
        var e = assertThrows(CredentialsException.class,
                () -> ServerCredentials.checked(key, List.of(other.certificate()), Profile.COMPAT));
        assertTrue(e.getMessage().contains("different public key"), e.getMessage());
        var none = assertThrows(CredentialsException.class, () -> ServerCredentials.checked(key, List.of(), Profile.COMPAT));
        assertTrue(none.getMessage().contains("give --cert"), none.getMessage());
    }

    @Test
    void profiles_describeWhatTheyOffer() {
        assertTrue(Profile.MODERN.describe().contains("versions: TLSv1.3\n"));
        assertEquals(List.of(CipherSuite.TLS_AES_128_GCM_SHA256, CipherSuite.TLS_AES_256_GCM_SHA384,
                CipherSuite.TLS_CHACHA20_POLY1305_SHA256), Profile.MODERN.suites(io.hsmtls.token.KeyAlgorithm.RSA));
        assertTrue(Profile.LEGACY_RSA.suites(io.hsmtls.token.KeyAlgorithm.RSA).contains(CipherSuite.TLS_RSA_WITH_AES_256_GCM_SHA384));
        assertTrue(!Profile.COMPAT.suites(io.hsmtls.token.KeyAlgorithm.RSA).contains(CipherSuite.TLS_RSA_WITH_AES_128_GCM_SHA256));
        assertTrue(!Profile.LEGACY_RSA.suites(io.hsmtls.token.KeyAlgorithm.EC).contains(CipherSuite.TLS_RSA_WITH_AES_128_GCM_SHA256));
    }
}
