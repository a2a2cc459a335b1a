package io.hsmtls.doctor;

import io.hsmtls.tls.CertificateRejectedException;
import io.hsmtls.tls.ChainValidator;
import io.hsmtls.tls.CredentialsException;
import io.hsmtls.tls.Profile;
import io.hsmtls.tls.ServerCredentials;
import io.hsmtls.tls.TlsVersion;
import io.hsmtls.token.KeyAlgorithm;
import io.hsmtls.token.KeyInfo;
import io.hsmtls.token.KeyNotFoundException;
import io.hsmtls.token.LoginFailedException;
import io.hsmtls.token.Mechanism;
import io.hsmtls.token.SignatureScheme;
import io.hsmtls.token.Token;
import io.hsmtls.token.TokenException;
import io.hsmtls.token.TokenInfo;
import io.hsmtls.token.TokenKey;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PSSParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/**
 * The setup check behind {@code hsmtls doctor}: walks from the module to a signature the way
 * {@code hsmtls serve} would, and says at each step what it saw. The steps follow PKCS#11 v2.40's
 * order of use (C_Initialize, C_GetSlotList/C_GetTokenInfo, C_Login, C_FindObjects, the key's
 * attributes §4.9, C_GetMechanismList, C_Sign); then the certificate (RFC 5280 validation and
 * validity) and a verdict for each TLS use.
 *
 * <p>It logs in exactly once and never retries: a second try with a wrong PIN only brings a card
 * closer to locking. A failure that leaves nothing further to check (no module, no token, no
 * login, no key) ends the checks there.
 */
public final class Doctor {
    private static final String PSS_NOTE = " (TLS 1.3 needs RSA-PSS for RSA keys)";

    private final TokenAccess access;
    private final DoctorOptions options;
    private final Consumer<String> progress;
    private final List<Check> checks = new ArrayList<>();
    /** Why the certificate is not valid now, for the verdicts; null when it is. */
    private String validityProblem;

    private Doctor(TokenAccess access, DoctorOptions options, Consumer<String> progress) {
        this.access = access;
        this.options = options;
        this.progress = progress;
    }

    /**
     * Runs every check.
     *
     * @param progress receives a line now and then during the sign-speed loop (for a terminal)
     */
    public static DoctorReport run(TokenAccess access, DoctorOptions options, Consumer<String> progress) {
        return new Doctor(access, options, progress).run();
    }

    private DoctorReport run() {
        String keyName = options.key().withoutQuery().toString();
        // module
        List<TokenInfo> slots;
        try {
            slots = access.slots();
        } catch (TokenException e) {
            checks.add(Check.fail("module", e.getMessage()));
            return stopped(keyName, "the PKCS#11 module does not load");
        }
        long present = slots.stream().filter(TokenInfo::tokenPresent).count();
        checks.add(Check.ok("module", access.module() + " loaded: " + slots.size() + " slot" + plural(slots.size())
                + ", " + present + " with a token"));
        // token
        TokenInfo info;
        try {
            info = access.token();
        } catch (TokenException e) {
            checks.add(Check.fail("token", e.getMessage()));
            return stopped(keyName, "no token matches the key's URI");
        }
        checks.add(Check.ok("token", "label '" + info.label() + "', serial " + info.serial() + ", slot " + info.slotId()
                + ", model " + info.model() + " (" + info.manufacturer() + ")"));
        // login, once
        Token opened;
        try {
            opened = access.open();
        } catch (LoginFailedException e) {
            checks.add(Check.fail("login", "C_Login as user on '" + info.label() + "' failed (" + e.ckr() + "), "
                    + e.tries().describe() + "; not retried: check the PIN source and run again"));
            return stopped(keyName, "login failed (" + e.ckr() + ")");
        } catch (TokenException e) {
            checks.add(Check.fail("login", e.getMessage()));
            return stopped(keyName, "the token could not be opened");
        }
        try (Token token = opened) {
            checks.add(loginCheck(info));
            return withToken(keyName, token);
        }
    }

