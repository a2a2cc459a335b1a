package io.hsmtls.token.iaik;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmtls.testing.SoftHsm;
import io.hsmtls.token.KeyPolicy;
import io.hsmtls.token.KeyType;
import io.hsmtls.token.Mechanism;
import io.hsmtls.token.Pkcs11Uri;
import io.hsmtls.token.SignatureScheme;
import io.hsmtls.token.TokenKey;
import io.hsmtls.token.TokenOptions;
import io.hsmtls.token.TokenUnavailableException;
import java.security.Signature;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import javax.crypto.Cipher;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The bounded pool, the lane and the stale-session retry, on a real SoftHSM token. */
class IaikTokenConcurrencyTest {
    @RegisterExtension
    static SoftHsm hsm = new SoftHsm();
    static IaikToken admin;

    @BeforeAll
    static void open() {
        admin = IaikTokens.open(TokenOptions.of(Pkcs11Uri.parse(hsm.tokenUri()), null).withReadWrite(true), m -> { });
    }

    @AfterAll
    static void close() {
        admin.close();
    }

    @Test
    void manyVirtualThreads_shareTwoSessions_andOverflowIsRefused() throws Exception {
        admin.generateKeyPair(KeyType.RSA_3072, "busy", Optional.empty(), false);
        try (IaikToken t = IaikTokens.open(TokenOptions.of(Pkcs11Uri.parse(hsm.keyUri("busy")), null)
                .withMaxSessions(2).withMaxPending(6), m -> { })) {
            TokenKey key = t.key(Pkcs11Uri.parse(hsm.keyUri("busy")));
            int callers = 40;
            CountDownLatch go = new CountDownLatch(1);
            AtomicInteger ok = new AtomicInteger();
            AtomicInteger full = new AtomicInteger();
            AtomicInteger maxOpen = new AtomicInteger();
            ConcurrentLinkedQueue<Throwable> other = new ConcurrentLinkedQueue<>();
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < callers; i++) {
                byte[] msg = {(byte) i};
                threads.add(Thread.ofVirtual().start(() -> {
                    try {
                        go.await();
                        byte[] sig = key.sign(SignatureScheme.RSA_PSS_RSAE_SHA256, msg);
                        Signature v = IaikTokenSignTest.verifier(SignatureScheme.RSA_PSS_RSAE_SHA256);
                        v.initVerify(key.info().publicKey());
                        v.update(msg);
                        if (v.verify(sig)) {
                            ok.incrementAndGet();
                        }
                    } catch (TokenUnavailableException e) {
                        if (e.reason() == TokenUnavailableException.Reason.QUEUE_FULL) {
                            full.incrementAndGet();
                        } else {
                            other.add(e);
                        }
                    } catch (Throwable e) {
                        other.add(e);
                    }
                    maxOpen.accumulateAndGet(t.stats().sessionsOpen(), Math::max);
                }));
            }
            go.countDown();
            for (Thread th : threads) {
                th.join();
            }
            assertTrue(other.isEmpty(), other.toString());
            assertEquals(callers, ok.get() + full.get());
            assertTrue(ok.get() >= 6, "at least the admitted ones signed: " + ok.get());
            assertTrue(full.get() > 0, "with 40 callers and 6 pending slots some were refused");
            assertTrue(maxOpen.get() <= 2, "never more than the pool: " + maxOpen.get());
            assertEquals(full.get(), t.stats().rejected());
            assertEquals(ok.get(), t.stats().signs());
            assertEquals(0, t.stats().pending());
            assertEquals(0, t.stats().sessionsInUse());
        }
    }

    @Test
    void staleSession_isRetriedOnceOnAFreshOne() throws Exception {
        TokenKey key = admin.generateKeyPair(KeyType.EC_P256, "stale", Optional.empty(), false);
        try (IaikToken t = IaikTokens.open(TokenOptions.of(Pkcs11Uri.parse(hsm.tokenUri()), null).withMaxSessions(1),
                m -> { })) {
            TokenKey k = t.key(key.uri());
            k.sign(SignatureScheme.ECDSA_SECP256R1_SHA256, new byte[] {1});
            // Close the pooled session behind the pool's back, as a token restart or a proxy would.
            for (long h : t.idleSessionHandlesForTest()) {
                t.raw().C_CloseSession(h);
            }
            byte[] sig = k.sign(SignatureScheme.ECDSA_SECP256R1_SHA256, new byte[] {2});
            assertTrue(sig.length > 0);
            assertEquals(1, t.stats().failures(), "one CKR_SESSION_HANDLE_INVALID, then success on a fresh session");
            assertTrue(t.stats().up());
        }
    }

    @Test
    void staleKeyHandle_isFoundAgainByCkaId() {
        TokenKey key = admin.generateKeyPair(KeyType.EC_P256, "stale-handle", Optional.empty(), false);
        try (IaikToken t = IaikTokens.open(TokenOptions.of(Pkcs11Uri.parse(hsm.tokenUri()), null), m -> { })) {
            IaikTokenKey k = (IaikTokenKey) t.key(key.uri());
            k.setHandleForTest(0x7fff_fff0L);
            byte[] sig = k.sign(SignatureScheme.ECDSA_SECP256R1_SHA256, new byte[] {3});
            assertTrue(sig.length > 0);
            assertEquals(1, t.stats().failures());
        }
    }

    @Test
    void rsaDecrypt_fallsBackToRsaPkcs_whenTheKeyDisallowsRawMode() throws Exception {
        TokenKey key = admin.generateKeyPair(KeyType.RSA_2048, "pkcs-only", Optional.empty(), false,
                KeyPolicy.standard().withAllowedMechanisms(Set.of(Mechanism.CKM_RSA_PKCS)));
        byte[] secret = "premaster-secret-48-bytes-long-------------------".substring(0, 48).getBytes();
        Cipher c = Cipher.getInstance("RSA/ECB/PKCS1Padding");
        c.init(Cipher.ENCRYPT_MODE, key.info().publicKey());
        TokenKey.RsaDecryption d = key.decryptRsa(c.doFinal(secret));
        assertFalse(d.raw());
        assertEquals(new String(secret), new String(d.bytes()));
    }
}
