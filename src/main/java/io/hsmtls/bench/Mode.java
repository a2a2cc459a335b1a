package io.hsmtls.bench;

/** What one load run does on each connection. */
public enum Mode {
    /** Full handshakes, no resumption, then close_notify; closed loop over the workers. */
    HANDSHAKE,
    /** TLS 1.2 session-ID resumed handshakes (a full one first to get the session). */
    RESUME,
    /** Handshake, then send N bytes through the proxy to an echo backend and read them back. */
    BULK,
    /** Full handshakes started at a fixed offered rate (open loop); latency p50/p99. */
    LATENCY,
    /** Opens N TLS connections, holds them, and reports the server's RSS per connection. */
    IDLE
}
