package io.hsmtls.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmtls.bench.SlowPkcs11;
import io.hsmtls.testing.EchoServer;
import io.hsmtls.testing.JcaTokenKey;
import io.hsmtls.testing.SoftHsm;
import io.hsmtls.testing.TestPki;
import io.hsmtls.tls.Profile;
import io.hsmtls.tls.ServerCredentials;
import io.hsmtls.tls.ServerSettings;
import io.hsmtls.tls.bc.BcServerHandshaker;
import io.hsmtls.token.KeyType;
import io.hsmtls.token.Pkcs11Uri;
import io.hsmtls.token.Token;
import io.hsmtls.token.TokenKey;
import io.hsmtls.token.TokenOptions;
import io.hsmtls.token.iaik.IaikTokens;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A token that takes a second per signature, behind the real token layer (the slow PKCS#11
 * double in front of SoftHSM, alone in this JVM: SoftHSM is one library per process). The first
 * signature runs on the loop's thread, which is stuck in the native call for that second: after
 * {@link EventLoops#INLINE_TOKEN_WAIT} a new thread carries the loop on, so an established
 * connection on the same loop is held up that long at most, once. The stuck thread finishes its
 * handshake when the token answers (nothing is lost), the token is not marked down, and the next
 * handshake waits off the loop and completes while the established connection keeps echoing.
 */
class EventLoopsStallTest {
    @RegisterExtension
    static SoftHsm hsm = new SoftHsm();

    @Test
    void tokenThatStalls_holdsTheLoopUpAtMostItsWait_once_theHandshakeStillCompletes() throws Exception {
        Path shim = SlowPkcs11.build(hsm.workDir().resolve("slow-loops"), 1000);
        String uri = "pkcs11:token=" + hsm.label() + ";object=stall?module-path=" + shim + "&pin-source=file:"
                + hsm.pinFile();
        TestPki.Ca ca = TestPki.ca("CN=hsmtls Stall Root");
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(256);
        java.security.KeyPair fastPair = g.generateKeyPair();
        JcaTokenKey fastKey = new JcaTokenKey(fastPair,
                ca.leaf("CN=localhost").publicKey(fastPair.getPublic()).serverAuth().sign());
        try (EchoServer echo = new EchoServer();
             Token slowToken = IaikTokens.open(TokenOptions.of(Pkcs11Uri.parse(uri), null).withReadWrite(true))) {
            TokenKey slowKey = slowToken.generateKeyPair(KeyType.EC_P256, "stall", Optional.empty(), false);
            X509Certificate slowCert = ca.leaf("CN=localhost").publicKey(slowKey.info().publicKey()).serverAuth().sign();
            ProxyServer p = new ProxyServer(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                    new InetSocketAddress(InetAddress.getLoopbackAddress(), echo.port()),
                    new BcServerHandshaker(settings(fastKey, fastKey.certificate().orElseThrow())),
                    ProxyLimits.defaults(), r -> { }).withEventLoops(1);
            p.start();
            SSLContext client = ca.trustingClient("TLSv1.3");
            try (SSLSocket established = connect(client, p)) { // on the fast key
                p.swapHandshaker(new BcServerHandshaker(settings(slowKey, slowCert)));
                InputStream in = established.getInputStream();
                OutputStream out = established.getOutputStream();
                ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
                Future<String> first = pool.submit(() -> {
                    try (SSLSocket s = connect(client, p)) {
                        return "completed";
                    } catch (javax.net.ssl.SSLException e) {
                        return "failed: " + e.getMessage();
                    }
                });
                long worst = EchoProbe.worstRoundTrip(in, out, first::isDone);
                assertEquals("completed", first.get(),
                        "the handshake whose token call outlasted the loop's wait completes when the token answers");
                assertTrue(worst < 700_000_000L, "an echo waited " + worst / 1_000_000
                        + " ms: the loop waited for the 1 s token longer than its limit");
                Future<String> second = pool.submit(() -> {
                    try (SSLSocket s = connect(client, p)) {
                        return s.getSession().getProtocol();
                    }
                });
                long worstAfter = EchoProbe.worstRoundTrip(in, out, second::isDone);
                assertEquals("TLSv1.3", second.get(), "the next handshake waits off the loop and completes");
                assertTrue(worstAfter < 250_000_000L, "an echo waited " + worstAfter / 1_000_000
                        + " ms while a handshake waited off the loop");
                assertTrue(slowToken.stats().up(), "a caller's impatience does not mark the token down");
                pool.shutdown();
            } finally {
                p.shutdown(java.time.Duration.ZERO);
            }
        }
    }

    private static ServerSettings settings(TokenKey key, X509Certificate cert) {
        return ServerSettings.of(ServerCredentials.checked(key, List.of(cert), Profile.COMPAT), Profile.COMPAT);
    }

    private static SSLSocket connect(SSLContext client, ProxyServer p) throws Exception {
        SSLSocket s = (SSLSocket) client.getSocketFactory().createSocket(InetAddress.getLoopbackAddress(),
                p.localAddress().getPort());
        s.setSoTimeout(10_000);
        s.startHandshake();
        return s;
    }
}
