package io.hsmtls.token.iaik;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmtls.testing.SoftHsm;
import io.hsmtls.token.KeyType;
import io.hsmtls.token.Pkcs11Uri;
import io.hsmtls.token.SignatureScheme;
import io.hsmtls.token.TokenKey;
import io.hsmtls.token.TokenOptions;
import io.hsmtls.token.TokenUnavailableException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The recovery seam on a real SoftHSM token: a token marked down is re-initialised (C_Finalize,
 * C_Initialize, new sessions, new login) and its keys work again with handles found anew.
 * Killing a real token's link is issue 6's p11-kit test; here the failure is declared.
 */
class IaikTokenRecoveryTest {
    @RegisterExtension
    static SoftHsm hsm = new SoftHsm();

    /** Recovery driven by hand: auto recovery off, so the counts below are the test's own. */
    static IaikToken open(boolean rw) {
        IaikToken t = IaikTokens.open(TokenOptions.of(Pkcs11Uri.parse(hsm.tokenUri()), null).withReadWrite(rw), m -> { });
        t.disableAutoRecovery();
        return t;
    }

    @Test
    void recover_reinitialisesModule_andOldKeyObjectsWorkAgain() {
        try (IaikToken t = open(true)) {
            TokenKey key = t.generateKeyPair(KeyType.EC_P256, "recover-me", Optional.empty(), false);
            key.sign(SignatureScheme.ECDSA_SECP256R1_SHA256, new byte[] {1});
            long generation = t.module().generation();
            t.health().markDown(TokenUnavailableException.Reason.DOWN, "C_Sign failed (CKR_DEVICE_ERROR)");
            TokenUnavailableException down = assertThrows(TokenUnavailableException.class,
                    () -> key.sign(SignatureScheme.ECDSA_SECP256R1_SHA256, new byte[] {2}));
            assertTrue(down.getMessage().contains("CKR_DEVICE_ERROR"), down.getMessage());

            t.recover();
            assertEquals(generation + 1, t.module().generation(), "C_Finalize/C_Initialize happened");
            assertTrue(t.health().up());
            assertEquals(1, t.health().generation());
            assertTrue(key.sign(SignatureScheme.ECDSA_SECP256R1_SHA256, new byte[] {3}).length > 0);
            assertEquals(1, t.stats().reinitializations());
            assertEquals(2, t.stats().userLogins(), "one login at open, one after recovery");
        }
    }

    @Test
    void secondTokenOnTheSameModule_followsTheReinitialisation() {
        try (IaikToken a = open(true); IaikToken b = open(false)) {
            TokenKey keyA = a.generateKeyPair(KeyType.EC_P256, "follow-a", Optional.empty(), false);
            TokenKey keyB = b.key(keyA.uri());
            keyB.sign(SignatureScheme.ECDSA_SECP256R1_SHA256, new byte[] {1});
            a.health().markDown(TokenUnavailableException.Reason.DOWN, "test");
            a.recover();
            // b's sessions and login died with C_Finalize; it notices the new module generation and rebuilds.
            assertTrue(keyB.sign(SignatureScheme.ECDSA_SECP256R1_SHA256, new byte[] {2}).length > 0);
            assertEquals(1, b.stats().reinitializations());
            assertTrue(keyA.sign(SignatureScheme.ECDSA_SECP256R1_SHA256, new byte[] {3}).length > 0);
        }
    }

    @Test
    void autoRecovery_bringsTheTokenBackByItself() throws Exception {
        List<String> notices = new CopyOnWriteArrayList<>();
        try (IaikToken t = IaikTokens.open(TokenOptions.of(Pkcs11Uri.parse(hsm.tokenUri()), null).withReadWrite(true),
                notices::add)) {
            TokenKey key = t.generateKeyPair(KeyType.EC_P256, "auto", Optional.empty(), false);
            t.enableAutoRecovery(Duration.ofMillis(20), Duration.ofMillis(200));
            t.health().markDown(TokenUnavailableException.Reason.DOWN, "test");
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (!t.health().up() && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertTrue(t.health().up(), "recovered within 10 s: " + notices);
            assertTrue(key.sign(SignatureScheme.ECDSA_SECP256R1_SHA256, new byte[] {1}).length > 0);
            assertTrue(notices.stream().anyMatch(n -> n.contains("recovered")), notices.toString());
        }
    }

    @Test
    void pinChangedWhileDown_recoveryLogsInOnce_thenNeverAgain() throws Exception {
        SoftHsm other = IaikTokenRecoveryTest.spare;
        java.nio.file.Path pinFile = other.workDir().resolve("changing-" + other.label() + ".pin");
        java.nio.file.Files.writeString(pinFile, SoftHsm.USER_PIN + "\n");
        Pkcs11Uri u = Pkcs11Uri.parse("pkcs11:token=" + other.label() + "?module-path=" + SoftHsm.modulePath()
                + "&pin-source=file:" + pinFile);
        long before;
        try (IaikToken t = IaikTokens.open(TokenOptions.of(u, null), m -> { })) {
            t.disableAutoRecovery();
            java.nio.file.Files.writeString(pinFile, "999999\n");
            t.health().markDown(TokenUnavailableException.Reason.DOWN, "test");
            before = IaikTokens.userLoginAttempts();
            io.hsmtls.token.LoginFailedException e = assertThrows(io.hsmtls.token.LoginFailedException.class, t::recover);
            assertEquals("CKR_PIN_INCORRECT", e.ckr());
            assertThrows(io.hsmtls.token.LoginFailedException.class, t::recover);
            assertEquals(1, IaikTokens.userLoginAttempts() - before, "the refused PIN was presented once");
        }
    }

    @RegisterExtension
    static SoftHsm spare = new SoftHsm();
}
