package io.hsmtls.token.iaik;

import io.hsmtls.token.KeyAlgorithm;
import io.hsmtls.token.SignatureScheme;
import io.hsmtls.token.TokenKey;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.math.BigInteger;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Date;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.DefaultSignatureAlgorithmIdentifierFinder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/** Self-signed certificates for token tests: signed by the token key, or by a software key (to make mismatches). */
final class TestCertificates {
    private TestCertificates() {
    }

    /** A self-signed certificate for the token key, signed on the token. */
    static X509Certificate selfSigned(TokenKey key, String cn) throws Exception {
        SignatureScheme scheme = switch (key.info().algorithm()) {
            case EC -> key.info().curve().equals("secp384r1") ? SignatureScheme.ECDSA_SECP384R1_SHA384
                    : SignatureScheme.ECDSA_SECP256R1_SHA256;
            case RSA -> SignatureScheme.RSA_PKCS1_SHA256;
            case ED25519 -> SignatureScheme.ED25519;
        };
        String alg = switch (scheme) {
            case ECDSA_SECP384R1_SHA384 -> "SHA384withECDSA";
            case ECDSA_SECP256R1_SHA256 -> "SHA256withECDSA";
            case RSA_PKCS1_SHA256 -> "SHA256withRSA";
            default -> "Ed25519";
        };
        AlgorithmIdentifier algId = new DefaultSignatureAlgorithmIdentifierFinder().find(alg);
        ContentSigner signer = new ContentSigner() {
            private final ByteArrayOutputStream buf = new ByteArrayOutputStream();

            @Override
            public AlgorithmIdentifier getAlgorithmIdentifier() {
                return algId;
            }

            @Override
            public OutputStream getOutputStream() {
                return buf;
            }

            @Override
            public byte[] getSignature() {
                return key.sign(scheme, buf.toByteArray());
            }
        };
        return build(key.info().publicKey(), cn, signer);
    }

    /** A self-signed certificate for a fresh software key of the same family: its public key is not the token key's. */
    static X509Certificate foreign(KeyAlgorithm algorithm, String cn) throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance(algorithm == KeyAlgorithm.RSA ? "RSA"
                : algorithm == KeyAlgorithm.EC ? "EC" : "Ed25519");
        if (algorithm == KeyAlgorithm.RSA) {
            g.initialize(2048);
        }
        KeyPair kp = g.generateKeyPair();
        String alg = algorithm == KeyAlgorithm.RSA ? "SHA256withRSA" : algorithm == KeyAlgorithm.EC ? "SHA256withECDSA" : "Ed25519";
        return build(kp.getPublic(), cn, new JcaContentSignerBuilder(alg).build(kp.getPrivate()));
    }

    private static X509Certificate build(PublicKey pub, String cn, ContentSigner signer) throws Exception {
        X500Name name = new X500Name("CN=" + cn);
        Instant now = Instant.now();
        X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, BigInteger.valueOf(now.toEpochMilli()),
                Date.from(now.minus(1, ChronoUnit.HOURS)), Date.from(now.plus(1, ChronoUnit.DAYS)), name, pub);
        return new JcaX509CertificateConverter().getCertificate(b.build(signer));
    }
}
