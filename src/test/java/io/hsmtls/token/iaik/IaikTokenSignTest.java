package io.hsmtls.token.iaik;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmtls.testing.SoftHsm;
import io.hsmtls.token.KeyAlgorithm;
import io.hsmtls.token.KeyType;
import io.hsmtls.token.MechanismUnsupportedException;
import io.hsmtls.token.Pkcs11Uri;
import io.hsmtls.token.SignatureScheme;
import io.hsmtls.token.Token;
import io.hsmtls.token.TokenKey;
import io.hsmtls.token.TokenOptions;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.Signature;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PSSParameterSpec;
import java.util.Optional;
import java.util.Set;
import javax.crypto.Cipher;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Every key type generated on a real SoftHSM token, used with each scheme it supports, verified with JCA. */
class IaikTokenSignTest {
    @RegisterExtension
    static SoftHsm hsm = new SoftHsm();
    static Token token;

    @BeforeAll
    static void open() {
        token = IaikTokens.open(TokenOptions.of(Pkcs11Uri.parse(hsm.tokenUri()), null).withReadWrite(true));
    }

    @AfterAll
    static void close() {
        if (token != null) {
            token.close();
        }
    }

    static Set<SignatureScheme> expectedSchemes(KeyType type) {
        return switch (type) {
            case EC_P256 -> Set.of(SignatureScheme.ECDSA_SECP256R1_SHA256);
            case EC_P384 -> Set.of(SignatureScheme.ECDSA_SECP384R1_SHA384);
            case ED25519 -> Set.of(SignatureScheme.ED25519);
            default -> Set.of(SignatureScheme.RSA_PSS_RSAE_SHA256, SignatureScheme.RSA_PSS_RSAE_SHA384,
                    SignatureScheme.RSA_PSS_RSAE_SHA512, SignatureScheme.RSA_PKCS1_SHA256,
                    SignatureScheme.RSA_PKCS1_SHA384, SignatureScheme.RSA_PKCS1_SHA512);
        };
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(KeyType.class)
    void generatedKey_signsWithEverySchemeItSupports_verifiedByJca(KeyType type) throws Exception {
        TokenKey key = token.generateKeyPair(type, "sign-" + type.cliName(), Optional.empty(), false);
        assertEquals(type.algorithm(), key.info().algorithm());
        assertEquals(expectedSchemes(type), key.signatureSchemes());
        assertTrue(key.info().sensitive(), "CKA_SENSITIVE");
        assertFalse(key.info().extractable(), "CKA_EXTRACTABLE");
        assertTrue(key.info().publicKey() != null, "public key read back");
        assertEquals(16, key.info().id().length());

        byte[] message = ("hello " + type).getBytes(StandardCharsets.UTF_8);
        for (SignatureScheme scheme : key.signatureSchemes()) {
            byte[] sig = key.sign(scheme, message);
            Signature v = verifier(scheme);
            v.initVerify(key.info().publicKey());
            v.update(message);
            assertTrue(v.verify(sig), scheme + " signature verifies");
            if (scheme.prehashed()) {
                byte[] sig2 = key.signDigest(scheme, MessageDigest.getInstance(scheme.hash()).digest(message));
                v.initVerify(key.info().publicKey());
                v.update(message);
                assertTrue(v.verify(sig2), scheme + " signDigest verifies");
            } else {
                assertThrows(IllegalArgumentException.class, () -> key.signDigest(scheme, new byte[32]));
            }
        }
        // A scheme for another key family is refused, naming the reason.
        SignatureScheme foreign = type.algorithm() == KeyAlgorithm.RSA ? SignatureScheme.ECDSA_SECP256R1_SHA256
                : SignatureScheme.RSA_PKCS1_SHA256;
        MechanismUnsupportedException e = assertThrows(MechanismUnsupportedException.class,
                () -> key.sign(foreign, message));
        assertTrue(e.getMessage().contains("this is an " + type.algorithm() + " key"), e.getMessage());
        assertTrue(token.stats().signs() > 0);
    }

    @Test
    void rsaDecrypt_rawBlockOfJcaEncryptedSecret() throws Exception {
        TokenKey key = token.generateKeyPair(KeyType.RSA_2048, "decrypt-rsa", Optional.empty(), false);
        assertTrue(key.canDecryptRsa());
        byte[] secret = new byte[48];
        new java.security.SecureRandom().nextBytes(secret);
        Cipher c = Cipher.getInstance("RSA/ECB/PKCS1Padding");
        c.init(Cipher.ENCRYPT_MODE, key.info().publicKey());
        byte[] ct = c.doFinal(secret);
        TokenKey.RsaDecryption d = key.decryptRsa(ct);
        assertTrue(d.raw(), "CKM_RSA_X_509 used");
        byte[] block = d.bytes();
        assertEquals(256, block.length);
        assertEquals(0, block[0]);
        assertEquals(2, block[1]);
        byte[] tail = java.util.Arrays.copyOfRange(block, block.length - 48, block.length);
        assertArrayEquals(secret, tail);
        assertEquals(0, block[block.length - 49], "zero separator before the secret");
        assertEquals(1, token.stats().decrypts());
    }

    @Test
    void ecKey_cannotDecryptRsa() {
        TokenKey key = token.generateKeyPair(KeyType.EC_P256, "ec-no-decrypt", Optional.empty(), false);
        assertFalse(key.canDecryptRsa());
        MechanismUnsupportedException e = assertThrows(MechanismUnsupportedException.class,
                () -> key.decryptRsa(new byte[256]));
        assertTrue(e.getMessage().contains("only RSA keys"), e.getMessage());
    }

    static Signature verifier(SignatureScheme s) throws Exception {
        return switch (s) {
            case ECDSA_SECP256R1_SHA256 -> Signature.getInstance("SHA256withECDSA");
            case ECDSA_SECP384R1_SHA384 -> Signature.getInstance("SHA384withECDSA");
            case ECDSA_SECP521R1_SHA512 -> Signature.getInstance("SHA512withECDSA");
            case RSA_PKCS1_SHA256 -> Signature.getInstance("SHA256withRSA");
            case RSA_PKCS1_SHA384 -> Signature.getInstance("SHA384withRSA");
            case RSA_PKCS1_SHA512 -> Signature.getInstance("SHA512withRSA");
            case ED25519 -> Signature.getInstance("Ed25519");
            default -> {
                Signature sig = Signature.getInstance("RSASSA-PSS");
                int len = s.hashLength();
                String h = s.hash();
                sig.setParameter(new PSSParameterSpec(h, "MGF1", new MGF1ParameterSpec(h), len, 1));
                yield sig;
            }
        };
    }
}
