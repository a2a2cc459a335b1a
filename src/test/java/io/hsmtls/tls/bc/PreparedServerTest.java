package io.hsmtls.tls.bc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmtls.testing.JcaTokenKey;
import io.hsmtls.testing.TestPki;
import io.hsmtls.tls.CipherSuite;
import io.hsmtls.tls.Profile;
import io.hsmtls.tls.ServerCredentials;
import io.hsmtls.tls.ServerSettings;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Map;
import org.bouncycastle.tls.Certificate;
import org.junit.jupiter.api.Test;

class PreparedServerTest {
    private static ServerCredentials credentials(TestPki.Ca ca, String cn) {
        KeyPair kp = TestPki.ecKeyPair();
        X509Certificate leaf = ca.leaf(cn).publicKey(kp.getPublic()).serverAuth().sign();
        return ServerCredentials.checked(new JcaTokenKey(kp, leaf), List.of(leaf, ca.certificate()), Profile.COMPAT);
    }

    @Test
    void certificateMessagesAreBuiltOnceInBothShapesForEveryCredentials() throws Exception {
        TestPki.Ca ca = TestPki.ca("CN=Prepared Root");
        ServerCredentials main = credentials(ca, "CN=main");
        ServerCredentials other = credentials(ca, "CN=other");
        ServerSettings settings = ServerSettings.of(main, Profile.COMPAT).withSni(Map.of("other.example", other), false);
        PreparedServer p = new PreparedServer(FastTlsCrypto.create(), settings);

        Certificate v13 = p.certificate(main, true);
        assertSame(v13, p.certificate(main, true), "shared between handshakes, not rebuilt");
        assertEquals(0, v13.getCertificateRequestContext().length);
        Certificate v12 = p.certificate(main, false);
        assertEquals(null, v12.getCertificateRequestContext());
        assertEquals(2, v12.getLength());
        assertArrayEquals(main.leaf().getEncoded(), v12.getCertificateAt(0).getEncoded());
        assertArrayEquals(other.leaf().getEncoded(), p.certificate(other, true).getCertificateAt(0).getEncoded());
    }

    @Test
    void suitesFollowTheProfileAndCredentialsOutsideTheListenerAreRefusedByName() {
        TestPki.Ca ca = TestPki.ca("CN=Prepared Root");
        ServerCredentials main = credentials(ca, "CN=main");
        PreparedServer p = new PreparedServer(FastTlsCrypto.create(), ServerSettings.of(main, Profile.COMPAT));
        int[] suites = p.suites();
        assertTrue(suites.length > 0);
        for (int s : suites) {
            assertTrue(Profile.COMPAT.suites(main.algorithm()).contains(CipherSuite.ofCode(s).orElseThrow()),
                    CipherSuite.nameOf(s));
        }
        suites[0] = -1; // a caller's copy: the next handshake still gets the real list
        assertTrue(p.suites()[0] != -1);
        ServerCredentials stranger = credentials(ca, "CN=stranger");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> p.certificate(stranger, true));
        assertTrue(e.getMessage().contains(stranger.key().uri().toString()), e.getMessage());
    }
}
