package io.hsmtls.tls.bc.client;

import io.hsmtls.tls.TlsVersion;
import io.hsmtls.tls.client.ClientSettings;
import io.hsmtls.tls.client.HandshakeRecorder;
import io.hsmtls.tls.client.ProbeReport;
import io.hsmtls.tls.client.ProbeStep;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import org.bouncycastle.tls.AlertDescription;
import org.bouncycastle.tls.TlsFatalAlertReceived;

/** Runs one handshake against a server and turns what happened into a {@link ProbeReport}. */
public final class Prober {
    /** How long to wait for a TLS 1.3 server's verdict on the client certificate after Finished. */
    static final int VERDICT_WAIT_MILLIS = 750;

    private Prober() {
    }

    /**
     * @param notes steps to put before the ClientHello (e.g. why TLS 1.3 is not offered)
     */
    public static ProbeReport probe(String host, int port, ClientSettings settings, Duration timeout,
                                    List<ProbeStep> notes) {
        HandshakeRecorder rec = new HandshakeRecorder();
        String target = host + ":" + port;
        for (ProbeStep n : notes) {
            rec.step(n.name(), n.status(), n.details());
        }
        Socket socket = new Socket();
        try {
            socket.connect(new InetSocketAddress(host, port), (int) timeout.toMillis());
            socket.setSoTimeout((int) timeout.toMillis());
            rec.step("TCP connect", ProbeStep.Status.OK, ProbeStep.d("peer", socket.getRemoteSocketAddress().toString()));
        } catch (IOException e) {
            closeQuietly(socket);
            rec.step("TCP connect", ProbeStep.Status.FAIL, ProbeStep.d("error", String.valueOf(e.getMessage())));
            return ProbeReport.of(target, settings.serverName(), rec, ProbeReport.Outcome.CONNECT_FAILED,
                    "cannot connect to " + target + " (" + e.getClass().getSimpleName() + ": " + e.getMessage()
                            + "): check the address and that the server is running", null);
        }
        TlsClientConnection c;
        try {
            c = TlsClientConnection.handshake(socket, settings, rec);
        } catch (TlsClientConnection.HandshakeFailedException e) {
            ProbeReport.Outcome outcome = e.serverRejection() != null ? ProbeReport.Outcome.VALIDATION_FAILED
                    : ProbeReport.Outcome.HANDSHAKE_FAILED;
            return ProbeReport.of(target, settings.serverName(), rec, outcome, e.getMessage(),
                    e.serverRejection() != null ? e.serverRejection().kind().name() : null);
        }
        try (c) {
            if (TlsVersion.TLS_1_3.display().equals(rec.version()) && rec.clientCertificateRequested()) {
                c.awaitServerVerdict(VERDICT_WAIT_MILLIS);
            }
            String accepted = rec.clientCertificate() == null ? "the handshake without a client certificate"
                    : "the client certificate";
            rec.step("Server accepted", ProbeStep.Status.OK, ProbeStep.d("detail",
                    !rec.clientCertificateRequested() ? "handshake complete, no client certificate requested"
                            : TlsVersion.TLS_1_3.display().equals(rec.version())
                                    ? "no alert within " + VERDICT_WAIT_MILLIS + " ms of the client's Finished: the "
                                            + "server accepted " + accepted
                                    : "the server sent its Finished after checking, so it accepted " + accepted));
            ProbeReport.Outcome outcome = ProbeReport.Outcome.OK;
            return ProbeReport.of(target, settings.serverName(), rec, outcome,
                    settings.insecure() ? "server certificate NOT verified (--insecure-skip-verify)" : null, null);
        } catch (TlsFatalAlertReceived e) {
            String alert = AlertDescription.getText(e.getAlertDescription());
            return ProbeReport.of(target, settings.serverName(), rec, ProbeReport.Outcome.HANDSHAKE_FAILED,
                    "the server rejected the handshake after Finished with alert " + alert
                            + (rec.clientCertificate() == null ? ": it requires a client certificate and none was sent"
                                    : ": it did not accept the client certificate " + rec.clientCertificate()),
                    null);
        } catch (IOException e) {
            return ProbeReport.of(target, settings.serverName(), rec, ProbeReport.Outcome.HANDSHAKE_FAILED,
                    "the connection failed right after the handshake (" + e.getClass().getSimpleName() + ": "
                            + e.getMessage() + ")", null);
        }
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // nothing to report
        }
    }
}
