package io.hsmtls.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Real test PKI: CAs, server and client leaves, and deliberately bad certificates (expired, from
 * the wrong CA, with the wrong extended key usage), written as PEM for openssl and curl.
 *
 * <pre>
 * TestPki.Ca ca = TestPki.ca("CN=Test Root");
 * X509Certificate server = ca.leaf("CN=localhost").publicKey(tokenKey.info().publicKey()).serverAuth().sign();
 * TestPki.Held client = ca.leaf("CN=alice").clientAuth().generate();
 * TestPki.Held expired = ca.leaf("CN=old").clientAuth().expired().generate();
 * </pre>
 */
public final class TestPki {
    private static final SecureRandom RANDOM = new SecureRandom();

    private TestPki() {
    }

    /** A certificate with its private key (a CA, or a client key held in the JVM). */
    public record Held(X509Certificate certificate, PrivateKey privateKey, List<X509Certificate> chain) {
        public Held {
            chain = List.copyOf(chain);
        }

        /** Writes the chain (leaf first) and the PKCS#8 key as PEM: {@code name.crt}, {@code name.key}. */
        public Path[] writePem(Path dir, String name) {
            Path crt = dir.resolve(name + ".crt");
            Path key = dir.resolve(name + ".key");
            TestPki.writePem(crt, chain);
            writeKeyPem(key, privateKey);
            return new Path[] {crt, key};
        }
    }

    /** A CA that can issue leaves and subordinate CAs. */
    public static final class Ca {
        private final Held held;

        public Ca(Held held) {
            this.held = held;
        }

        public X509Certificate certificate() {
            return held.certificate();
        }

        public Held held() {
            return held;
        }

        /** A JSSE client context ({@code "TLS"}, {@code "TLSv1.3"}, …) that trusts this CA only. */
        public javax.net.ssl.SSLContext trustingClient(String protocol) {
            try {
                java.security.KeyStore ts = java.security.KeyStore.getInstance("PKCS12");
                ts.load(null, null);
                ts.setCertificateEntry("ca", certificate());
                javax.net.ssl.TrustManagerFactory tmf = javax.net.ssl.TrustManagerFactory.getInstance("PKIX");
                tmf.init(ts);
                javax.net.ssl.SSLContext ctx = javax.net.ssl.SSLContext.getInstance(protocol);
                ctx.init(null, tmf.getTrustManagers(), null);
                return ctx;
            } catch (GeneralSecurityException | IOException e) {
                throw new IllegalStateException("client context trusting " + certificate().getSubjectX500Principal(), e);
            }
        }

        public LeafBuilder leaf(String subject) {
            return new LeafBuilder(this, subject);
        }

        /** A subordinate CA signed by this one. */
        public Ca intermediate(String subject) {
            KeyPair kp = ecKeyPair();
            X509Certificate c = build(subject, kp.getPublic(), this, Instant.now().minus(Duration.ofHours(1)),
                    Instant.now().plus(Duration.ofDays(30)), true, null, List.of());
            List<X509Certificate> chain = new ArrayList<>();
            chain.add(c);
            chain.addAll(held.chain());
            return new Ca(new Held(c, kp.getPrivate(), chain));
        }
    }

    /** Options for one leaf certificate. */
    public static final class LeafBuilder {
        private final Ca ca;
        private final String subject;
        private PublicKey publicKey;
        private Instant notBefore = Instant.now().minus(Duration.ofHours(1));
        private Instant notAfter = Instant.now().plus(Duration.ofDays(30));
        private KeyPurposeId[] eku = new KeyPurposeId[0];
        private final List<GeneralName> sans = new ArrayList<>();
        private String keyType = "ec";

        LeafBuilder(Ca ca, String subject) {
            this.ca = ca;
            this.subject = subject;
        }

        public LeafBuilder publicKey(PublicKey k) {
            this.publicKey = k;
            return this;
        }

        public LeafBuilder rsa() {
            this.keyType = "rsa";
            return this;
        }

        public LeafBuilder serverAuth() {
            this.eku = new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth};
            return dns("localhost").ip("127.0.0.1");
        }

        public LeafBuilder clientAuth() {
            this.eku = new KeyPurposeId[] {KeyPurposeId.id_kp_clientAuth};
            return this;
        }

        /** Extended key usage emailProtection only: right CA, wrong purpose. */
        public LeafBuilder wrongEku() {
            this.eku = new KeyPurposeId[] {KeyPurposeId.id_kp_emailProtection};
            return this;
        }

        public LeafBuilder expired() {
            return validity(Instant.now().minus(Duration.ofDays(30)), Instant.now().minus(Duration.ofDays(1)));
        }

