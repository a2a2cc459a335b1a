package io.hsmtls.token.iaik;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmtls.bench.SlowPkcs11;
import io.hsmtls.testing.SoftHsm;
import io.hsmtls.token.KeyType;
import io.hsmtls.token.Pkcs11Uri;
import io.hsmtls.token.SignatureScheme;
import io.hsmtls.token.TokenException;
import io.hsmtls.token.TokenKey;
import io.hsmtls.token.TokenOptions;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.Signature;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PSSParameterSpec;
import java.util.Arrays;
import java.util.Optional;
import javax.crypto.Cipher;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Signing and decryption straight through the module's function list ({@link DirectCalls}): one
 * C_Sign or C_Decrypt per operation, with the output buffer passed at once. The proof is a module
 * that refuses the wrapper's length query (the slow-token shim, built to fail a C_Sign or C_Decrypt
 * without an output buffer, no delay): every operation works through it, and the same module
 * with the direct calls turned off fails.
 */
class DirectCallsTest {
    @RegisterExtension
    static SoftHsm hsm = new SoftHsm();

    private static String uri(Path module) {
        return "pkcs11:token=" + hsm.label() + "?module-path=" + module + "&pin-source=file:" + hsm.pinFile();
    }

    @Test
    void oneCallPerOperation_eachSignatureVerifies_andTheRsaBlockDecrypts() throws Exception {
        Path oneCall = SlowPkcs11.build(hsm.workDir().resolve("one-call"), 0, true);
        try (IaikToken token = IaikTokens.open(TokenOptions.of(Pkcs11Uri.parse(uri(oneCall)), null).withReadWrite(true),
                m -> { })) {
            assertEquals(Optional.empty(), token.whyNotDirect());
            TokenKey ec = token.generateKeyPair(KeyType.EC_P256, "ec", Optional.empty(), false);
            TokenKey rsa = token.generateKeyPair(KeyType.RSA_2048, "rsa", Optional.empty(), false);
            byte[] msg = "signed straight through the function list".getBytes(StandardCharsets.UTF_8);

            for (int i = 0; i < 3; i++) { // the session's native buffer is reused: each result must be its own
                Signature v = Signature.getInstance("SHA256withECDSA");
                v.initVerify(ec.info().publicKey());
                v.update(msg);
                assertTrue(v.verify(ec.sign(SignatureScheme.ECDSA_SECP256R1_SHA256, msg)), "ECDSA P-256, round " + i);

                v = Signature.getInstance("RSASSA-PSS");
                v.setParameter(new PSSParameterSpec("SHA-256", "MGF1", MGF1ParameterSpec.SHA256, 32, 1));
                v.initVerify(rsa.info().publicKey());
                v.update(msg);
                assertTrue(v.verify(rsa.sign(SignatureScheme.RSA_PSS_RSAE_SHA256, msg)), "RSA-PSS (mechanism parameters)");

                v = Signature.getInstance("SHA384withRSA");
                v.initVerify(rsa.info().publicKey());
                v.update(msg);
                assertTrue(v.verify(rsa.sign(SignatureScheme.RSA_PKCS1_SHA384, msg)), "RSA PKCS#1 v1.5");

                byte[] premaster = new byte[48];
                premaster[0] = 3;
                premaster[1] = 3;
                premaster[47] = (byte) i;
                Cipher c = Cipher.getInstance("RSA/ECB/PKCS1Padding");
                c.init(Cipher.ENCRYPT_MODE, rsa.info().publicKey());
                byte[] block = rsa.decryptRsa(c.doFinal(premaster)).bytes();
                assertArrayEquals(premaster, Arrays.copyOfRange(block, block.length - 48, block.length),
                        "the premaster is the decrypted block's tail");
            }
        }
    }

    @Test
    void turnedOff_theWrappersLengthQueryReachesTheModule_andThatModuleRefusesIt() throws Exception {
        Path oneCall = SlowPkcs11.build(hsm.workDir().resolve("one-call-off"), 0, true); // a module of its own
        System.setProperty(DirectCalls.PROPERTY, "false");
        IaikToken token;
        try {
            token = IaikTokens.open(TokenOptions.of(Pkcs11Uri.parse(uri(oneCall)), null).withReadWrite(true), m -> { });
        } finally {
            System.clearProperty(DirectCalls.PROPERTY);
        }
        try (token) {
            assertTrue(token.whyNotDirect().orElse("").contains("-D" + DirectCalls.PROPERTY + "=false"),
                    token.whyNotDirect().toString());
            TokenKey ec = token.generateKeyPair(KeyType.EC_P256, "ec-off", Optional.empty(), false);
            TokenException e = assertThrows(TokenException.class,
                    () -> ec.sign(SignatureScheme.ECDSA_SECP256R1_SHA256, new byte[] {1}));
            assertTrue(e.getMessage().contains("CKR_FUNCTION_FAILED"), e.getMessage());
        }
    }
}
