package io.hsmtls.token;

import java.security.cert.X509Certificate;
import java.util.Optional;
import java.util.Set;

/**
 * A private key that stays on a token: the one seam the TLS engine sees. Calls block the caller
 * (a virtual thread parks) while a small lane of platform threads talks to the token, so a slow
 * token delays only the handshakes that need it.
 */
public interface TokenKey {

    /** The key's URI (token and object attributes, no module or PIN), for logs, audit and listings. */
    Pkcs11Uri uri();

    KeyInfo info();

    /** The certificate stored on the token with the same CKA_ID, if any. */
    Optional<X509Certificate> certificate();

    /**
     * The signature schemes this token and this key can actually do: the token lists the
     * mechanism, the key's CKA_SIGN and CKA_ALLOWED_MECHANISMS allow it, and the curve matches.
     * Asked of the token once, when the key is found.
     */
    Set<SignatureScheme> signatureSchemes();

    /** True when the key can decrypt an RSA key exchange (CKA_DECRYPT, and CKM_RSA_X_509 or CKM_RSA_PKCS). */
    boolean canDecryptRsa();

    /**
     * Signs a whole message: the JVM hashes for prehashed schemes, the token signs. Output in the
     * TLS/X.509 encoding (DER for ECDSA).
     *
     * @throws MechanismUnsupportedException when the scheme is not in {@link #signatureSchemes()}
     * @throws TokenUnavailableException     when the token is down or overloaded
     */
    byte[] sign(SignatureScheme scheme, byte[] message);

    /** Signs a digest the caller computed with {@code scheme.hash()}; not for Ed25519. */
    byte[] signDigest(SignatureScheme scheme, byte[] digest);

    /**
     * Raw RSA decryption ({@code CKM_RSA_X_509}): returns the whole padded block, so the caller can
     * check PKCS#1 padding in constant time. Falls back to {@code CKM_RSA_PKCS} only when the token
     * lacks X.509 mode; then a padding failure surfaces as an exception and the caller must hide it.
     */
    RsaDecryption decryptRsa(byte[] ciphertext);

    /** The result of {@link #decryptRsa}: either the raw padded block or the unpadded plaintext. */
    record RsaDecryption(byte[] bytes, boolean raw) { }
}
