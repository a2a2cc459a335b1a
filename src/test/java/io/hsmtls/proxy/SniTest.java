package io.hsmtls.proxy;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmtls.testing.SoftHsm;
import io.hsmtls.tls.ClientAuthMode;
import io.hsmtls.tls.Profile;
import io.hsmtls.tls.ServerCredentials;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** SNI picks the key (EC by default, RSA for rsa.example); unknown names get the default or unrecognized_name. */
class SniTest {
    @RegisterExtension
    static SoftHsm hsm = new SoftHsm();
    static ServeFixture f;
    static int lenient;
    static int strict;

    @BeforeAll
    static void start() throws Exception {
        f = new ServeFixture(hsm);
        var rsa = ServerCredentials.checked(f.rsaKey, List.of(f.rsaCert), Profile.COMPAT);
        var base = f.settings("ec", Profile.COMPAT, ClientAuthMode.NONE);
        lenient = f.proxy(base.withSni(Map.of("RSA.example", rsa), false));
        strict = f.proxy(base.withSni(Map.of("rsa.example", rsa), true));
    }

    @AfterAll
    static void stop() {
        if (f != null) {
            f.close();
        }
    }

    @ParameterizedTest(name = "{0}-{1}-tls{2}")
    @CsvSource({
        "lenient, rsa.example,     1.3, Server public key is 2048 bit",
        "lenient, rsa.example,     1.2, Cipher is ECDHE-RSA-",
        "lenient, other.example,   1.3, Server public key is 256 bit",
        "lenient, -,               1.2, Cipher is ECDHE-ECDSA-",
        "strict,  rsa.example,     1.2, Cipher is ECDHE-RSA-",
        "strict,  -,               1.3, Server public key is 256 bit",
        "strict,  other.example,   1.3, unrecognized name",
        "strict,  other.example,   1.2, unrecognized name",
    })
    void serverName_selectsKey_orIsRefused(String listener, String name, String version, String expect) {
        int port = listener.equals("strict") ? strict : lenient;
        List<String> cmd = new ArrayList<>(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + port,
                "-tls" + version.replace('.', '_'), "-CAfile", f.caPem.toString(), "-ign_eof"));
        if (name.equals("-")) {
            cmd.add("-noservername");
        } else {
            cmd.addAll(List.of("-servername", name));
        }
        String out = SoftHsm.exec(cmd, "GET / HTTP/1.0\r\n\r\n").output();
        assertTrue(out.contains(expect), out);
        if (!expect.contains("unrecognized")) {
            assertTrue(out.contains(ServeFixture.BODY.trim()), out);
        }
    }
}
