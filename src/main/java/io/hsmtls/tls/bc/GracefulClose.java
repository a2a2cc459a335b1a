package io.hsmtls.tls.bc;

import io.hsmtls.tls.Deadlines;
import java.io.IOException;
import java.net.Socket;
import java.time.Duration;
import org.bouncycastle.tls.TlsProtocol;

/**
 * Closes an established TLS connection, server or client side, without waiting on its peer for
 * good. close_notify goes into the socket's send buffer, which a peer that stopped reading has
 * filled (and a writer blocked on it holds Bouncy Castle's record layer): without a bound, whoever
 * closes — the idle timeout, shutdown, the other direction of a pump — would wait on that peer
 * forever. So the alert gets {@link #GRACE}; then the socket is closed under the write, which
 * fails at once. The grace is an entry on the shared coarse deadlines, not a thread per close.
 */
public final class GracefulClose {
    /** How long a close may wait for its close_notify to be written. */
    public static final Duration GRACE = Duration.ofSeconds(2);

    private GracefulClose() {
    }

    /** Sends close_notify (for up to {@link #GRACE}), then closes the socket; never throws. */
    public static void close(TlsProtocol protocol, Socket socket) {
        Deadlines.Entry guard = Deadlines.shared().after(GRACE, () -> closeQuietly(socket));
        try {
            protocol.close();
        } catch (IOException | RuntimeException ignored) {
            // the peer may be gone already; the socket close below is what matters
        } finally {
            guard.cancel();
        }
        closeQuietly(socket);
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // closing a connection we are done with
        }
    }
}
