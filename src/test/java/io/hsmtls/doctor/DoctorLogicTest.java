package io.hsmtls.doctor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmtls.testing.JcaTokenKey;
import io.hsmtls.testing.TestPki;
import io.hsmtls.token.KeyId;
import io.hsmtls.token.KeyInfo;
import io.hsmtls.token.KeyType;
import io.hsmtls.token.LoginFailedException;
import io.hsmtls.token.Mechanism;
import io.hsmtls.token.MechanismInfo;
import io.hsmtls.token.Pkcs11Uri;
import io.hsmtls.token.SignatureScheme;
import io.hsmtls.token.Token;
import io.hsmtls.token.TokenInfo;
import io.hsmtls.token.TokenKey;
import io.hsmtls.token.TokenObject;
import io.hsmtls.token.TokenStats;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * The doctor's judgements on tokens SoftHSM cannot imitate (no CKM_RSA_PKCS_PSS, a key without
 * CKA_SIGN, a non-sensitive key) and on dates with a fixed clock. A software key and a fake token
 * stand in; the real-token proof is {@code DoctorCliTest}.
 */
class DoctorLogicTest {
    private static final Pkcs11Uri URI = Pkcs11Uri.parse("pkcs11:token=fake;object=k");
    private static final KeyPair RSA = TestPki.rsaKeyPair();
    private static final KeyPair EC = TestPki.ecKeyPair();
    private static final TestPki.Ca CA = TestPki.ca("CN=Logic CA");

    private static final Set<Mechanism> ALL = EnumSet.allOf(Mechanism.class);

    /** A key whose attributes and schemes the test chooses; signing goes to a JVM key. */
    private record ShapedKey(JcaTokenKey inner, KeyInfo info, Set<SignatureScheme> schemes, boolean decrypts)
            implements TokenKey {
        public Pkcs11Uri uri() { return URI; }
        public Optional<X509Certificate> certificate() { return inner.certificate(); }
        public Set<SignatureScheme> signatureSchemes() { return schemes; }
        public boolean canDecryptRsa() { return decrypts; }
        public byte[] sign(SignatureScheme s, byte[] m) { return inner.sign(s, m); }
        public byte[] signDigest(SignatureScheme s, byte[] d) { return inner.signDigest(s, d); }
        public RsaDecryption decryptRsa(byte[] c) { return inner.decryptRsa(c); }
    }

    private static final class FakeToken implements Token {
        final Set<Mechanism> mechanisms;
        final TokenKey key;
        String whyNotDirect;

        FakeToken(Set<Mechanism> mechanisms, TokenKey key) {
            this.mechanisms = mechanisms;
            this.key = key;
        }

        public TokenInfo info() { return tokenInfo(); }
        public List<MechanismInfo> mechanisms() {
            return mechanisms.stream().map(m -> new MechanismInfo(m.name(), m.code(), 0, 0, Set.of())).toList();
        }
        public boolean supports(Mechanism m) { return mechanisms.contains(m); }
        public TokenKey key(Pkcs11Uri uri) { return key; }
        public List<TokenKey> keys() { return List.of(key); }
        public List<TokenObject> objects() { return List.of(); }
        public TokenKey generateKeyPair(KeyType t, String l, Optional<KeyId> id, boolean o) { throw new UnsupportedOperationException(); }
        public void storeCertificate(TokenKey k, X509Certificate c, boolean o) { throw new UnsupportedOperationException(); }
        public List<TokenObject> delete(Pkcs11Uri objects) { throw new UnsupportedOperationException(); }
        public TokenStats stats() { throw new UnsupportedOperationException(); }
        public Optional<String> whyNotDirect() { return Optional.ofNullable(whyNotDirect); }
        public void close() { }
    }

    private static TokenInfo tokenInfo() {
        return new TokenInfo(1, "fake slot", true, "fake", "test", "fake model", "0001",
                Set.of("CKF_LOGIN_REQUIRED", "CKF_TOKEN_INITIALIZED"), 16, 0, 16, 0);
    }

    private static TokenAccess access(Token token) {
        return new TokenAccess() {
            public String module() { return "/fake/module.so"; }
            public List<TokenInfo> slots() { return List.of(tokenInfo()); }
            public TokenInfo token() { return tokenInfo(); }
            public Token open() { return token; }
        };
    }

