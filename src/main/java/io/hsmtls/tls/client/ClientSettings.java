package io.hsmtls.tls.client;

import io.hsmtls.tls.TlsVersion;
import java.util.List;

/**
 * How the client connects to one upstream.
 *
 * @param serverName  the name sent as SNI (when it is a DNS name) and checked against the certificate
 * @param versions    versions to offer, after {@link VersionPolicy} removed those the key cannot do
 * @param verifier    validates the server; null only with {@code --insecure-skip-verify}
 * @param candidates  the token keys that may answer a CertificateRequest (one when --key names an object/id)
 */
public record ClientSettings(String serverName, List<TlsVersion> versions, ServerVerifier verifier,
                             List<ClientCandidate> candidates) {
    public ClientSettings {
        versions = List.copyOf(versions);
        candidates = List.copyOf(candidates);
        if (versions.isEmpty()) {
            throw new IllegalArgumentException("no TLS version to offer");
        }
    }

    public boolean insecure() {
        return verifier == null;
    }
}
