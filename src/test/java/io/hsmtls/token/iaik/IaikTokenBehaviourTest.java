package io.hsmtls.token.iaik;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmtls.testing.SoftHsm;
import io.hsmtls.token.CertificateMismatchException;
import io.hsmtls.token.KeyAlgorithm;
import io.hsmtls.token.KeyId;
import io.hsmtls.token.KeyNotFoundException;
import io.hsmtls.token.KeyPolicy;
import io.hsmtls.token.KeyType;
import io.hsmtls.token.LoginFailedException;
import io.hsmtls.token.Mechanism;
import io.hsmtls.token.MechanismInfo;
import io.hsmtls.token.MechanismUnsupportedException;
import io.hsmtls.token.ModuleLoadException;
import io.hsmtls.token.ObjectExistsException;
import io.hsmtls.token.ObjectType;
import io.hsmtls.token.PinSource;
import io.hsmtls.token.PinUnavailableException;
import io.hsmtls.token.Pkcs11Uri;
import io.hsmtls.token.SignatureScheme;
import io.hsmtls.token.Token;
import io.hsmtls.token.TokenInfo;
import io.hsmtls.token.TokenKey;
import io.hsmtls.token.TokenNotFoundException;
import io.hsmtls.token.TokenObject;
import io.hsmtls.token.TokenOptions;
import io.hsmtls.token.TokenUnavailableException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Token lookup, login, provisioning and smart-card behaviour against a real SoftHSM token. */
class IaikTokenBehaviourTest {
    @RegisterExtension
    static SoftHsm hsm = new SoftHsm();
    /** A token nobody logs in to except wrongPin_failsWithoutRetry (SoftHSM lists tokens made before C_Initialize only). */
    @RegisterExtension
    static SoftHsm untouched = new SoftHsm();
    static IaikToken token;

    @BeforeAll
    static void open() {
        token = IaikTokens.open(TokenOptions.of(Pkcs11Uri.parse(hsm.tokenUri()), null).withReadWrite(true), m -> { });
    }

    @AfterAll
    static void close() {
        if (token != null) {
            token.close();
        }
    }

    static Pkcs11Uri uri(String text) {
        return Pkcs11Uri.parse(text);
    }

    @Test
    void wrongPin_failsWithoutRetry() throws Exception {
        // A token nobody in this process is logged in to: PKCS#11 login state is per process, so on the
        // class's shared token C_Login would answer CKR_USER_ALREADY_LOGGED_IN whatever the PIN.
        SoftHsm fresh = untouched;
        Path wrong = fresh.workDir().resolve("wrong-" + fresh.label() + ".pin");
        Files.writeString(wrong, "000000\n");
        Pkcs11Uri u = uri("pkcs11:token=" + fresh.label() + "?module-path=" + SoftHsm.modulePath());
        long before = IaikTokens.userLoginAttempts();
        LoginFailedException e = assertThrows(LoginFailedException.class,
                () -> IaikTokens.open(TokenOptions.of(u, new PinSource.FromFile(wrong))));
        assertEquals(1, IaikTokens.userLoginAttempts() - before, "exactly one C_Login");
        assertEquals("CKR_PIN_INCORRECT", e.ckr());
        assertEquals(fresh.label(), e.token());
        assertTrue(e.getMessage().startsWith("login to token '" + fresh.label() + "' failed (CKR_PIN_INCORRECT): "),
                e.getMessage());
        assertTrue(e.getMessage().contains("does not retry"), e.getMessage());
        assertFalse(e.getMessage().contains("000000"), "no PIN in the message");
        // The token is still usable with the right PIN afterwards (and the failed open left nothing behind).
        try (Token t = IaikTokens.open(TokenOptions.of(u, new PinSource.FromFile(fresh.pinFile())))) {
            assertEquals(1, t.stats().userLogins());
        }
    }

    @Test
    void noPinSource_forLoginRequiredToken_saysHowToGiveOne() {
        Pkcs11Uri u = uri("pkcs11:token=" + hsm.label() + "?module-path=" + SoftHsm.modulePath());
        PinUnavailableException e = assertThrows(PinUnavailableException.class, () -> IaikTokens.open(TokenOptions.of(u, null)));
        assertTrue(e.getMessage().contains("--pin-file"), e.getMessage());
    }

