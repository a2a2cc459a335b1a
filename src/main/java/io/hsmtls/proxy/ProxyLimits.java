package io.hsmtls.proxy;

import java.time.Duration;

/**
 * The proxy's limits: connections at once, idle time, backend connect time and drain time on
 * shutdown. (The handshake timeout belongs to the TLS settings.)
 */
public record ProxyLimits(int maxConnections, Duration idleTimeout, Duration connectTimeout, Duration drainTimeout) {
    public ProxyLimits {
        if (maxConnections < 1) {
            throw new IllegalArgumentException("maxConnections < 1: " + maxConnections);
        }
    }

    public static ProxyLimits defaults() {
        return new ProxyLimits(10_000, Duration.ofMinutes(5), Duration.ofSeconds(5), Duration.ofSeconds(30));
    }

    public ProxyLimits withIdleTimeout(Duration d) {
        return new ProxyLimits(maxConnections, d, connectTimeout, drainTimeout);
    }

    public ProxyLimits withMaxConnections(int n) {
        return new ProxyLimits(n, idleTimeout, connectTimeout, drainTimeout);
    }
}
