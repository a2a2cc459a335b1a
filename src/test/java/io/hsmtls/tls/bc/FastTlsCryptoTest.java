package io.hsmtls.tls.bc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmtls.testing.JcaTokenKey;
import io.hsmtls.testing.TestPki;
import io.hsmtls.tls.Profile;
import io.hsmtls.tls.ServerCredentials;
import io.hsmtls.tls.ServerSettings;
import io.hsmtls.tls.TlsVersion;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.bouncycastle.tls.AlertDescription;
import org.bouncycastle.tls.NamedGroup;
import org.bouncycastle.tls.ProtocolVersion;
import org.bouncycastle.tls.TlsFatalAlert;
import org.bouncycastle.tls.crypto.TlsAgreement;
import org.bouncycastle.tls.crypto.TlsECConfig;
import org.bouncycastle.tls.crypto.TlsSecret;
import org.bouncycastle.tls.crypto.impl.jcajce.JcaTlsCrypto;
import org.bouncycastle.tls.crypto.impl.jcajce.JcaTlsCryptoProvider;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link FastTlsCrypto}'s key exchange agrees with the JDK's: our server against a client on
 * stock {@code JcaTlsCrypto} (JDK X25519/ECDH), and the other way round, for every group and
 * version, with application data both ways; bad peer key shares get the alerts RFC 8446 names.
 * X25519 is checked for both implementations, OpenSSL's and Bouncy Castle's.
 */
class FastTlsCryptoTest {
    static ServerSettings settings;

    @BeforeAll
    static void key() {
        TestPki.Ca ca = TestPki.ca("CN=Fast Root");
        KeyPair kp = TestPki.ecKeyPair();
        X509Certificate cert = ca.leaf("CN=localhost").publicKey(kp.getPublic()).serverAuth().sign();
        settings = ServerSettings.of(ServerCredentials.checked(new JcaTokenKey(kp, cert), List.of(cert),
                Profile.COMPAT), Profile.COMPAT);
    }

    static JcaTlsCrypto stock() {
        return new JcaTlsCryptoProvider().create(new SecureRandom());
    }