        public LeafBuilder validity(Instant from, Instant to) {
            this.notBefore = from;
            this.notAfter = to;
            return this;
        }

        public LeafBuilder dns(String name) {
            sans.add(new GeneralName(GeneralName.dNSName, name));
            return this;
        }

        public LeafBuilder ip(String ip) {
            sans.add(new GeneralName(GeneralName.iPAddress, ip));
            return this;
        }

        /** Signs a certificate for the given public key (e.g. a token key's). */
        public X509Certificate sign() {
            if (publicKey == null) {
                throw new IllegalStateException("no public key: call publicKey(...) or use generate()");
            }
            return build(subject, publicKey, ca, notBefore, notAfter, false, eku, sans);
        }

        /** Generates a key pair in the JVM and signs a certificate for it. */
        public Held generate() {
            KeyPair kp = "rsa".equals(keyType) ? rsaKeyPair() : ecKeyPair();
            publicKey = kp.getPublic();
            X509Certificate c = sign();
            List<X509Certificate> chain = new ArrayList<>();
            chain.add(c);
            chain.addAll(ca.held().chain());
            chain.remove(chain.size() - 1); // the root stays out of a sent chain
            return new Held(c, kp.getPrivate(), chain);
        }
    }

    /** A self-signed root CA with an EC P-256 key. */
    public static Ca ca(String subject) {
        KeyPair kp = ecKeyPair();
        X509Certificate c = build(subject, kp.getPublic(), null, kp.getPrivate(),
                Instant.now().minus(Duration.ofHours(1)), Instant.now().plus(Duration.ofDays(365)), true, null,
                List.of());
        return new Ca(new Held(c, kp.getPrivate(), List.of(c)));
    }

    private static X509Certificate build(String subject, PublicKey pub, Ca issuer, Instant from, Instant to,
                                         boolean isCa, KeyPurposeId[] eku, List<GeneralName> sans) {
        return build(subject, pub, issuer.certificate(), issuer.held().privateKey(), from, to, isCa, eku, sans);
    }

    private static X509Certificate build(String subject, PublicKey pub, X509Certificate issuerCert, PrivateKey signKey,
                                         Instant from, Instant to, boolean isCa, KeyPurposeId[] eku,
                                         List<GeneralName> sans) {
        try {
            X500Name subj = new X500Name(subject);
            X500Name iss = issuerCert == null ? subj : X500Name.getInstance(issuerCert.getSubjectX500Principal().getEncoded());
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(iss, new BigInteger(64, RANDOM).abs().add(BigInteger.ONE),
                    Date.from(from), Date.from(to), subj, pub);
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(pub));
            if (issuerCert != null) {
                b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(issuerCert));
            }
            if (isCa) {
                b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
                b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            } else {
                b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
                int ku = KeyUsage.digitalSignature;
                if ("RSA".equals(pub.getAlgorithm())) {
                    ku |= KeyUsage.keyEncipherment;
                }
                b.addExtension(Extension.keyUsage, true, new KeyUsage(ku));
                if (eku != null && eku.length > 0) {
                    b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(eku));
                }
                if (!sans.isEmpty()) {
                    b.addExtension(Extension.subjectAlternativeName, false,
                            new GeneralNames(sans.toArray(new GeneralName[0])));
                }
            }
            String alg = "RSA".equals(signKey.getAlgorithm()) ? "SHA256withRSA" : "SHA256withECDSA";
            ContentSigner signer = new JcaContentSignerBuilder(alg).build(signKey);
            return new JcaX509CertificateConverter().getCertificate(b.build(signer));
        } catch (GeneralSecurityException | IOException | org.bouncycastle.operator.OperatorCreationException e) {
            throw new IllegalStateException("building test certificate " + subject + ": " + e, e);
        }
    }

    public static KeyPair ecKeyPair() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"));
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    public static KeyPair rsaKeyPair() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
            g.initialize(2048);
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    public static String pem(X509Certificate c) {
        try {
            return "-----BEGIN CERTIFICATE-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                    .encodeToString(c.getEncoded()) + "\n-----END CERTIFICATE-----\n";
        } catch (java.security.cert.CertificateEncodingException e) {
            throw new IllegalStateException(e);
        }
    }

    public static Path writePem(Path file, List<X509Certificate> certs) {
        StringBuilder b = new StringBuilder();
        certs.forEach(c -> b.append(pem(c)));
        try {
            Files.writeString(file, b.toString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return file;
    }

    public static Path writeKeyPem(Path file, PrivateKey key) {
        String s = "-----BEGIN PRIVATE KEY-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                .encodeToString(key.getEncoded()) + "\n-----END PRIVATE KEY-----\n";
        try {
            Files.writeString(file, s);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return file;
    }
}
