package io.hsmtls.tls.bc;

import io.hsmtls.tls.KeyUse;
import io.hsmtls.tls.TokenTimer;
import io.hsmtls.token.Mechanism;
import io.hsmtls.token.TokenKey;
import java.security.SecureRandom;
import java.security.interfaces.RSAPublicKey;
import org.bouncycastle.tls.Certificate;
import org.bouncycastle.tls.ProtocolVersion;
import org.bouncycastle.tls.TlsCredentialedDecryptor;
import org.bouncycastle.tls.crypto.TlsCryptoParameters;
import org.bouncycastle.tls.crypto.TlsSecret;
import org.bouncycastle.tls.crypto.impl.jcajce.JcaTlsCrypto;

/**
 * TLS 1.2 RSA key exchange with the private key on the token, hardened against Bleichenbacher's
 * padding oracle as RFC 5246 §7.4.7.1 says: the token does a raw RSA decryption
 * ({@code CKM_RSA_X_509}), and this class checks the PKCS#1 v1.5 type 2 padding, the 48-byte
 * length and the client version in constant time. On any failure — padding, length, version,
 * ciphertext length, token error — it returns a random premaster, so the handshake goes on and
 * fails only at Finished with the same alert as a well-formed wrong premaster. No branch, alert,
 * log line or exception depends on the decrypted bytes.
 */
public final class TokenRsaDecryptor implements TlsCredentialedDecryptor {
    private static final int PREMASTER = 48;

    private final TokenKey key;
    private final Certificate certificate;
    private final JcaTlsCrypto crypto;
    private final SecureRandom random;
    private final TokenTimer timer;

    public TokenRsaDecryptor(TokenKey key, Certificate certificate, JcaTlsCrypto crypto, TokenTimer timer) {
        this.key = key;
        this.certificate = certificate;
        this.crypto = crypto;
        this.random = crypto.getSecureRandom();
        this.timer = timer == null ? new TokenTimer() : timer;
    }

    @Override
    public Certificate getCertificate() {
        return certificate;
    }

    @Override
    public TlsSecret decrypt(TlsCryptoParameters params, byte[] ciphertext) {
        ProtocolVersion v = params.getRSAPreMasterSecretVersion();
        return crypto.createSecret(premaster(ciphertext, v.getMajorVersion(), v.getMinorVersion()));
    }

    /**
     * The premaster to use: the decrypted one if everything checks, else a random one. Public for
     * the oracle test; the result alone must not reveal which.
     */
    public byte[] premaster(byte[] ciphertext, int versionMajor, int versionMinor) {
        byte[] fallback = new byte[PREMASTER];
        random.nextBytes(fallback);
        java.math.BigInteger n = ((RSAPublicKey) key.info().publicKey()).getModulus();
        int k = (n.bitLength() + 7) / 8;
        byte[] block = null;
        boolean raw = true;
        // Length and "c < n" are facts about public values (the wire bytes and the modulus), so
        // refusing them early reveals nothing about the key. It also keeps hostile input away from
        // the token: SoftHSM answers CKM_RSA_X_509 on c >= n with CKR_GENERAL_ERROR, which the
        // token layer rightly treats as a device failure and would mark the token down for everyone.
        if (ciphertext.length <= k && new java.math.BigInteger(1, ciphertext).compareTo(n) < 0) {
            byte[] c = ciphertext;
            if (c.length < k) {
                c = new byte[k];
                System.arraycopy(ciphertext, 0, c, k - ciphertext.length, ciphertext.length);
            }
            long start = timer.begin();
            Mechanism mechanism = Mechanism.CKM_RSA_X_509;
            String result = "ok";
            try {
                TokenKey.RsaDecryption d = key.decryptRsa(c);
                block = d.bytes();
                raw = d.raw();
                mechanism = raw ? Mechanism.CKM_RSA_X_509 : Mechanism.CKM_RSA_PKCS;
            } catch (RuntimeException e) {
                // Token error or (CKM_RSA_PKCS fallback) bad padding: indistinguishable from a bad premaster.
                block = null;
                result = auditResult(e);
                if (result.equals("ok")) {
                    mechanism = Mechanism.CKM_RSA_PKCS;
                }
            } finally {
                timer.decrypted(start, key.uri(), mechanism, result);
            }
        }
        if (block == null) {
            return fallback;
        }
        int good = raw ? checkRaw(block, k, versionMajor, versionMinor)
                : checkUnpadded(block, versionMajor, versionMinor);
        // Constant-time select: good is all ones (-1) or zero.
        int offset = raw ? k - PREMASTER : 0;
        byte[] out = new byte[PREMASTER];
        for (int i = 0; i < PREMASTER; i++) {
            int idx = offset + i < block.length ? offset + i : 0;
            out[i] = (byte) ((block[idx] & good) | (fallback[i] & ~good));
        }
        java.util.Arrays.fill(block, (byte) 0);
        return out;
    }

    /**
     * The audit/metrics result of a failed decryption. A padding or length error can only come
     * from the {@code CKM_RSA_PKCS} fallback, where it says "this ciphertext was not PKCS#1": the
     * very oracle this class hides. So it is recorded as a successful decryption (which it is, as
     * far as the token's key is concerned); token failures keep their CKR_ name.
     */
    static String auditResult(RuntimeException e) {
        String r = KeyUse.resultOf(e);
        return r.equals("CKR_ENCRYPTED_DATA_INVALID") || r.equals("CKR_ENCRYPTED_DATA_LEN_RANGE") ? "ok" : r;
    }

    /** -1 if {@code em} is 00 02 PS(≥8 non-zero) 00 M with |M| = 48 and M[0..1] = version; else 0. */
    static int checkRaw(byte[] em, int k, int major, int minor) {
        if (em.length != k || k < PREMASTER + 11) {
            return 0;
        }
        int bad = em[0] | (em[1] ^ 2);
        int sep = k - PREMASTER - 1;
        // PS: every byte from 2 to sep-1 must be non-zero (that also covers "at least 8").
        for (int i = 2; i < sep; i++) {
            bad |= isZero(em[i]);
        }
        bad |= em[sep];
        bad |= (em[sep + 1] ^ major) | (em[sep + 2] ^ minor);
        return -isZero((byte) ((bad | (bad >>> 8) | (bad >>> 16) | (bad >>> 24)) & 0xff));
    }

    static int checkUnpadded(byte[] m, int major, int minor) {
        if (m.length != PREMASTER) {
            return 0;
        }
        int bad = (m[0] ^ major) | (m[1] ^ minor);
        return (bad & 0xff) == 0 ? -1 : 0;
    }

    /** 1 if b == 0, else 0, without a branch. */
    private static int isZero(byte b) {
        int x = b & 0xff;
        return ((x - 1) >>> 31) & 1;
    }
}
