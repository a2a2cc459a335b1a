package io.hsmtls.tls.bc;

import io.hsmtls.tls.TokenTimer;
import io.hsmtls.token.SignatureScheme;
import io.hsmtls.token.TokenException;
import io.hsmtls.token.TokenKey;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Objects;
import org.bouncycastle.tls.AlertDescription;
import org.bouncycastle.tls.Certificate;
import org.bouncycastle.tls.SignatureAndHashAlgorithm;
import org.bouncycastle.tls.TlsCredentialedSigner;
import org.bouncycastle.tls.TlsFatalAlert;
import org.bouncycastle.tls.crypto.TlsStreamSigner;

/**
 * Bouncy Castle's view of a token key for one handshake and one chosen signature scheme
 * (server CertificateVerify/ServerKeyExchange or client CertificateVerify).
 *
 * <p>For prehashed schemes Bouncy Castle hashes the signed content itself and calls
 * {@link #generateRawSignature(byte[])} with the bare digest — in TLS 1.2 too: the DigestInfo
 * wrapping for RSA PKCS#1 v1.5 happens inside BC's own {@code TlsSigner}s, which this class
 * replaces, so the digest goes to {@link TokenKey#signDigest}, whose contract is to add
 * DigestInfo for {@code rsa_pkcs1_*} (PKCS#1 v2.2 §9.2) and to use PSS parameters with
 * salt = hash length and MGF1 with the same hash for {@code rsa_pss_rsae_*} (RFC 8446 §4.2.3).
 * Ed25519 signs the whole message (RFC 8032 PureEdDSA), so it gets a stream signer that buffers
 * the content and calls {@link TokenKey#sign} once.
 *
 * <p>A token failure becomes an {@code internal_error} alert; the message names the key and
 * scheme, never key material. Every token call, good or failed, is reported to the handshake's
 * {@link TokenTimer} (time, and the audit log's key-use record when one is kept).
 */
public final class TokenSigner implements TlsCredentialedSigner {
    private final TokenKey key;
    private final SignatureScheme scheme;
    private final Certificate certificate;
    private final TokenTimer timer;

    public TokenSigner(TokenKey key, SignatureScheme scheme, Certificate certificate, TokenTimer timer) {
        this.key = Objects.requireNonNull(key, "key");
        this.scheme = Objects.requireNonNull(scheme, "scheme");
        this.certificate = Objects.requireNonNull(certificate, "certificate");
        this.timer = timer == null ? new TokenTimer() : timer;
    }

    public SignatureScheme scheme() {
        return scheme;
    }

    @Override
    public Certificate getCertificate() {
        return certificate;
    }

    @Override
    public SignatureAndHashAlgorithm getSignatureAndHashAlgorithm() {
        return org.bouncycastle.tls.SignatureScheme.getSignatureAndHashAlgorithm(scheme.code());
    }

    @Override
    public byte[] generateRawSignature(byte[] hash) throws IOException {
        if (!scheme.prehashed()) {
            throw new TlsFatalAlert(AlertDescription.internal_error,
                    scheme.tlsName() + " signs the whole message: Bouncy Castle should have used the stream signer");
        }
        if (hash.length != scheme.hashLength()) {
            // A 36-byte MD5+SHA1 (TLS 1.0/1.1) or a DigestInfo would mean BC took a path we do not support.
            throw new TlsFatalAlert(AlertDescription.internal_error, "digest for " + scheme.tlsName() + " has "
                    + hash.length + " bytes, expected " + scheme.hashLength());
        }
        long start = timer.begin();
        RuntimeException failure = null;
        try {
            return key.signDigest(scheme, hash);
        } catch (RuntimeException e) {
            failure = e;
            throw alert(e);
        } finally {
            timer.signed(start, key.uri(), scheme.mechanism(), failure);
        }
    }

    /** A token failure as an internal_error alert; anything else is a bug and goes up as it is. */
    private IOException alert(RuntimeException e) {
        if (e instanceof TokenException) {
            return new TlsFatalAlert(AlertDescription.internal_error,
                    "token signature (" + key.uri() + ", " + scheme.tlsName() + ") failed: " + e.getMessage(), e);
        }
        throw e;
    }

    @Override
    public TlsStreamSigner getStreamSigner() {
        if (scheme.prehashed()) {
            return null;
        }
        ByteArrayOutputStream buffer = new ByteArrayOutputStream(512);
        return new TlsStreamSigner() {
            @Override
            public OutputStream getOutputStream() {
                return buffer;
            }

            @Override
            public byte[] getSignature() throws IOException {
                long start = timer.begin();
                RuntimeException failure = null;
                try {
                    return key.sign(scheme, buffer.toByteArray());
                } catch (RuntimeException e) {
                    failure = e;
                    throw alert(e);
                } finally {
                    timer.signed(start, key.uri(), scheme.mechanism(), failure);
                }
            }
        };
    }
}
