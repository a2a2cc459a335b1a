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

    ServerSettings settings();
}
