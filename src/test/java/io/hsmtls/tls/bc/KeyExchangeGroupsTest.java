package io.hsmtls.tls.bc;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmtls.testing.SoftHsm;
import io.hsmtls.testing.TestPki;
import io.hsmtls.tls.Profile;
import io.hsmtls.tls.ServerCredentials;
import io.hsmtls.tls.ServerSettings;
import io.hsmtls.tls.TlsConnection;
import io.hsmtls.token.KeyType;
import io.hsmtls.token.Pkcs11Uri;
import io.hsmtls.token.Token;
import io.hsmtls.token.TokenKey;
import io.hsmtls.token.TokenOptions;
import io.hsmtls.token.iaik.IaikTokens;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The server's key exchange ({@link FastTlsCrypto}, Bouncy Castle's curve code) against OpenSSL's
 * for every group we offer, in TLS 1.3 and 1.2, with the signature from a SoftHSM key: openssl
 * s_client offers one group, must agree on it, verify our chain and get its line echoed back.
 */
class KeyExchangeGroupsTest {
    @RegisterExtension
    static SoftHsm hsm = new SoftHsm();
    static Token token;
    static ServerSocket listener;
    static Thread acceptor;
    static Path caPem;

    @BeforeAll
    static void start() throws IOException {
        token = IaikTokens.open(TokenOptions.of(Pkcs11Uri.parse(hsm.tokenUri()), null).withReadWrite(true));
        TokenKey key = token.generateKeyPair(KeyType.EC_P256, "kx-ec", Optional.empty(), false);
        TestPki.Ca ca = TestPki.ca("CN=KX Root");
        X509Certificate cert = ca.leaf("CN=localhost").publicKey(key.info().publicKey()).serverAuth().sign();
        caPem = TestPki.writePem(hsm.workDir().resolve("kx-ca.pem"), List.of(ca.certificate()));
        var handshaker = new BcServerHandshaker(ServerSettings.of(
                ServerCredentials.checked(key, List.of(cert), Profile.COMPAT), Profile.COMPAT));
        listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        acceptor = Thread.ofVirtual().start(() -> {
            while (!listener.isClosed()) {
                try {
                    Socket s = listener.accept();
                    Thread.ofVirtual().start(() -> echoLine(handshaker, s));
                } catch (IOException e) {
                    return;
                }
            }
        });
    }

    private static void echoLine(BcServerHandshaker handshaker, Socket s) {
        try (TlsConnection c = handshaker.handshake(s)) {
            var in = c.in();
            var out = c.out();
            int b;
            while ((b = in.read()) >= 0) {
                out.write(b);
                if (b == '\n') {
                    out.flush();
                    break;
                }
            }
        } catch (Exception ignored) {
            // the client's assertions say what went wrong
        }
    }

    @AfterAll
    static void stop() throws IOException {
        if (listener != null) {
            listener.close();
        }
        if (token != null) {
            token.close();
        }
    }

    static Stream<Arguments> groups() {
        // openssl's -groups name, and how s_client reports the agreed key
        return Stream.of(Arguments.of("X25519", "X25519"), Arguments.of("P-256", "ECDH, prime256v1"),
                        Arguments.of("P-384", "ECDH, secp384r1"))
                .flatMap(a -> Stream.of("1.3", "1.2").map(v -> Arguments.of(a.get()[0] + " TLSv" + v,
                        a.get()[0], a.get()[1], v)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("groups")
    void opensslSClient_agreesOnGroup(String name, String group, String reported, String v) {
        // In TLS 1.2 OpenSSL insists that the certificate's curve (P-256) is among the groups it
        // offers, so it comes second there; the server takes the client's first choice.
        String offered = v.equals("1.2") && !group.equals("P-256") ? group + ":P-256" : group;
        SoftHsm.Result r = SoftHsm.exec(List.of("openssl", "s_client", "-connect",
                "127.0.0.1:" + listener.getLocalPort(), "-servername", "localhost", "-groups", offered,
                v.equals("1.3") ? "-tls1_3" : "-tls1_2", "-CAfile", caPem.toString(), "-verify_return_error",
                "-ign_eof"), "ping-" + group + "\n");
        String out = r.output();
        assertTrue(out.contains("New, TLSv" + v + ", Cipher is "), name + ": protocol\n" + out);
        assertTrue(out.contains("Server Temp Key: " + reported), name + ": key exchange group\n" + out);
        assertTrue(out.contains("Verify return code: 0 (ok)"), name + ": chain\n" + out);
        assertTrue(out.contains("ping-" + group), name + ": echoed line (both ends derived the same keys)\n" + out);
    }
}
