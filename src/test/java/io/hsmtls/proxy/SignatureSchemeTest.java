package io.hsmtls.proxy;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmtls.testing.SoftHsm;
import io.hsmtls.tls.ChainValidator;
import io.hsmtls.tls.ClientAuthMode;
import io.hsmtls.tls.Profile;
import io.hsmtls.tls.ServerCredentials;
import io.hsmtls.tls.ServerSettings;
import io.hsmtls.token.KeyType;
import io.hsmtls.token.TokenKey;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Each token signing path BC can take, forced with openssl -sigalgs: RSA PKCS#1 v1.5 (TLS 1.2,
 * DigestInfo added by the token layer), RSA-PSS (1.2 and 1.3), ECDSA, and Ed25519 (stream signer).
 */
class SignatureSchemeTest {
    @RegisterExtension
    static SoftHsm hsm = new SoftHsm();
    static ServeFixture f;
    static int rsa;
    static int ec;
    static int ed;

    @BeforeAll
    static void start() throws Exception {
        f = new ServeFixture(hsm);
        rsa = f.proxy(f.settings("rsa", Profile.COMPAT, ClientAuthMode.NONE));
        ec = f.proxy(f.settings("ec", Profile.COMPAT, ClientAuthMode.NONE));
        TokenKey edKey = f.token.generateKeyPair(KeyType.ED25519, "server-ed", Optional.empty(), false);
        var edCert = f.ca.leaf("CN=localhost").publicKey(edKey.info().publicKey()).serverAuth().sign();
        ed = f.proxy(ServerSettings.of(ServerCredentials.checked(edKey, List.of(edCert), Profile.COMPAT), Profile.COMPAT));
        assertTrue(ChainValidator.describe(edCert).contains("localhost"));
    }

    @AfterAll
    static void stop() {
        if (f != null) {
            f.close();
        }
    }

    @ParameterizedTest(name = "{0}-tls{1}-{2}")
    @CsvSource({
        "rsa, 1.2, RSA+SHA256,      RSA,        SHA256",
        "rsa, 1.2, RSA+SHA384,      RSA,        SHA384",
        "rsa, 1.2, rsa_pss_rsae_sha256, RSA-PSS, SHA256",
        "rsa, 1.3, rsa_pss_rsae_sha384, RSA-PSS, SHA384",
        "ec,  1.2, ECDSA+SHA256,    ECDSA,      SHA256",
        "ec,  1.3, ECDSA+SHA256,    ECDSA,      SHA256",
        "ed,  1.3, ed25519,         ed25519,    ",
        "ed,  1.2, ed25519,         ed25519,    ",
    })
    void forcedSignatureScheme_signedOnToken_verifiedByOpenssl(String key, String version, String sigalgs,
                                                                String type, String digest) {
        int port = switch (key) {
            case "rsa" -> rsa;
            case "ec" -> ec;
            default -> ed;
        };
        SoftHsm.Result r = SoftHsm.exec(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + port,
                "-tls" + version.replace('.', '_'), "-sigalgs", sigalgs, "-CAfile", f.caPem.toString(),
                "-verify_return_error", "-ign_eof"), "GET / HTTP/1.0\r\n\r\n");
        String out = r.output();
        assertTrue(out.contains("Peer signature type: " + type), out);
        if (digest != null && !digest.isBlank()) {
            assertTrue(out.contains("Peer signing digest: " + digest.trim()), out);
        }
        assertTrue(out.contains(ServeFixture.BODY.trim()), out);
    }
}
