package io.hsmtls.tls.client;

import io.hsmtls.token.ForwardingTokenKey;
import io.hsmtls.token.SignatureScheme;
import io.hsmtls.token.TokenException;
import io.hsmtls.token.TokenKey;

/**
 * A token key that tells a {@link HandshakeRecorder} about each signature: scheme, mechanism and
 * how long the token took. Wraps the key for one handshake; the TLS adapter never knows.
 */
public final class RecordingTokenKey extends ForwardingTokenKey {
    private final HandshakeRecorder recorder;

    public RecordingTokenKey(TokenKey key, HandshakeRecorder recorder) {
        super(key);
        this.recorder = recorder;
    }

    @Override
    public byte[] sign(SignatureScheme scheme, byte[] message) {
        return recorded(scheme, () -> key.sign(scheme, message));
    }

    @Override
    public byte[] signDigest(SignatureScheme scheme, byte[] digest) {
        return recorded(scheme, () -> key.signDigest(scheme, digest));
    }

    /** Runs one token signature and tells the recorder its scheme, time and outcome. */
    private byte[] recorded(SignatureScheme scheme, java.util.function.Supplier<byte[]> signature) {
        long start = System.nanoTime();
        try {
            byte[] s = signature.get();
            recorder.tokenOperation(describe(), scheme, System.nanoTime() - start, null);
            return s;
        } catch (TokenException e) {
            recorder.tokenOperation(describe(), scheme, System.nanoTime() - start, e.getMessage());
            throw e;
        }
    }

    private String describe() {
        return key.uri() == null ? "?" : key.uri().withoutQuery().toString();
    }
}
