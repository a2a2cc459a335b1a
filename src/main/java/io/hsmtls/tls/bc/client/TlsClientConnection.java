package io.hsmtls.tls.bc.client;

import io.hsmtls.tls.TokenTimer;
import io.hsmtls.tls.bc.FastTlsCrypto;
import io.hsmtls.tls.bc.GracefulClose;
import io.hsmtls.tls.client.ClientSettings;
import io.hsmtls.tls.client.HandshakeRecorder;
import io.hsmtls.tls.client.ServerCertificateException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.security.SecureRandom;
import org.bouncycastle.tls.AlertDescription;
import org.bouncycastle.tls.TlsClientProtocol;
import org.bouncycastle.tls.TlsFatalAlert;
import org.bouncycastle.tls.TlsFatalAlertReceived;
import org.bouncycastle.tls.crypto.TlsCrypto;

/**
 * One TLS connection from the client side over a connected socket: the handshake runs in the
 * constructor's caller thread (blocking), then the streams carry application data. Record crypto
 * is JcaTlsCrypto (JDK AES-GCM); the private-key operation goes to the token.
 */
public final class TlsClientConnection implements AutoCloseable {
    /** Bouncy Castle's curve code for the key exchange, the JDK for records and the key schedule. */
    private static final TlsCrypto CRYPTO = FastTlsCrypto.create();

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
        return handshake(socket, settings, recorder, null);
    }

    /** Like {@link #handshake(Socket, ClientSettings, HandshakeRecorder)}; {@code timer} reports the client signature. */
    public static TlsClientConnection handshake(Socket socket, ClientSettings settings, HandshakeRecorder recorder,
                                                TokenTimer timer) throws HandshakeFailedException {
        TokenTlsClient client = new TokenTlsClient(CRYPTO, settings, recorder, timer);
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
     * Waits briefly for a fatal alert after a client-authenticated TLS 1.3 handshake: the client
     * finishes before the server has checked its certificate (RFC 8446 §4.4.2.4), so a rejection
     * arrives as an alert after "Finished". Returns the first byte read or -1; a quiet server
     * (timeout) is a success.
     *
     * @throws IOException when the server sent an alert or closed with an error
     */
    public void awaitServerVerdict(int millis) throws IOException {
        int old = socket.getSoTimeout();
        socket.setSoTimeout(millis);
        try {
            int available = protocol.applicationDataAvailable();
            if (available == 0) {
                protocol.readApplicationData(new byte[1], 0, 1);
            }
        } catch (java.net.SocketTimeoutException quiet) {
            // the server accepted us and is waiting for data
        } finally {
            if (!socket.isClosed()) {
                socket.setSoTimeout(old);
            }
        }
    }

    /** Sends close_notify, waiting on the server no longer than {@link GracefulClose#GRACE}, then closes the socket. */
    @Override
    public void close() {
        GracefulClose.close(protocol, socket);
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
            if (e instanceof TlsFatalAlertReceived r) {
                return "the server ended the handshake with alert "
                        + AlertDescription.getText(r.getAlertDescription());
            }
            if (e instanceof TlsFatalAlert a) {
                // BC's own alerts carry no text ("internal_error(80)"); ours carry the reason, and the
                // cause (a token error) is named only when the message does not already say it.
                String causeText = a.getCause() == null || a.getCause() == e ? null : a.getCause().getMessage();
                String text = msg == null || msg.equals(AlertDescription.getText(a.getAlertDescription())) ? null : msg;
                String why = text != null && causeText != null && !text.contains(causeText) ? text + " (" + causeText + ")"
                        : text != null ? text : causeText;
                return "handshake aborted with alert " + AlertDescription.getText(a.getAlertDescription())
                        + (why == null ? "" : ": " + why);
            }
            return "handshake failed: " + e.getClass().getSimpleName() + (msg == null ? "" : ": " + msg);
        }
    }
}
