package io.hsmtls.tls.client;

import java.util.List;
import java.util.Locale;

/**
 * The result of {@code hsmtls probe}: every handshake step in order, the outcome and the totals,
 * rendered as text for a person or as JSON for a script. Holds no secret: PINs and key bytes never
 * reach the recorder.
 *
 * @param target     host:port probed
 * @param serverName the name checked against the server certificate (and sent as SNI)
 * @param outcome    overall result; only {@link Outcome#OK} exits 0
 * @param error      what went wrong, or null
 * @param failureKind for a rejected server certificate, the {@link ServerCertificateException.Kind} name
 */
public record ProbeReport(String target, String serverName, List<ProbeStep> steps, Outcome outcome, String error,
                          String failureKind, Totals totals) {
    public ProbeReport {
        steps = List.copyOf(steps);
    }

    public enum Outcome {
        // One non-zero code for every failure, as everywhere in hsmtls (2 is a usage error);
        // scripts tell failures apart by the JSON "outcome" and "failureKind".
        OK(0, "handshake and validation succeeded"),
        VALIDATION_FAILED(1, "the server certificate did not validate"),
        HANDSHAKE_FAILED(1, "the handshake failed"),
        CONNECT_FAILED(1, "could not connect");

        private final int exitCode;
        private final String text;

        Outcome(int exitCode, String text) {
            this.exitCode = exitCode;
            this.text = text;
        }

        public int exitCode() {
            return exitCode;
        }

        public String text() {
            return text;
        }
    }

    public record Totals(double handshakeMillis, int tokenOperations, double tokenMillis, String version,
                         String cipherSuite, String clientCertificate) { }

    public static ProbeReport of(String target, String serverName, HandshakeRecorder rec, Outcome outcome,
                                 String error, String failureKind) {
        return new ProbeReport(target, serverName, rec.steps(), outcome, error, failureKind,
                new Totals(HandshakeRecorder.millis(rec.elapsedNanos()), rec.tokenOperations(),
                        HandshakeRecorder.millis(rec.tokenNanos()), rec.version(), rec.cipherSuite(),
                        rec.clientCertificate()));
    }

    public int exitCode() {
        return outcome.exitCode();
    }

    public String toText() {
        StringBuilder b = new StringBuilder();
        b.append("probe ").append(target);
        if (serverName != null) b.append(" (server name ").append(serverName).append(')');
        b.append('\n');
        int n = 1;
        for (ProbeStep s : steps) {
            b.append(String.format(Locale.ROOT, "%2d. [%-4s] %-22s +%.1f ms%n", n++, s.status(), s.name(),
                    s.atMicros() / 1000.0));
            for (ProbeStep.Detail d : s.details()) {
                if (d.value() instanceof List<?> l) {
                    b.append("      ").append(d.key()).append(':');
                    if (l.isEmpty()) {
                        b.append(" (none)\n");
                    } else {
                        b.append('\n');
                        for (Object o : l) b.append("        - ").append(o).append('\n');
                    }
                } else {
                    b.append("      ").append(d.key()).append(": ").append(d.value()).append('\n');
                }
            }
        }
        b.append("Totals: handshake ").append(totals.handshakeMillis()).append(" ms, ")
                .append(totals.tokenOperations()).append(" token operation(s) taking ")
                .append(totals.tokenMillis()).append(" ms");
        if (totals.version() != null) b.append(", ").append(totals.version());
        if (totals.cipherSuite() != null) b.append(", ").append(totals.cipherSuite());
        b.append(", client certificate: ")
                .append(totals.clientCertificate() == null ? "none" : totals.clientCertificate()).append('\n');
        b.append("Result: ").append(outcome).append(failureKind == null ? "" : " " + failureKind).append(" (")
                .append(outcome.text()).append(")");
        if (error != null) b.append(": ").append(error);
        b.append('\n');
        return b.toString();
    }

    public String toJson() {
        StringBuilder b = new StringBuilder("{");
        field(b, "target", target).append(',');
        field(b, "serverName", serverName).append(',');
        field(b, "outcome", outcome.name()).append(',');
        field(b, "exitCode", outcome.exitCode()).append(',');
        field(b, "error", error).append(',');
        field(b, "failureKind", failureKind).append(",\"steps\":[");
        for (int i = 0; i < steps.size(); i++) {
            ProbeStep s = steps.get(i);
            if (i > 0) b.append(',');
            b.append('{');
            field(b, "name", s.name()).append(',');
            field(b, "status", s.status().name()).append(',');
            field(b, "atMicros", s.atMicros()).append(",\"details\":{");
            for (int j = 0; j < s.details().size(); j++) {
                if (j > 0) b.append(',');
                field(b, s.details().get(j).key(), s.details().get(j).value());
            }
            b.append("}}");
        }
        b.append("],\"totals\":{");
        field(b, "handshakeMillis", totals.handshakeMillis()).append(',');
        field(b, "tokenOperations", totals.tokenOperations()).append(',');
        field(b, "tokenMillis", totals.tokenMillis()).append(',');
        field(b, "version", totals.version()).append(',');
        field(b, "cipherSuite", totals.cipherSuite()).append(',');
        field(b, "clientCertificate", totals.clientCertificate());
        return b.append("}}").toString();
    }

    private static StringBuilder field(StringBuilder b, String key, Object value) {
        quote(b, key).append(':');
        return value(b, value);
    }

    private static StringBuilder value(StringBuilder b, Object value) {
        if (value == null) {
            return b.append("null");
        }
        if (value instanceof Number || value instanceof Boolean) {
            return b.append(value);
        }
        if (value instanceof List<?> l) {
            b.append('[');
            for (int i = 0; i < l.size(); i++) {
                if (i > 0) b.append(',');
                value(b, l.get(i));
            }
            return b.append(']');
        }
        return quote(b, value.toString());
    }

    private static StringBuilder quote(StringBuilder b, String s) {
        b.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
                    else b.append(c);
                }
            }
        }
        return b.append('"');
    }
}
