package io.hsmtls.tls.client;

import io.hsmtls.tls.TlsVersion;
import io.hsmtls.token.SignatureScheme;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Which TLS versions the client can offer with its keys. TLS 1.3 forbids RSA PKCS#1 v1.5 in
 * CertificateVerify (RFC 8446 §4.2.3), so an RSA card without {@code CKM_RSA_PKCS_PSS} can only
 * authenticate over TLS 1.2: offering 1.3 would let the server pick a version in which the card
 * cannot sign. When 1.2 is allowed the client offers only 1.2 and says why.
 */
public final class VersionPolicy {
    private VersionPolicy() {
    }

    /**
     * @param versions versions the user allows, highest first
     * @param note     why a version was dropped or is risky, or null
     * @param warning  true when the note describes a likely failure rather than a fallback
     */
    public record Decision(List<TlsVersion> versions, String note, boolean warning) {
        public Decision {
            versions = List.copyOf(versions);
        }
    }

    public static Decision decide(List<TlsVersion> allowed, List<ClientCandidate> candidates) {
        if (!allowed.contains(TlsVersion.TLS_1_3) || candidates.isEmpty()
                || candidates.stream().anyMatch(VersionPolicy::canDoTls13)) {
            return new Decision(allowed, null, false);
        }
        String keys = candidates.stream()
                .map(c -> c.description() + " can sign only with " + c.schemes().stream().sorted()
                        .map(SignatureScheme::tlsName).collect(Collectors.joining(", ")))
                .collect(Collectors.joining("; "));
        String why = "TLS 1.3 client authentication needs a signature scheme allowed in TLS 1.3 (RFC 8446 §4.2.3: "
                + "RSA-PSS, ECDSA or Ed25519), but " + keys
                + " (for RSA: the token or the key's CKA_ALLOWED_MECHANISMS lacks CKM_RSA_PKCS_PSS)";
        if (allowed.contains(TlsVersion.TLS_1_2)) {
            return new Decision(List.of(TlsVersion.TLS_1_2),
                    "TLS 1.3 not offered: " + why + "; offering TLS 1.2 with RSA PKCS#1 v1.5 instead", false);
        }
        return new Decision(allowed, "only TLS 1.3 is allowed, but " + why
                + ": if the server asks for a client certificate none can be sent; allow TLS 1.2 to fall back", true);
    }

    private static boolean canDoTls13(ClientCandidate c) {
        return c.schemes().stream().anyMatch(SignatureScheme::allowedInTls13);
    }
}