    @Test
    void unknownTokenLabel_listsLabels() {
        Pkcs11Uri u = uri("pkcs11:token=no-such-token?module-path=" + SoftHsm.modulePath());
        TokenNotFoundException e = assertThrows(TokenNotFoundException.class,
                () -> IaikTokens.open(TokenOptions.of(u, new PinSource.FromFile(hsm.pinFile()))));
        assertFalse(e.ambiguous());
        assertTrue(e.found().stream().anyMatch(s -> s.startsWith("'" + hsm.label() + "' (serial ")), e.found().toString());
        assertTrue(e.getMessage().startsWith("no token matches 'pkcs11:token=no-such-token'; found: "), e.getMessage());
    }

    @Test
    void tokenUriMatchingSeveralTokens_isAmbiguous() {
        // Every SoftHSM token in this store has the same model: "SoftHSM v2".
        Pkcs11Uri u = uri("pkcs11:model=SoftHSM%20v2?module-path=" + SoftHsm.modulePath());
        TokenNotFoundException e = assertThrows(TokenNotFoundException.class,
                () -> IaikTokens.open(TokenOptions.of(u, new PinSource.FromFile(hsm.pinFile()))));
        assertTrue(e.ambiguous());
        assertTrue(e.getMessage().contains("add token=, serial= or slot-id="), e.getMessage());
    }

    @Test
    void tokenCreatedAfterTheModuleWasLoaded_isFound_whenTheModuleIsNotShared() {
        // The class's token keeps the module loaded: a token made now is not in SoftHSM's slot list.
        SoftHsm late = SoftHsm.create();
        Pkcs11Uri u = uri(late.tokenUri());
        assertThrows(TokenNotFoundException.class, () -> IaikTokens.open(TokenOptions.of(u, null)));
        token.close();
        try (Token t = IaikTokens.open(TokenOptions.of(u, null))) {
            assertEquals(late.label(), t.info().label());
        } finally {
            open();
        }
    }

    @Test
    void missingModulePath_namesTheFile() {
        Pkcs11Uri u = uri("pkcs11:token=x?module-path=/nonexistent/libnothing.so");
        ModuleLoadException e = assertThrows(ModuleLoadException.class, () -> IaikTokens.open(TokenOptions.of(u, null)));
        assertEquals("/nonexistent/libnothing.so", e.module());
        assertTrue(e.getMessage().contains("module-path names no file"), e.getMessage());
        ModuleLoadException e2 = assertThrows(ModuleLoadException.class,
                () -> IaikTokens.open(TokenOptions.of(uri("pkcs11:token=x"), null).withModule(Path.of("/nonexistent/x.so"))));
        assertTrue(e2.getMessage().contains("check --module"), e2.getMessage());
        ModuleLoadException e3 = assertThrows(ModuleLoadException.class,
                () -> IaikTokens.open(TokenOptions.of(uri("pkcs11:token=x?module-name=no-such-module"), null)));
        assertTrue(e3.getMessage().contains("/usr/lib/x86_64-linux-gnu/pkcs11/libno-such-module.so"), e3.getMessage());
    }

    @Test
    void libraryAttributes_selectTheModule() {
        String p = "?module-path=" + SoftHsm.modulePath();
        TokenInfo t = IaikTokens.find(uri("pkcs11:library-manufacturer=SoftHSM;token=" + hsm.label() + p), Optional.empty());
        assertEquals(hsm.label(), t.label());
        TokenNotFoundException e = assertThrows(TokenNotFoundException.class,
                () -> IaikTokens.find(uri("pkcs11:library-manufacturer=Snake%20Oil,%20Inc.;token=" + hsm.label() + p),
                        Optional.empty()));
        assertTrue(e.getMessage().contains("not the library the URI's library-* attributes name"), e.getMessage());
        assertTrue(IaikTokens.listTokens(uri("pkcs11:library-version=99" + p), Optional.empty()).isEmpty());
    }

    @Test
    void moduleName_isFoundInTheUsualDirectories() {
        Path p = ModuleResolver.resolve(uri("pkcs11:?module-name=libsofthsm2"), Optional.empty());
        assertEquals("libsofthsm2.so", p.getFileName().toString());
    }

