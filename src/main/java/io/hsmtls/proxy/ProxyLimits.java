package io.hsmtls.proxy;

import java.time.Duration;

/**
 * The proxy's limits: connections at once (in all and from one client address), idle time,
 * backend connect time and drain time on shutdown. (The handshake timeout belongs to the TLS
 * settings.) Connections over a limit are closed at accept, before any TLS work.
 *
 * @param maxConnectionsPerSource connections open at once from one IP address; a flood from one
 *                                client cannot take every slot (set it to maxConnections when all
 *                                clients arrive through one load balancer address)
 */
public record ProxyLimits(int maxConnections, Duration idleTimeout, Duration connectTimeout, Duration drainTimeout,
                          int maxConnectionsPerSource) {
    public ProxyLimits {
        if (maxConnections < 1) {
            throw new IllegalArgumentException("maxConnections < 1: " + maxConnections);
        }
        if (maxConnectionsPerSource < 1) {
            throw new IllegalArgumentException("maxConnectionsPerSource < 1: " + maxConnectionsPerSource);
        }
    }

    /** No limit per source beyond {@code maxConnections}. */
    public ProxyLimits(int maxConnections, Duration idleTimeout, Duration connectTimeout, Duration drainTimeout) {
        this(maxConnections, idleTimeout, connectTimeout, drainTimeout, maxConnections);
    }

    public static ProxyLimits defaults() {
        return new ProxyLimits(10_000, Duration.ofMinutes(5), Duration.ofSeconds(5), Duration.ofSeconds(30));
    }

    public ProxyLimits withIdleTimeout(Duration d) {
        return new ProxyLimits(maxConnections, d, connectTimeout, drainTimeout, maxConnectionsPerSource);
    }

    public ProxyLimits withMaxConnections(int n) {
        return new ProxyLimits(n, idleTimeout, connectTimeout, drainTimeout, Math.min(n, maxConnectionsPerSource));
    }

    public ProxyLimits withMaxConnectionsPerSource(int n) {
        return new ProxyLimits(maxConnections, idleTimeout, connectTimeout, drainTimeout, n);
    }
}
