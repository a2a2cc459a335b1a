package io.hsmtls.token.iaik;

import io.hsmtls.token.KeyAlgorithm;
import io.hsmtls.token.KeyId;
import io.hsmtls.token.KeyInfo;
import io.hsmtls.token.KeyNotFoundException;
import io.hsmtls.token.Mechanism;
import io.hsmtls.token.MechanismUnsupportedException;
import io.hsmtls.token.ObjectType;
import io.hsmtls.token.Pkcs11Uri;
import io.hsmtls.token.SignatureScheme;
import io.hsmtls.token.TokenKey;
import java.io.ByteArrayInputStream;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PublicKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import iaik.pkcs.pkcs11.wrapper.CK_MECHANISM;
import iaik.pkcs.pkcs11.wrapper.CK_RSA_PKCS_PSS_PARAMS;
import org.xipki.pkcs11.wrapper.AttributeVector;
import org.xipki.pkcs11.wrapper.PKCS11Constants;
import org.xipki.pkcs11.wrapper.PKCS11Exception;
import org.xipki.pkcs11.wrapper.Session;

/**
 * A private key on an {@link IaikToken}. Its attributes, public key, certificate and the schemes
 * it can do are read once when it is found. The object handle is only a cache: it is dropped on
 * any session, handle or device error and after the token comes back (a new
 * {@link TokenHealth#generation()}), and the key is then found again by CKA_ID.
 */
public final class IaikTokenKey implements TokenKey {
    private final IaikToken token;
    private final KeyInfo info;
    private final Pkcs11Uri uri;
    /** CKA_ALLOWED_MECHANISMS as read (all codes, not only the ones hsmtls knows); null = attribute absent. */
    private final Set<Long> allowedCodes;
    private final Set<SignatureScheme> schemes;
    private final int modulusBytes;
    private volatile X509Certificate certificate;
    private volatile long handle;
    private volatile long handleGeneration;

    private IaikTokenKey(IaikToken token, KeyInfo info, Set<Long> allowedCodes, X509Certificate certificate,
                         long handle, int modulusBytes) {
        this.token = token;
        this.info = info;
        this.allowedCodes = allowedCodes;
        this.certificate = certificate;
        this.handle = handle;
        this.handleGeneration = token.health().generation();
        this.modulusBytes = modulusBytes;
        Pkcs11Uri u = token.tokenUri();
        if (info.label() != null && !info.label().isEmpty()) {
            u = u.withObject(info.label());
        }
        if (info.id() != null) {
            u = u.withId(info.id());
        }
        this.uri = u.withType(ObjectType.PRIVATE);
        this.schemes = Collections.unmodifiableSet(computeSchemes());
    }