    @Test
    void listTokens_andMechanisms_withoutLogin() {
        Pkcs11Uri u = uri("pkcs11:token=" + hsm.label() + "?module-path=" + SoftHsm.modulePath());
        List<TokenInfo> infos = IaikTokens.listTokens(u, Optional.empty());
        assertEquals(1, infos.size());
        assertEquals(hsm.label(), infos.get(0).label());
        assertTrue(infos.get(0).loginRequired());
        assertTrue(IaikTokens.listTokens(uri("pkcs11:?module-path=" + SoftHsm.modulePath()), Optional.empty()).size() > 1,
                "a token URI without token attributes lists every slot");
        List<MechanismInfo> mechs = IaikTokens.mechanisms(u, Optional.empty());
        assertTrue(mechs.stream().anyMatch(m -> m.name().equals("CKM_ECDSA") && m.flags().contains("CKF_SIGN")), mechs.toString());
        assertTrue(token.supports(Mechanism.CKM_RSA_PKCS_PSS));
    }

    @Test
    void sameModuleTwice_isSharedAndStaysLoggedIn() {
        TokenKey key = token.generateKeyPair(KeyType.EC_P256, "shared-module", Optional.empty(), false);
        int users = SharedModule.acquire(SoftHsm.modulePath()).users();
        SharedModule.acquire(SoftHsm.modulePath()).release();
        // acquire+release above: the count seen includes that one extra user.
        IaikToken second = IaikTokens.open(TokenOptions.of(Pkcs11Uri.parse(hsm.tokenUri()), null), m -> { });
        try {
            assertEquals(users + 1, second.module().users());
            assertEquals(1, second.stats().userLogins(), "C_Login once; CKR_USER_ALREADY_LOGGED_IN is accepted");
            second.key(key.uri()).sign(SignatureScheme.ECDSA_SECP256R1_SHA256, new byte[] {1});
        } finally {
            second.close();
        }
        // Closing the second user must neither finalise the module nor log the first one out.
        byte[] sig = key.sign(SignatureScheme.ECDSA_SECP256R1_SHA256, new byte[] {2});
        assertTrue(sig.length > 0);
    }

    @Test
    void keyByLabelOrId_andKeyNotFound_listsCandidates() {
        TokenKey key = token.generateKeyPair(KeyType.EC_P384, "by-id", Optional.of(KeyId.ofHex("c0ffee01")), false);
        assertEquals("c0ffee01", key.info().id().hex());
        assertEquals("pkcs11:token=" + hsm.label() + ";object=by-id;id=%C0%FF%EE%01;type=private", key.uri().toString());
        assertEquals(key.info().publicKey(), token.key(uri("pkcs11:id=%c0%ff%ee%01")).info().publicKey());
        assertEquals(key.info().publicKey(), token.key(key.uri()).info().publicKey());
        KeyNotFoundException other = assertThrows(KeyNotFoundException.class,
                () -> token.key(uri("pkcs11:token=someone-else;object=by-id")));
        assertTrue(other.getMessage().contains("the URI names another token"), other.getMessage());
        KeyNotFoundException e = assertThrows(KeyNotFoundException.class, () -> token.key(uri("pkcs11:object=absent")));
        assertTrue(e.candidates().stream().anyMatch(c -> c.startsWith("by-id (id c0ffee01, EC secp384r1)")), e.candidates().toString());
        assertTrue(e.getMessage().startsWith("no private key matches 'pkcs11:object=absent'; keys on the token: "), e.getMessage());
    }

    @Test
    void twoKeysWithOneLabel_isAmbiguous_andTheIdPicksOne() {
        TokenKey ours = token.generateKeyPair(KeyType.EC_P256, "twin", Optional.empty(), false);
        // Another tool happily makes a second key with the same label.
        SoftHsm.run(List.of("pkcs11-tool", "--module", SoftHsm.modulePath().toString(), "--token-label", hsm.label(),
                "--login", "--pin", SoftHsm.USER_PIN, "--keypairgen", "--key-type", "EC:prime256v1", "--label", "twin",
                "--id", "7717"));
        KeyNotFoundException e = assertThrows(KeyNotFoundException.class, () -> token.key(uri("pkcs11:object=twin")));
        assertTrue(e.getMessage().startsWith("several private keys match 'pkcs11:object=twin'; add object= or id= to pick one of: "),
                e.getMessage());
        assertTrue(e.candidates().stream().anyMatch(c -> c.contains("id 7717")), e.candidates().toString());
        assertEquals(ours.info().publicKey(), token.key(ours.uri()).info().publicKey(), "object+id is unique");
        assertEquals("7717", token.key(uri("pkcs11:object=twin;id=%77%17")).info().id().hex());
    }

