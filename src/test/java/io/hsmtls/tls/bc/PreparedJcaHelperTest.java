package io.hsmtls.tls.bc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

class PreparedJcaHelperTest {
    private final PreparedJcaHelper helper = new PreparedJcaHelper();

    @Test
    void clonedMacsAreIndependentAndMatchAFreshOne() throws Exception {
        byte[] key = "k".repeat(32).getBytes(StandardCharsets.US_ASCII);
        Mac reference = Mac.getInstance("HmacSHA256");
        reference.init(new SecretKeySpec(key, "HmacSHA256"));
        byte[] expected = reference.doFinal("abc".getBytes(StandardCharsets.US_ASCII));
        Mac first = helper.createMac("HmacSHA256");
        Mac second = helper.createMac("HmacSHA256"); // from the prototype
        Mac third = helper.createMac("HmacSHA256");
        assertNotSame(second, third);
        second.init(new SecretKeySpec(key, "HmacSHA256"));
        third.init(new SecretKeySpec(new byte[32], "HmacSHA256"));
        second.update("ab".getBytes(StandardCharsets.US_ASCII));
        third.update("zzz".getBytes(StandardCharsets.US_ASCII)); // must not disturb second
        assertArrayEquals(expected, second.doFinal("c".getBytes(StandardCharsets.US_ASCII)));
        assertEquals(first.getProvider(), second.getProvider());
    }

    @Test
    void clonedDigestsStartEmpty() throws Exception {
        byte[] expected = MessageDigest.getInstance("SHA-256").digest(new byte[] {1, 2, 3});
        MessageDigest a = helper.createMessageDigest("SHA-256");
        a.update((byte) 9); // state of one instance must not leak into the next
        MessageDigest b = helper.createMessageDigest("SHA-256");
        assertArrayEquals(expected, b.digest(new byte[] {1, 2, 3}));
        MessageDigest c = helper.createDigest("SHA256");
        assertArrayEquals(expected, c.digest(new byte[] {1, 2, 3}));
    }

    @Test
    void ciphersComeFromTheProviderFirstResolved() throws Exception {
        Cipher a = helper.createCipher("AES/GCM/NoPadding");
        Cipher b = helper.createCipher("AES/GCM/NoPadding");
        assertNotSame(a, b);
        assertEquals(Cipher.getInstance("AES/GCM/NoPadding").getProvider(), b.getProvider());
        SecretKeySpec k = new SecretKeySpec(new byte[16], "AES");
        a.init(Cipher.ENCRYPT_MODE, k, new GCMParameterSpec(128, new byte[12]));
        b.init(Cipher.DECRYPT_MODE, k, new GCMParameterSpec(128, new byte[12]));
        assertArrayEquals(new byte[] {7, 8}, b.doFinal(a.doFinal(new byte[] {7, 8})));
        // Later instances behave as a fresh JDK one: AAD, a tag that does not verify, re-init with a new IV.
        Cipher c = helper.createCipher("AES/GCM/NoPadding");
        Cipher d = helper.createCipher("AES/GCM/NoPadding");
        Cipher reference = Cipher.getInstance("AES/GCM/NoPadding");
        for (int i = 0; i < 3; i++) {
            byte[] iv = new byte[12];
            iv[11] = (byte) i;
            c.init(Cipher.ENCRYPT_MODE, k, new GCMParameterSpec(128, iv));
            reference.init(Cipher.ENCRYPT_MODE, k, new GCMParameterSpec(128, iv));
            c.updateAAD(new byte[] {1, 2, 3});
            reference.updateAAD(new byte[] {1, 2, 3});
            byte[] sealed = c.doFinal(new byte[100]);
            assertArrayEquals(reference.doFinal(new byte[100]), sealed);
            d.init(Cipher.DECRYPT_MODE, k, new GCMParameterSpec(128, iv));
            d.updateAAD(new byte[] {1, 2, 4});
            assertThrows(javax.crypto.AEADBadTagException.class, () -> d.doFinal(sealed));
        }
        Cipher chacha = helper.createCipher("ChaCha20-Poly1305");
        Cipher chacha2 = helper.createCipher("ChaCha20-Poly1305");
        SecretKeySpec ck = new SecretKeySpec(new byte[32], "ChaCha20");
        chacha.init(Cipher.ENCRYPT_MODE, ck, new javax.crypto.spec.IvParameterSpec(new byte[12]));
        chacha2.init(Cipher.DECRYPT_MODE, ck, new javax.crypto.spec.IvParameterSpec(new byte[12]));
        assertArrayEquals(new byte[] {5}, chacha2.doFinal(chacha.doFinal(new byte[] {5})));
    }

    @Test
    void unknownNamesStillFailAsTheJdkSays() {
        assertThrows(NoSuchAlgorithmException.class, () -> helper.createMac("HmacNope"));
        assertThrows(NoSuchAlgorithmException.class, () -> helper.createMessageDigest("NOPE-1"));
        assertThrows(NoSuchAlgorithmException.class, () -> helper.createCipher("Nope/GCM/NoPadding"));
    }
}
