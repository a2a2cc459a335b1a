package io.hsmtls.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmtls.testing.SoftHsm;
import io.hsmtls.token.KeyType;
import io.hsmtls.token.Pkcs11Uri;
import io.hsmtls.token.SignatureScheme;
import io.hsmtls.token.Token;
import io.hsmtls.token.TokenKey;
import io.hsmtls.token.TokenOptions;
import io.hsmtls.token.iaik.IaikTokens;
import java.nio.file.Path;
import java.security.Signature;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import javax.crypto.Cipher;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The slow-token test double through hsmtls's own token layer: every private-key operation pays
 * the added delay, concurrent operations on the 16 pooled sessions overlap rather than queue,
 * and the results are still the real token's.
 */
class SlowPkcs11Test {
    static final int DELAY_MS = 5;
    static final int SESSIONS = 16;

    @RegisterExtension
    static SoftHsm hsm = new SoftHsm();
    static Path shim;
    static Token token;
    static TokenKey ec;
    static TokenKey rsa;

    static String uri(String object) {
        return "pkcs11:token=" + hsm.label() + ";object=" + object + "?module-path=" + shim + "&pin-source=file:"
                + hsm.pinFile();
    }

    @BeforeAll
    static void open() {
        shim = SlowPkcs11.build(hsm.workDir().resolve("slow-" + hsm.label()), DELAY_MS);
        token = IaikTokens.open(TokenOptions.of(Pkcs11Uri.parse(uri("ec")), null).withReadWrite(true)
                .withMaxSessions(SESSIONS));
        ec = token.generateKeyPair(KeyType.EC_P256, "ec", Optional.empty(), false);
        rsa = token.generateKeyPair(KeyType.RSA_2048, "rsa", Optional.empty(), false);
    }

    @AfterAll
    static void close() {
        if (token != null) {
            token.close();
        }
    }

    private static void verify(TokenKey key, SignatureScheme scheme, byte[] msg, byte[] sig) throws Exception {
        Signature v = Signature.getInstance("SHA256withECDSA");
        v.initVerify(key.info().publicKey());
        v.update(msg);
        assertTrue(v.verify(sig), "the signature through the shim does not verify with the key's public key");
    }

    @Test
    void eachSign_andEachDecrypt_takesAtLeastTheDelay() throws Exception {
        byte[] msg = "one".getBytes();
        ec.sign(SignatureScheme.ECDSA_SECP256R1_SHA256, msg); // session opened, key handle found
        for (int i = 0; i < 5; i++) {
            long t0 = System.nanoTime();
            byte[] sig = ec.sign(SignatureScheme.ECDSA_SECP256R1_SHA256, msg);
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(ms >= DELAY_MS, "a sign through the shim took " + ms + " ms, less than its " + DELAY_MS + " ms delay");
            verify(ec, SignatureScheme.ECDSA_SECP256R1_SHA256, msg, sig);
        }
        byte[] premaster = new byte[48];
        premaster[0] = 3;
        premaster[1] = 3;
        Cipher c = Cipher.getInstance("RSA/ECB/PKCS1Padding");
        c.init(Cipher.ENCRYPT_MODE, rsa.info().publicKey());
        byte[] ct = c.doFinal(premaster);
        long t0 = System.nanoTime();
        byte[] plain = rsa.decryptRsa(ct).bytes();
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(ms >= DELAY_MS, "a decrypt through the shim took " + ms + " ms");
        // A raw RSA decrypt (the TLS layer checks the padding itself): the premaster is the block's tail.
        assertArrayEquals(premaster, java.util.Arrays.copyOfRange(plain, plain.length - premaster.length, plain.length));
    }

    /**
     * Sixteen signs at once on sixteen sessions: in series they would take at least 16 × 5 ms; the
     * shim sleeps without a lock and the lane has a thread per session, so they overlap. The bound
     * (half the serial time, best of three rounds on a shared machine) is far from both outcomes.
     */
    @Test
    void sixteenConcurrentSigns_overlap_andAllVerify() throws Exception {
        long serial = (long) SESSIONS * DELAY_MS;
        long best = Long.MAX_VALUE;
        for (int round = 0; round < 3; round++) {
            best = Math.min(best, concurrentRound(SESSIONS));
        }
        assertTrue(best < serial / 2, SESSIONS + " concurrent signs took " + best + " ms at best; in series they take "
                + serial + " ms: the token calls did not overlap");
    }

    private static long concurrentRound(int callers) throws Exception {
        CountDownLatch ready = new CountDownLatch(callers);
        CountDownLatch go = new CountDownLatch(1);
        ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
        byte[][] sigs = new byte[callers][];
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < callers; i++) {
            int n = i;
            threads.add(Thread.ofVirtual().start(() -> {
                try {
                    ready.countDown();
                    go.await();
                    sigs[n] = ec.sign(SignatureScheme.ECDSA_SECP256R1_SHA256, new byte[] {(byte) n});
                } catch (Throwable e) {
                    failures.add(e);
                }
            }));
        }
        ready.await();
        long t0 = System.nanoTime();
        go.countDown();
        for (Thread t : threads) {
            t.join();
        }
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(List.of(), List.copyOf(failures));
        for (int i = 0; i < callers; i++) {
            verify(ec, SignatureScheme.ECDSA_SECP256R1_SHA256, new byte[] {(byte) i}, sigs[i]);
        }
        return ms;
    }
}
