package io.hsmtls.proxy;

import io.hsmtls.testing.RsaKeyExchangeClient;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmtls.testing.SoftHsm;
import io.hsmtls.tls.ClientAuthMode;
import io.hsmtls.tls.CredentialsException;
import io.hsmtls.tls.Profile;
import io.hsmtls.tls.ServerCredentials;
import io.hsmtls.tls.TokenTimer;
import io.hsmtls.tls.bc.TokenRsaDecryptor;
import java.io.IOException;
import java.math.BigInteger;
import java.net.Socket;
import java.security.SecureRandom;
import java.security.interfaces.RSAPublicKey;
import java.util.List;
import java.util.function.UnaryOperator;
import org.bouncycastle.jcajce.util.DefaultJcaJceHelper;
import org.bouncycastle.tls.AlertDescription;
import org.bouncycastle.tls.CipherSuite;
import org.bouncycastle.tls.DefaultTlsClient;
import org.bouncycastle.tls.ProtocolVersion;
import org.bouncycastle.tls.ServerOnlyTlsAuthentication;
import org.bouncycastle.tls.TlsAuthentication;
import org.bouncycastle.tls.TlsClientProtocol;
import org.bouncycastle.tls.TlsFatalAlertReceived;
import org.bouncycastle.tls.TlsServerCertificate;
import org.bouncycastle.tls.crypto.TlsEncryptor;
import org.bouncycastle.tls.crypto.TlsSecret;
import org.bouncycastle.tls.crypto.impl.jcajce.JcaTlsCrypto;
import org.bouncycastle.tls.crypto.impl.jcajce.JceTlsSecret;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The legacy-rsa profile: TLS 1.2 RSA key exchange decrypted on the token, and no padding oracle —
 * malformed premasters end exactly like a well-formed wrong one (bad_record_mac after Finished).
 */
class LegacyRsaTest {
    @RegisterExtension
    static SoftHsm hsm = new SoftHsm();
    static ServeFixture f;
    static int port;

    @BeforeAll
    static void start() throws Exception {
        f = new ServeFixture(hsm);
        port = f.proxy(f.settings("rsa", Profile.LEGACY_RSA, ClientAuthMode.NONE));
    }

    @AfterAll
    static void stop() {
        if (f != null) {
            f.close();
        }
    }

