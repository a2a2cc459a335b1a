package io.hsmtls.tls.bc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Random;
import org.bouncycastle.jcajce.util.DefaultJcaJceHelper;
import org.bouncycastle.tls.crypto.impl.TlsAEADCipherImpl;
import org.bouncycastle.tls.crypto.impl.jcajce.JceAEADCipherImpl;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link JdkGcmCipher} against Bouncy Castle's own JCE adapter: each decrypts what the other
 * encrypted, in place (as the record layer calls it) and apart, for record sizes from empty to
 * a full TLS record; a flipped bit fails as Bouncy Castle's adapter fails (a RuntimeException,
 * which the record layer turns into bad_record_mac).
 */
class JdkGcmCipherTest {
    static final int[] SIZES = {0, 1, 15, 16, 17, 255, 256, 4095, 16384, 16385, 16384 + 2048};
    static final DefaultJcaJceHelper HELPER = new DefaultJcaJceHelper();
    static final JdkTlsCrypto CRYPTO = new JdkTlsCrypto(new SecureRandom());

    static TlsAEADCipherImpl ours(int keySize, boolean encrypt, byte[] key) throws Exception {
        TlsAEADCipherImpl c = new JdkGcmCipher(HELPER.createCipher("AES/GCM/NoPadding"), keySize, encrypt);
        c.setKey(key, 0, keySize);
        return c;
    }

    static TlsAEADCipherImpl bouncy(int keySize, boolean encrypt, byte[] key) throws Exception {
        TlsAEADCipherImpl c = new JceAEADCipherImpl(CRYPTO, HELPER, "AES/GCM/NoPadding", "AES", keySize, encrypt);
        c.setKey(key, 0, keySize);
        return c;
    }

    @ParameterizedTest(name = "AES-{0}")
    @ValueSource(ints = {16, 32})
    void roundTripsWithBouncyCastlesAdapter_inPlaceAndApart(int keySize) throws Exception {
        Random r = new Random(keySize);
        byte[] key = new byte[keySize];
        r.nextBytes(key);
        TlsAEADCipherImpl[] enc = {ours(keySize, true, key), bouncy(keySize, true, key)};
        TlsAEADCipherImpl[] dec = {bouncy(keySize, false, key), ours(keySize, false, key)};
        long seq = 0;
        for (int size : SIZES) {
            for (int pair = 0; pair < 2; pair++) {
                for (boolean inPlace : new boolean[] {true, false}) {
                    byte[] nonce = new byte[12];
                    r.nextBytes(nonce);
                    nonce[11] = (byte) seq++;
                    byte[] aad = {23, 3, 3, (byte) ((size + 16) >> 8), (byte) (size + 16)};
                    byte[] plain = new byte[size];
                    r.nextBytes(plain);
                    int off = 5 + (size % 3);
                    byte[] rec = new byte[off + size + 16 + 7];
                    System.arraycopy(plain, 0, rec, off, size);

                    enc[pair].init(nonce, 16);
                    assertEquals(size + 16, enc[pair].getOutputSize(size));
                    int n = enc[pair].doFinal(aad, rec, off, size, rec, off);
                    assertEquals(size + 16, n);

                    dec[pair].init(nonce, 16);
                    assertEquals(size, dec[pair].getOutputSize(n));
                    byte[] out = inPlace ? rec : new byte[size + 3];
                    int outOff = inPlace ? off : 3;
                    int m = dec[pair].doFinal(aad, rec, off, n, out, outOff);
                    assertEquals(size, m);
                    assertArrayEquals(plain, Arrays.copyOfRange(out, outOff, outOff + size),
                            "size " + size + (pair == 0 ? " ours->bc" : " bc->ours") + (inPlace ? " in place" : " apart"));
                }
            }
        }
    }

    @ParameterizedTest(name = "flipped bit in byte {0}")
    @ValueSource(ints = {0, 100, 1000 + 15})
    void aTamperedRecordFailsAsBouncyCastlesAdapterDoes(int at) throws Exception {
        byte[] key = new byte[16];
        byte[] nonce = new byte[12];
        byte[] aad = {23, 3, 3, 0, 0};
        byte[] rec = new byte[1000 + 16];
        TlsAEADCipherImpl enc = ours(16, true, key);
        enc.init(nonce, 16);
        int n = enc.doFinal(aad, rec, 0, 1000, rec, 0);
        rec[at] ^= 1;
        for (TlsAEADCipherImpl dec : new TlsAEADCipherImpl[] {ours(16, false, key), bouncy(16, false, key)}) {
            dec.init(nonce, 16);
            byte[] copy = rec.clone();
            RuntimeException e = assertThrows(RuntimeException.class, () -> dec.doFinal(aad, copy, 0, n, copy, 0));
            assertInstanceOf(IllegalStateException.class, e, "the record layer maps it to bad_record_mac");
        }
    }
}
