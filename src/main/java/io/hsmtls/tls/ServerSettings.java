package io.hsmtls.tls;

import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Everything one listener's TLS side needs, engine-neutral.
 *
 * @param credentials      token key and certificate chain, already checked against the profile
 * @param profile          versions and suites offered
 * @param clientAuth       whether a client certificate is requested/required
 * @param clientValidator  validates client chains; its anchors are the CA names sent; required unless NONE
 * @param handshakeTimeout the whole handshake must finish within this (slowloris bound)
 * @param sessionCacheSize TLS 1.2 session-ID cache entries; 0 disables resumption
 * @param sessionLifetime  how long a cached session may be resumed
 */
public record ServerSettings(ServerCredentials credentials, Profile profile, ClientAuthMode clientAuth,
                             Optional<ChainValidator> clientValidator, Duration handshakeTimeout, int sessionCacheSize,
                             Duration sessionLifetime) {
    public ServerSettings {
        Objects.requireNonNull(credentials, "credentials");
        Objects.requireNonNull(profile, "profile");
        Objects.requireNonNull(clientAuth, "clientAuth");
        Objects.requireNonNull(clientValidator, "clientValidator");
        if (clientAuth != ClientAuthMode.NONE && clientValidator.isEmpty()) {
            throw new IllegalArgumentException("client-auth " + clientAuth.cliName()
                    + " needs trusted client CAs: give --client-ca ca.pem");
        }
        if (clientValidator.isPresent() && clientValidator.get().purpose() != ChainValidator.Purpose.CLIENT_AUTH) {
            throw new IllegalArgumentException("client validator must check clientAuth, not "
                    + clientValidator.get().purpose());
        }
        if (handshakeTimeout.isNegative() || handshakeTimeout.isZero()) {
            throw new IllegalArgumentException("handshake timeout must be positive: " + handshakeTimeout);
        }
        if (sessionCacheSize < 0) {
            throw new IllegalArgumentException("session cache size < 0: " + sessionCacheSize);
        }
    }

    public static ServerSettings of(ServerCredentials credentials, Profile profile) {
        return new ServerSettings(credentials, profile, ClientAuthMode.NONE, Optional.empty(), Duration.ofSeconds(10),
                10_000, Duration.ofHours(1));
    }

    public ServerSettings withClientAuth(ClientAuthMode mode, Optional<ChainValidator> validator) {
        return new ServerSettings(credentials, profile, mode, validator, handshakeTimeout, sessionCacheSize,
                sessionLifetime);
    }

    public ServerSettings withHandshakeTimeout(Duration d) {
        return new ServerSettings(credentials, profile, clientAuth, clientValidator, d, sessionCacheSize,
                sessionLifetime);
    }

    public ServerSettings withSessionCache(int size, Duration lifetime) {
        return new ServerSettings(credentials, profile, clientAuth, clientValidator, handshakeTimeout, size, lifetime);
    }

    /** Identifies the client-auth policy: sessions resume only under the same one. */
    public String policyKey() {
        return clientAuth.cliName() + ":" + clientValidator.map(v -> v.trustAnchors().stream()
                .map(ClientIdentity::fingerprint).collect(Collectors.joining(","))).orElse("");
    }

    /** The client CA certificates, if any. */
    public java.util.List<X509Certificate> clientCas() {
        return clientValidator.map(ChainValidator::trustAnchors).orElse(java.util.List.of());
    }
}
