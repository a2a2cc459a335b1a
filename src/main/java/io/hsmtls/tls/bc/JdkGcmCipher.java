package io.hsmtls.tls.bc;

import java.security.GeneralSecurityException;
import java.util.concurrent.ArrayBlockingQueue;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.bouncycastle.tls.crypto.impl.TlsAEADCipherImpl;

/**
 * AES-GCM for one direction of one connection's records, on a JDK {@link Cipher} (SunJCE, with
 * its AES-NI/VAES intrinsics), initialised per record with a {@link GCMParameterSpec}.
 *
 * <p>Bouncy Castle's own JCE adapter does the same work in a costlier way, per record: it looks
 * up an {@code AlgorithmParameters} implementation through the provider list, encodes the nonce
 * as ASN.1 for it, and has the JDK decode it again; and it decrypts in place, in the record's own
 * array, for which SunJCE allocates a temporary array as large as that whole array and copies the
 * plaintext back (its overlap guard takes any in-place decryption as overlapping). Here the
 * parameters are a plain spec, and an in-place decryption goes through a pooled scratch array,
 * taken and given back within the call so an idle connection holds none.
 */
final class JdkGcmCipher implements TlsAEADCipherImpl {
    /** A full TLS record's ciphertext (TLS 1.2 allows 2,048 bytes of expansion). */
    private static final int SCRATCH = 16 * 1024 + 2048 + 256;
    /** Scratch arrays for in-place decryption; at most this many are kept for reuse. */
    private static final ArrayBlockingQueue<byte[]> SCRATCH_POOL = new ArrayBlockingQueue<>(16);

    private final Cipher cipher;
    private final boolean encrypting;
    private final int keySize;
    private SecretKeySpec key;
    private GCMParameterSpec params;
    private int macSize = 16;

    JdkGcmCipher(Cipher cipher, int keySize, boolean encrypting) {
        this.cipher = cipher;
        this.keySize = keySize;
        this.encrypting = encrypting;
    }

    @Override
    public void setKey(byte[] k, int off, int len) {
        if (len != keySize) {
            throw new IllegalStateException("AES-GCM key of " + len + " bytes: the suite uses " + keySize);
        }
        key = new SecretKeySpec(k, off, len, "AES");
    }

    @Override
    public void init(byte[] nonce, int macSize) {
        this.macSize = macSize;
        params = new GCMParameterSpec(macSize * 8, nonce);
    }

    /** Plain arithmetic: Bouncy Castle asks before the first record's {@code doFinal} initialises the cipher. */
    @Override
    public int getOutputSize(int inputLength) {
        return encrypting ? inputLength + macSize : Math.max(0, inputLength - macSize);
    }

    @Override
    public int doFinal(byte[] additionalData, byte[] input, int inputOffset, int inputLength, byte[] output,
                       int outputOffset) {
        try {
            cipher.init(encrypting ? Cipher.ENCRYPT_MODE : Cipher.DECRYPT_MODE, key, params);
            if (additionalData != null && additionalData.length > 0) {
                cipher.updateAAD(additionalData);
            }
            if (encrypting || input != output) {
                return cipher.doFinal(input, inputOffset, inputLength, output, outputOffset);
            }
            return decryptInPlace(input, inputOffset, inputLength, outputOffset);
        } catch (GeneralSecurityException e) {
            // As Bouncy Castle's own adapter: its record layer turns a RuntimeException from
            // decryption into a bad_record_mac alert (a wrong tag is the usual cause).
            throw new IllegalStateException("AES-GCM record " + (encrypting ? "encryption" : "decryption")
                    + " failed: " + e.getMessage(), e);
        }
    }

    private int decryptInPlace(byte[] buf, int inputOffset, int inputLength, int outputOffset)
            throws GeneralSecurityException {
        byte[] scratch = inputLength <= SCRATCH ? SCRATCH_POOL.poll() : null;
        if (scratch == null) {
            scratch = new byte[Math.max(SCRATCH, inputLength)];
        }
        try {
            int n = cipher.doFinal(buf, inputOffset, inputLength, scratch, 0);
            System.arraycopy(scratch, 0, buf, outputOffset, n);
            return n;
        } finally {
            if (scratch.length == SCRATCH) {
                SCRATCH_POOL.offer(scratch);
            }
        }
    }
}
