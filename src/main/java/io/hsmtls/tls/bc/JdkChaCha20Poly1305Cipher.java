package io.hsmtls.tls.bc;

import java.security.GeneralSecurityException;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.bouncycastle.tls.crypto.impl.TlsAEADCipherImpl;

/**
 * ChaCha20-Poly1305 (RFC 8439) for one direction of one connection's records, on the JDK's
 * "ChaCha20-Poly1305" cipher. Bouncy Castle's JCA crypto builds this AEAD from a raw "ChaCha7539"
 * cipher and a "Poly1305" MAC, names only its own provider registers; over the JDK's providers it
 * therefore reported the suites as unavailable and never negotiated them, although the profiles
 * list them (a client that prefers ChaCha20, e.g. on hardware without AES instructions, silently
 * got AES-GCM). The record layer ({@code TlsAEADCipher}) makes each record's nonce; this only
 * seals and opens.
 */
final class JdkChaCha20Poly1305Cipher implements TlsAEADCipherImpl {
    static final String JCA_NAME = "ChaCha20-Poly1305";
    static final int KEY_SIZE = 32;
    static final int TAG_SIZE = 16;

    private final Cipher cipher;
    private final boolean encrypting;
    private SecretKeySpec key;
    private IvParameterSpec nonce;

    JdkChaCha20Poly1305Cipher(Cipher cipher, boolean encrypting) {
        this.cipher = cipher;
        this.encrypting = encrypting;
    }

    @Override
    public void setKey(byte[] k, int off, int len) {
        if (len != KEY_SIZE) {
            throw new IllegalStateException("ChaCha20-Poly1305 key of " + len + " bytes: it takes " + KEY_SIZE);
        }
        key = new SecretKeySpec(k, off, len, "ChaCha20");
    }

    @Override
    public void init(byte[] nonce, int macSize) {
        if (macSize != TAG_SIZE) {
            throw new IllegalStateException("ChaCha20-Poly1305 with a " + macSize + "-byte tag: it has " + TAG_SIZE);
        }
        this.nonce = new IvParameterSpec(nonce);
    }

    @Override
    public int getOutputSize(int inputLength) {
        return encrypting ? inputLength + TAG_SIZE : Math.max(0, inputLength - TAG_SIZE);
    }

    @Override
    public int doFinal(byte[] additionalData, byte[] input, int inputOffset, int inputLength, byte[] output,
                       int outputOffset) {
        try {
            cipher.init(encrypting ? Cipher.ENCRYPT_MODE : Cipher.DECRYPT_MODE, key, nonce);
            if (additionalData != null && additionalData.length > 0) {
                cipher.updateAAD(additionalData);
            }
            // Cipher.doFinal is copy-safe: in-place decryption (input == output) is allowed.
            return cipher.doFinal(input, inputOffset, inputLength, output, outputOffset);
        } catch (GeneralSecurityException e) {
            // As for AES-GCM: Bouncy Castle's record layer makes a RuntimeException from
            // decryption a bad_record_mac alert.
            throw new IllegalStateException("ChaCha20-Poly1305 record " + (encrypting ? "encryption" : "decryption")
                    + " failed: " + e.getMessage(), e);
        }
    }
}
