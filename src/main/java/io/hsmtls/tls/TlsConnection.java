package io.hsmtls.tls;

import java.io.Closeable;
import java.io.InputStream;
import java.io.OutputStream;

/** An established server-side TLS connection: plaintext streams and what the handshake agreed. */
public interface TlsConnection extends Closeable {
    InputStream in();

    OutputStream out();

    HandshakeInfo info();

    /** Sends close_notify and closes the socket; idempotent. */
    @Override
    void close();
}
