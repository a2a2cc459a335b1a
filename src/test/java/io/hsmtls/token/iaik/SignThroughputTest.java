package io.hsmtls.token.iaik;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmtls.testing.SoftHsm;
import io.hsmtls.token.KeyType;
import io.hsmtls.token.Pkcs11Uri;
import io.hsmtls.token.SignatureScheme;
import io.hsmtls.token.TokenKey;
import io.hsmtls.token.TokenOptions;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** How many ECDSA P-256 signatures a second the lane delivers to virtual threads (slow: excluded by default). */
@Tag("slow")
class SignThroughputTest {
    @RegisterExtension
    static SoftHsm hsm = new SoftHsm();

    @Test
    void ecdsaP256_throughputFromVirtualThreads() throws Exception {
        try (IaikToken t = IaikTokens.open(TokenOptions.of(Pkcs11Uri.parse(hsm.tokenUri()), null).withReadWrite(true),
                m -> { })) {
            TokenKey key = t.generateKeyPair(KeyType.EC_P256, "bench", Optional.empty(), false);
            byte[] digest = new byte[32];
            for (int i = 0; i < 2000; i++) {
                key.signDigest(SignatureScheme.ECDSA_SECP256R1_SHA256, digest);
            }
            int threads = 32;
            int per = 500;
            AtomicInteger done = new AtomicInteger();
            long t0 = System.nanoTime();
            List<Thread> all = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                all.add(Thread.ofVirtual().start(() -> {
                    for (int j = 0; j < per; j++) {
                        key.signDigest(SignatureScheme.ECDSA_SECP256R1_SHA256, digest);
                        done.incrementAndGet();
                    }
                }));
            }
            for (Thread th : all) {
                th.join();
            }
            double secs = (System.nanoTime() - t0) / 1e9;
            System.out.printf("ECDSA P-256 via lane: %d signatures in %.2f s = %.0f/s%n", done.get(), secs, done.get() / secs);
            long t1 = System.nanoTime();
            for (int j = 0; j < 2000; j++) {
                key.signDigest(SignatureScheme.ECDSA_SECP256R1_SHA256, digest);
            }
            double single = (System.nanoTime() - t1) / 1e9;
            System.out.printf("ECDSA P-256 one caller: %.0f/s (%.0f us each)%n", 2000 / single, single / 2000 * 1e6);
            assertEquals(threads * per, done.get());
            assertTrue(t.stats().failures() == 0);
        }
    }
}
