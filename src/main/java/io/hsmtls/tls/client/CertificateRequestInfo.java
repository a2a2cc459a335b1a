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

    /** TLS names of every accepted scheme; ones hsmtls cannot sign with are marked as such. */
    public List<String> schemeNames() {
        return signatureCodes.stream()
                .map(c -> SignatureScheme.ofCode(c).map(SignatureScheme::tlsName)
                        .orElseGet(() -> otherName(c) + " (not signable by hsmtls)"))
                .toList();
    }

    /** IANA names of schemes hsmtls does not sign with, so the probe does not print bare numbers. */
    static String otherName(int code) {
        return switch (code) {
            case 0x0808 -> "ed448";
            case 0x0809 -> "rsa_pss_pss_sha256";
            case 0x080a -> "rsa_pss_pss_sha384";
            case 0x080b -> "rsa_pss_pss_sha512";
            case 0x0201 -> "rsa_pkcs1_sha1";
            case 0x0203 -> "ecdsa_sha1";
            case 0x0904 -> "mldsa44";
            case 0x0905 -> "mldsa65";
            case 0x0906 -> "mldsa87";
            default -> {
                // TLS 1.2 (hash, signature) pairs that never became TLS 1.3 schemes (RFC 5246 §7.4.1.4.1)
                String[] hashes = {"none", "md5", "sha1", "sha224", "sha256", "sha384", "sha512"};
                String[] sigs = {"anonymous", "rsa", "dsa", "ecdsa"};
                int h = code >> 8;
                int sig = code & 0xff;
                yield h < hashes.length && sig < sigs.length ? sigs[sig] + "_" + hashes[h]
                        : String.format("0x%04x", code);
            }
        };
    }
}
