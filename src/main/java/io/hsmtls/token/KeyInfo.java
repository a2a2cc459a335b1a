package io.hsmtls.token;

import java.security.PublicKey;
import java.util.Set;

/**
 * What the token says about one private key, read once when the key is found.
 *
 * @param label             CKA_LABEL (may be empty)
 * @param id                CKA_ID shared with the public key and certificate
 * @param algorithm         key family
 * @param bits              RSA modulus bits or EC field size
 * @param curve             secp256r1 / secp384r1 / ed25519, or null for RSA
 * @param publicKey         the public half (from the public-key object, the certificate, or the private key's attributes)
 * @param sensitive         CKA_SENSITIVE
 * @param extractable       CKA_EXTRACTABLE
 * @param alwaysAuthenticate CKA_ALWAYS_AUTHENTICATE: each signature needs a context-specific login
 * @param canSign           CKA_SIGN
 * @param canDecrypt        CKA_DECRYPT
 * @param allowedMechanisms CKA_ALLOWED_MECHANISMS restricted to the ones hsmtls knows; empty = not restricted
 */
public record KeyInfo(String label, KeyId id, KeyAlgorithm algorithm, int bits, String curve, PublicKey publicKey,
                      boolean sensitive, boolean extractable, boolean alwaysAuthenticate, boolean canSign,
                      boolean canDecrypt, Set<Mechanism> allowedMechanisms) {
    public KeyInfo {
        allowedMechanisms = Set.copyOf(allowedMechanisms);
    }

    /** True when CKA_ALLOWED_MECHANISMS is absent or lists {@code m}. */
    public boolean allows(Mechanism m) {
        return allowedMechanisms.isEmpty() || allowedMechanisms.contains(m);
    }

    /** "label (id a1b2…, EC secp256r1)" for listings and messages. */
    public String describe() {
        return (label == null || label.isEmpty() ? "<no label>" : label) + " (id " + (id == null ? "-" : id.hex())
                + ", " + algorithm + (curve != null ? " " + curve : " " + bits) + ")";
    }
}
