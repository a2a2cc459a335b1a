package io.hsmtls.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmtls.testing.SoftHsm;
import io.hsmtls.tls.ClientAuthMode;
import io.hsmtls.tls.Profile;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Client certificates against real clients: a missing, an expired, a wrong-CA and a wrong-EKU
 * certificate each get the right alert (seen by openssl and in our connection log), optional
 * lets a certificate-less client through, and the CertificateRequest names exactly the
 * --client-ca subjects.
 */
class ClientAuthTest {
    @RegisterExtension
    static SoftHsm hsm = new SoftHsm();
    static ServeFixture f;
    static int required;
    static int optional;

    @BeforeAll
    static void start() throws Exception {
        f = new ServeFixture(hsm);
        required = f.proxy(f.settings("ec", Profile.COMPAT, ClientAuthMode.REQUIRED));
        optional = f.proxy(f.settings("ec", Profile.COMPAT, ClientAuthMode.OPTIONAL));
    }

    @AfterAll
    static void stop() {
        if (f != null) {
            f.close();
        }
    }

    static SoftHsm.Result sClient(int port, String version, String client) {
        List<String> cmd = new ArrayList<>(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + port,
                "-servername", "localhost", "-tls" + version.replace('.', '_'), "-CAfile", f.caPem.toString(),
                "-ign_eof"));
        if (client != null) {
            cmd.addAll(List.of("-cert", f.dir.resolve(client + ".crt").toString(), "-key",
                    f.dir.resolve(client + ".key").toString()));
        }
        return SoftHsm.exec(cmd, "GET / HTTP/1.0\r\n\r\n");
    }

    @ParameterizedTest(name = "tls{0}-{1}")
    @CsvSource({
        "1.3, none,     alert certificate required,   certificate_required",
        "1.2, none,     alert handshake failure,      handshake_failure",
        "1.3, expired,  alert certificate expired,    certificate_expired",
        "1.2, expired,  alert certificate expired,    certificate_expired",
        "1.3, wrongca,  alert unknown ca,             unknown_ca",
        "1.2, wrongca,  alert unknown ca,             unknown_ca",
        "1.3, wrongeku, alert unsupported certificate, unsupported_certificate",
        "1.2, wrongeku, alert unsupported certificate, unsupported_certificate",
    })
    void required_badOrMissingCertificate_getsTheRightAlert(String version, String client, String opensslSays,
                                                             String alert) throws Exception {
        int before = f.quiesce();
        SoftHsm.Result r = sClient(required, version, "none".equals(client) ? null : client);
        assertTrue(r.output().contains(opensslSays), "openssl should report '" + opensslSays + "':\n" + r.output());
        assertTrue(!r.output().contains(ServeFixture.BODY.trim()), "no data reached the client");
        ConnectionRecord rec = ServeMatrixTest.awaitRecordIn(f, before);
        assertTrue(rec.handshake().isEmpty(), rec.line());
        assertTrue(rec.outcome().startsWith("handshake failed: " + alert + " sent"), rec.line());
    }

    @Test
    void required_caNamesInCertificateRequest_matchClientCa() {
        SoftHsm.Result r = sClient(required, "1.2", "alice");
        String out = r.output();
        int i = out.indexOf("Acceptable client certificate CA names");
        assertTrue(i >= 0, out);
        String names = out.substring(i).lines().skip(1).takeWhile(l -> !l.startsWith("Requested") && !l.startsWith("Client")
                && !l.startsWith("---") && !l.startsWith("Peer") && !l.startsWith("Shared")).toList().toString();
        assertEquals(List.of("CN = hsmtls Client CA, O = hsmtls").toString(), names, out);
        assertTrue(out.contains(ServeFixture.BODY.trim()), out);
        SoftHsm.Result r13 = sClient(required, "1.3", "alice");
        assertTrue(r13.output().contains("Acceptable client certificate CA names\nCN = hsmtls Client CA, O = hsmtls"),
                r13.output());
    }

    @Test
    void optional_noCertificate_proceedsWithoutIdentity() throws Exception {
        int before = f.quiesce();
        SoftHsm.Result r = sClient(optional, "1.3", null);
        assertTrue(r.output().contains(ServeFixture.BODY.trim()), r.output());
        ConnectionRecord rec = ServeMatrixTest.awaitRecordIn(f, before);
        assertEquals(Optional.empty(), rec.handshake().orElseThrow().client());
    }

    @Test
    void optional_wrongCaCertificate_isStillRefused() throws Exception {
        SoftHsm.Result r = sClient(optional, "1.2", "wrongca");
        assertTrue(r.output().contains("alert unknown ca"), r.output());
    }

    /** Repeated: the alert must win over a TCP reset every time, not just usually. */
    @org.junit.jupiter.api.RepeatedTest(5)
    void required_sunJsseWithoutCertificate_receivesCertificateRequired() throws Exception {
        SSLException e = assertThrows(SSLException.class, () -> {
            try (SSLSocket s = (SSLSocket) f.jsse(null).getSocketFactory().createSocket("localhost", required)) {
                s.setEnabledProtocols(new String[] {"TLSv1.3"});
                s.getOutputStream().write("GET / HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                s.getOutputStream().flush();
                s.getInputStream().readAllBytes();
            }
        });
        assertTrue(String.valueOf(e.getMessage()).contains("certificate_required"), e.toString());
    }
}
