package io.hsmtls.tls.bc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmtls.testing.JcaTokenKey;
import io.hsmtls.testing.TestPki;
import io.hsmtls.tls.HandshakeFailedException;
import io.hsmtls.tls.KeyUse;
import io.hsmtls.tls.KeyUseListener;
import io.hsmtls.tls.Profile;
import io.hsmtls.tls.ServerCredentials;
import io.hsmtls.tls.ServerSettings;
import io.hsmtls.tls.TlsConnection;
import io.hsmtls.token.Mechanism;
import io.hsmtls.token.TokenOperationException;
import io.hsmtls.token.TokenUnavailableException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;

/** Key-use reports from the Bouncy Castle server (logic, over a JVM key): what, for whom, and fail-closed. */
class KeyUseTest {
    static final TestPki.Ca CA = TestPki.ca("CN=KeyUse Root");

    @Test
    void serverSignature_reportedOnce_withConnectionSniAndPeer() throws Exception {
        List<KeyUse> uses = new CopyOnWriteArrayList<>();
        String version = handshake(uses::add, 7);
        assertEquals("TLS_1_3", version);
        assertEquals(1, uses.size(), uses.toString());
        KeyUse u = uses.get(0);
        assertEquals(KeyUse.Purpose.SERVER_SIGNATURE, u.purpose());
        assertEquals(Mechanism.CKM_ECDSA, u.mechanism());
        assertEquals(7, u.connectionId());
        assertEquals(Optional.of("localhost"), u.sni());
        assertTrue(u.peer().orElseThrow().getAddress().isLoopbackAddress(), u.toString());
        assertEquals(Optional.empty(), u.certificateSha256());
        assertEquals("ok", u.result());
        assertTrue(u.ok());
        assertTrue(u.latency().toNanos() > 0);
    }

    @Test
    void listenerThatCannotRecord_failsTheHandshake() {
        KeyUseListener broken = u -> {
            throw new java.io.UncheckedIOException(new java.io.IOException("disk full"));
        };
        HandshakeFailedException e = assertThrows(HandshakeFailedException.class, () -> handshake(broken, 1));
        assertEquals("internal_error", e.alert(), e.getMessage());
    }

    @Test
    void resultNames_areCkrNamesOrUnavailabilityReasons() {
        assertEquals("ok", KeyUse.resultOf(null));
        assertEquals("CKR_DEVICE_ERROR", KeyUse.resultOf(new TokenOperationException("C_Sign", 0x30,
                "CKR_DEVICE_ERROR", null)));
        assertEquals("token-down", KeyUse.resultOf(new TokenUnavailableException("t",
                TokenUnavailableException.Reason.DOWN, null, "x")));
        assertEquals("queue-full", KeyUse.resultOf(new TokenUnavailableException("t",
                TokenUnavailableException.Reason.QUEUE_FULL, null, "x")));
        // The CKM_RSA_PKCS fallback's padding error must not show in the audit log or metrics.
        assertEquals("ok", TokenRsaDecryptor.auditResult(new TokenOperationException("C_Decrypt", 0x40,
                "CKR_ENCRYPTED_DATA_INVALID", null)));
        assertEquals("CKR_DEVICE_ERROR", TokenRsaDecryptor.auditResult(new TokenOperationException("C_Decrypt", 0x30,
                "CKR_DEVICE_ERROR", null)));
    }

    /** One TLS 1.3 handshake from SunJSSE to "localhost"; returns the server's negotiated version. */
    private static String handshake(KeyUseListener listener, long connectionId) throws Exception {
        KeyPair kp = TestPki.ecKeyPair();
        X509Certificate cert = CA.leaf("CN=localhost").dns("localhost").publicKey(kp.getPublic()).serverAuth().sign();
        var settings = ServerSettings.of(ServerCredentials.checked(new JcaTokenKey(kp, cert), List.of(cert),
                Profile.COMPAT), Profile.COMPAT);
        var hs = new BcServerHandshaker(settings, listener);
        try (ServerSocket ss = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            CompletableFuture<String> srv = CompletableFuture.supplyAsync(() -> {
                try (Socket s = ss.accept(); TlsConnection c = hs.handshake(s, connectionId)) {
                    c.out().write(c.in().read());
                    c.out().flush();
                    return c.info().version().name();
                } catch (Exception e) {
                    throw new java.util.concurrent.CompletionException(e);
                }
            });
            SSLContext ctx = CA.trustingClient("TLS");
            try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("localhost", ss.getLocalPort())) {
                s.setSoTimeout(10_000);
                javax.net.ssl.SSLParameters p = s.getSSLParameters();
                p.setServerNames(List.of(new javax.net.ssl.SNIHostName("localhost"))); // JSSE omits dotless names
                s.setSSLParameters(p);
                s.getOutputStream().write(42);
                s.getOutputStream().flush();
                assertEquals(42, s.getInputStream().read());
            } catch (Exception clientSide) {
                try {
                    srv.get(10, TimeUnit.SECONDS);
                } catch (java.util.concurrent.ExecutionException e) {
                    throw (Exception) e.getCause();
                }
                throw clientSide;
            }
            return srv.get(10, TimeUnit.SECONDS);
        }
    }
}
