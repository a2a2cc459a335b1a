package io.hsmtls.token;

import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;

/**
 * One token, opened and logged in once, with a bounded session pool. Owns its native resources:
 * {@link #close()} logs out, closes sessions and finalises the module; it is idempotent.
 */
public interface Token extends AutoCloseable {

    TokenInfo info();

    /** Every mechanism the token lists, by name. */
    List<MechanismInfo> mechanisms();

    boolean supports(Mechanism mechanism);

    /**
     * Finds exactly one private key by the URI's object and/or id (and type, if given), with its
     * public key and certificate (same CKA_ID).
     *
     * @throws KeyNotFoundException when none or several match; the message lists the keys on the token
     */
    TokenKey key(Pkcs11Uri uri);

    /** All private keys on the token. */
    List<TokenKey> keys();

    /** All objects visible after login (private keys, public keys, certificates, others). */
    List<TokenObject> objects();

    // ---- provisioning (needs a token opened read-write) ----------------------------------

    /**
     * Generates a key pair on the token: CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE true,
     * CKA_EXTRACTABLE false, one random CKA_ID for both halves, only the usages the type needs.
     *
     * @param id        the CKA_ID to use, or empty for 16 random bytes
     * @param overwrite delete an existing key with the same label or id first; otherwise refuse
     */
    TokenKey generateKeyPair(KeyType type, String label, Optional<KeyId> id, boolean overwrite);

    /**
     * Stores a certificate as CKO_CERTIFICATE with the key's CKA_ID and label. Refuses a
     * certificate whose public key is not the key's.
     */
    void storeCertificate(TokenKey key, X509Certificate certificate, boolean overwrite);

    /** Deletes the objects the URI names (by object label and/or id, optionally by type); returns them. */
    List<TokenObject> delete(Pkcs11Uri objects);

    TokenStats stats();

    /**
     * Why a handshake's private-key calls take this implementation's slower way to the module (for
     * the PKCS#11 wrapper: its JNI layer, with a length query before each signature, instead of
     * straight into the module's function list); empty when they take the direct one.
     */
    default Optional<String> whyNotDirect() {
        return Optional.empty();
    }

    @Override
    void close();
}
