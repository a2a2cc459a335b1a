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

    ServerSettings settings();
}
