package io.hsmtls.tls.client;

import io.hsmtls.token.KeyAlgorithm;
import io.hsmtls.token.SignatureScheme;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import javax.security.auth.x500.X500Principal;

/**
 * What a server's CertificateRequest asks for (RFC 8446 §4.3.2, RFC 5246 §7.4.4), engine-neutral.
 *
 * @param tls13           whether the handshake is TLS 1.3 (RSA PKCS#1 v1.5 then cannot sign, §4.2.3)
 * @param authorities     acceptable CA names; empty = the server accepts any issuer
 * @param signatureCodes  the signature scheme code points the server accepts, in its order of preference
 * @param keyTypes        TLS 1.2 certificate_types as key families (rsa_sign → RSA, ecdsa_sign → EC and
 *                        Ed25519, RFC 8422 §5.5); empty = any (TLS 1.3 has no such field)
 */
public record CertificateRequestInfo(boolean tls13, List<X500Principal> authorities, List<Integer> signatureCodes,
                                     Set<KeyAlgorithm> keyTypes) {
    public CertificateRequestInfo {
        authorities = List.copyOf(authorities);
        signatureCodes = List.copyOf(signatureCodes);
        keyTypes = Set.copyOf(keyTypes);
    }

    public CertificateRequestInfo(boolean tls13, List<X500Principal> authorities, List<Integer> signatureCodes) {
        this(tls13, authorities, signatureCodes, Set.of());
    }

    /** The schemes hsmtls knows, in the server's order. */
    public List<SignatureScheme> knownSchemes() {
        return signatureCodes.stream().map(SignatureScheme::ofCode).flatMap(Optional::stream).toList();
    }

    /** TLS names of every accepted scheme, unknown ones as hex code points. */
    public List<String> schemeNames() {
        return signatureCodes.stream()
                .map(c -> SignatureScheme.ofCode(c).map(SignatureScheme::tlsName)
                        .orElse(String.format("0x%04x", c)))
                .toList();
    }
}
