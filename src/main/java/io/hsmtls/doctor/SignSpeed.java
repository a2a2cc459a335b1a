package io.hsmtls.doctor;

import java.time.Duration;

/**
 * A short timed loop of token signatures: roughly how many full handshakes per second this key
 * can sign for (each TLS 1.3 or ECDHE handshake is one signature).
 *
 * @param scheme     the TLS name of the scheme signed with
 * @param operations signatures made
 * @param elapsed    wall time of the loop
 */
public record SignSpeed(String scheme, int operations, Duration elapsed) {

    public double opsPerSecond() {
        long nanos = elapsed.toNanos();
        return nanos == 0 ? 0 : operations * 1e9 / nanos;
    }

    public double meanLatencyMillis() {
        return operations == 0 ? 0 : elapsed.toNanos() / 1e6 / operations;
    }
}
