package io.hsmtls.provision;

import io.hsmtls.token.KeyAlgorithm;
import io.hsmtls.token.KeyId;
import io.hsmtls.token.KeyInfo;
import io.hsmtls.token.Pkcs11Uri;
import io.hsmtls.token.SignatureScheme;
import io.hsmtls.token.TokenKey;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PSSParameterSpec;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;

/**
 * A TokenKey backed by a JCA key pair: lets the provisioning logic (algorithm identifiers,
 * extensions, encodings) be unit-tested against openssl without a token. The SoftHSM tests in
 * the cli package prove the same paths on a real token.
 */
final class SoftwareKey implements TokenKey {
    private final KeyPair pair;
    private final KeyInfo info;

    private SoftwareKey(KeyPair pair, KeyInfo info) {
        this.pair = pair;
        this.info = info;
    }

    static SoftwareKey generate(String type) throws GeneralSecurityException {
        KeyPairGenerator g;
        KeyAlgorithm alg;
        String curve = null;
        int bits;
        switch (type) {
            case "ec-p256", "ec-p384" -> {
                g = KeyPairGenerator.getInstance("EC");
                curve = type.equals("ec-p256") ? "secp256r1" : "secp384r1";
                g.initialize(new ECGenParameterSpec(curve));
                alg = KeyAlgorithm.EC;
                bits = type.equals("ec-p256") ? 256 : 384;
            }
            case "rsa-2048" -> {
                g = KeyPairGenerator.getInstance("RSA");
                g.initialize(2048);
                alg = KeyAlgorithm.RSA;
                bits = 2048;
            }
            case "ed25519" -> {
                g = KeyPairGenerator.getInstance("Ed25519");
                alg = KeyAlgorithm.ED25519;
                curve = "ed25519";
                bits = 255;
            }
            default -> throw new IllegalArgumentException(type);
        }
        KeyPair kp = g.generateKeyPair();
        KeyInfo info = new KeyInfo(type, KeyId.ofHex("0102"), alg, bits, curve, kp.getPublic(), true, false, false,
                true, alg == KeyAlgorithm.RSA, Set.of());
        return new SoftwareKey(kp, info);
    }

    @Override
    public Pkcs11Uri uri() {
        return Pkcs11Uri.parse("pkcs11:token=soft;object=" + info.label());
    }

    @Override
    public KeyInfo info() {
        return info;
    }

    @Override
    public Optional<X509Certificate> certificate() {
        return Optional.empty();
    }

    @Override
    public Set<SignatureScheme> signatureSchemes() {
        Set<SignatureScheme> s = EnumSet.noneOf(SignatureScheme.class);
        for (SignatureScheme x : SignatureScheme.values()) {
            if (x.keyAlgorithm() == info.algorithm()) {
                s.add(x);
            }
        }
        return s;
    }

    @Override
    public boolean canDecryptRsa() {
        return info.algorithm() == KeyAlgorithm.RSA;
    }

    @Override
    public byte[] sign(SignatureScheme scheme, byte[] message) {
        try {
            Signature s;
            switch (scheme.keyAlgorithm()) {
                case EC -> s = Signature.getInstance(scheme.hash().replace("-", "") + "withECDSA");
                case ED25519 -> s = Signature.getInstance("Ed25519");
                default -> {
                    if (scheme.isPss()) {
                        s = Signature.getInstance("RSASSA-PSS");
                        s.setParameter(new PSSParameterSpec(scheme.hash(), "MGF1", new MGF1ParameterSpec(scheme.hash()),
                                scheme.hashLength(), 1));
                    } else {
                        s = Signature.getInstance(scheme.hash().replace("-", "") + "withRSA");
                    }
                }
            }
            s.initSign(pair.getPrivate());
            s.update(message);
            return s.sign();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public byte[] signDigest(SignatureScheme scheme, byte[] digest) {
        throw new UnsupportedOperationException();
    }

    @Override
    public RsaDecryption decryptRsa(byte[] ciphertext) {
        throw new UnsupportedOperationException();
    }
}
