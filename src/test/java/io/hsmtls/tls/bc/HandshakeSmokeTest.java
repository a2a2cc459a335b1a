package io.hsmtls.tls.bc;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.hsmtls.testing.JcaTokenKey;
import io.hsmtls.testing.TestPki;
import io.hsmtls.tls.Profile;
import io.hsmtls.tls.ServerCredentials;
import io.hsmtls.tls.ServerSettings;
import io.hsmtls.tls.TlsConnection;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.security.KeyPair;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;

/** Logic check of the BC server over a JVM key (no token): JSSE client, echo one line. */
class HandshakeSmokeTest {
    @Test
    void jcaKey_tls13And12_handshakeAndEcho() throws Exception {
        TestPki.Ca ca = TestPki.ca("CN=Smoke Root");
        for (boolean rsa : new boolean[] {false, true}) {
            KeyPair kp = rsa ? TestPki.rsaKeyPair() : TestPki.ecKeyPair();
            var cert = ca.leaf("CN=localhost").publicKey(kp.getPublic()).serverAuth().sign();
            JcaTokenKey key = new JcaTokenKey(kp, cert);
            var settings = ServerSettings.of(ServerCredentials.checked(key, List.of(cert), Profile.COMPAT), Profile.COMPAT);
            var hs = new BcServerHandshaker(settings);
            for (String proto : new String[] {"TLSv1.3", "TLSv1.2"}) {
                try (ServerSocket ss = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
                    CompletableFuture<String> srv = CompletableFuture.supplyAsync(() -> {
                        try (Socket s = ss.accept(); TlsConnection c = hs.handshake(s)) {
                            int b = c.in().read();
                            c.out().write(b);
                            c.out().flush();
                            return c.info().version() + " " + c.info().cipherSuite();
                        } catch (Exception e) {
                            throw new RuntimeException(e);
                        }
                    });
                    SSLContext ctx = ca.trustingClient("TLS");
                    try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("localhost", ss.getLocalPort())) {
                        s.setEnabledProtocols(new String[] {proto});
                        s.getOutputStream().write(42);
                        s.getOutputStream().flush();
                        assertEquals(42, s.getInputStream().read());
                        assertEquals(proto, s.getSession().getProtocol());
                    }
                    System.out.println((rsa ? "RSA " : "EC ") + srv.get());
                }
            }
        }
    }
}
