package io.hsmtls.tls.client;

import io.hsmtls.token.SignatureScheme;
import io.hsmtls.token.TokenKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * A key on the token that could authenticate the client: its certificate chain (leaf first) and
 * the signature schemes the token can do with it.
 *
 * @param key         the token key (null only in unit tests of the selection logic)
 * @param description how listings and the probe name it, e.g. the key's URI
 * @param chain       leaf first, then any intermediates from {@code --cert}/the token
 * @param schemes     what the token and the key can sign with
 */
public record ClientCandidate(TokenKey key, String description, List<X509Certificate> chain,
                              Set<SignatureScheme> schemes) {
    public ClientCandidate {
        chain = List.copyOf(chain);
        schemes = Set.copyOf(schemes);
        if (chain.isEmpty()) {
            throw new IllegalArgumentException("client candidate " + description + " has no certificate");
        }
    }

    /** A token key with its stored certificate plus extra chain certificates; empty when the key has no certificate. */
    public static java.util.Optional<ClientCandidate> of(TokenKey key, List<X509Certificate> extraChain) {
        return key.certificate().map(leaf -> {
            List<X509Certificate> chain = new ArrayList<>();
            chain.add(leaf);
            chain.addAll(extraChain);
            return new ClientCandidate(key, key.uri().withoutQuery().toString(), chain, key.signatureSchemes());
        });
    }

    public X509Certificate leaf() {
        return chain.get(0);
    }
}