    @Test
    void existingLabel_isRefused_unlessOverwrite() {
        TokenKey first = token.generateKeyPair(KeyType.EC_P256, "twice", Optional.empty(), false);
        ObjectExistsException e = assertThrows(ObjectExistsException.class,
                () -> token.generateKeyPair(KeyType.EC_P256, "twice", Optional.empty(), false));
        assertTrue(e.getMessage().contains("cannot create key pair 'twice'"), e.getMessage());
        assertEquals(2, e.existing().size(), "private and public half: " + e.existing());
        TokenKey second = token.generateKeyPair(KeyType.RSA_2048, "twice", Optional.empty(), true);
        assertEquals(KeyAlgorithm.RSA, token.key(uri("pkcs11:object=twice")).info().algorithm());
        assertFalse(first.info().id().equals(second.info().id()));
        long withLabel = token.objects().stream().filter(o -> o.label().equals("twice")).count();
        assertEquals(2, withLabel, "the old pair is gone");
    }

    @Test
    void storeCertificate_matchingIsStored_mismatchIsRefused() throws Exception {
        TokenKey key = token.generateKeyPair(KeyType.EC_P256, "with-cert", Optional.empty(), false);
        X509Certificate wrong = TestCertificates.foreign(KeyAlgorithm.EC, "someone-else");
        CertificateMismatchException e = assertThrows(CertificateMismatchException.class,
                () -> token.storeCertificate(key, wrong, false));
        assertEquals("CN=someone-else", e.subject());
        assertTrue(e.getMessage().contains("with-cert (id "), e.getMessage());

        X509Certificate cert = TestCertificates.selfSigned(key, "with-cert.example");
        cert.verify(key.info().publicKey());
        token.storeCertificate(key, cert, false);
        assertEquals(cert, key.certificate().orElseThrow());
        assertEquals(cert, token.key(key.uri()).certificate().orElseThrow(), "found again from the token");
        assertThrows(ObjectExistsException.class, () -> token.storeCertificate(key, cert, false));
        token.storeCertificate(key, cert, true);

        List<TokenObject> objs = token.objects().stream().filter(o -> o.label().equals("with-cert")).toList();
        assertEquals(Set.of(ObjectType.PRIVATE, ObjectType.PUBLIC, ObjectType.CERT),
                Set.copyOf(objs.stream().map(TokenObject::type).toList()));
        TokenObject certObj = objs.stream().filter(o -> o.type() == ObjectType.CERT).findFirst().orElseThrow();
        assertEquals("CN=with-cert.example", certObj.subject());
        TokenObject priv = objs.stream().filter(o -> o.type() == ObjectType.PRIVATE).findFirst().orElseThrow();
        assertEquals("EC secp256r1", priv.keyDescription());
        assertEquals(Boolean.TRUE, priv.sensitive());
        assertEquals(Boolean.FALSE, priv.extractable());
    }

    @Test
    void pkcs11Tool_listsGeneratedKeyAndStoredCertificate() throws Exception {
        TokenKey key = token.generateKeyPair(KeyType.RSA_2048, "seen-by-opensc", Optional.empty(), false);
        token.storeCertificate(key, TestCertificates.selfSigned(key, "opensc.example"), false);
        String out = SoftHsm.run(List.of("pkcs11-tool", "--module", SoftHsm.modulePath().toString(), "--token-label",
                hsm.label(), "--login", "--pin", SoftHsm.USER_PIN, "--list-objects"));
        String id = key.info().id().hex();
        assertTrue(out.contains("Private Key Object; RSA"), out);
        assertTrue(out.contains("Certificate Object; type = X.509 cert"), out);
        assertTrue(out.contains("label:      seen-by-opensc"), out);
        assertTrue(out.contains("subject:    DN: CN=opensc.example"), out);
        assertTrue(out.contains("ID:         " + id), out);
        // The private key is flagged sensitive and never extractable.
        String privBlock = block(out, "label:      seen-by-opensc", "Private Key Object; RSA");
        assertTrue(privBlock.contains("ID:         " + id), privBlock);
        assertTrue(privBlock.contains("Access:     sensitive, always sensitive, never extractable"), privBlock);
        assertTrue(privBlock.contains("Usage:      decrypt, sign\n"), "only the usages RSA needs: " + privBlock);
    }

