package io.hsmtls.bench;

import java.time.Duration;
import java.util.Objects;
import java.util.OptionalLong;

/**
 * One load run. Every phase is bounded twice, by a count and by time, so a slow or broken server
 * ends a run rather than hanging it.
 *
 * @param mode           what each connection does
 * @param client         what the client offers and trusts
 * @param concurrency    workers (virtual threads) in closed-loop modes; opening parallelism for IDLE
 * @param duration       wall-time bound of the counted phase
 * @param maxCount       count bound of the counted phase (handshakes, connections)
 * @param warmupCount    uncounted handshakes first, so the server's JIT has compiled the hot path
 * @param warmupDuration wall-time bound of the warm-up
 * @param bulkBytes      BULK: bytes sent (and echoed back) per connection
 * @param rate           LATENCY: handshakes started per second
 * @param idleConnections IDLE: connections to open and hold
 * @param idleHold       IDLE: how long to hold them after the last one opened (RSS is read after settling)
 * @param serverPid      the server's root process, for CPU and RSS; empty measures wall time only
 * @param ioTimeout      connect and read timeout per connection
 * @param echoConnections HANDSHAKE: established connections that echo small messages through the
 *                       server while the handshakes run (0 = none), for their latency under that load
 * @param echoRate       echo messages per second on each of those connections
 * @param roundTripBytes HANDSHAKE: bytes each connection sends after its handshake and reads back
 *                       through the server and its echo backend before it closes (0: it closes at
 *                       once, as a health check does, and a server may then skip its backend)
 */
public record LoadSpec(Mode mode, ClientConfig client, int concurrency, Duration duration, long maxCount,
                       long warmupCount, Duration warmupDuration, long bulkBytes, double rate, int idleConnections,
                       Duration idleHold, OptionalLong serverPid, Duration ioTimeout, int echoConnections,
                       double echoRate, int roundTripBytes) {
    /** Hard ceilings, whatever the flags say. */
    static final Duration MAX_DURATION = Duration.ofMinutes(30);
    static final long MAX_COUNT = 50_000_000;
    /** Each echo connection is a platform thread in the load generator. */
    static final int MAX_ECHO_CONNECTIONS = 1_000;
    static final double MAX_ECHO_RATE = 10_000;
    /** One TLS record's worth. */
    static final int MAX_ROUND_TRIP_BYTES = 16_384;

    /** A run without echo connections. */
    public LoadSpec(Mode mode, ClientConfig client, int concurrency, Duration duration, long maxCount,
                    long warmupCount, Duration warmupDuration, long bulkBytes, double rate, int idleConnections,
                    Duration idleHold, OptionalLong serverPid, Duration ioTimeout) {
        this(mode, client, concurrency, duration, maxCount, warmupCount, warmupDuration, bulkBytes, rate,
                idleConnections, idleHold, serverPid, ioTimeout, 0, 0, 0);
    }

    /** The same run with {@code connections} echo connections at {@code perSecond} messages each. */
    public LoadSpec withEcho(int connections, double perSecond) {
        return new LoadSpec(mode, client, concurrency, duration, maxCount, warmupCount, warmupDuration, bulkBytes,
                rate, idleConnections, idleHold, serverPid, ioTimeout, connections, perSecond, roundTripBytes);
    }

    /** The same run with {@code bytes} sent and read back on each connection after its handshake. */
    public LoadSpec withRoundTrip(int bytes) {
        return new LoadSpec(mode, client, concurrency, duration, maxCount, warmupCount, warmupDuration, bulkBytes,
                rate, idleConnections, idleHold, serverPid, ioTimeout, echoConnections, echoRate, bytes);
    }

    public LoadSpec {
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(client, "client");
        if (concurrency < 1 || concurrency > 20_000) {
            throw new IllegalArgumentException("concurrency outside 1..20000: " + concurrency);
        }
        requireBounded("duration", duration);
        requireBounded("warm-up duration", warmupDuration);
        requireBounded("idle hold", idleHold);
        if (maxCount < 1 || maxCount > MAX_COUNT) {
            throw new IllegalArgumentException("count outside 1.." + MAX_COUNT + ": " + maxCount);
        }
        if (warmupCount < 0 || warmupCount > MAX_COUNT) {
            throw new IllegalArgumentException("warm-up count outside 0.." + MAX_COUNT + ": " + warmupCount);
        }
        if (mode == Mode.BULK && bulkBytes < 1) {
            throw new IllegalArgumentException("bulk bytes per connection < 1: " + bulkBytes);
        }
        if (mode == Mode.LATENCY && !(rate > 0 && rate <= 100_000)) {
            throw new IllegalArgumentException("offered rate outside (0, 100000] per second: " + rate);
        }
        if (mode == Mode.IDLE && idleConnections < 1) {
            throw new IllegalArgumentException("idle connections < 1: " + idleConnections);
        }
        if (mode == Mode.RESUME && !client.version().equals("TLSv1.2")) {
            throw new IllegalArgumentException("resumed handshakes are measured with TLS 1.2 session IDs, not "
                    + client.version() + ": pass --tls 1.2");
        }
        if (echoConnections < 0 || echoConnections > MAX_ECHO_CONNECTIONS) {
            throw new IllegalArgumentException("echo connections outside 0.." + MAX_ECHO_CONNECTIONS + ": "
                    + echoConnections);
        }
        if (echoConnections > 0) {
            if (mode != Mode.HANDSHAKE) {
                throw new IllegalArgumentException("echo connections measure latency under handshake load: use them"
                        + " with --mode handshake, not " + mode.name().toLowerCase(java.util.Locale.ROOT));
            }
            if (!(echoRate > 0 && echoRate <= MAX_ECHO_RATE)) {
                throw new IllegalArgumentException("echo rate outside (0, " + (long) MAX_ECHO_RATE
                        + "] messages per second per connection: " + echoRate);
            }
        }
        if (roundTripBytes < 0 || roundTripBytes > MAX_ROUND_TRIP_BYTES) {
            throw new IllegalArgumentException("round-trip bytes outside 0.." + MAX_ROUND_TRIP_BYTES + ": "
                    + roundTripBytes);
        }
        if (roundTripBytes > 0 && mode != Mode.HANDSHAKE) {
            throw new IllegalArgumentException("a round trip after each handshake is for --mode handshake, not "
                    + mode.name().toLowerCase(java.util.Locale.ROOT));
        }
        if (ioTimeout.isNegative() || ioTimeout.isZero() || ioTimeout.toMillis() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("I/O timeout out of range: " + ioTimeout);
        }
    }

    private static void requireBounded(String what, Duration d) {
        if (d.isNegative() || d.compareTo(MAX_DURATION) > 0) {
            throw new IllegalArgumentException(what + " outside 0.." + MAX_DURATION + ": " + d);
        }
    }
}
