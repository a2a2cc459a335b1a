package io.hsmtls.tls.client;

import io.hsmtls.token.KeyAlgorithm;
import io.hsmtls.token.SignatureScheme;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import javax.security.auth.x500.X500Principal;

/**
 * Chooses the client certificate the way a smart-card user expects (RFC 8446 §4.4.2.3, RFC 5246
 * §7.4.6): among the token's certificates, the one whose chain reaches a CA the server named and
 * whose key can produce a signature scheme the server accepts, in the server's order of preference.
 * No suitable certificate means the handshake continues without one (the server may still accept
 * that); several suitable ones are an error, because guessing would present the wrong identity.
 */
public final class ClientCertificateSelector {
    private ClientCertificateSelector() {
    }

    /**
     * @param candidates the token keys with certificates; when the user's URI named one key, only that one
     * @throws AmbiguousClientCertificateException when more than one candidate suits the request
     */
    public static CertificateSelection select(List<ClientCandidate> candidates, CertificateRequestInfo request) {
        if (candidates.isEmpty()) {
            return new CertificateSelection.NoCertificate(
                    "no key on the token has a certificate (store one with the key's CKA_ID, or give --key)");
        }
        List<CertificateSelection.Chosen> suitable = new ArrayList<>();
        List<String> rejected = new ArrayList<>();
        for (ClientCandidate c : candidates) {
            String caReason = caMatch(c, request.authorities());
            if (caReason == null) {
                rejected.add(c.description() + ": issuer " + c.leaf().getIssuerX500Principal().getName()
                        + " is not among the CAs the server accepts ("
                        + request.authorities().stream().map(X500Principal::getName).collect(Collectors.joining("; "))
                        + ")");
                continue;
            }
            KeyAlgorithm family = family(c);
            if (!request.keyTypes().isEmpty() && family != null && !request.keyTypes().contains(family)) {
                rejected.add(c.description() + ": the server accepts only " + request.keyTypes().stream().sorted()
                        .map(Enum::name).collect(Collectors.joining(", ")) + " certificates (certificate_types) "
                        + "and this key is " + family);
                continue;
            }
            SignatureScheme scheme = schemeFor(c, request);
            if (scheme == null) {
                rejected.add(c.description() + ": the token can sign with "
                        + names(c.schemes()) + " but the server accepts " + String.join(", ", request.schemeNames())
                        + (request.tls13() && onlyPkcs1(c) ? " (TLS 1.3 needs RSA-PSS: the key or token lacks CKM_RSA_PKCS_PSS)"
                                : ""));
                continue;
            }
            suitable.add(new CertificateSelection.Chosen(c, scheme, caReason + "; signs with " + scheme.tlsName()
                    + " (" + scheme.mechanism() + "), the first scheme in the server's list the key can do"));
        }
        if (suitable.size() > 1) {
            throw new AmbiguousClientCertificateException(suitable.stream()
                    .map(s -> s.candidate().description() + " (" + s.candidate().leaf().getSubjectX500Principal().getName()
                            + ")")
                    .toList());
        }
        if (suitable.size() == 1) {
            CertificateSelection.Chosen c = suitable.get(0);
            return new CertificateSelection.Chosen(c.candidate(), c.scheme(),
                    c.candidate().description() + " (" + c.candidate().leaf().getSubjectX500Principal().getName()
                            + "): " + c.why());
        }
        return new CertificateSelection.NoCertificate("no certificate suits the request, continuing without one: "
                + String.join("; ", rejected));
    }

    /** Null when the chain reaches none of the named CAs; otherwise why it matches. */
    private static String caMatch(ClientCandidate c, List<X500Principal> authorities) {
        if (authorities.isEmpty()) {
            return "the server named no CAs, so any issuer will do";
        }
        for (X509Certificate cert : c.chain()) {
            if (authorities.contains(cert.getIssuerX500Principal())) {
                return "issuer " + cert.getIssuerX500Principal().getName() + " is a CA the server accepts";
            }
            if (cert != c.leaf() && authorities.contains(cert.getSubjectX500Principal())) {
                return "chain certificate " + cert.getSubjectX500Principal().getName() + " is a CA the server accepts";
            }
        }
        return null;
    }

    private static SignatureScheme schemeFor(ClientCandidate c, CertificateRequestInfo request) {
        for (SignatureScheme s : request.knownSchemes()) {
            if (c.schemes().contains(s) && (!request.tls13() || s.allowedInTls13())) {
                return s;
            }
        }
        return null;
    }

    /** The key family from the token's view if there is a key, else from the certificate. */
    private static KeyAlgorithm family(ClientCandidate c) {
        if (c.key() != null && c.key().info() != null) {
            return c.key().info().algorithm();
        }
        return switch (c.leaf().getPublicKey().getAlgorithm()) {
            case "RSA" -> KeyAlgorithm.RSA;
            case "EC" -> KeyAlgorithm.EC;
            case "Ed25519", "EdDSA" -> KeyAlgorithm.ED25519;
            default -> null;
        };
    }

    private static boolean onlyPkcs1(ClientCandidate c) {
        return !c.schemes().isEmpty() && c.schemes().stream().noneMatch(SignatureScheme::allowedInTls13);
    }

    private static String names(Set<SignatureScheme> schemes) {
        return schemes.isEmpty() ? "nothing"
                : schemes.stream().sorted().map(SignatureScheme::tlsName).collect(Collectors.joining(", "));
    }
}
