package io.hsmtls.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmtls.testing.SoftHsm;
import io.hsmtls.tls.ClientAuthMode;
import io.hsmtls.tls.Profile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** TLS 1.2 session-ID resumption with openssl: no token call when resumed, none across SNI. */
class ResumptionTest {
    @RegisterExtension
    static SoftHsm hsm = new SoftHsm();
    static ServeFixture f;
    static int port;

    @BeforeAll
    static void start() throws Exception {
        f = new ServeFixture(hsm);
        port = f.proxy(f.settings("ec", Profile.COMPAT, ClientAuthMode.NONE));
    }

    @AfterAll
    static void stop() {
        if (f != null) {
            f.close();
        }
    }

    static String sClient(String sni, String sessOption, Path sess) {
        List<String> cmd = new ArrayList<>(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + port, "-tls1_2",
                "-servername", sni, "-CAfile", f.caPem.toString(), "-ign_eof", sessOption, sess.toString()));
        return SoftHsm.exec(cmd, "GET / HTTP/1.0\r\n\r\n").output();
    }

    @Test
    void tls12_resumedHandshake_makesNoTokenCall() throws Exception {
        Path sess = f.dir.resolve("resume.sess");
        long signs0 = f.token.stats().signs();
        String first = sClient("localhost", "-sess_out", sess);
        assertTrue(first.contains("New, TLSv1.2"), first);
        long signs1 = f.token.stats().signs();
        assertEquals(signs0 + 1, signs1, "a full handshake signs once");

        int before = f.quiesce();
        String second = sClient("localhost", "-sess_in", sess);
        assertTrue(second.contains("Reused, TLSv1.2"), second);
        assertTrue(second.contains(ServeFixture.BODY.trim()), second);
        assertEquals(signs1, f.token.stats().signs(), "a resumed handshake makes no token call");
        ConnectionRecord rec = ServeMatrixTest.awaitRecordIn(f, before);
        assertTrue(rec.handshake().orElseThrow().resumed(), rec.line());
        assertEquals(0, rec.handshake().get().tokenOps(), rec.line());
    }

    @Test
    void tls12_sessionFromOtherSni_isNotResumed() throws Exception {
        Path sess = f.dir.resolve("sni.sess");
        String first = sClient("localhost", "-sess_out", sess);
        assertTrue(first.contains("New, TLSv1.2"), first);
        int before = f.quiesce();
        String second = sClient("other.example", "-sess_in", sess);
        assertFalse(second.contains("Reused,"), second);
        assertTrue(second.contains("New, TLSv1.2"), second);
        ConnectionRecord rec = ServeMatrixTest.awaitRecordIn(f, before);
        assertFalse(rec.handshake().orElseThrow().resumed(), rec.line());
    }
}