    private Check loginCheck(TokenInfo info) {
        if (!info.loginRequired()) {
            return Check.ok("login", "token '" + info.label() + "' needs no login (CKF_LOGIN_REQUIRED not set)");
        }
        LoginFailedException.PinTries tries = info.pinTries();
        String how = info.protectedAuthenticationPath() ? " on the PIN pad" : "";
        if (tries == LoginFailedException.PinTries.COUNT_LOW || tries == LoginFailedException.PinTries.FINAL_TRY) {
            // Read before the login; a good login resets the count on most tokens, so this is history, not a problem.
            return Check.ok("login", "logged in as user" + how + " (C_Login CKU_USER, once); before it, "
                    + tries.describe() + ": someone tried a wrong PIN");
        }
        return Check.ok("login", "logged in as user" + how + " (C_Login CKU_USER, once)");
    }

    private DoctorReport withToken(String keyName, Token token) {
        TokenKey key;
        try {
            key = token.key(options.key());
        } catch (KeyNotFoundException e) {
            checks.add(Check.fail("key", e.getMessage()));
            return stopped(keyName, "the key was not found");
        } catch (TokenException e) {
            checks.add(Check.fail("key", "finding the key failed: " + e.getMessage()));
            return stopped(keyName, "the key could not be read from the token");
        }
        KeyInfo k = key.info();
        keyName = key.uri().toString();

        // certificate: --cert, else the one stored beside the key
        List<X509Certificate> chain = options.chain();
        String certSource = options.chainSource();
        if (chain.isEmpty() && key.certificate().isPresent()) {
            chain = List.of(key.certificate().get());
            certSource = "the token (same CKA_ID)";
        }
        if (chain.isEmpty()) {
            checks.add(Check.fail("key", k.describe() + " found, but no certificate: none on the token with CKA_ID "
                    + (k.id() == null ? "-" : k.id().hex()) + " and no --cert; store one with 'hsmtls cert import' "
                    + "or give --cert chain.pem"));
        } else {
            String ignored = !options.chain().isEmpty() && key.certificate().isPresent()
                    && !key.certificate().get().equals(chain.get(0))
                    ? "; the token's own certificate '" + subject(key.certificate().get()) + "' is not used, as "
                            + "serve would not with --cert" : "";
            checks.add(Check.ok("key", k.describe() + " found, certificate '" + subject(chain.get(0)) + "' from "
                    + certSource + ignored));
        }

        checks.add(protection(k));
        checks.add(authentication(k));
        checks.add(usage(k));
        checks.add(allowedMechanisms(k));
        checks.add(mechanisms(token, k));
        checks.add(callPath(token));

        boolean certUsable = true;
        String certProblem = null;
        if (!chain.isEmpty()) {
            X509Certificate leaf = chain.get(0);
            if (k.publicKey() == null || !sameKey(leaf.getPublicKey(), k.publicKey())) {
                checks.add(Check.fail("cert-match", "certificate '" + subject(leaf) + "' (" + keyDescription(
                        leaf.getPublicKey()) + ") is not for key " + k.describe() + ": its public key differs; "
                        + "give the certificate issued for this key"));
                certUsable = false;
                certProblem = "the certificate's public key is not the key's";
            } else {
                checks.add(Check.ok("cert-match", "certificate public key equals the token's public key ("
                        + keyDescription(k.publicKey()) + ")"));
            }
            checks.add(chainCheck(chain));
            Check validity = validity(chain);
            checks.add(validity);
            if (validity.status() == Status.FAIL && certUsable) {
                certUsable = false;
                certProblem = validityProblem;
            }
        } else {
            certUsable = false;
            certProblem = "no certificate for the key";
        }

        Optional<SignSpeed> speed = signSpeed(key);
        checks.add(serveProfiles(key, chain));

        List<Verdict> verdicts = new ArrayList<>();
        X509Certificate leaf = chain.isEmpty() ? null : chain.get(0);
        verdicts.add(signVerdict(TlsUse.TLS_1_3, TlsVersion.TLS_1_3, token, key, leaf, certUsable, certProblem));
        verdicts.add(signVerdict(TlsUse.TLS_1_2_ECDHE, TlsVersion.TLS_1_2, token, key, leaf, certUsable, certProblem));
        verdicts.add(rsaKeyExchangeVerdict(token, key, leaf, certUsable, certProblem));
        return new DoctorReport(keyName, checks, verdicts, speed);
    }

