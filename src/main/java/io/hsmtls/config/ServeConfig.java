package io.hsmtls.config;

import io.hsmtls.tls.ClientAuthMode;
import io.hsmtls.tls.Profile;
import io.hsmtls.token.Pkcs11Uri;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * One {@code serve} listener, validated: where to listen, where to forward, which token key and
 * certificate, and the TLS policy.
 *
 * @param cert     PEM chain (leaf first); empty = the certificate stored on the token with the key's CKA_ID
 * @param clientCa PEM file of CA certificates trusted for client certificates (also the CA names sent)
 * @param proxyProtocol send a PROXY protocol v2 header to the backend
 */
public record ServeConfig(HostPort listen, HostPort backend, Pkcs11Uri key, Optional<Path> cert,
                          Optional<Path> clientCa, ClientAuthMode clientAuth, Profile profile,
                          ProxyLimitsConfig limits, boolean proxyProtocol) {
    public ServeConfig {
        Objects.requireNonNull(listen, "listen");
        Objects.requireNonNull(backend, "backend");
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(limits, "limits");
        if (clientAuth != ClientAuthMode.NONE && clientCa.isEmpty()) {
            throw new IllegalArgumentException("--client-auth " + clientAuth.cliName()
                    + " needs --client-ca FILE (the CA certificates client certificates must chain to)");
        }
    }
}