    static IaikTokenKey load(IaikToken token, SessionPool.Lease lease, long h) throws PKCS11Exception {
        Session s = lease.session;
        AttributeVector a = s.getAttrValues(h, PKCS11Constants.CKA_KEY_TYPE, PKCS11Constants.CKA_ID,
                PKCS11Constants.CKA_LABEL, PKCS11Constants.CKA_SENSITIVE, PKCS11Constants.CKA_EXTRACTABLE,
                PKCS11Constants.CKA_ALWAYS_AUTHENTICATE, PKCS11Constants.CKA_SIGN, PKCS11Constants.CKA_DECRYPT);
        Long keyType = a.keyType();
        byte[] idBytes = a.id();
        KeyId id = idBytes == null || idBytes.length == 0 ? null : KeyId.of(idBytes);
        String label = a.label() == null ? "" : a.label();
        KeyAlgorithm alg;
        String curve = null;
        byte[] ecParams = null;
        BigInteger modulus = null;
        BigInteger exponent = null;
        if (keyType != null && keyType == PKCS11Constants.CKK_RSA) {
            alg = KeyAlgorithm.RSA;
            AttributeVector r = s.getAttrValues(h, PKCS11Constants.CKA_MODULUS, PKCS11Constants.CKA_PUBLIC_EXPONENT);
            modulus = r.modulus();
            exponent = r.publicExponent();
        } else if (keyType != null && (keyType == PKCS11Constants.CKK_EC || keyType == PKCS11Constants.CKK_EC_EDWARDS)) {
            ecParams = s.getAttrValues(h, PKCS11Constants.CKA_EC_PARAMS).ecParams();
            curve = Der.curveName(ecParams);
            alg = keyType == PKCS11Constants.CKK_EC_EDWARDS || "ed25519".equals(curve) ? KeyAlgorithm.ED25519 : KeyAlgorithm.EC;
            if (alg == KeyAlgorithm.ED25519) {
                curve = "ed25519";
            }
        } else {
            throw new KeyNotFoundException(token.tokenUri().withObject(label), List.of(label + ": key type "
                    + (keyType == null ? "unknown" : PKCS11Constants.ckkCodeToName(keyType))
                    + " is not one hsmtls can use (RSA, EC, Ed25519)"), false);
        }

        PublicKey publicKey = null;
        X509Certificate cert = null;
        if (id != null) {
            long[] pubs = IaikToken.findObjects(s, new AttributeVector().class_(IaikToken.CKO_PUBLIC_KEY).id(idBytes), 2);
            if (pubs.length >= 1) {
                publicKey = readPublicKey(s, pubs[0], alg, curve);
            }
            long[] certs = IaikToken.findObjects(s, new AttributeVector().class_(IaikToken.CKO_CERTIFICATE).id(idBytes), 8);
            for (long c : certs) {
                X509Certificate x = parseCertificate(s.getAttrValues(c, PKCS11Constants.CKA_VALUE).value());
                if (x != null && (cert == null || publicKey != null
                        && Arrays.equals(x.getPublicKey().getEncoded(), publicKey.getEncoded()))) {
                    cert = x;
                }
            }
        }
        if (publicKey == null && cert != null) {
            publicKey = cert.getPublicKey();
        }
        if (publicKey == null && modulus != null && exponent != null) {
            try {
                publicKey = Der.rsaPublicKey(modulus, exponent);
            } catch (GeneralSecurityException e) {
                publicKey = null;
            }
        }
        int bits;
        int modulusBytes = 0;
        if (alg == KeyAlgorithm.RSA) {
            if (modulus == null && publicKey instanceof java.security.interfaces.RSAPublicKey rsa) {
                modulus = rsa.getModulus();
            }
            bits = modulus == null ? 0 : modulus.bitLength();
            modulusBytes = (bits + 7) / 8;
        } else {
            bits = curve == null ? 0 : Der.curveBits(curve);
        }

        long[] allowed = allowedMechanisms(token, lease, h, alg, Boolean.TRUE.equals(a.sign()),
                Boolean.TRUE.equals(a.decrypt()));
        Set<Long> allowedCodes = null;
        Set<Mechanism> known = EnumSet.noneOf(Mechanism.class);
        if (allowed != null && allowed.length > 0) {
            allowedCodes = new HashSet<>();
            for (long m : allowed) {
                allowedCodes.add(m);
                Mechanism.ofCode(m).ifPresent(known::add);
            }
        }
        KeyInfo info = new KeyInfo(label, id, alg, bits, curve, publicKey, Boolean.TRUE.equals(a.sensitive()),
                Boolean.TRUE.equals(a.extractable()), Boolean.TRUE.equals(a.alwaysAuthenticate()),
                Boolean.TRUE.equals(a.sign()), Boolean.TRUE.equals(a.decrypt()), known);
        return new IaikTokenKey(token, info, allowedCodes == null ? null : Set.copyOf(allowedCodes), cert, h, modulusBytes);
    }

