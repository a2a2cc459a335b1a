package io.hsmtls.tls.bc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmtls.proxy.ConnectionRecord;
import io.hsmtls.proxy.ProxyLimits;
import io.hsmtls.proxy.ProxyServer;
import io.hsmtls.testing.JcaTokenKey;
import io.hsmtls.testing.TestPki;
import io.hsmtls.tls.Profile;
import io.hsmtls.tls.ServerCredentials;
import io.hsmtls.tls.ServerSettings;
import io.hsmtls.token.SignatureScheme;
import io.hsmtls.token.TokenUnavailableException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.KeyPair;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;

/**
 * Logic check with a token double (the outage itself is proven on p11-kit in the reliability
 * work): a token that refuses (queue full) fails the handshake at once with internal_error, and
 * the log says why.
 */
class TokenUnavailableTest {
    @Test
    void tokenQueueFull_handshakeFailsFastWithInternalError() throws Exception {
        TestPki.Ca ca = TestPki.ca("CN=Unavailable Root");
        KeyPair kp = TestPki.ecKeyPair();
        var cert = ca.leaf("CN=localhost").publicKey(kp.getPublic()).serverAuth().sign();
        JcaTokenKey busy = new JcaTokenKey(kp, cert) {
            @Override
            public byte[] signDigest(SignatureScheme scheme, byte[] digest) {
                throw new TokenUnavailableException("jca", TokenUnavailableException.Reason.QUEUE_FULL, Instant.now(),
                        "256 operations pending");
            }
        };
        var settings = ServerSettings.of(ServerCredentials.checked(busy, List.of(cert), Profile.COMPAT), Profile.COMPAT);
        List<ConnectionRecord> records = new CopyOnWriteArrayList<>();
        try (ProxyServer proxy = new ProxyServer(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 1), new BcServerHandshaker(settings),
                ProxyLimits.defaults(), records::add)) {
            int port = proxy.start().getPort();
            SSLContext ctx = ca.trustingClient("TLS");
            long t0 = System.nanoTime();
            SSLException e = assertThrows(SSLException.class, () -> {
                try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("localhost", port)) {
                    s.startHandshake();
                }
            });
            assertTrue(String.valueOf(e.getMessage()).contains("internal_error"), e.toString());
            assertTrue((System.nanoTime() - t0) / 1_000_000 < 3_000, "fails fast");
            for (int i = 0; i < 200 && records.isEmpty(); i++) {
                Thread.sleep(10);
            }
            assertEquals(1, records.size());
            assertTrue(records.get(0).outcome().contains("internal_error sent")
                    && records.get(0).outcome().contains("too many pending operations"), records.get(0).line());
        }
    }
}
