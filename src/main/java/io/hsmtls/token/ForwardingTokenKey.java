package io.hsmtls.token;

import java.security.cert.X509Certificate;
import java.util.Optional;
import java.util.Set;

/**
 * A token key that passes every call to another one: the base for wrappers that add something
 * around the token's operations (timing, recording, a test's delay) and leave the rest alone.
 */
public abstract class ForwardingTokenKey implements TokenKey {
    protected final TokenKey key;

    protected ForwardingTokenKey(TokenKey key) {
        this.key = key;
    }

    @Override
    public Pkcs11Uri uri() {
        return key.uri();
    }

    @Override
    public KeyInfo info() {
        return key.info();
    }

    @Override
    public Optional<X509Certificate> certificate() {
        return key.certificate();
    }

    @Override
    public Set<SignatureScheme> signatureSchemes() {
        return key.signatureSchemes();
    }

    @Override
    public boolean canDecryptRsa() {
        return key.canDecryptRsa();
    }

    @Override
    public byte[] sign(SignatureScheme scheme, byte[] message) {
        return key.sign(scheme, message);
    }

    @Override
    public byte[] signDigest(SignatureScheme scheme, byte[] digest) {
        return key.signDigest(scheme, digest);
    }

    @Override
    public RsaDecryption decryptRsa(byte[] ciphertext) {
        return key.decryptRsa(ciphertext);
    }
}
