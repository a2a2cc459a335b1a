package io.hsmtls.tls.bc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmtls.testing.JcaTokenKey;
import io.hsmtls.testing.TestPki;
import io.hsmtls.tls.Profile;
import io.hsmtls.tls.ServerCredentials;
import io.hsmtls.tls.ServerSettings;
import io.hsmtls.tls.TlsConnection;
import java.io.DataInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.crypto.Cipher;
import javax.net.ssl.SSLSocket;
import org.bouncycastle.tls.EncryptionAlgorithm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ChaCha20-Poly1305 records on the JDK's AEAD: the RFC 8439 vector, then real handshakes with
 * JSSE (TLS 1.3 and 1.2) and openssl (TLS 1.3) that can only agree on a ChaCha20 suite, with data
 * over several records both ways. Before, the server's crypto reported the algorithm missing and
 * such a client got handshake_failure.
 */
class ChaCha20Poly1305Test {
    private static final HexFormat HEX = HexFormat.of();

    @Test
    void rfc8439AeadVectorSealsAndAWrongTagIsRefused() throws Exception {
        byte[] key = HEX.parseHex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
        byte[] nonce = HEX.parseHex("070000004041424344454647");
        byte[] aad = HEX.parseHex("50515253c0c1c2c3c4c5c6c7");
        byte[] plain = ("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future,"
                + " sunscreen would be it.").getBytes(StandardCharsets.US_ASCII);
        var seal = new JdkChaCha20Poly1305Cipher(Cipher.getInstance("ChaCha20-Poly1305"), true);
        seal.setKey(key, 0, key.length);
        seal.init(nonce, 16);
        byte[] sealed = new byte[seal.getOutputSize(plain.length)];
        assertEquals(plain.length + 16, seal.doFinal(aad, plain, 0, plain.length, sealed, 0));
        assertEquals("d31a8d34648e60db7b86afbc53ef7ec2", HEX.formatHex(sealed, 0, 16), "RFC 8439 §2.8.2 ciphertext");
        assertEquals("1ae10b594f09e26a7e902ecbd0600691", HEX.formatHex(sealed, plain.length, sealed.length), "tag");

        var open = new JdkChaCha20Poly1305Cipher(Cipher.getInstance("ChaCha20-Poly1305"), false);
        open.setKey(key, 0, key.length);
        open.init(nonce, 16);
        byte[] inPlace = sealed.clone();
        assertEquals(plain.length, open.doFinal(aad, inPlace, 0, inPlace.length, inPlace, 0));
        assertArrayEquals(plain, java.util.Arrays.copyOf(inPlace, plain.length), "opened in place");

        sealed[sealed.length - 1] ^= 1;
        open.init(nonce, 16);
        assertThrows(IllegalStateException.class, () -> open.doFinal(aad, sealed, 0, sealed.length, new byte[plain.length], 0));
    }

    @Test
    void theServerCryptoOffersChaCha20() {
        assertTrue(FastTlsCrypto.create().hasEncryptionAlgorithm(EncryptionAlgorithm.CHACHA20_POLY1305));
    }

    private static final class Server implements AutoCloseable {
        final ServerSocket ss;
        final CompletableFuture<String> result;

        Server(BcServerHandshaker hs, int bytes) throws Exception {
            ss = new ServerSocket(0, 10, InetAddress.getLoopbackAddress());
            result = CompletableFuture.supplyAsync(() -> {
                try (Socket s = ss.accept(); TlsConnection c = hs.handshake(s)) {
                    // Echo `bytes` bytes back, then report the suite.
                    byte[] buf = new byte[bytes];
                    new DataInputStream(c.in()).readFully(buf);
                    c.out().write(buf);
                    c.out().flush();
                    return c.info().cipherSuite();
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
        }

        int port() {
            return ss.getLocalPort();
        }

        @Override
        public void close() throws Exception {
            ss.close();
        }
    }

    private static BcServerHandshaker server(TestPki.Ca ca) {
        KeyPair kp = TestPki.ecKeyPair();
        X509Certificate cert = ca.leaf("CN=localhost").dns("localhost").publicKey(kp.getPublic()).serverAuth().sign();
        var creds = ServerCredentials.checked(new JcaTokenKey(kp, cert), List.of(cert), Profile.COMPAT);
        return new BcServerHandshaker(ServerSettings.of(creds, Profile.COMPAT));
    }

    @Test
    void jsseClientsThatOfferOnlyChaCha20GetItOverTls13And12() throws Exception {
        TestPki.Ca ca = TestPki.ca("CN=ChaCha Root");
        BcServerHandshaker hs = server(ca);
        byte[] data = new byte[100_000];
        new Random(7).nextBytes(data);
        for (String[] v : new String[][] {{"TLSv1.3", "TLS_CHACHA20_POLY1305_SHA256"},
                {"TLSv1.2", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"}}) {
            try (Server srv = new Server(hs, data.length);
                 SSLSocket s = (SSLSocket) ca.trustingClient("TLS").getSocketFactory().createSocket("localhost", srv.port())) {
                s.setSoTimeout(20_000);
                s.setEnabledProtocols(new String[] {v[0]});
                s.setEnabledCipherSuites(new String[] {v[1]});
                OutputStream out = s.getOutputStream();
                out.write(data);
                out.flush();
                byte[] back = new byte[data.length];
                new DataInputStream(s.getInputStream()).readFully(back);
                assertArrayEquals(data, back, v[1] + ": 100,000 bytes over several records each way");
                assertEquals(v[1], s.getSession().getCipherSuite());
                assertEquals(v[1], srv.result.get(20, TimeUnit.SECONDS), "the server's record of the suite");
            }
        }
    }

    @Test
    void opensslAgreesOnChaCha20OverTls13(@TempDir Path dir) throws Exception {
        TestPki.Ca ca = TestPki.ca("CN=ChaCha Root");
        Path caFile = TestPki.writePem(dir.resolve("ca.pem"), List.of(ca.certificate()));
        BcServerHandshaker hs = server(ca);
        String line = "hello over chacha\n";
        try (Server srv = new Server(hs, line.length())) {
            Process p = new ProcessBuilder("openssl", "s_client", "-connect", "127.0.0.1:" + srv.port(), "-tls1_3",
                    "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256", "-CAfile", caFile.toString(),
                    "-verify_return_error", "-servername", "localhost", "-ign_eof")
                    .redirectErrorStream(true).start();
            p.getOutputStream().write(line.getBytes(StandardCharsets.US_ASCII));
            p.getOutputStream().close();
            assertTrue(p.waitFor(20, TimeUnit.SECONDS), "openssl s_client ended");
            String out;
            try (InputStream in = p.getInputStream()) {
                out = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
            assertTrue(out.contains("TLS_CHACHA20_POLY1305_SHA256"), out);
            assertTrue(out.contains("Verify return code: 0 (ok)"), out);
            assertTrue(out.contains("hello over chacha"), "the echo came back through ChaCha20 records: " + out);
            assertEquals("TLS_CHACHA20_POLY1305_SHA256", srv.result.get(20, TimeUnit.SECONDS));
        }
    }
}
