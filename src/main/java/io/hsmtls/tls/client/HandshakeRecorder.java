package io.hsmtls.tls.client;

import io.hsmtls.token.SignatureScheme;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Collects what happens during one client handshake, in order: the engine adapter reports each
 * step, the token wrapper each signature. {@code probe} renders it; {@code connect} keeps the
 * summary fields for its one log line. Not shared between handshakes.
 */
public final class HandshakeRecorder {
    private final long startNanos = System.nanoTime();
    private final List<ProbeStep> steps = new ArrayList<>();
    private volatile String version;
    private volatile String cipherSuite;
    private volatile String clientCertificate;
    private volatile String serverSubject;
    private volatile boolean clientCertificateRequested;
    private long tokenNanos;
    private int tokenOperations;
    private Long handshakeNanos;

    public synchronized void step(String name, ProbeStep.Status status, List<ProbeStep.Detail> details) {
        steps.add(new ProbeStep(name, status, micros(System.nanoTime() - startNanos), details));
    }

    public void step(String name, ProbeStep.Status status, ProbeStep.Detail... details) {
        step(name, status, List.of(details));
    }

    /** One token signature: which scheme and mechanism, how long the token took, and whether it worked. */
    public synchronized void tokenOperation(String key, SignatureScheme scheme, long nanos, String error) {
        tokenNanos += nanos;
        tokenOperations++;
        List<ProbeStep.Detail> details = new ArrayList<>(List.of(
                ProbeStep.d("operation", "sign"), ProbeStep.d("key", key),
                ProbeStep.d("scheme", scheme.tlsName()), ProbeStep.d("mechanism", scheme.mechanism().name()),
                ProbeStep.d("millis", millis(nanos))));
        if (error != null) {
            details.add(ProbeStep.d("error", error));
        }
        step("Token operation", error == null ? ProbeStep.Status.OK : ProbeStep.Status.FAIL, details);
    }

    public synchronized void handshakeComplete() {
        handshakeNanos = System.nanoTime() - startNanos;
    }

    public void negotiated(String version, String cipherSuite) {
        if (version != null) this.version = version;
        if (cipherSuite != null) this.cipherSuite = cipherSuite;
    }

    public void clientCertificate(String subject) {
        this.clientCertificate = subject;
    }

    public void serverSubject(String subject) {
        this.serverSubject = subject;
    }

    public void markCertificateRequested() {
        this.clientCertificateRequested = true;
    }

    /** True when the server sent a CertificateRequest. */
    public boolean clientCertificateRequested() {
        return clientCertificateRequested;
    }

    public String version() {
        return version;
    }

    public String cipherSuite() {
        return cipherSuite;
    }

    /** The subject of the client certificate sent, or null when none was. */
    public String clientCertificate() {
        return clientCertificate;
    }

    public String serverSubject() {
        return serverSubject;
    }

    public synchronized long tokenNanos() {
        return tokenNanos;
    }

    public synchronized int tokenOperations() {
        return tokenOperations;
    }

    public synchronized List<ProbeStep> steps() {
        return List.copyOf(steps);
    }

    /** Nanoseconds from start to Finished, or from start to now if the handshake did not finish. */
    public synchronized long elapsedNanos() {
        return handshakeNanos != null ? handshakeNanos : System.nanoTime() - startNanos;
    }

    static long micros(long nanos) {
        return TimeUnit.NANOSECONDS.toMicros(nanos);
    }

    static double millis(long nanos) {
        return Math.round(nanos / 10_000.0) / 100.0;
    }
}