    static Stream<Arguments> groupsAndVersions() {
        return Stream.of(NamedGroup.x25519, NamedGroup.secp256r1, NamedGroup.secp384r1).flatMap(g ->
                Stream.of(TlsVersion.TLS_1_3, TlsVersion.TLS_1_2).flatMap(v -> Stream.of(
                        Arguments.of(NamedGroup.getText(g) + " " + v.display() + " fast server, JDK client", g, v, true),
                        Arguments.of(NamedGroup.getText(g) + " " + v.display() + " JDK server, fast client", g, v, false))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("groupsAndVersions")
    void handshake_agreesWithJdkKeyExchange(String name, int group, TlsVersion version, boolean fastServer)
            throws Exception {
        JcaTlsCrypto server = fastServer ? FastTlsCrypto.create() : stock();
        JcaTlsCrypto client = fastServer ? stock() : FastTlsCrypto.create();
        var loop = new InMemoryHandshake(settings, server, client);
        for (int i = 0; i < 3; i++) {
            var out = loop.run(version, group, null);
            assertEquals(version == TlsVersion.TLS_1_3 ? ProtocolVersion.TLSv13 : ProtocolVersion.TLSv12, out.version());
            assertFalse(out.resumed());
        }
    }

    @Test
    void tls12Resumption_stillWorks() throws Exception {
        var loop = new InMemoryHandshake(settings, FastTlsCrypto.create(), stock());
        var first = loop.run(TlsVersion.TLS_1_2, NamedGroup.x25519, null);
        var again = loop.run(TlsVersion.TLS_1_2, NamedGroup.x25519, first.clientSession());
        assertTrue(again.resumed());
    }

    /** X25519 from OpenSSL's libcrypto (the default where it loads) and from Bouncy Castle's Java code. */
    static Stream<Arguments> x25519Implementations() {
        return Stream.of(Arguments.of("openssl", true), Arguments.of("bouncy castle", false));
    }

    @Test
    void x25519_comesFromOpenssl_inThisJvm() {
        // The tests below would pass on the fallback too; this one says the OpenSSL path is what ran.
        assertEquals(Optional.empty(), OpensslX25519.whyNot());
        assertTrue(FastTlsCrypto.x25519Implementation().startsWith("OpenSSL 3."), FastTlsCrypto.x25519Implementation());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("x25519Implementations")
    void x25519_rfc7748Vector_matchesJdk_andIsAJceSecret(String name, boolean openssl) throws Exception {
        // RFC 7748 §6.1: Bob's private key against Alice's public key; the expected secret comes
        // from the JDK's own X25519, an implementation independent of both.
        byte[] alicePub = HexFormat.of().parseHex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
        byte[] bobPriv = HexFormat.of().parseHex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
        byte[] bobPub = HexFormat.of().parseHex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
        FastTlsCrypto crypto = FastTlsCrypto.create(fixed(bobPriv), true, openssl);
        TlsAgreement a = crypto.createECDomain(new TlsECConfig(NamedGroup.x25519)).createECDH();
        assertArrayEquals(bobPub, a.generateEphemeral());
        a.receivePeerValue(alicePub);
        TlsSecret s = a.calculateSecret();
        assertInstanceOf(org.bouncycastle.tls.crypto.impl.jcajce.JceTlsSecret.class, s,
                "the shared secret must be a JCE secret so the key schedule stays on the JDK's HMAC");
        assertArrayEquals(jdkX25519(bobPriv, alicePub), s.extract());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("x25519Implementations")
    void x25519_randomKeys_agreeWithJdk_bothWays(String name, boolean openssl) throws Exception {
        FastTlsCrypto crypto = FastTlsCrypto.create(new SecureRandom(), true, openssl);
        JcaTlsCrypto jdk = stock();
        for (int i = 0; i < 50; i++) {
            TlsAgreement ours = crypto.createECDomain(new TlsECConfig(NamedGroup.x25519)).createECDH();
            TlsAgreement theirs = jdk.createECDomain(new TlsECConfig(NamedGroup.x25519)).createECDH();
            byte[] a = ours.generateEphemeral();
            byte[] b = theirs.generateEphemeral();
            assertFalse(Arrays.equals(a, b));
            ours.receivePeerValue(b);
            theirs.receivePeerValue(a);
            assertArrayEquals(theirs.calculateSecret().extract(), ours.calculateSecret().extract(), "round " + i);
        }
    }

    /** A "random" that hands out one fixed scalar, to drive the public API with a test vector. */
    static SecureRandom fixed(byte[] bytes) {
        return new SecureRandom() {
            @Override
            public void nextBytes(byte[] out) {
                System.arraycopy(bytes, 0, out, 0, out.length);
            }
        };
    }

    static byte[] jdkX25519(byte[] scalar, byte[] peerU) throws Exception {
        var kf = java.security.KeyFactory.getInstance("XDH");
        var spec = java.security.spec.NamedParameterSpec.X25519;
        var priv = kf.generatePrivate(new java.security.spec.XECPrivateKeySpec(spec, scalar));
        byte[] be = new byte[peerU.length];
        for (int i = 0; i < be.length; i++) {
            be[i] = peerU[peerU.length - 1 - i];
        }
        be[0] &= 0x7f;
        var pub = kf.generatePublic(new java.security.spec.XECPublicKeySpec(spec, new java.math.BigInteger(1, be)));
        var ka = javax.crypto.KeyAgreement.getInstance("XDH");
        ka.init(priv);
        ka.doPhase(pub, true);
        return ka.generateSecret();
    }

    @Test
    void opensslKeyPair_closedTwice_thenRefusesToAgree_insteadOfUsingFreedMemory() {
        OpensslX25519 x = OpensslX25519.instance().orElseThrow();
        byte[] peer;
        try (OpensslX25519.KeyPair other = x.generate(new SecureRandom())) {
            peer = other.publicKey();
        }
        OpensslX25519.KeyPair k = x.generate(new SecureRandom());
        k.close();
        k.close();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> k.agree(peer));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("x25519Implementations")
    void x25519_wrongLength_isIllegalParameter(String name, boolean openssl) throws Exception {
        TlsAgreement a = FastTlsCrypto.create(new SecureRandom(), true, openssl)
                .createECDomain(new TlsECConfig(NamedGroup.x25519)).createECDH();
        a.generateEphemeral();
        TlsFatalAlert e = assertThrows(TlsFatalAlert.class, () -> a.receivePeerValue(new byte[31]));
        assertEquals(AlertDescription.illegal_parameter, e.getAlertDescription());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("x25519Implementations")
    void x25519_smallOrderPoints_areHandshakeFailure(String name, boolean openssl) throws Exception {
        FastTlsCrypto crypto = FastTlsCrypto.create(new SecureRandom(), true, openssl);
        // u = 0, u = 1 and u = p - 1 = 2^255 - 20 are points of small order: every clamped scalar
        // (a multiple of 8) takes them to zero.
        byte[] pMinus1 = new byte[32];
        Arrays.fill(pMinus1, (byte) 0xff);
        pMinus1[0] = (byte) 0xec;
        pMinus1[31] = 0x7f;
        byte[] one = new byte[32];
        one[0] = 1;
        for (byte[] point : List.of(new byte[32], one, pMinus1)) {
            TlsAgreement a = crypto.createECDomain(new TlsECConfig(NamedGroup.x25519)).createECDH();
            a.generateEphemeral();
            a.receivePeerValue(point);
            TlsFatalAlert e = assertThrows(TlsFatalAlert.class, a::calculateSecret, HexFormat.of().formatHex(point));
            assertEquals(AlertDescription.handshake_failure, e.getAlertDescription());
        }
    }

    @Test
    void p256_pointNotOnCurve_isIllegalParameter() throws Exception {
        TlsAgreement a = FastTlsCrypto.create().createECDomain(new TlsECConfig(NamedGroup.secp256r1)).createECDH();
        byte[] mine = a.generateEphemeral();
        byte[] bad = mine.clone();
        bad[bad.length - 1] ^= 1; // y changed: off the curve
        TlsFatalAlert e = assertThrows(TlsFatalAlert.class, () -> a.receivePeerValue(bad));
        assertEquals(AlertDescription.illegal_parameter, e.getAlertDescription());
        TlsFatalAlert inf = assertThrows(TlsFatalAlert.class, () -> a.receivePeerValue(new byte[] {0}));
        assertEquals(AlertDescription.illegal_parameter, inf.getAlertDescription());
    }

    @Test
    void p256_bothSidesDeriveTheSameSecret_fullLength() throws Exception {
        FastTlsCrypto crypto = FastTlsCrypto.create();
        JcaTlsCrypto jdk = stock();
        for (int group : new int[] {NamedGroup.secp256r1, NamedGroup.secp384r1}) {
            TlsAgreement ours = crypto.createECDomain(new TlsECConfig(group)).createECDH();
            TlsAgreement theirs = jdk.createECDomain(new TlsECConfig(group)).createECDH();
            byte[] a = ours.generateEphemeral();
            byte[] b = theirs.generateEphemeral();
            ours.receivePeerValue(b);
            theirs.receivePeerValue(a);
            byte[] x = ours.calculateSecret().extract();
            byte[] y = theirs.calculateSecret().extract();
            assertEquals(group == NamedGroup.secp256r1 ? 32 : 48, x.length);
            assertArrayEquals(y, x);
        }
    }
}