    /**
     * CKA_ALLOWED_MECHANISMS, or null when the attribute is absent or empty (the key is not
     * restricted). The wrapper's JNI layer decodes this array attribute as a single CK_ULONG and
     * drops every mechanism after the first, so for a restricted key each mechanism hsmtls uses is
     * checked by the token itself: an operation is initialised with it on a throw-away session
     * (C_SignInit/C_DecryptInit refuse a mechanism the key does not allow).
     */
    static long[] allowedMechanisms(IaikToken token, SessionPool.Lease lease, long h, KeyAlgorithm alg,
                                    boolean canSign, boolean canDecrypt) {
        Object v;
        try {
            AttributeVector av = lease.session.getAttrValues(h, PKCS11Constants.CKA_ALLOWED_MECHANISMS);
            var attr = av.getAttribute(PKCS11Constants.CKA_ALLOWED_MECHANISMS);
            v = attr == null || attr.getCkAttribute() == null ? null : attr.getCkAttribute().pValue;
        } catch (PKCS11Exception | RuntimeException e) {
            return null;
        }
        if (v instanceof long[] arr) {
            return arr.length == 0 ? null : arr;
        }
        if (!(v instanceof Long first)) {
            return null;
        }
        Set<Long> allowed = new java.util.TreeSet<>();
        allowed.add(first);
        List<Mechanism> candidates = switch (alg) {
            case RSA -> List.of(Mechanism.CKM_RSA_PKCS, Mechanism.CKM_RSA_PKCS_PSS, Mechanism.CKM_RSA_X_509);
            case EC -> List.of(Mechanism.CKM_ECDSA);
            case ED25519 -> List.of(Mechanism.CKM_EDDSA);
        };
        for (Mechanism m : candidates) {
            if (m.code() != first && token.supports(m) && token.probeInit(h, m, canSign, canDecrypt)) {
                allowed.add(m.code());
            }
        }
        return allowed.stream().mapToLong(Long::longValue).toArray();
    }

    private static PublicKey readPublicKey(Session s, long h, KeyAlgorithm alg, String curve) throws PKCS11Exception {
        try {
            if (alg == KeyAlgorithm.RSA) {
                AttributeVector r = s.getAttrValues(h, PKCS11Constants.CKA_MODULUS, PKCS11Constants.CKA_PUBLIC_EXPONENT);
                return r.modulus() == null || r.publicExponent() == null ? null
                        : Der.rsaPublicKey(r.modulus(), r.publicExponent());
            }
            AttributeVector e = s.getAttrValues(h, PKCS11Constants.CKA_EC_PARAMS, PKCS11Constants.CKA_EC_POINT);
            if (e.ecPoint() == null || curve == null) {
                return null;
            }
            if (alg == KeyAlgorithm.ED25519) {
                return Der.ed25519PublicKey(Der.unwrapEcPoint(e.ecPoint(), 32));
            }
            byte[] point = Der.unwrapEcPoint(e.ecPoint(), 1 + 2 * Der.fieldBytes(curve));
            return Der.ecPublicKey(e.ecParams() != null ? e.ecParams() : Der.oid(curveOid(curve)), point);
        } catch (GeneralSecurityException | IllegalArgumentException ex) {
            // A public key the JDK cannot rebuild: fall back to the certificate or the private key's attributes.
            return null;
        }
    }

    private static String curveOid(String curve) {
        return switch (curve) {
            case "secp256r1" -> "1.2.840.10045.3.1.7";
            case "secp384r1" -> "1.3.132.0.34";
            case "secp521r1" -> "1.3.132.0.35";
            default -> "1.3.101.112";
        };
    }