    private static X509Certificate cert(KeyPair pair) {
        return CA.leaf("CN=logic.test").publicKey(pair.getPublic()).serverAuth().sign();
    }

    /** An RSA key with everything allowed, then changed by {@code shape}. */
    private static ShapedKey rsaKey(UnaryOperator<KeyInfo> shape, Set<SignatureScheme> schemes, boolean decrypts) {
        JcaTokenKey inner = new JcaTokenKey(RSA, cert(RSA));
        return new ShapedKey(inner, shape.apply(inner.info()), schemes, decrypts);
    }

    private static KeyInfo with(KeyInfo k, boolean sensitive, boolean extractable, boolean sign, boolean decrypt) {
        return new KeyInfo(k.label(), k.id(), k.algorithm(), k.bits(), k.curve(), k.publicKey(), sensitive, extractable,
                k.alwaysAuthenticate(), sign, decrypt, k.allowedMechanisms());
    }

    private static DoctorReport run(Token token, List<X509Certificate> chain, Clock clock) {
        DoctorOptions o = DoctorOptions.of(URI).withChain(chain, "chain.pem").withSpeedTime(Duration.ofMillis(50))
                .withClock(clock);
        return Doctor.run(access(token), o, line -> { });
    }

    private static DoctorReport run(Token token) {
        return run(token, List.of(), Clock.systemUTC());
    }

    private static final Set<SignatureScheme> RSA_PKCS1 = EnumSet.of(SignatureScheme.RSA_PKCS1_SHA256,
            SignatureScheme.RSA_PKCS1_SHA384, SignatureScheme.RSA_PKCS1_SHA512);

    @Test
    void tokenWithoutPss_tls13No_namingTheMechanism_tls12Yes() {
        Set<Mechanism> noPss = EnumSet.complementOf(EnumSet.of(Mechanism.CKM_RSA_PKCS_PSS));
        DoctorReport r = run(new FakeToken(noPss, rsaKey(k -> k, RSA_PKCS1, true)));
        assertEquals("TLS 1.3: no, token lacks CKM_RSA_PKCS_PSS (TLS 1.3 needs RSA-PSS for RSA keys)",
                r.verdict(TlsUse.TLS_1_3).orElseThrow().line());
        assertTrue(r.verdict(TlsUse.TLS_1_2_ECDHE).orElseThrow().yes(), r.lines()::toString);
        Check m = r.check("mechanisms").orElseThrow();
        assertEquals(Status.WARN, m.status(), m::toString);
        assertTrue(m.detail().contains("none of CKM_RSA_PKCS_PSS for TLS 1.3"), m::toString);
        // Every serve profile includes TLS 1.3, so serve would refuse this key: a failure, said once.
        Check serve = r.check("serve").orElseThrow();
        assertEquals(Status.FAIL, serve.status(), serve::toString);
        assertTrue(serve.detail().startsWith("hsmtls serve refuses every profile: TLSv1.3 needs one of"), serve::toString);
        assertEquals(1, serve.detail().split("TLSv1.3 needs", -1).length - 1, serve::toString);
        assertTrue(r.failed(), r.lines()::toString);
    }

    @Test
    void callPath_saysWhichWayTheCallsGo_andWhy() {
        FakeToken direct = new FakeToken(ALL, rsaKey(k -> k, new JcaTokenKey(RSA, null).signatureSchemes(), true));
        Check fast = run(direct).check("call-path").orElseThrow();
        assertEquals(Status.OK, fast.status());
        assertTrue(fast.detail().contains("straight into the module's function list"), fast.detail());
        FakeToken wrapped = new FakeToken(ALL, rsaKey(k -> k, new JcaTokenKey(RSA, null).signatureSchemes(), true));
        wrapped.whyNotDirect = "the module gives each caller its own function list";
        Check slow = run(wrapped).check("call-path").orElseThrow();
        // Works either way, so not a warning; the reason is named for whoever wonders about speed.
        assertEquals(Status.OK, slow.status());
        assertTrue(slow.detail().contains("wrapper's JNI (the module gives each caller its own function list)"),
                slow.detail());
    }

