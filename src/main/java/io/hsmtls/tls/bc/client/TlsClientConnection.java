package io.hsmtls.tls.bc.client;

import io.hsmtls.proxy.Endpoint;
import io.hsmtls.tls.client.ClientSettings;
import io.hsmtls.tls.client.HandshakeRecorder;
import io.hsmtls.tls.client.ServerCertificateException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.security.SecureRandom;
import org.bouncycastle.tls.TlsClientProtocol;
import org.bouncycastle.tls.crypto.TlsCrypto;
import org.bouncycastle.tls.crypto.impl.jcajce.JcaTlsCryptoProvider;

/**
 * One TLS connection from the client side over a connected socket: the handshake runs in the
 * constructor's caller thread (blocking), then the streams carry application data. Record crypto
 * is JcaTlsCrypto (JDK AES-GCM); the private-key operation goes to the token.
 */
public final class TlsClientConnection implements AutoCloseable {
    private static final TlsCrypto CRYPTO = new JcaTlsCryptoProvider().create(new SecureRandom());

    private final Socket socket;
    private final TlsClientProtocol protocol;

    private TlsClientConnection(Socket socket, TlsClientProtocol protocol) {
        this.socket = socket;
        this.protocol = protocol;
    }

    /** The crypto all client connections share (thread-safe in Bouncy Castle). */
    public static TlsCrypto crypto() {
        return CRYPTO;
    }

    /**
     * Runs the handshake on {@code socket}.
     *
     * @throws HandshakeFailedException with the server rejection or selection error when that ended it
     */
    public static TlsClientConnection handshake(Socket socket, ClientSettings settings, HandshakeRecorder recorder)
            throws HandshakeFailedException {
        TokenTlsClient client = new TokenTlsClient(CRYPTO, settings, recorder);
        try {
            TlsClientProtocol protocol = new TlsClientProtocol(socket.getInputStream(), socket.getOutputStream());
            protocol.connect(client);
            return new TlsClientConnection(socket, protocol);
        } catch (IOException | RuntimeException e) {
            try {
                socket.close();
            } catch (IOException ignored) {
                // the handshake already failed; this is cleanup
            }
            throw new HandshakeFailedException(client.serverRejection(), client.selectionFailure(), e);
        }
    }

    public InputStream in() {
        return protocol.getInputStream();
    }

    public OutputStream out() {
        return protocol.getOutputStream();
    }

    /**
     * The connection as a pump endpoint. Bouncy Castle cannot half-close (its close sends
     * close_notify and closes the socket), so a half-close from the local side is not passed on;
     * the upstream's own close or the idle timeout ends the connection.
     */
    public Endpoint endpoint() {
        return Endpoint.of(in(), out(), () -> { }, this::close);
    }

    @Override
    public void close() throws IOException {
        try {
            protocol.close();
        } finally {
            socket.close();
        }
    }

    /** Why a client handshake failed, with the specific cause when it was ours. */
    public static final class HandshakeFailedException extends Exception {
        private final transient ServerCertificateException serverRejection;

        HandshakeFailedException(ServerCertificateException serverRejection, RuntimeException selection,
                                 Exception cause) {
            super(serverRejection != null ? serverRejection.getMessage()
                    : selection != null ? selection.getMessage() : describe(cause), cause);
            this.serverRejection = serverRejection;
        }

        /** Set when the server's certificate or name was refused. */
        public ServerCertificateException serverRejection() {
            return serverRejection;
        }

        private static String describe(Exception e) {
            String msg = e.getMessage();
            if (e instanceof org.bouncycastle.tls.TlsFatalAlertReceived r) {
                return "the server ended the handshake with alert "
                        + org.bouncycastle.tls.AlertDescription.getText(r.getAlertDescription());
            }
            if (e instanceof org.bouncycastle.tls.TlsFatalAlert a) {
                return "handshake aborted with alert " + org.bouncycastle.tls.AlertDescription.getText(
                        a.getAlertDescription()) + (msg == null ? "" : ": " + msg)
                        + (a.getCause() != null && a.getCause() != e ? " (" + a.getCause().getMessage() + ")" : "");
            }
            return "handshake failed: " + e.getClass().getSimpleName() + (msg == null ? "" : ": " + msg);
        }
    }
}
