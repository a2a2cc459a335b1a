package io.hsmtls.provision;

import io.hsmtls.token.TokenKey;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.operator.ContentSigner;

/**
 * A Bouncy Castle {@link ContentSigner} whose private key stays on the token: Bouncy Castle writes
 * the to-be-signed DER into the stream, and {@link #getSignature()} hands the whole message to
 * {@link TokenKey#sign} (the JVM hashes, the token signs; Ed25519 signs the message itself). The
 * token returns X.509 encodings (DER for ECDSA), which is what a certificate or CSR carries.
 */
public final class TokenContentSigner implements ContentSigner {
    private final TokenKey key;
    private final SignatureChoice choice;
    private final ByteArrayOutputStream tbs = new ByteArrayOutputStream();

    public TokenContentSigner(TokenKey key, SignatureChoice choice) {
        this.key = key;
        this.choice = choice;
    }

    @Override
    public AlgorithmIdentifier getAlgorithmIdentifier() {
        return choice.algorithm();
    }

    @Override
    public OutputStream getOutputStream() {
        return tbs;
    }

    @Override
    public byte[] getSignature() {
        byte[] message = tbs.toByteArray();
        tbs.reset();
        return key.sign(choice.scheme(), message);
    }
}