    /** How serve's signatures and decryptions will reach the module; either way works. */
    private static Check callPath(Token token) {
        return token.whyNotDirect()
                .map(why -> Check.ok("call-path", "signing and decryption go through the PKCS#11 wrapper's JNI ("
                        + why + "): a length query before each signature, one more module call"))
                .orElseGet(() -> Check.ok("call-path", "signing and decryption go straight into the module's "
                        + "function list: one C_Sign per signature"));
    }

    // ---- key attributes ---------------------------------------------------------------------

    private static Check protection(KeyInfo k) {
        if (k.sensitive() && !k.extractable()) {
            return Check.ok("key-protection", "CKA_SENSITIVE true, CKA_EXTRACTABLE false: the private key cannot "
                    + "leave the token");
        }
        List<String> bad = new ArrayList<>();
        if (!k.sensitive()) {
            bad.add("CKA_SENSITIVE false (the token reveals the private key's value)");
        }
        if (k.extractable()) {
            bad.add("CKA_EXTRACTABLE true (the private key can be wrapped and taken off the token)");
        }
        return Check.fail("key-protection", String.join(", ", bad) + ": the key may already exist outside the "
                + "token; generate a new key with 'hsmtls key generate' (sensitive, non-extractable) and a new "
                + "certificate for it");
    }

    private static Check authentication(KeyInfo k) {
        if (k.alwaysAuthenticate()) {
            return Check.warn("key-auth", "CKA_ALWAYS_AUTHENTICATE true: every signature needs its own login "
                    + "(C_Login CKU_CONTEXT_SPECIFIC), one more token round trip per handshake; use a key without it "
                    + "for a busy server");
        }
        return Check.ok("key-auth", "CKA_ALWAYS_AUTHENTICATE false: one login serves every signature");
    }

    private static Check usage(KeyInfo k) {
        String decrypt = k.algorithm() == KeyAlgorithm.RSA
                ? ", CKA_DECRYPT " + k.canDecrypt() + (k.canDecrypt() ? " (RSA key exchange possible)"
                        : " (needed only for RSA key exchange, profile legacy-rsa)")
                : "";
        if (!k.canSign()) {
            return Check.fail("key-usage", "CKA_SIGN false" + decrypt + ": TLS 1.3 and ECDHE need the key to sign "
                    + "every handshake; generate a key with signing allowed");
        }
        return Check.ok("key-usage", "CKA_SIGN true" + decrypt);
    }

    private static Check allowedMechanisms(KeyInfo k) {
        if (k.allowedMechanisms().isEmpty()) {
            return Check.ok("key-mechanisms", "CKA_ALLOWED_MECHANISMS not set: the key may use every mechanism the "
                    + "token offers");
        }
        String listed = names(k.allowedMechanisms());
        List<String> missing = new ArrayList<>();
        if (k.algorithm() == KeyAlgorithm.RSA && !k.allows(Mechanism.CKM_RSA_PKCS_PSS)) {
            missing.add("CKM_RSA_PKCS_PSS (TLS 1.3 needs RSA-PSS)");
        }
        if (k.algorithm() == KeyAlgorithm.EC && !k.allows(Mechanism.CKM_ECDSA)) {
            missing.add("CKM_ECDSA (every TLS signature with this key)");
        }
        if (k.algorithm() == KeyAlgorithm.ED25519 && !k.allows(Mechanism.CKM_EDDSA)) {
            missing.add("CKM_EDDSA (every TLS signature with this key)");
        }
        if (missing.isEmpty()) {
            return Check.ok("key-mechanisms", "CKA_ALLOWED_MECHANISMS " + listed);
        }
        return Check.warn("key-mechanisms", "CKA_ALLOWED_MECHANISMS " + listed + " omits " + String.join(", ", missing));
    }

