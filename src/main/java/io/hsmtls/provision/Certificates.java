package io.hsmtls.provision;

import io.hsmtls.token.KeyAlgorithm;
import io.hsmtls.token.Token;
import io.hsmtls.token.TokenKey;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.bc.BcX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;

/** Self-signed certificates made on the token, imported certificates checked against their key. */
public final class Certificates {
    /** Back-date notBefore a little: a peer whose clock runs behind must not see a certificate from the future. */
    private static final Duration BACKDATE = Duration.ofMinutes(5);
    private static final SecureRandom RANDOM = new SecureRandom();

    private Certificates() {
    }

    /**
     * What a self-signed certificate says.
     *
     * @param ca a CA certificate (basicConstraints CA, keyCertSign/cRLSign, no EKU) rather than a TLS end entity
     */
    public record SelfSignedSpec(X500Name subject, Duration validity, List<SubjectAltName> sans, boolean ca,
                                 boolean pss) {
        public SelfSignedSpec {
            sans = List.copyOf(sans);
            if (validity.isNegative() || validity.isZero()) {
                throw new IllegalArgumentException("validity must be positive: " + validity.toDays() + " days");
            }
        }
    }

    /**
     * Builds an X.509 v3 certificate for the key, signed by the key itself on the token (RFC 5280):
     * random 159-bit serial, basicConstraints, keyUsage fitting the key type, SAN, SKI/AKI, and
     * EKU serverAuth+clientAuth for end entities.
     */
    public static X509Certificate selfSign(TokenKey key, SelfSignedSpec spec) {
        SignatureChoice choice = SignatureChoice.forKey(key.info(), spec.pss());
        SubjectPublicKeyInfo spki = SubjectPublicKeyInfo.getInstance(key.info().publicKey().getEncoded());
        Instant now = Instant.now();
        BigInteger serial = new BigInteger(159, RANDOM).setBit(158); // positive, 20 bytes DER, never zero
        X509v3CertificateBuilder b = new X509v3CertificateBuilder(spec.subject(), serial,
                Date.from(now.minus(BACKDATE)), Date.from(now.plus(spec.validity())), spec.subject(), spki);
        try {
            BcX509ExtensionUtils util = new BcX509ExtensionUtils();
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(spec.ca()));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(keyUsage(key, spec.ca())));
            if (!spec.sans().isEmpty()) {
                b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(
                        spec.sans().stream().map(SubjectAltName::toGeneralName).toArray(GeneralName[]::new)));
            }
            b.addExtension(Extension.subjectKeyIdentifier, false, util.createSubjectKeyIdentifier(spki));
            b.addExtension(Extension.authorityKeyIdentifier, false, util.createAuthorityKeyIdentifier(spki));
            if (!spec.ca()) {
                b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(
                        new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        X509CertificateHolder holder = b.build(new TokenContentSigner(key, choice));
        try {
            return new JcaX509CertificateConverter().getCertificate(holder);
        } catch (CertificateException e) {
            throw new ProvisionException("the certificate signed on the token cannot be decoded: " + e.getMessage(), e);
        }
    }

    private static int keyUsage(TokenKey key, boolean ca) {
        int usage = KeyUsage.digitalSignature;
        // TLS 1.2 RSA key exchange (legacy-rsa profile) needs keyEncipherment; only claim it when the key can.
        if (key.info().algorithm() == KeyAlgorithm.RSA && key.canDecryptRsa()) {
            usage |= KeyUsage.keyEncipherment;
        }
        if (ca) {
            usage |= KeyUsage.keyCertSign | KeyUsage.cRLSign;
        }
        return usage;
    }

    /** Self-signs and stores the certificate on the token beside the key (same CKA_ID and label). */
    public static X509Certificate selfSignAndStore(Token token, TokenKey key, SelfSignedSpec spec, boolean force) {
        refuseExisting(key, force);
        X509Certificate cert = selfSign(key, spec);
        token.storeCertificate(key, cert, force);
        return cert;
    }

    /**
     * Stores the leaf (the first certificate of the chain) beside the key, after checking that its
     * public key is the key's. Returns the leaf.
     */
    public static X509Certificate importLeaf(Token token, TokenKey key, List<X509Certificate> chain, String source,
                                             boolean force) {
        X509Certificate leaf = chain.get(0);
        requireMatch(key, leaf, source);
        refuseExisting(key, force);
        token.storeCertificate(key, leaf, force);
        return leaf;
    }

    /** @throws ProvisionException naming the certificate and the key when the public keys differ */
    public static void requireMatch(TokenKey key, X509Certificate cert, String source) {
        PublicKey tokenKey = key.info().publicKey();
        if (!sameKey(tokenKey, cert.getPublicKey())) {
            throw new ProvisionException("certificate '" + cert.getSubjectX500Principal().getName() + "' from "
                    + source + " does not belong to key " + key.info().describe() + " on the token: its public key "
                    + "differs (certificate key SHA-256 " + shortHash(cert.getPublicKey()) + ", token key SHA-256 "
                    + shortHash(tokenKey) + "); import the certificate issued for this key's CSR, or name the key it "
                    + "was issued for with --key");
        }
    }

    /** Compares SubjectPublicKeyInfo DER: the same key in a different Java class still compares equal. */
    public static boolean sameKey(PublicKey a, PublicKey b) {
        return Arrays.equals(a.getEncoded(), b.getEncoded());
    }

    private static void refuseExisting(TokenKey key, boolean force) {
        if (!force && key.certificate().isPresent()) {
            throw new ProvisionException("key " + key.info().describe() + " already has a certificate ('"
                    + key.certificate().get().getSubjectX500Principal().getName()
                    + "'): add --force to replace it");
        }
    }

    private static String shortHash(PublicKey k) {
        return HexFormat.of().formatHex(sha256(k.getEncoded()), 0, 8) + "…";
    }

    static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 missing from the JDK", e);
        }
    }

    /** What {@code cert show} prints. */
    public record Summary(String subject, String issuer, String serial, Instant notBefore, Instant notAfter,
                          List<String> subjectAltNames, String sha256Fingerprint, String publicKey,
                          String signatureAlgorithm, boolean selfSigned, boolean ca) {
        public Summary {
            subjectAltNames = List.copyOf(subjectAltNames);
        }
    }

    public static Summary summarize(X509Certificate cert) {
        List<String> sans = new ArrayList<>();
        try {
            if (cert.getSubjectAlternativeNames() != null) {
                for (List<?> san : cert.getSubjectAlternativeNames()) {
                    int type = (Integer) san.get(0);
                    String prefix = switch (type) {
                        case GeneralName.dNSName -> "dns";
                        case GeneralName.iPAddress -> "ip";
                        case GeneralName.rfc822Name -> "email";
                        case GeneralName.uniformResourceIdentifier -> "uri";
                        default -> "other" + type;
                    };
                    sans.add(prefix + ":" + san.get(1));
                }
            }
        } catch (CertificateParsingException e) {
            sans.add("unparsable: " + e.getMessage());
        }
        byte[] der;
        try {
            der = cert.getEncoded();
        } catch (java.security.cert.CertificateEncodingException e) {
            throw new ProvisionException("cannot encode certificate: " + e.getMessage(), e);
        }
        String fp = HexFormat.ofDelimiter(":").withUpperCase().formatHex(sha256(der));
        PublicKey pk = cert.getPublicKey();
        String keyDesc = pk.getAlgorithm() + (pk instanceof java.security.interfaces.RSAKey r
                ? " " + r.getModulus().bitLength()
                : pk instanceof java.security.interfaces.ECKey e ? " " + e.getParams().getCurve().getField().getFieldSize()
                : "");
        return new Summary(cert.getSubjectX500Principal().getName(), cert.getIssuerX500Principal().getName(),
                cert.getSerialNumber().toString(16), cert.getNotBefore().toInstant(), cert.getNotAfter().toInstant(),
                sans, fp, keyDesc, cert.getSigAlgName(),
                cert.getSubjectX500Principal().equals(cert.getIssuerX500Principal()), cert.getBasicConstraints() >= 0);
    }
}
