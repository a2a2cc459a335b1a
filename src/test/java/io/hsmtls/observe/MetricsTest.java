package io.hsmtls.observe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** Metrics and health over HTTP, fed with plain values (no token, no TLS). */
public class MetricsTest {
    static final Metrics.TokenState UP = new Metrics.TokenState("prod", true, null, null, 4, 1, 2, 0, false, false);

    @Test
    void health_200WhileEveryTokenIsUp_503NamingTheTokenDown() throws Exception {
        AtomicReference<List<Metrics.TokenState>> state = new AtomicReference<>(List.of(UP));
        try (Metrics m = new Metrics()) {
            m.tokens(state::get);
            InetSocketAddress at = m.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            HttpResponse<String> ok = get(at, "/healthz");
            assertEquals(200, ok.statusCode());
            assertEquals("ok\n", ok.body());

            Instant since = Instant.parse("2026-11-27T10:00:00Z");
            state.set(List.of(UP, new Metrics.TokenState("backup", false, since,
                    "C_Sign failed (CKR_DEVICE_ERROR)", 0, 0, 0, 3, false, true)));
            HttpResponse<String> down = get(at, "/healthz");
            assertEquals(503, down.statusCode());
            assertEquals("token backup down since 2026-11-27T10:00:00Z: C_Sign failed (CKR_DEVICE_ERROR)\n", down.body());

            String text = get(at, "/metrics").body();
            assertTrue(text.contains("hsmtls_token_up{token=\"prod\"} 1.0"), text);
            assertTrue(text.contains("hsmtls_token_up{token=\"backup\"} 0.0"), text);
            assertEquals((double) since.getEpochSecond(),
                    value(text, "hsmtls_token_down_since_timestamp_seconds", "token=\"backup\""), text);
            assertTrue(text.contains("hsmtls_token_reinitializations_total{token=\"backup\"} 3.0"), text);
            assertTrue(text.contains("hsmtls_token_pin_final_try{token=\"backup\"} 1.0"), text);
            assertTrue(text.contains("hsmtls_token_queue_depth{token=\"prod\"} 2.0"), text);
            assertTrue(text.contains("hsmtls_token_sessions_in_use{token=\"prod\"} 1.0"), text);
        }
    }

    @Test
    void events_countedWithStableNames() {
        Metrics m = new Metrics();
        m.tokenOperation("CKM_ECDSA", 0.002, "ok");
        m.tokenOperation("CKM_ECDSA", 0.003, "CKR_DEVICE_ERROR");
        m.handshakeFailed("web", "unknown_ca", 0.01);
        m.connectionClosed("web", 10, 20);
        m.certificates(() -> List.of(new Metrics.CertificateExpiry("web", "", Instant.ofEpochSecond(1_900_000_000))));
        m.openConnections(() -> Map.of("web", 3));
        String text = scrape(m);
        assertEquals(2.0, value(text, "hsmtls_token_operation_duration_seconds_count", "mechanism=\"CKM_ECDSA\""), text);
        assertEquals(1.0, value(text, "hsmtls_token_errors_total", "error=\"CKR_DEVICE_ERROR\""), text);
        assertEquals(1.0, value(text, "hsmtls_handshake_failures_total", "alert=\"unknown_ca\""), text);
        assertEquals(1.0, value(text, "hsmtls_handshakes_total", "result=\"failed\""), text);
        assertEquals(20.0, value(text, "hsmtls_connection_bytes_total", "direction=\"backend_to_client\""), text);
        assertEquals(1.9E9, value(text, "hsmtls_certificate_expiry_timestamp_seconds", "listener=\"web\""), text);
        assertEquals(3.0, value(text, "hsmtls_connections_open", "listener=\"web\""), text);
    }

    static String scrape(Metrics m) {
        try {
            var out = new java.io.ByteArrayOutputStream();
            new io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter(false).write(out,
                    m.registry().scrape());
            return out.toString(java.nio.charset.StandardCharsets.UTF_8);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** The sum of the samples of {@code name} whose labels contain every given {@code k="v"}. */
    public static double value(String text, String name, String... labels) {
        double sum = 0;
        boolean found = false;
        for (String line : text.split("\n")) {
            if (line.startsWith(name + "{") || line.startsWith(name + " ")) {
                String lbl = line.startsWith(name + "{") ? line.substring(name.length(), line.lastIndexOf('}') + 1) : "";
                boolean all = true;
                for (String l : labels) {
                    all &= lbl.contains(l);
                }
                if (all) {
                    sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                    found = true;
                }
            }
        }
        return found ? sum : Double.NaN;
    }

    static HttpResponse<String> get(InetSocketAddress at, String path) throws Exception {
        try (HttpClient c = HttpClient.newHttpClient()) {
            return c.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + at.getPort() + path)).build(),
                    HttpResponse.BodyHandlers.ofString());
        }
    }
}
