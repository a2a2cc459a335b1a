package io.hsmtls.tls.bc;

import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.spec.AlgorithmParameterSpec;
import java.util.Locale;
import org.bouncycastle.jcajce.util.DefaultJcaJceHelper;
import javax.crypto.Cipher;
import org.bouncycastle.tls.EncryptionAlgorithm;
import org.bouncycastle.tls.crypto.Tls13Verifier;
import org.bouncycastle.tls.crypto.TlsCipher;
import org.bouncycastle.tls.crypto.TlsCryptoException;
import org.bouncycastle.tls.crypto.TlsCryptoParameters;
import org.bouncycastle.tls.crypto.TlsStreamVerifier;
import org.bouncycastle.tls.crypto.impl.TlsAEADCipher;
import org.bouncycastle.tls.crypto.impl.TlsAEADCipherImpl;
import org.bouncycastle.tls.crypto.impl.jcajce.JcaTlsCrypto;

/**
 * JcaTlsCrypto over the JDK's providers, able to verify RSA-PSS. Bouncy Castle asks JCA for
 * "SHA256WITHRSAANDMGF1" (a name only BC's own provider registers) to verify an
 * {@code rsa_pss_rsae_*} signature, so with JDK providers every peer that signs with RSA-PSS
 * (every RSA peer in TLS 1.3) fails with internal_error. The JDK's name is "RSASSA-PSS"; BC passes
 * the PSSParameterSpec itself, so renaming is enough. Records still go through SunJCE. Not final:
 * a performance subclass (BC's X25519/P-256 via {@code createECDomain}) should extend this one.
 */
public class JdkTlsCrypto extends JcaTlsCrypto {

    public JdkTlsCrypto(SecureRandom random) {
        super(new DefaultJcaJceHelper(), random, random);
    }

    protected JdkTlsCrypto(org.bouncycastle.jcajce.util.JcaJceHelper helper, SecureRandom keys, SecureRandom nonces) {
        super(helper, keys, nonces);
    }

    @Override
    protected Tls13Verifier createTls13Verifier(String algorithmName, AlgorithmParameterSpec parameter,
                                                PublicKey publicKey) throws IOException {
        return super.createTls13Verifier(jdkName(algorithmName, parameter), parameter, publicKey);
    }

    @Override
    protected TlsStreamVerifier createStreamVerifier(String algorithmName, AlgorithmParameterSpec parameter,
                                                     byte[] signature, PublicKey publicKey) throws IOException {
        return super.createStreamVerifier(jdkName(algorithmName, parameter), parameter, signature, publicKey);
    }

    /**
     * AES-GCM records through {@link JdkGcmCipher}: still the JDK's SunJCE cipher, without Bouncy
     * Castle's per-record provider look-up and ASN.1 round trip, and without SunJCE's
     * whole-buffer copy for in-place decryption. Other AEADs (CCM) keep Bouncy Castle's adapter.
     * The JVM property {@code -Dhsmtls.records=bc} selects Bouncy Castle's adapter for GCM too: for
     * before/after measurements.
     */
    @Override
    protected TlsAEADCipherImpl createAEADCipher(String cipherName, String algorithm, int keySize,
                                                 boolean isEncrypting) throws GeneralSecurityException {
        if ("AES/GCM/NoPadding".equals(cipherName) && !"bc".equals(System.getProperty("hsmtls.records"))) {
            return new JdkGcmCipher(getHelper().createCipher(cipherName), keySize, isEncrypting);
        }
        return super.createAEADCipher(cipherName, algorithm, keySize, isEncrypting);
    }

    /**
     * ChaCha20-Poly1305 on the JDK's own AEAD ({@link JdkChaCha20Poly1305Cipher}): Bouncy Castle
     * looks for "ChaCha7539" and "Poly1305", which the JDK does not have, and would report the
     * algorithm missing.
     */
    @Override
    public boolean hasEncryptionAlgorithm(int encryptionAlgorithm) {
        if (encryptionAlgorithm == EncryptionAlgorithm.CHACHA20_POLY1305) {
            return CHACHA20_POLY1305;
        }
        return super.hasEncryptionAlgorithm(encryptionAlgorithm);
    }

    @Override
    public TlsCipher createCipher(TlsCryptoParameters parameters, int encryptionAlgorithm, int macAlgorithm)
            throws IOException {
        if (encryptionAlgorithm != EncryptionAlgorithm.CHACHA20_POLY1305 || !CHACHA20_POLY1305) {
            return super.createCipher(parameters, encryptionAlgorithm, macAlgorithm);
        }
        try {
            return new TlsAEADCipher(parameters,
                    new JdkChaCha20Poly1305Cipher(getHelper().createCipher(JdkChaCha20Poly1305Cipher.JCA_NAME), true),
                    new JdkChaCha20Poly1305Cipher(getHelper().createCipher(JdkChaCha20Poly1305Cipher.JCA_NAME), false),
                    JdkChaCha20Poly1305Cipher.KEY_SIZE, JdkChaCha20Poly1305Cipher.TAG_SIZE,
                    TlsAEADCipher.AEAD_CHACHA20_POLY1305);
        } catch (GeneralSecurityException e) {
            throw new TlsCryptoException("cannot create a ChaCha20-Poly1305 record cipher: " + e.getMessage(), e);
        }
    }

    /** Whether this JDK has the ChaCha20-Poly1305 AEAD (every JDK since 11 does). */
    private static final boolean CHACHA20_POLY1305 = jdkHas(JdkChaCha20Poly1305Cipher.JCA_NAME);

    private static boolean jdkHas(String transformation) {
        try {
            Cipher.getInstance(transformation);
            return true;
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    static String jdkName(String algorithmName, AlgorithmParameterSpec parameter) {
        return parameter != null && algorithmName.toUpperCase(Locale.ROOT).endsWith("WITHRSAANDMGF1")
                ? "RSASSA-PSS" : algorithmName;
    }
}
