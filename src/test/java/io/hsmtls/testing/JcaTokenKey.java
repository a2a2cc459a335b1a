package io.hsmtls.testing;

import io.hsmtls.tls.Profile;
import io.hsmtls.tls.ServerCredentials;
import io.hsmtls.tls.ServerSettings;
import io.hsmtls.token.KeyAlgorithm;
import io.hsmtls.token.KeyId;
import io.hsmtls.token.KeyInfo;
import io.hsmtls.token.MechanismUnsupportedException;
import io.hsmtls.token.Pkcs11Uri;
import io.hsmtls.token.SignatureScheme;
import io.hsmtls.token.TokenKey;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.MessageDigest;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import javax.crypto.Cipher;
import org.bouncycastle.asn1.DERNull;
import org.bouncycastle.asn1.nist.NISTObjectIdentifiers;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.DigestInfo;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.digests.SHA384Digest;
import org.bouncycastle.crypto.digests.SHA512Digest;
import org.bouncycastle.crypto.engines.RSABlindedEngine;
import org.bouncycastle.crypto.params.ParametersWithRandom;
import org.bouncycastle.crypto.signers.PSSSigner;
import org.bouncycastle.crypto.util.PrivateKeyFactory;

/**
 * A TokenKey over a JVM key pair, for unit tests of TLS logic only (the proof runs on SoftHSM).
 * It follows the TokenKey contract: signDigest adds DigestInfo for rsa_pkcs1 and uses PSS with
 * salt = hash length; decryptRsa returns the raw block.
 */
public class JcaTokenKey implements TokenKey {
    private final KeyPair pair;
    private final KeyInfo info;
    private final X509Certificate certificate;
    public final AtomicInteger signs = new AtomicInteger();
    public final AtomicInteger decrypts = new AtomicInteger();

    public JcaTokenKey(KeyPair pair, X509Certificate certificate) {
        this.pair = pair;
        this.certificate = certificate;
        boolean rsa = pair.getPublic() instanceof RSAPublicKey;
        this.info = new KeyInfo("jca", KeyId.of(new byte[] {1}), rsa ? KeyAlgorithm.RSA : KeyAlgorithm.EC,
                rsa ? ((RSAPublicKey) pair.getPublic()).getModulus().bitLength()
                        : ((ECPublicKey) pair.getPublic()).getParams().getCurve().getField().getFieldSize(),
                rsa ? null : "secp256r1", pair.getPublic(), true, false, false, true, rsa, Set.of());
    }

    /**
     * Server settings (profile {@code compat}) over a fresh EC P-256 JVM key with a localhost
     * certificate from a new CA named {@code caSubject}: for tests of what surrounds the handshake.
     */
    public static ServerSettings compatServer(String caSubject) {
        TestPki.Ca ca = TestPki.ca(caSubject);
        KeyPair kp = TestPki.ecKeyPair();
        X509Certificate cert = ca.leaf("CN=localhost").publicKey(kp.getPublic()).serverAuth().sign();
        return ServerSettings.of(ServerCredentials.checked(new JcaTokenKey(kp, cert), List.of(cert), Profile.COMPAT),
                Profile.COMPAT);
    }

    @Override
    public Pkcs11Uri uri() {
        return Pkcs11Uri.parse("pkcs11:token=jca;object=jca");
    }

    @Override
    public KeyInfo info() {
        return info;
    }

    @Override
    public Optional<X509Certificate> certificate() {
        return Optional.ofNullable(certificate);
    }

    @Override
    public Set<SignatureScheme> signatureSchemes() {
        return info.algorithm() == KeyAlgorithm.RSA
                ? EnumSet.of(SignatureScheme.RSA_PSS_RSAE_SHA256, SignatureScheme.RSA_PSS_RSAE_SHA384,
                        SignatureScheme.RSA_PSS_RSAE_SHA512, SignatureScheme.RSA_PKCS1_SHA256,
                        SignatureScheme.RSA_PKCS1_SHA384, SignatureScheme.RSA_PKCS1_SHA512)
                : EnumSet.of(SignatureScheme.ECDSA_SECP256R1_SHA256);
    }

    @Override
    public boolean canDecryptRsa() {
        return info.algorithm() == KeyAlgorithm.RSA;
    }

    @Override
    public byte[] sign(SignatureScheme scheme, byte[] message) {
        try {
            return signDigest(scheme, MessageDigest.getInstance(scheme.hash()).digest(message));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public byte[] signDigest(SignatureScheme scheme, byte[] digest) {
        if (!signatureSchemes().contains(scheme)) {
            throw new MechanismUnsupportedException(scheme.mechanism(), "jca", "not supported by the test key");
        }
        signs.incrementAndGet();
        try {
            if (scheme.isPss()) {
                var d = switch (scheme.hashLength()) {
                    case 32 -> new SHA256Digest();
                    case 48 -> new SHA384Digest();
                    default -> new SHA512Digest();
                };
                var d2 = switch (scheme.hashLength()) {
                    case 32 -> new SHA256Digest();
                    case 48 -> new SHA384Digest();
                    default -> new SHA512Digest();
                };
                PSSSigner s = PSSSigner.createRawSigner(new RSABlindedEngine(), d, d2, scheme.hashLength(),
                        PSSSigner.TRAILER_IMPLICIT);
                s.init(true, new ParametersWithRandom(PrivateKeyFactory.createKey(pair.getPrivate().getEncoded())));
                s.update(digest, 0, digest.length);
                return s.generateSignature();
            }
            if (info.algorithm() == KeyAlgorithm.RSA) {
                var oid = switch (scheme.hashLength()) {
                    case 32 -> NISTObjectIdentifiers.id_sha256;
                    case 48 -> NISTObjectIdentifiers.id_sha384;
                    default -> NISTObjectIdentifiers.id_sha512;
                };
                byte[] di = new DigestInfo(new AlgorithmIdentifier(oid, DERNull.INSTANCE), digest).getEncoded();
                Signature s = Signature.getInstance("NONEwithRSA");
                s.initSign(pair.getPrivate());
                s.update(di);
                return s.sign();
            }
            Signature s = Signature.getInstance("NONEwithECDSA");
            s.initSign(pair.getPrivate());
            s.update(digest);
            return s.sign();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public RsaDecryption decryptRsa(byte[] ciphertext) {
        decrypts.incrementAndGet();
        try {
            Cipher c = Cipher.getInstance("RSA/ECB/NoPadding");
            c.init(Cipher.DECRYPT_MODE, pair.getPrivate());
            byte[] out = c.doFinal(ciphertext);
            int k = (info.bits() + 7) / 8;
            if (out.length < k) {
                byte[] padded = new byte[k];
                System.arraycopy(out, 0, padded, k - out.length, out.length);
                out = padded;
            }
            return new RsaDecryption(out, true);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}