    /** What the token lists, per TLS use, for this key's family. */
    private static Check mechanisms(Token token, KeyInfo k) {
        List<String> parts = new ArrayList<>();
        List<String> lacking = new ArrayList<>();
        switch (k.algorithm()) {
            case EC -> need(token, "TLS 1.3 and 1.2", List.of(Mechanism.CKM_ECDSA), parts, lacking);
            case ED25519 -> need(token, "TLS 1.3 and 1.2", List.of(Mechanism.CKM_EDDSA), parts, lacking);
            case RSA -> {
                need(token, "TLS 1.3", List.of(Mechanism.CKM_RSA_PKCS_PSS), parts, lacking);
                need(token, "TLS 1.2 ECDHE", List.of(Mechanism.CKM_RSA_PKCS_PSS, Mechanism.CKM_RSA_PKCS), parts, lacking);
                need(token, "RSA key exchange", List.of(Mechanism.CKM_RSA_X_509, Mechanism.CKM_RSA_PKCS), parts, lacking);
            }
        }
        String detail = "token lists " + String.join("; ", parts);
        if (lacking.isEmpty()) {
            return Check.ok("mechanisms", detail);
        }
        boolean nothing = lacking.size() == parts.size();
        return new Check("mechanisms", nothing ? Status.FAIL : Status.WARN, detail + "; missing for "
                + String.join(", ", lacking));
    }

    private static void need(Token token, String use, List<Mechanism> any, List<String> parts, List<String> lacking) {
        List<Mechanism> have = any.stream().filter(token::supports).toList();
        if (have.isEmpty()) {
            parts.add("none of " + names(any) + " for " + use);
            lacking.add(use);
        } else {
            parts.add(names(have) + " for " + use);
        }
    }

    // ---- certificate ------------------------------------------------------------------------

    /**
     * Checks names and signatures up the chain (RFC 5280 §6) with {@link ChainValidator}, the last
     * certificate given as the anchor. Validity is the next check's business, so the path is
     * validated at a moment all certificates share when there is one; an expired chain then
     * fails once, as expired, not twice.
     */
    private Check chainCheck(List<X509Certificate> chain) {
        X509Certificate leaf = chain.get(0);
        if (chain.size() == 1) {
            if (!selfSigned(leaf)) {
                return Check.warn("chain", "leaf only, issued by '" + leaf.getIssuerX500Principal().getName()
                        + "': give the intermediates with --cert chain.pem so clients can build the path");
            }
            String usage = leafUsageProblem(leaf);
            if (usage != null) {
                return Check.fail("chain", "self-signed '" + subject(leaf) + "': " + usage);
            }
            return Check.ok("chain", "self-signed '" + subject(leaf) + "', signature verifies; clients must trust "
                    + "this certificate itself");
        }
        X509Certificate anchor = chain.get(chain.size() - 1);
        String path = chain.stream().map(c -> "'" + subject(c) + "'").collect(Collectors.joining(" <- "))
                + (selfSigned(anchor) ? " (root)" : " (ends at an intermediate: clients need its issuer in their "
                + "trust store)");
        Optional<Instant> at = commonMoment(chain);
        if (at.isEmpty()) {
            // No moment when all are valid: PKIX would stop at the first date problem, so walk names
            // and signatures by hand and leave the dates to the validity check.
            String broken = walk(chain);
            return broken == null ? Check.ok("chain", path + ": names and signatures chain (the validity periods "
                    + "do not overlap: see validity)") : Check.fail("chain", broken);
        }
        try {
            new ChainValidator(List.of(anchor), ChainValidator.Purpose.SERVER_AUTH,
                    Clock.fixed(at.get(), ZoneOffset.UTC)).validate(chain);
        } catch (CertificateRejectedException e) {
            return Check.fail("chain", e.getMessage());
        }
        return Check.ok("chain", path + ": names and signatures chain");
    }