    static X509Certificate parseCertificate(byte[] der) {
        if (der == null || der.length == 0) {
            return null;
        }
        try {
            return (X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(new ByteArrayInputStream(der));
        } catch (CertificateException e) {
            return null;
        }
    }

    // ---- what the key can do --------------------------------------------------------------

    /** True when CKA_ALLOWED_MECHANISMS is absent or lists the mechanism (any code, known or not). */
    boolean keyAllows(Mechanism m) {
        return allowedCodes == null || allowedCodes.contains(m.code());
    }

    private Set<SignatureScheme> computeSchemes() {
        Set<SignatureScheme> out = EnumSet.noneOf(SignatureScheme.class);
        for (SignatureScheme s : SignatureScheme.values()) {
            if (whyNot(s) == null) {
                out.add(s);
            }
        }
        return out;
    }

    /** Null when the scheme works with this key on this token, else the reason it does not. */
    String whyNot(SignatureScheme s) {
        if (s.keyAlgorithm() != info.algorithm()) {
            return "the scheme is for " + s.keyAlgorithm() + " keys and this is an " + info.algorithm() + " key";
        }
        if (s.curve() != null && !s.curve().equals(info.curve())) {
            return "the scheme needs curve " + s.curve() + " and the key is on " + info.curve();
        }
        if (!info.canSign()) {
            return "the key's CKA_SIGN is false";
        }
        if (!token.supports(s.mechanism())) {
            return "token '" + token.info().label() + "' does not list " + s.mechanism();
        }
        if (!keyAllows(s.mechanism())) {
            return "the key's CKA_ALLOWED_MECHANISMS omits " + s.mechanism();
        }
        if (s.isPss() && modulusBytes > 0 && modulusBytes < 2 * s.hashLength() + 2) {
            return "a " + info.bits() + "-bit modulus is too short for PSS with " + s.hash();
        }
        return null;
    }

    @Override
    public Pkcs11Uri uri() {
        return uri;
    }

    @Override
    public KeyInfo info() {
        return info;
    }

    @Override
    public Optional<X509Certificate> certificate() {
        return Optional.ofNullable(certificate);
    }

    void certificateStored(X509Certificate cert) {
        this.certificate = cert;
    }

    @Override
    public Set<SignatureScheme> signatureSchemes() {
        return schemes;
    }

    @Override
    public boolean canDecryptRsa() {
        return decryptMechanism() != null;
    }

    private Mechanism decryptMechanism() {
        if (info.algorithm() != KeyAlgorithm.RSA || !info.canDecrypt()) {
            return null;
        }
        if (token.supports(Mechanism.CKM_RSA_X_509) && keyAllows(Mechanism.CKM_RSA_X_509)) {
            return Mechanism.CKM_RSA_X_509;
        }
        if (token.supports(Mechanism.CKM_RSA_PKCS) && keyAllows(Mechanism.CKM_RSA_PKCS)) {
            return Mechanism.CKM_RSA_PKCS;
        }
        return null;
    }

    // ---- operations -----------------------------------------------------------------------

    @Override
    public byte[] sign(SignatureScheme scheme, byte[] message) {
        check(scheme);
        if (!scheme.prehashed()) {
            return token.hot("C_Sign " + scheme.tlsName() + " with key " + name(), this,
                    s -> signOn(s, scheme.mechanism().code(), null, message));
        }
        byte[] digest;
        try {
            digest = MessageDigest.getInstance(scheme.hash()).digest(message);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(scheme.hash() + " missing from the JDK", e);
        }
        return signDigest(scheme, digest);
    }

    @Override
    public byte[] signDigest(SignatureScheme scheme, byte[] digest) {
        if (!scheme.prehashed()) {
            throw new IllegalArgumentException(scheme.tlsName() + " signs the whole message (CKM_EDDSA hashes inside):"
                    + " call sign(), not signDigest()");
        }
        check(scheme);
        if (digest.length != scheme.hashLength()) {
            throw new IllegalArgumentException("digest for " + scheme.tlsName() + " must be " + scheme.hashLength()
                    + " bytes (" + scheme.hash() + "), got " + digest.length);
        }
        String op = "C_Sign " + scheme.tlsName() + " with key " + name();
        return switch (scheme.mechanism()) {
            case CKM_ECDSA -> {
                byte[] sig = token.hot(op, this, s -> signOn(s, Mechanism.CKM_ECDSA.code(), null, digest));
                yield Der.looksLikeDerEcdsa(sig, Der.fieldBytes(info.curve())) ? sig : Der.ecdsaRawToDer(sig);
            }
            case CKM_RSA_PKCS -> {
                byte[] prefix = Der.digestInfoPrefix(scheme.hash());
                byte[] in = Arrays.copyOf(prefix, prefix.length + digest.length);
                System.arraycopy(digest, 0, in, prefix.length, digest.length);
                yield token.hot(op, this, s -> signOn(s, Mechanism.CKM_RSA_PKCS.code(), null, in));
            }
            case CKM_RSA_PKCS_PSS -> {
                CK_RSA_PKCS_PSS_PARAMS p = new CK_RSA_PKCS_PSS_PARAMS();
                switch (scheme.hash()) {
                    case "SHA-256" -> {
                        p.hashAlg = PKCS11Constants.CKM_SHA256;
                        p.mgf = PKCS11Constants.CKG_MGF1_SHA256;
                    }
                    case "SHA-384" -> {
                        p.hashAlg = PKCS11Constants.CKM_SHA384;
                        p.mgf = PKCS11Constants.CKG_MGF1_SHA384;
                    }
                    default -> {
                        p.hashAlg = PKCS11Constants.CKM_SHA512;
                        p.mgf = PKCS11Constants.CKG_MGF1_SHA512;
                    }
                }
                // TLS 1.3 (RFC 8446 §4.2.3): the salt is as long as the digest.
                p.sLen = scheme.hashLength();
                yield token.hot(op, this, s -> signOn(s, Mechanism.CKM_RSA_PKCS_PSS.code(), p, digest));
            }
            default -> throw new IllegalStateException("unexpected mechanism " + scheme.mechanism());
        };
    }

    private byte[] signOn(SessionPool.Lease s, long mechanism, CK_RSA_PKCS_PSS_PARAMS params, byte[] data)
            throws PKCS11Exception, iaik.pkcs.pkcs11.wrapper.PKCS11Exception {
        return oneShot(s, true, mechanism, params, data);
    }

    /**
     * C_SignInit (or C_DecryptInit), the context login an always-authenticate key needs, then the
     * single-part C_Sign (C_Decrypt); counted once the operation was started. Straight into the
     * module where {@link DirectCalls} are available, else (or when the input or output does not
     * fit their buffer) through the wrapper.
     */
    private byte[] oneShot(SessionPool.Lease s, boolean sign, long mechanism, CK_RSA_PKCS_PSS_PARAMS params, byte[] data)
            throws PKCS11Exception, iaik.pkcs.pkcs11.wrapper.PKCS11Exception {
        long h = handle(s);
        DirectCalls direct = token.direct();
        if (direct != null && sign) {
            direct.signInit(s, mechanism, params, h);
        } else if (direct != null) {
            direct.decryptInit(s, mechanism, h);
        } else {
            CK_MECHANISM m = new CK_MECHANISM();
            m.mechanism = mechanism;
            m.pParameter = params;
            if (sign) {
                token.raw().C_SignInit(s.handle, m, h, token.utf8());
            } else {
                token.raw().C_DecryptInit(s.handle, m, h, token.utf8());
            }
        }
        s.dirty = true;
        if (info.alwaysAuthenticate()) {
            token.contextLogin(s, name());
        }
        try {
            byte[] out = direct == null ? null : sign ? direct.sign(s, data) : direct.decrypt(s, data);
            if (out == null) {
                out = sign ? token.raw().C_Sign(s.handle, data) : token.raw().C_Decrypt(s.handle, data);
            }
            s.dirty = false;
            return out;
        } finally {
            (sign ? token.signs : token.decrypts).incrementAndGet();
        }
    }

    @Override
    public RsaDecryption decryptRsa(byte[] ciphertext) {
        Mechanism m = decryptMechanism();
        if (m == null) {
            throw new MechanismUnsupportedException(Mechanism.CKM_RSA_X_509, name(), decryptWhyNot());
        }
        byte[] out = token.hot("C_Decrypt " + m + " with key " + name(), this,
                s -> oneShot(s, false, m.code(), null, ciphertext));
        if (m == Mechanism.CKM_RSA_X_509 && modulusBytes > 0 && out.length < modulusBytes) {
            // Some tokens drop the leading zero bytes of the raw block; the padding check needs all k bytes.
            byte[] padded = new byte[modulusBytes];
            System.arraycopy(out, 0, padded, modulusBytes - out.length, out.length);
            Arrays.fill(out, (byte) 0);
            out = padded;
        }
        return new RsaDecryption(out, m == Mechanism.CKM_RSA_X_509);
    }

    private String decryptWhyNot() {
        if (info.algorithm() != KeyAlgorithm.RSA) {
            return "only RSA keys decrypt an RSA key exchange; this is an " + info.algorithm() + " key";
        }
        if (!info.canDecrypt()) {
            return "the key's CKA_DECRYPT is false";
        }
        boolean tokenHas = token.supports(Mechanism.CKM_RSA_X_509) || token.supports(Mechanism.CKM_RSA_PKCS);
        return tokenHas ? "the key's CKA_ALLOWED_MECHANISMS omits CKM_RSA_X_509 and CKM_RSA_PKCS"
                : "token '" + token.info().label() + "' lists neither CKM_RSA_X_509 nor CKM_RSA_PKCS";
    }

    private void check(SignatureScheme scheme) {
        if (!schemes.contains(scheme)) {
            String why = whyNot(scheme);
            throw new MechanismUnsupportedException(scheme.mechanism(), name(), (why == null ? "not offered" : why)
                    + "; this key can do: " + (schemes.isEmpty() ? "nothing"
                    : schemes.stream().map(SignatureScheme::tlsName).sorted().toList()));
        }
    }

    private String name() {
        return info.describe();
    }

    // ---- handle cache ----------------------------------------------------------------------

    /** The object handle, found again by CKA_ID (else label) when the cached one may be stale. */
    long handle(SessionPool.Lease s) throws PKCS11Exception {
        long gen = token.health().generation();
        long h = handle;
        if (h != 0 && handleGeneration == gen) {
            return h;
        }
        AttributeVector t = new AttributeVector().class_(IaikToken.CKO_PRIVATE_KEY);
        if (info.id() != null) {
            t.id(info.id().bytes());
        } else {
            t.label(info.label());
        }
        long[] found = IaikToken.findObjects(s.session, t, 2);
        if (found.length != 1) {
            throw new KeyNotFoundException(uri, List.of(found.length == 0 ? "(the key is no longer on the token)"
                    : "(" + found.length + " keys now share this CKA_ID)"), found.length > 1);
        }
        if (handleGeneration != gen && info.id() != null && info.publicKey() != null) {
            // Found again after the token came back: it must still be the same key pair.
            long[] pubs = IaikToken.findObjects(s.session,
                    new AttributeVector().class_(IaikToken.CKO_PUBLIC_KEY).id(info.id().bytes()), 1);
            PublicKey now = pubs.length == 0 ? null : readPublicKey(s.session, pubs[0], info.algorithm(), info.curve());
            if (now != null && !Arrays.equals(now.getEncoded(), info.publicKey().getEncoded())) {
                throw new KeyNotFoundException(uri, List.of("(after the token came back, the key with this CKA_ID"
                        + " has a different public key: refusing to use it)"), false);
            }
        }
        handle = found[0];
        handleGeneration = gen;
        return found[0];
    }

    /** Tests: pretend the cached handle went stale. */
    void setHandleForTest(long h) {
        handle = h;
    }

    void forgetHandle() {
        handle = 0;
    }

    @Override
    public String toString() {
        return "IaikTokenKey[" + info.describe() + " on '" + token.info().label() + "']";
    }
}