    /** The pkcs11-tool listing block of the object of {@code kind} that contains {@code line}. */
    static String block(String listing, String line, String kind) {
        for (String b : listing.split("\n(?=\\S)")) {
            if (b.startsWith(kind) && b.contains(line)) {
                return b;
            }
        }
        throw new AssertionError("no " + kind + " with " + line + " in:\n" + listing);
    }

    @Test
    void publicKey_comesFromTheCertificate_orTheRsaPrivateKey_whenThePublicObjectIsGone() throws Exception {
        TokenKey ec = token.generateKeyPair(KeyType.EC_P256, "pub-from-cert", Optional.empty(), false);
        token.storeCertificate(ec, TestCertificates.selfSigned(ec, "pub-from-cert"), false);
        token.delete(uri("pkcs11:object=pub-from-cert;type=public"));
        assertEquals(ec.info().publicKey(), token.key(ec.uri()).info().publicKey());

        TokenKey rsa = token.generateKeyPair(KeyType.RSA_2048, "pub-from-private", Optional.empty(), false);
        token.delete(uri("pkcs11:object=pub-from-private;type=public"));
        assertEquals(rsa.info().publicKey(), token.key(rsa.uri()).info().publicKey());
    }

    @Test
    void delete_removesWhatTheUriNames() {
        TokenKey key = token.generateKeyPair(KeyType.EC_P256, "to-delete", Optional.empty(), false);
        List<TokenObject> gone = token.delete(uri("pkcs11:object=to-delete;type=public"));
        assertEquals(1, gone.size());
        assertEquals(ObjectType.PUBLIC, gone.get(0).type());
        gone = token.delete(key.uri());
        assertEquals(1, gone.size());
        assertThrows(KeyNotFoundException.class, () -> token.key(uri("pkcs11:object=to-delete")));
        assertThrows(IllegalArgumentException.class, () -> token.delete(uri("pkcs11:token=" + hsm.label())));
    }

    @Test
    void alwaysAuthenticateKey_signsThreeTimes_withThreeContextLogins() throws Exception {
        token.generateKeyPair(KeyType.EC_P256, "piv-sign", Optional.empty(), false,
                KeyPolicy.standard().withAlwaysAuthenticate(true));
        // A new process (or open) finds the key and keeps the PIN for the per-signature logins.
        try (IaikToken t = IaikTokens.open(TokenOptions.of(Pkcs11Uri.parse(hsm.tokenUri()), null), m -> { })) {
            TokenKey key = t.key(uri("pkcs11:object=piv-sign"));
            assertTrue(key.info().alwaysAuthenticate());
            byte[] msg = "three".getBytes(StandardCharsets.UTF_8);
            for (int i = 0; i < 3; i++) {
                byte[] sig = key.sign(SignatureScheme.ECDSA_SECP256R1_SHA256, msg);
                Signature v = Signature.getInstance("SHA256withECDSA");
                v.initVerify(key.info().publicKey());
                v.update(msg);
                assertTrue(v.verify(sig));
            }
            assertEquals(3, t.stats().contextLogins());
            assertEquals(1, t.stats().userLogins());

            // Without the context-specific login the token refuses: the logins above are what made it work.
            IaikTokenKey k = (IaikTokenKey) key;
            String refused = t.withSession("bare C_Sign", s -> {
                iaik.pkcs.pkcs11.wrapper.CK_MECHANISM m = new iaik.pkcs.pkcs11.wrapper.CK_MECHANISM();
                m.mechanism = Mechanism.CKM_ECDSA.code();
                t.raw().C_SignInit(s.handle, m, k.handle(s), t.utf8());
                s.dirty = true;
                try {
                    t.raw().C_Sign(s.handle, new byte[32]);
                    return "signed";
                } catch (iaik.pkcs.pkcs11.wrapper.PKCS11Exception e) {
                    return Ckr.name(e.getErrorCode());
                }
            });
            assertEquals("CKR_USER_NOT_LOGGED_IN", refused);
        }
    }

