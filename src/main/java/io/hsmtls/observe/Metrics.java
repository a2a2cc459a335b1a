package io.hsmtls.observe;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.exporter.httpserver.MetricsHandler;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

/**
 * hsmtls's Prometheus metrics and health, served as text on {@code /metrics} and {@code /healthz}.
 * Names are stable and start with {@code hsmtls_}. Events (handshakes, token operations, bytes)
 * are pushed in as plain values; states (tokens, open connections, certificate expiry) are pulled
 * at scrape time from suppliers, so this package knows nothing of tokens or TLS.
 *
 * <p>Labels stay bounded: listener names, TLS versions and suites, mechanisms, alert and CKR_
 * names, token labels — never a peer address or a server name a client made up.
 */
public final class Metrics implements AutoCloseable {
    /** Handshake and token latencies: a token signature takes 0.3–50 ms, a slow HSM or queue up to seconds. */
    private static final double[] LATENCY_BUCKETS = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
        1, 2.5, 5, 10};

    /**
     * One token as metrics and health see it.
     *
     * @param downSince     when it was marked down, or null while up
     * @param downReason    why, or null while up
     * @param pinCountLow   CKF_USER_PIN_COUNT_LOW: a wrong PIN was entered since the last good login
     * @param pinFinalTry   CKF_USER_PIN_FINAL_TRY: one more wrong PIN locks the token
     */
    public record TokenState(String label, boolean up, Instant downSince, String downReason, int sessionsOpen,
                             int sessionsInUse, int pending, long reinitializations, boolean pinCountLow,
                             boolean pinFinalTry) { }

    /** The certificate a listener presents (for one server name, or "" for its default) and when it expires. */
    public record CertificateExpiry(String listener, String serverName, Instant notAfter) { }

    /** What {@code /healthz} answers: 200 with "ok", or 503 with one line per token that is down. */
    public record Health(boolean ok, String text) {
        public int status() {
            return ok ? 200 : 503;
        }
    }

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Counter handshakes;
    private final Counter handshakeFailures;
    private final Histogram handshakeSeconds;
    private final Histogram tokenSeconds;
    private final Counter tokenErrors;
    private final Counter bytes;
    private volatile Supplier<List<TokenState>> tokens = List::of;
    private volatile Supplier<Map<String, Integer>> openConnections = Map::of;
    private volatile Supplier<List<CertificateExpiry>> certificates = List::of;
    private HttpServer server;

    public Metrics() {
        handshakes = Counter.builder().name("hsmtls_handshakes_total")
                .help("TLS handshakes that ended, by listener, result (ok or failed), version, suite and resumption")
                .labelNames("listener", "result", "version", "suite", "resumed").register(registry);
        handshakeFailures = Counter.builder().name("hsmtls_handshake_failures_total")
                .help("failed handshakes by listener and alert (sent or received; none for a plain close or timeout)")
                .labelNames("listener", "alert").register(registry);
        handshakeSeconds = Histogram.builder().name("hsmtls_handshake_duration_seconds")
                .help("handshake wall time, accept to Finished (or failure)").labelNames("listener", "result")
                .classicOnly().classicUpperBounds(LATENCY_BUCKETS).register(registry);
        tokenSeconds = Histogram.builder().name("hsmtls_token_operation_duration_seconds")
                .help("private-key operations on the token (queue plus call) by mechanism").labelNames("mechanism")
                .classicOnly().classicUpperBounds(LATENCY_BUCKETS).register(registry);
        tokenErrors = Counter.builder().name("hsmtls_token_errors_total")
                .help("failed private-key operations by error: the CKR_ name, or token-down, queue-full, deadline")
                .labelNames("error").register(registry);
        bytes = Counter.builder().name("hsmtls_connection_bytes_total")
                .help("plaintext bytes carried, counted when a connection ends")
                .labelNames("listener", "direction").register(registry);
        GaugeWithCallback.builder().name("hsmtls_connections_open").help("connections open now, by listener")
                .labelNames("listener")
                .callback(cb -> openConnections.get().forEach((l, n) -> cb.call(n, l))).register(registry);
        GaugeWithCallback.builder().name("hsmtls_certificate_expiry_timestamp_seconds")
                .help("notAfter of the certificate each listener presents, seconds since the epoch")
                .labelNames("listener", "server_name")
                .callback(cb -> certificates.get().forEach(c -> cb.call(c.notAfter().getEpochSecond(), c.listener(),
                        c.serverName()))).register(registry);
        tokenGauge("hsmtls_token_up", "1 while the token is usable, 0 while it is marked down", s -> s.up() ? 1 : 0);
        tokenGauge("hsmtls_token_down_since_timestamp_seconds", "when the token was marked down (0 while up)",
                s -> s.downSince() == null ? 0 : s.downSince().getEpochSecond());
        tokenGauge("hsmtls_token_sessions_open", "PKCS#11 sessions open in the pool", TokenState::sessionsOpen);
        tokenGauge("hsmtls_token_sessions_in_use", "PKCS#11 sessions lent out now", TokenState::sessionsInUse);
        tokenGauge("hsmtls_token_queue_depth", "private-key operations waiting for a session", TokenState::pending);
        tokenGauge("hsmtls_token_pin_count_low", "1 when the token reports a wrong PIN since the last good login",
                s -> s.pinCountLow() ? 1 : 0);
        tokenGauge("hsmtls_token_pin_final_try", "1 when one more wrong PIN locks the token",
                s -> s.pinFinalTry() ? 1 : 0);
        CounterWithCallback.builder().name("hsmtls_token_reinitializations_total")
                .help("times the token's module was finalised and initialised again after a failure").labelNames("token")
                .callback(cb -> tokens.get().forEach(s -> cb.call(s.reinitializations(), s.label()))).register(registry);
    }

    private void tokenGauge(String name, String help, java.util.function.ToDoubleFunction<TokenState> value) {
        GaugeWithCallback.builder().name(name).help(help).labelNames("token")
                .callback(cb -> tokens.get().forEach(s -> cb.call(value.applyAsDouble(s), s.label()))).register(registry);
    }

    public PrometheusRegistry registry() {
        return registry;
    }

    /** A completed handshake; {@code version} as in "TLSv1.3", {@code suite} the IANA name. */
    public void handshakeCompleted(String listener, String version, String suite, boolean resumed, double seconds) {
        handshakes.labelValues(listener, "ok", version, suite, String.valueOf(resumed)).inc();
        handshakeSeconds.labelValues(listener, "ok").observe(seconds);
    }

    /** A failed handshake; {@code alert} the alert name or "none". */
    public void handshakeFailed(String listener, String alert, double seconds) {
        handshakes.labelValues(listener, "failed", "", "", "false").inc();
        handshakeFailures.labelValues(listener, alert).inc();
        handshakeSeconds.labelValues(listener, "failed").observe(seconds);
    }

    /** One private-key operation; {@code result} "ok" or the error name. */
    public void tokenOperation(String mechanism, double seconds, String result) {
        tokenSeconds.labelValues(mechanism).observe(seconds);
        if (!"ok".equals(result)) {
            tokenErrors.labelValues(result).inc();
        }
    }

    /** A connection ended having carried these plaintext bytes. */
    public void connectionClosed(String listener, long clientToBackend, long backendToClient) {
        bytes.labelValues(listener, "client_to_backend").inc(clientToBackend);
        bytes.labelValues(listener, "backend_to_client").inc(backendToClient);
    }

    public void tokens(Supplier<List<TokenState>> s) {
        this.tokens = Objects.requireNonNull(s);
    }

    public void openConnections(Supplier<Map<String, Integer>> s) {
        this.openConnections = Objects.requireNonNull(s);
    }

    public void certificates(Supplier<List<CertificateExpiry>> s) {
        this.certificates = Objects.requireNonNull(s);
    }

    /** 200 "ok" when every token is up; else 503 and "token LABEL down since TIME: reason" per token down. */
    public Health health() {
        List<String> down = new ArrayList<>();
        for (TokenState t : tokens.get()) {
            if (!t.up()) {
                down.add("token " + t.label() + " down since " + t.downSince() + ": " + t.downReason());
            }
        }
        return down.isEmpty() ? new Health(true, "ok\n") : new Health(false, String.join("\n", down) + "\n");
    }

    /** Serves {@code /metrics} (Prometheus text) and {@code /healthz}; returns the bound address. */
    public synchronized InetSocketAddress start(InetSocketAddress address) throws IOException {
        if (server != null) {
            throw new IllegalStateException("metrics already served on " + server.getAddress());
        }
        HttpServer s = HttpServer.create(address, 16);
        s.createContext("/metrics", new MetricsHandler(registry));
        s.createContext("/healthz", this::healthz);
        s.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        s.start();
        server = s;
        return s.getAddress();
    }

    private void healthz(HttpExchange ex) throws IOException {
        try (ex) {
            Health h = health();
            byte[] body = h.text().getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
            ex.sendResponseHeaders(h.status(), body.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        }
    }

    @Override
    public synchronized void close() {
        if (server != null) {
            server.stop(0);
            server = null;
        }
    }
}
