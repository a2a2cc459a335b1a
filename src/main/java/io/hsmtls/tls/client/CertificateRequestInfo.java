package io.hsmtls.tls.client;

import io.hsmtls.token.SignatureScheme;
import java.util.List;
import java.util.Optional;
import javax.security.auth.x500.X500Principal;

/**
 * What a server's CertificateRequest asks for (RFC 8446 §4.3.2, RFC 5246 §7.4.4), engine-neutral.
 *
 * @param tls13           whether the handshake is TLS 1.3 (RSA PKCS#1 v1.5 then cannot sign, §4.2.3)
 * @param authorities     acceptable CA names; empty = the server accepts any issuer
 * @param signatureCodes  the signature scheme code points the server accepts, in its order of preference
 */
public record CertificateRequestInfo(boolean tls13, List<X500Principal> authorities, List<Integer> signatureCodes) {
    public CertificateRequestInfo {
        authorities = List.copyOf(authorities);
        signatureCodes = List.copyOf(signatureCodes);
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
