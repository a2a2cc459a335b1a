package io.hsmtls.embed;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.hsmtls.testing.SoftHsm;
import io.hsmtls.testing.TestPki;
import io.hsmtls.tls.HandshakeFailedException;
import io.hsmtls.tls.HandshakeInfo;
import io.hsmtls.tls.Profile;
import io.hsmtls.tls.ServerCredentials;
import io.hsmtls.tls.ServerHandshaker;
import io.hsmtls.tls.ServerSettings;
import io.hsmtls.tls.TlsConnection;
import io.hsmtls.tls.bc.BcServerHandshaker;
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
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The README's "Embedding" example, verbatim in {@link #serveOne}, run against a SunJSSE client. */
class EmbeddingExampleTest {
    @RegisterExtension
    static SoftHsm hsm = new SoftHsm();

    /** README: Embedding the engine. */
    static HandshakeInfo serveOne(String keyUri, ServerSocket listener) throws IOException, HandshakeFailedException {
        Pkcs11Uri uri = Pkcs11Uri.parse(keyUri);                 // pin-source=file:… in the URI
        try (Token token = IaikTokens.open(TokenOptions.of(uri, null))) {
            TokenKey key = token.key(uri);                       // the private key stays on the token
            ServerCredentials credentials = ServerCredentials.checked(key,
                    List.of(key.certificate().orElseThrow()), Profile.COMPAT);
            ServerHandshaker tls = new BcServerHandshaker(ServerSettings.of(credentials, Profile.COMPAT));
            try (Socket socket = listener.accept(); TlsConnection connection = tls.handshake(socket)) {
                connection.out().write("hello from the token\n".getBytes(StandardCharsets.UTF_8));
                connection.out().flush();
                return connection.info();                        // version, suite, SNI, token time, …
            }
        }
    }

    @Test
    void readmeExample_servesOneTlsConnection_withTheTokenKey() throws Exception {
        X509Certificate cert;
        try (Token t = IaikTokens.open(TokenOptions.of(Pkcs11Uri.parse(hsm.tokenUri()), null).withReadWrite(true))) {
            TokenKey k = t.generateKeyPair(KeyType.EC_P256, "embedded", Optional.empty(), false);
            cert = TestPki.ca("CN=Embed Root").leaf("CN=localhost").publicKey(k.info().publicKey()).serverAuth().sign();
            t.storeCertificate(k, cert, false);
        }
        try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CompletableFuture<HandshakeInfo> server = CompletableFuture.supplyAsync(() -> {
                try {
                    return serveOne(hsm.keyUri("embedded"), listener);
                } catch (IOException | HandshakeFailedException e) {
                    throw new RuntimeException(e);
                }
            });
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            trust.setCertificateEntry("leaf", cert);
            TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
            tmf.init(trust);
            SSLContext ctx = SSLContext.getInstance("TLSv1.3");
            ctx.init(null, tmf.getTrustManagers(), null);
            String line;
            try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", listener.getLocalPort())) {
                s.setSoTimeout(20_000);
                line = new String(s.getInputStream().readNBytes(21), StandardCharsets.UTF_8);
            }
            HandshakeInfo info = server.get(30, TimeUnit.SECONDS);
            assertEquals("hello from the token\n", line);
            assertEquals(io.hsmtls.tls.TlsVersion.TLS_1_3, info.version(), info.toString());
            assertEquals(1, info.tokenOps(), info.toString());
        }
    }
}