    @Test
    void keyWithoutPssInAllowedMechanisms_offersNoPss() {
        TokenKey key = token.generateKeyPair(KeyType.RSA_2048, "no-pss", Optional.empty(), false,
                KeyPolicy.standard().withAllowedMechanisms(Set.of(Mechanism.CKM_RSA_PKCS)));
        TokenKey two = token.generateKeyPair(KeyType.RSA_2048, "pss-and-x509", Optional.empty(), false,
                KeyPolicy.standard().withAllowedMechanisms(Set.of(Mechanism.CKM_RSA_PKCS_PSS, Mechanism.CKM_RSA_X_509)));
        assertEquals(Set.of(Mechanism.CKM_RSA_PKCS_PSS, Mechanism.CKM_RSA_X_509), two.info().allowedMechanisms());
        assertEquals(Set.of(SignatureScheme.RSA_PSS_RSAE_SHA256, SignatureScheme.RSA_PSS_RSAE_SHA384,
                SignatureScheme.RSA_PSS_RSAE_SHA512), two.signatureSchemes());
        assertEquals(Set.of(SignatureScheme.RSA_PKCS1_SHA256, SignatureScheme.RSA_PKCS1_SHA384,
                SignatureScheme.RSA_PKCS1_SHA512), key.signatureSchemes());
        assertEquals(Set.of(Mechanism.CKM_RSA_PKCS), key.info().allowedMechanisms());
        MechanismUnsupportedException e = assertThrows(MechanismUnsupportedException.class,
                () -> key.sign(SignatureScheme.RSA_PSS_RSAE_SHA256, new byte[] {1}));
        assertTrue(e.getMessage().contains("CKA_ALLOWED_MECHANISMS omits CKM_RSA_PKCS_PSS"), e.getMessage());
        assertTrue(key.sign(SignatureScheme.RSA_PKCS1_SHA256, new byte[] {1}).length == 256);
        // CKM_RSA_X_509 is not allowed either: decryption falls back to CKM_RSA_PKCS, unpadded by the token.
        assertTrue(key.canDecryptRsa());
    }

    @Test
    void readOnlyToken_refusesProvisioning() {
        try (IaikToken ro = IaikTokens.open(TokenOptions.of(Pkcs11Uri.parse(hsm.tokenUri()), null), m -> { })) {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> ro.generateKeyPair(KeyType.EC_P256, "ro", Optional.empty(), false));
            assertTrue(e.getMessage().contains("opened read-only"), e.getMessage());
        }
    }

    @Test
    void hungCall_pastDeadline_marksTokenDown_andLaterCallsFailFast() {
        TokenKey slowKey = token.generateKeyPair(KeyType.RSA_4096, "slow-rsa", Optional.empty(), false);
        try (IaikToken t = IaikTokens.open(TokenOptions.of(Pkcs11Uri.parse(hsm.tokenUri()), null)
                .withOpDeadline(Duration.ofNanos(1)), m -> { })) {
            t.disableAutoRecovery();
            TokenKey key = t.key(slowKey.uri());
            // A 1 ns deadline: the caller sees the deadline pass unless the machine is so busy that the
            // signature is already there when it looks (then it gets the signature). Try a few times.
            TokenUnavailableException e = null;
            for (int i = 0; i < 20 && e == null; i++) {
                try {
                    key.sign(SignatureScheme.RSA_PKCS1_SHA256, new byte[] {1});
                } catch (TokenUnavailableException x) {
                    e = x;
                }
            }
            assertNotNull(e, "a 1 ns deadline was never noticed in 20 RSA-4096 signatures");
            assertEquals(TokenUnavailableException.Reason.DEADLINE, e.reason(), e.getMessage());
            assertFalse(t.health().up());
            assertFalse(t.stats().up());
            long start = System.nanoTime();
            TokenUnavailableException down = assertThrows(TokenUnavailableException.class,
                    () -> key.sign(SignatureScheme.RSA_PKCS1_SHA256, new byte[] {1}));
            assertEquals(TokenUnavailableException.Reason.DOWN, down.reason());
            assertNotNull(down.since());
            assertTrue(System.nanoTime() - start < 500_000_000L, "fails fast");
            assertTrue(t.stats().rejected() >= 2);
            // The recovery seam: marking it up lets calls through again.
            t.health().markUp();
        }
    }
}