    @Test
    void rsaKeyWithoutDecrypt_legacyRsaNo() {
        DoctorReport r = run(new FakeToken(ALL, rsaKey(k -> with(k, true, false, true, false),
                new JcaTokenKey(RSA, null).signatureSchemes(), false)));
        assertEquals("TLS 1.2 RSA key exchange (legacy-rsa): no, key lacks CKA_DECRYPT",
                r.verdict(TlsUse.TLS_1_2_RSA_KEY_EXCHANGE).orElseThrow().line());
        assertTrue(r.verdict(TlsUse.TLS_1_3).orElseThrow().yes(), r.lines()::toString);
        assertTrue(r.check("key-usage").orElseThrow().detail().contains("CKA_DECRYPT false"), r.lines()::toString);
    }

    @Test
    void keyWithoutSign_failsUsageAndSign_verdictsNo() {
        DoctorReport r = run(new FakeToken(ALL, rsaKey(k -> with(k, true, false, false, true), Set.of(), true)));
        assertEquals(Status.FAIL, r.check("key-usage").orElseThrow().status());
        assertEquals(Status.FAIL, r.check("sign").orElseThrow().status());
        assertEquals("TLS 1.3: no, key lacks CKA_SIGN", r.verdict(TlsUse.TLS_1_3).orElseThrow().line());
        assertEquals("TLS 1.2 ECDHE: no, key lacks CKA_SIGN", r.verdict(TlsUse.TLS_1_2_ECDHE).orElseThrow().line());
        assertTrue(r.failed());
    }

    @Test
    void nonSensitiveKey_fails() {
        DoctorReport r = run(new FakeToken(ALL, rsaKey(k -> with(k, false, false, true, true),
                new JcaTokenKey(RSA, null).signatureSchemes(), true)));
        Check c = r.check("key-protection").orElseThrow();
        assertEquals(Status.FAIL, c.status());
        assertTrue(c.detail().startsWith("CKA_SENSITIVE false"), c::toString);
        assertTrue(r.failed());
    }

    @Test
    void expiryWarning_startsThirtyDaysBefore() {
        Instant from = Instant.parse("2030-01-01T00:00:00Z");
        Instant to = Instant.parse("2030-03-01T00:00:00Z");
        X509Certificate leaf = CA.leaf("CN=dated.test").publicKey(EC.getPublic()).serverAuth().validity(from, to).sign();
        JcaTokenKey key = new JcaTokenKey(EC, null);
        FakeToken token = new FakeToken(ALL, key);
        List<X509Certificate> chain = new ArrayList<>(List.of(leaf, CA.certificate()));
        // The CA is valid from about now for a year; the leaf's dates are checked against a fixed clock.
        Clock early = Clock.fixed(to.minus(Duration.ofDays(31)), ZoneOffset.UTC);
        Clock late = Clock.fixed(to.minus(Duration.ofDays(29)), ZoneOffset.UTC);
        Clock after = Clock.fixed(to.plusSeconds(1), ZoneOffset.UTC);
        assertEquals(Status.OK, run(token, List.of(leaf), early).check("validity").orElseThrow().status());
        Check warn = run(token, List.of(leaf), late).check("validity").orElseThrow();
        assertEquals(Status.WARN, warn.status(), warn::toString);
        assertTrue(warn.detail().contains("in 29 days"), warn::toString);
        DoctorReport expired = run(token, chain, after);
        assertEquals(Status.FAIL, expired.check("validity").orElseThrow().status());
        assertFalse(expired.verdict(TlsUse.TLS_1_3).orElseThrow().yes());
    }

    @Test
    void loginFailure_isOneLine_andStops() {
        AtomicInteger opens = new AtomicInteger();
        TokenAccess a = new TokenAccess() {
            public String module() { return "/fake/module.so"; }
            public List<TokenInfo> slots() { return List.of(tokenInfo()); }
            public TokenInfo token() { return tokenInfo(); }
            public Token open() {
                opens.incrementAndGet();
                throw new LoginFailedException("fake", "CKR_PIN_INCORRECT", LoginFailedException.PinTries.FINAL_TRY);
            }
        };
        DoctorReport r = Doctor.run(a, DoctorOptions.of(URI), line -> { });
        assertEquals(1, opens.get(), "one login attempt");
        assertEquals(List.of("module", "token", "login"), r.checks().stream().map(Check::name).toList());
        Check login = r.check("login").orElseThrow();
        assertEquals(Status.FAIL, login.status());
        assertTrue(login.detail().contains("CKR_PIN_INCORRECT") && login.detail().contains("CKF_USER_PIN_FINAL_TRY"),
                login::toString);
    }
}