    /** Null when each certificate names and is signed by the next; else what breaks. */
    private static String walk(List<X509Certificate> chain) {
        for (int i = 0; i + 1 < chain.size(); i++) {
            X509Certificate c = chain.get(i);
            X509Certificate issuer = chain.get(i + 1);
            if (!c.getIssuerX500Principal().equals(issuer.getSubjectX500Principal())) {
                return "certificate " + i + " ('" + subject(c) + "') names issuer '" + c.getIssuerX500Principal()
                        .getName() + "', but certificate " + (i + 1) + " is '" + subject(issuer) + "': put the chain "
                        + "in order, leaf first";
            }
            try {
                c.verify(issuer.getPublicKey());
            } catch (GeneralSecurityException e) {
                return "certificate " + i + " ('" + subject(c) + "') signature does not verify with the key of '"
                        + subject(issuer) + "'";
            }
        }
        return null;
    }

    private static Optional<Instant> commonMoment(List<X509Certificate> chain) {
        Instant from = chain.stream().map(c -> c.getNotBefore().toInstant()).max(Instant::compareTo).orElseThrow();
        Instant to = chain.stream().map(c -> c.getNotAfter().toInstant()).min(Instant::compareTo).orElseThrow();
        return from.isAfter(to) ? Optional.empty() : Optional.of(from);
    }

    private static String leafUsageProblem(X509Certificate leaf) {
        try {
            List<String> eku = leaf.getExtendedKeyUsage();
            if (eku != null && !eku.contains(ChainValidator.Purpose.SERVER_AUTH.oid()) && !eku.contains("2.5.29.37.0")) {
                return "extended key usage " + eku + " lacks serverAuth (" + ChainValidator.Purpose.SERVER_AUTH.oid()
                        + "): clients will refuse it";
            }
        } catch (CertificateParsingException e) {
            return "malformed extended key usage extension";
        }
        return null;
    }

    private Check validity(List<X509Certificate> chain) {
        Instant now = options.clock().instant();
        Instant soonest = null;
        X509Certificate first = null;
        for (int i = 0; i < chain.size(); i++) {
            X509Certificate c = chain.get(i);
            Instant nb = c.getNotBefore().toInstant();
            Instant na = c.getNotAfter().toInstant();
            String who = (i == 0 ? "certificate" : "chain certificate " + i) + " '" + subject(c) + "'";
            if (now.isAfter(na)) {
                validityProblem = who + " expired on " + na;
                return Check.fail("validity", validityProblem + ": renew it");
            }
            if (now.isBefore(nb)) {
                validityProblem = who + " is not valid before " + nb;
                return Check.fail("validity", validityProblem + ": check the clock, or wait");
            }
            if (soonest == null || na.isBefore(soonest)) {
                soonest = na;
                first = c;
            }
        }
        long days = Duration.between(now, soonest).toDays();
        String who = first == chain.get(0) ? "certificate" : "chain certificate '" + subject(first) + "'";
        if (Duration.between(now, soonest).compareTo(options.expiryWarning()) < 0) {
            return Check.warn("validity", who + " expires on " + soonest + ", in " + days + " day" + plural(days)
                    + ": renew it soon");
        }
        return Check.ok("validity", "valid until " + soonest + " (" + days + " days)"
                + (chain.size() > 1 && first != chain.get(0) ? ", limited by '" + subject(first) + "'" : ""));
    }

    // ---- what serve would say ----------------------------------------------------------------

