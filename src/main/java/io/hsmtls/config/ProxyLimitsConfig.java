package io.hsmtls.config;

import java.time.Duration;

/**
 * Limits of one listener, with defaults meant for a small server.
 *
 * @param maxConnections   connections open at once; more are closed at accept
 * @param handshakeTimeout a TLS handshake must finish within this
 * @param idleTimeout      a connection with no data either way for this long is closed
 * @param connectTimeout   connecting to the backend may take this long
 * @param drainTimeout     on shutdown, open connections get this long to finish
 * @param maxConnectionsPerSource connections open at once from one client IP address
 */
public record ProxyLimitsConfig(int maxConnections, Duration handshakeTimeout, Duration idleTimeout,
                                Duration connectTimeout, Duration drainTimeout, int maxConnectionsPerSource) {
    public ProxyLimitsConfig {
        if (maxConnections < 1) {
            throw new IllegalArgumentException("max connections < 1: " + maxConnections);
        }
        if (maxConnectionsPerSource < 1) {
            throw new IllegalArgumentException("max connections per source < 1: " + maxConnectionsPerSource);
        }
        for (Duration d : new Duration[] {handshakeTimeout, idleTimeout, connectTimeout}) {
            if (d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException("timeouts must be positive: " + d);
            }
        }
        if (drainTimeout.isNegative()) {
            throw new IllegalArgumentException("drain timeout < 0: " + drainTimeout);
        }
    }

    /** No limit per source beyond {@code maxConnections}. */
    public ProxyLimitsConfig(int maxConnections, Duration handshakeTimeout, Duration idleTimeout,
                             Duration connectTimeout, Duration drainTimeout) {
        this(maxConnections, handshakeTimeout, idleTimeout, connectTimeout, drainTimeout, maxConnections);
    }

    public static ProxyLimitsConfig defaults() {
        return new ProxyLimitsConfig(10_000, Duration.ofSeconds(10), Duration.ofMinutes(5), Duration.ofSeconds(5),
                Duration.ofSeconds(30));
    }
}
