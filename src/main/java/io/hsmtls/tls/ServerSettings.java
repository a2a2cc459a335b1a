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
 * @param sniCredentials   further keys by server name (lower case); {@code credentials} is the default
 * @param rejectUnknownSni a client naming a server not in {@code sniCredentials} gets unrecognized_name
 *                         instead of the default credentials
 */
public record ServerSettings(ServerCredentials credentials, Profile profile, ClientAuthMode clientAuth,
                             Optional<ChainValidator> clientValidator, Duration handshakeTimeout, int sessionCacheSize,
                             Duration sessionLifetime, java.util.Map<String, ServerCredentials> sniCredentials,
                             boolean rejectUnknownSni) {
    public ServerSettings {
        java.util.Map<String, ServerCredentials> lower = new java.util.LinkedHashMap<>();
        sniCredentials.forEach((k, v) -> lower.put(k.toLowerCase(java.util.Locale.ROOT), v));
        sniCredentials = java.util.Collections.unmodifiableMap(lower);
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
                10_000, Duration.ofHours(1), java.util.Map.of(), false);
    }

    public ServerSettings withClientAuth(ClientAuthMode mode, Optional<ChainValidator> validator) {
        return new ServerSettings(credentials, profile, mode, validator, handshakeTimeout, sessionCacheSize,
                sessionLifetime, sniCredentials, rejectUnknownSni);
    }

    public ServerSettings withHandshakeTimeout(Duration d) {
        return new ServerSettings(credentials, profile, clientAuth, clientValidator, d, sessionCacheSize,
                sessionLifetime, sniCredentials, rejectUnknownSni);
    }

    public ServerSettings withSessionCache(int size, Duration lifetime) {
        return new ServerSettings(credentials, profile, clientAuth, clientValidator, handshakeTimeout, size, lifetime,
                sniCredentials, rejectUnknownSni);
    }

    /**
     * Adds keys chosen by SNI (RFC 6066 §3). A client that sends no name, or (unless
     * {@code rejectUnknown}) an unknown one, gets the default credentials.
     */
    public ServerSettings withSni(java.util.Map<String, ServerCredentials> byName, boolean rejectUnknown) {
        return new ServerSettings(credentials, profile, clientAuth, clientValidator, handshakeTimeout, sessionCacheSize,
                sessionLifetime, byName, rejectUnknown);
    }

    /** Every distinct credentials this listener may present. */
    public java.util.List<ServerCredentials> allCredentials() {
        java.util.LinkedHashSet<ServerCredentials> all = new java.util.LinkedHashSet<>();
        all.add(credentials);
        all.addAll(sniCredentials.values());
        return java.util.List.copyOf(all);
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