    /**
     * Asks {@link ServerCredentials#checked} — the very check {@code hsmtls serve} runs before it
     * opens its port — about each profile, so the doctor and serve cannot disagree. Every
     * profile includes TLS 1.3, so an RSA key without RSA-PSS is refused by all of them.
     */
    private static Check serveProfiles(TokenKey key, List<X509Certificate> chain) {
        List<String> accepted = new ArrayList<>();
        List<String> refused = new ArrayList<>();
        Set<String> problems = new LinkedHashSet<>();
        for (Profile p : Profile.values()) {
            try {
                ServerCredentials.checked(key, chain, p);
                accepted.add(p.cliName());
            } catch (CredentialsException e) {
                refused.add(p.cliName());
                // The same problem shows up once per profile; say it once.
                e.problems().forEach(x -> problems.add(x.replace(" (profile " + p.cliName() + ")", "")));
            }
        }
        String detail = "hsmtls serve " + (accepted.isEmpty() ? "refuses every profile"
                : "accepts --profile " + String.join(", ", accepted)) + (refused.isEmpty() ? ""
                : (accepted.isEmpty() ? "" : "; refuses " + String.join(", ", refused)) + ": "
                        + String.join("; ", problems));
        if (accepted.isEmpty()) {
            return Check.fail("serve", detail);
        }
        if (!accepted.contains(Profile.COMPAT.cliName())) {
            return Check.warn("serve", detail + "; the default profile is compat: pass --profile " + accepted.get(0));
        }
        return Check.ok("serve", detail);
    }

    // ---- sign speed -------------------------------------------------------------------------

    /**
     * Signs in a loop through {@link TokenKey#sign}, the same path a handshake takes, for the
     * configured time or count, and checks the first signature against the public key.
     */
    private Optional<SignSpeed> signSpeed(TokenKey key) {
        Optional<SignatureScheme> pick = preferredScheme(key);
        if (pick.isEmpty()) {
            checks.add(Check.fail("sign", "no TLS signature scheme is available for key " + key.info().describe()
                    + " (see key-usage, key-mechanisms and mechanisms above)"));
            return Optional.empty();
        }
        SignatureScheme scheme = pick.get();
        byte[] message = "hsmtls doctor: a message the size of a TLS 1.3 CertificateVerify input, padded "
                .repeat(2).getBytes(StandardCharsets.UTF_8);
        try {
            byte[] first = key.sign(scheme, message);
            if (!verifies(scheme, key.info().publicKey(), message, first)) {
                checks.add(Check.fail("sign", scheme.tlsName() + " signature from the token does not verify with the "
                        + "key's public key: the token's public and private objects with this CKA_ID do not match"));
                return Optional.empty();
            }
            long budget = options.speedTime().toNanos();
            int max = options.speedMaxOps();
            long start = System.nanoTime();
            long nextReport = start + 500_000_000L;
            int ops = 0;
            while (ops < max && System.nanoTime() - start < budget) {
                key.sign(scheme, message);
                ops++;
                long now = System.nanoTime();
                if (now >= nextReport) {
                    progress.accept("signing with " + scheme.tlsName() + ": " + ops + " signatures in "
                            + (now - start) / 1_000_000 + " ms");
                    nextReport = now + 500_000_000L;
                }
            }
            Duration elapsed = Duration.ofNanos(System.nanoTime() - start);
            if (ops == 0) {
                checks.add(Check.ok("sign", scheme.tlsName() + " with " + scheme.mechanism()
                        + ": signature verifies; speed not measured (--speed-seconds 0)"));
                return Optional.empty();
            }
            SignSpeed speed = new SignSpeed(scheme.tlsName(), ops, elapsed);
            String detail = String.format(Locale.ROOT, "%s with %s: signature verifies; %d signatures in "
                            + "%.2f s, %.1f/s, mean %.2f ms", scheme.tlsName(), scheme.mechanism(), ops,
                    elapsed.toNanos() / 1e9, speed.opsPerSecond(), speed.meanLatencyMillis());
            // One signature per full handshake: beyond ~100 ms a person notices the wait.
            checks.add(speed.meanLatencyMillis() > 100 ? Check.warn("sign", detail + ": slow, every full handshake "
                    + "waits this long for the token") : Check.ok("sign", detail));
            return Optional.of(speed);
        } catch (TokenException e) {
            checks.add(Check.fail("sign", scheme.tlsName() + " with " + scheme.mechanism() + " failed: "
                    + e.getMessage()));
            return Optional.empty();
        }
    }

