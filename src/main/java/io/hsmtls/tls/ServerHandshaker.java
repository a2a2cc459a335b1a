package io.hsmtls.tls;

import java.net.Socket;

/**
 * The server side of a TLS handshake as a function: an accepted socket in, an established
 * connection out. The proxy sees only this; the Bouncy Castle adapter implements it.
 */
public interface ServerHandshaker {
    /**
     * Runs the handshake on the calling thread within the settings' handshake timeout.
     *
     * @throws HandshakeFailedException with the alert and reason; the socket is closed
     */
    TlsConnection handshake(Socket socket) throws HandshakeFailedException;

    /**
     * Like {@link #handshake(Socket)}, naming the connection (its number in the listener's
     * connection log) in what the handshake reports, e.g. audit records of key uses.
     */
    default TlsConnection handshake(Socket socket, long connectionId) throws HandshakeFailedException {
        return handshake(socket);
    }

    /**
     * A connection for an event loop to drive (the caller does the socket I/O), or
     * {@link UnsupportedOperationException} from a handshaker that only runs on a thread per
     * connection.
     *
     * @param connectionId the connection's number in the listener's log
     * @param peer         the client's address, for audit records
     */
    default TlsEngine engine(long connectionId, java.net.InetSocketAddress peer) {
        throw new UnsupportedOperationException(getClass().getName() + " runs on a thread per connection only");
    }

    ServerSettings settings();
}