    @Test
    void opensslRsaKeyExchange_aes128Gcm_decryptedOnToken() {
        long decrypts = f.token.stats().decrypts();
        SoftHsm.Result r = SoftHsm.exec(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + port, "-tls1_2",
                "-cipher", "AES128-GCM-SHA256", "-CAfile", f.caPem.toString(), "-verify_return_error", "-ign_eof"),
                "GET / HTTP/1.0\r\n\r\n");
        assertTrue(r.output().contains("New, TLSv1.2, Cipher is AES128-GCM-SHA256"), r.output());
        assertTrue(r.output().contains(ServeFixture.BODY.trim()), r.output());
        assertEquals(decrypts + 1, f.token.stats().decrypts(), "one token decrypt for the premaster");
    }

    @Test
    void compatProfile_doesNotOfferRsaKeyExchange() throws Exception {
        int compat = f.proxy(f.settings("rsa", Profile.COMPAT, ClientAuthMode.NONE));
        SoftHsm.Result r = SoftHsm.exec(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + compat, "-tls1_2",
                "-cipher", "AES128-GCM-SHA256", "-CAfile", f.caPem.toString()), "");
        assertFalse(r.output().contains("Cipher is AES128-GCM-SHA256"), r.output());
        assertTrue(r.output().contains("handshake failure"), r.output());
    }

    @Test
    void legacyRsa_withEcKey_refusedAtStartup() {
        var e = assertThrows(CredentialsException.class,
                () -> ServerCredentials.checked(f.ecKey, List.of(f.ecCert), Profile.LEGACY_RSA));
        assertTrue(e.getMessage().contains("needs an RSA key"), e.getMessage());
    }

    // ---- the padding oracle ------------------------------------------------------------

    static byte[] block(int k, int[] version, int mLen, boolean zeroInPadding, int first, int second) {
        SecureRandom r = new SecureRandom();
        byte[] em = new byte[k];
        em[0] = (byte) first;
        em[1] = (byte) second;
        int sep = k - mLen - 1;
        for (int i = 2; i < sep; i++) {
            em[i] = (byte) (1 + r.nextInt(255));
        }
        if (zeroInPadding) {
            em[5] = 0;
        }
        em[sep] = 0;
        byte[] m = new byte[mLen];
        r.nextBytes(m);
        m[0] = (byte) version[0];
        m[1] = (byte) version[1];
        System.arraycopy(m, 0, em, sep + 1, mLen);
        return em;
    }

    static byte[] rawRsa(RSAPublicKey pub, byte[] em) {
        BigInteger c = new BigInteger(1, em).modPow(pub.getPublicExponent(), pub.getModulus());
        byte[] out = c.toByteArray();
        int k = (pub.getModulus().bitLength() + 7) / 8;
        byte[] fixed = new byte[k];
        System.arraycopy(out, Math.max(0, out.length - k), fixed, Math.max(0, k - out.length), Math.min(k, out.length));
        return fixed;
    }

    /** Kinds of encrypted premaster a hostile client can send. */
    static UnaryOperator<byte[]> variant(String kind, RSAPublicKey pub) {
        int k = (pub.getModulus().bitLength() + 7) / 8;
        int[] v = {3, 3};
        return premaster -> switch (kind) {
            // decrypts fine, but to a different premaster than the client keys with
            case "wellformed-wrong" -> rawRsa(pub, block(k, v, 48, false, 0, 2));
            case "bad-type" -> rawRsa(pub, block(k, v, 48, false, 0, 1));
            case "bad-first-byte" -> rawRsa(pub, block(k, v, 48, false, 1, 2));
            case "zero-in-padding" -> rawRsa(pub, block(k, v, 48, true, 0, 2));
            case "short-premaster" -> rawRsa(pub, block(k, v, 47, false, 0, 2));
            case "long-premaster" -> rawRsa(pub, block(k, v, 49, false, 0, 2));
            case "wrong-version" -> rawRsa(pub, block(k, new int[] {3, 1}, 48, false, 0, 2));
            case "truncated-ciphertext" -> java.util.Arrays.copyOf(rawRsa(pub, block(k, v, 48, false, 0, 2)), k - 1);
            case "ciphertext-too-long" -> new byte[k + 1];
            case "all-ones" -> {
                byte[] b = new byte[k];
                java.util.Arrays.fill(b, (byte) 0xff);
                yield b;
            }
            default -> throw new IllegalArgumentException(kind);
        };
    }

    /** A BC TLS 1.2 client whose ClientKeyExchange carries {@code kind} instead of a proper encrypted premaster. */
    static Throwable hostileHandshake(String kind) throws IOException {
        RSAPublicKey pub = (RSAPublicKey) f.rsaKey.info().publicKey();
        JcaTlsCrypto crypto = new JcaTlsCrypto(new DefaultJcaJceHelper(), new SecureRandom(), new SecureRandom()) {
            @Override
            public TlsSecret generateRSAPreMasterSecret(ProtocolVersion version) {
                byte[] pm = new byte[48];
                getSecureRandom().nextBytes(pm);
                pm[0] = 3;
                pm[1] = 3;
                return new JceTlsSecret(this, pm) {
                    @Override
                    public synchronized byte[] encrypt(TlsEncryptor encryptor) throws IOException {
                        if (kind.equals("proper")) {
                            return super.encrypt(encryptor);
                        }
                        return variant(kind, pub).apply(pm);
                    }
                };
            }
        };
        DefaultTlsClient client = RsaKeyExchangeClient.of(crypto);
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            TlsClientProtocol p = new TlsClientProtocol(s.getInputStream(), s.getOutputStream());
            p.connect(client);
            return null;
        } catch (IOException e) {
            return e;
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"wellformed-wrong", "bad-type", "bad-first-byte", "zero-in-padding", "short-premaster",
        "long-premaster", "wrong-version", "truncated-ciphertext", "ciphertext-too-long", "all-ones"})
    void rsaKeyExchange_badPremaster_sameAlertAsWellFormedWrong_noOracle(String kind) throws Exception {
        int before = f.quiesce();
        Throwable t = hostileHandshake(kind);
        assertTrue(t instanceof TlsFatalAlertReceived, kind + ": " + t);
        assertEquals(AlertDescription.bad_record_mac, ((TlsFatalAlertReceived) t).getAlertDescription(),
                kind + ": only after Finished, and the same for every kind");
        ConnectionRecord rec = ServeMatrixTest.awaitRecordIn(f, before);
        assertTrue(rec.outcome().startsWith("handshake failed: bad_record_mac sent"), kind + ": " + rec.line());
        assertTrue(f.token.stats().up(), kind + ": hostile input must not take the token down");
        assertEquals(null, hostileHandshake("proper"), kind + ": the next honest client still gets through");
    }

    @Test
    void bcClient_properPremaster_handshakeSucceeds() throws Exception {
        assertEquals(null, hostileHandshake("proper"));
    }

    @Test
    void decryptor_goodBlock_returnsPremaster_badBlocks_returnRandomWithoutThrowing() {
        RSAPublicKey pub = (RSAPublicKey) f.rsaKey.info().publicKey();
        int k = (pub.getModulus().bitLength() + 7) / 8;
        TokenRsaDecryptor d = new TokenRsaDecryptor(f.rsaKey, null,
                new org.bouncycastle.tls.crypto.impl.jcajce.JcaTlsCryptoProvider().create(new SecureRandom()), new TokenTimer());
        byte[] em = block(k, new int[] {3, 3}, 48, false, 0, 2);
        byte[] expected = java.util.Arrays.copyOfRange(em, k - 48, k);
        assertArrayEquals(expected, d.premaster(rawRsa(pub, em), 3, 3));
        for (String kind : List.of("bad-type", "zero-in-padding", "short-premaster", "wrong-version",
                "ciphertext-too-long", "all-ones")) {
            byte[] c = variant(kind, pub).apply(null);
            byte[] a = d.premaster(c, 3, 3);
            byte[] b = d.premaster(c, 3, 3);
            assertEquals(48, a.length, kind);
            assertFalse(java.util.Arrays.equals(a, b), kind + ": a fresh random premaster each time");
            // A token error on the bad input must not poison the next decryption on that session.
            byte[] em2 = block(k, new int[] {3, 3}, 48, false, 0, 2);
            assertArrayEquals(java.util.Arrays.copyOfRange(em2, k - 48, k), d.premaster(rawRsa(pub, em2), 3, 3),
                    "good premaster after " + kind);
        }
    }
}