    /** A TLS 1.3 scheme when there is one (what most handshakes will use), else a TLS 1.2 one. */
    private static Optional<SignatureScheme> preferredScheme(TokenKey key) {
        Set<SignatureScheme> have = key.signatureSchemes();
        KeyAlgorithm alg = key.info().algorithm();
        for (TlsVersion v : List.of(TlsVersion.TLS_1_3, TlsVersion.TLS_1_2)) {
            for (SignatureScheme s : Profile.COMPAT.signatureSchemes(alg, v)) {
                if (have.contains(s)) {
                    return Optional.of(s);
                }
            }
        }
        return Optional.empty();
    }

    private static boolean verifies(SignatureScheme scheme, PublicKey pub, byte[] message, byte[] sig) {
        if (pub == null) {
            return false;
        }
        try {
            Signature v;
            String hash = scheme.hash() == null ? null : scheme.hash().replace("-", "");
            switch (scheme.keyAlgorithm()) {
                case EC -> v = Signature.getInstance(hash + "withECDSA");
                case ED25519 -> v = Signature.getInstance("Ed25519");
                case RSA -> {
                    if (scheme.isPss()) {
                        v = Signature.getInstance("RSASSA-PSS");
                        v.setParameter(new PSSParameterSpec(scheme.hash(), "MGF1", new MGF1ParameterSpec(scheme.hash()),
                                scheme.hashLength(), 1));
                    } else {
                        v = Signature.getInstance(hash + "withRSA");
                    }
                }
                default -> throw new IllegalStateException("unknown key algorithm " + scheme.keyAlgorithm());
            }
            v.initVerify(pub);
            v.update(message);
            return v.verify(sig);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    // ---- verdicts ---------------------------------------------------------------------------

    private Verdict signVerdict(TlsUse use, TlsVersion version, Token token, TokenKey key, X509Certificate leaf,
                                boolean certUsable, String certProblem) {
        KeyInfo k = key.info();
        List<SignatureScheme> need = Profile.COMPAT.signatureSchemes(k.algorithm(), version);
        List<SignatureScheme> can = need.stream().filter(key.signatureSchemes()::contains).toList();
        String note = k.algorithm() == KeyAlgorithm.RSA && version == TlsVersion.TLS_1_3 ? PSS_NOTE : "";
        Set<Mechanism> mechs = need.stream().map(SignatureScheme::mechanism)
                .collect(Collectors.toCollection(LinkedHashSet::new));
        if (can.isEmpty()) {
            String why;
            if (need.isEmpty()) {
                why = "no " + version.display() + " signature scheme exists for " + k.algorithm() + " keys";
            } else if (!k.canSign()) {
                why = "key lacks CKA_SIGN";
            } else if (mechs.stream().noneMatch(token::supports)) {
                why = "token lacks " + names(mechs) + note;
            } else if (mechs.stream().filter(token::supports).noneMatch(k::allows)) {
                why = "key's CKA_ALLOWED_MECHANISMS omits " + names(mechs.stream().filter(token::supports).toList())
                        + note;
            } else {
                why = "no scheme of " + need.stream().map(SignatureScheme::tlsName).toList() + " fits key "
                        + k.describe();
            }
            return new Verdict(use, false, why);
        }
        if (!certUsable) {
            return new Verdict(use, false, certProblem);
        }
        boolean[] ku = leaf.getKeyUsage();
        if (ku != null && !ku[0]) {
            return new Verdict(use, false, "certificate key usage lacks digitalSignature");
        }
        String schemes = can.stream().map(SignatureScheme::tlsName).collect(Collectors.joining(", "));
        Set<Mechanism> used = can.stream().map(SignatureScheme::mechanism)
                .collect(Collectors.toCollection(LinkedHashSet::new));
        String extra = k.algorithm() == KeyAlgorithm.RSA && version == TlsVersion.TLS_1_2 && can.stream()
                .noneMatch(SignatureScheme::isPss) ? " (no RSA-PSS: only clients that accept PKCS#1 v1.5)" : "";
        return new Verdict(use, true, schemes + " with " + names(used) + extra);
    }

    private Verdict rsaKeyExchangeVerdict(Token token, TokenKey key, X509Certificate leaf, boolean certUsable,
                                          String certProblem) {
        KeyInfo k = key.info();
        TlsUse use = TlsUse.TLS_1_2_RSA_KEY_EXCHANGE;
        if (k.algorithm() != KeyAlgorithm.RSA) {
            return new Verdict(use, false, "not an RSA key (" + k.algorithm() + (k.curve() != null ? " " + k.curve() : "")
                    + "): RSA key exchange decrypts with the server's RSA key");
        }
        if (!k.canDecrypt()) {
            return new Verdict(use, false, "key lacks CKA_DECRYPT");
        }
        List<Mechanism> mechs = List.of(Mechanism.CKM_RSA_X_509, Mechanism.CKM_RSA_PKCS);
        if (mechs.stream().noneMatch(token::supports)) {
            return new Verdict(use, false, "token lacks " + names(mechs));
        }
        if (!key.canDecryptRsa()) {
            return new Verdict(use, false, "key's CKA_ALLOWED_MECHANISMS omits " + names(mechs));
        }
        if (!certUsable) {
            return new Verdict(use, false, certProblem);
        }
        boolean[] ku = leaf.getKeyUsage();
        if (ku != null && (ku.length < 3 || !ku[2])) {
            return new Verdict(use, false, "certificate key usage lacks keyEncipherment");
        }
        Mechanism m = token.supports(Mechanism.CKM_RSA_X_509) && k.allows(Mechanism.CKM_RSA_X_509)
                ? Mechanism.CKM_RSA_X_509 : Mechanism.CKM_RSA_PKCS;
        return new Verdict(use, true, "premaster decrypted with " + m + "; only with --profile legacy-rsa "
                + "(no forward secrecy)");
    }

    /** After a step that leaves nothing to check: every verdict is no, for that reason. */
    private DoctorReport stopped(String keyName, String why) {
        List<Verdict> verdicts = Arrays.stream(TlsUse.values()).map(u -> new Verdict(u, false, why)).toList();
        return new DoctorReport(keyName, checks, verdicts, Optional.empty());
    }

    // ---- small helpers ----------------------------------------------------------------------

    private static boolean selfSigned(X509Certificate c) {
        if (!c.getSubjectX500Principal().equals(c.getIssuerX500Principal())) {
            return false;
        }
        try {
            c.verify(c.getPublicKey());
            return true;
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    /** SubjectPublicKeyInfo DER equality: the same key from the token and from a certificate compares equal. */
    static boolean sameKey(PublicKey a, PublicKey b) {
        return Arrays.equals(a.getEncoded(), b.getEncoded());
    }

    private static String keyDescription(PublicKey k) {
        if (k instanceof RSAPublicKey r) {
            return "RSA " + r.getModulus().bitLength();
        }
        if (k instanceof ECPublicKey e) {
            return "EC " + e.getParams().getCurve().getField().getFieldSize();
        }
        return k.getAlgorithm();
    }

    private static String subject(X509Certificate c) {
        return c.getSubjectX500Principal().getName();
    }

    private static String names(Collection<Mechanism> ms) {
        return ms.stream().map(Mechanism::name).sorted().collect(Collectors.joining(", "));
    }

    private static String plural(long n) {
        return n == 1 ? "" : "s";
    }
}
