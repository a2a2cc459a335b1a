package io.hsmtls.proxy;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;

/**
 * One side of a proxied connection as the pump sees it: a byte stream each way, a half-close
 * and a full close. A plain socket half-closes with {@link Socket#shutdownOutput()}; a TLS
 * connection may not be able to (Bouncy Castle sends close_notify and closes both ways).
 */
public interface Endpoint extends Closeable {
    InputStream in() throws IOException;

    OutputStream out() throws IOException;

    /** Tells the peer no more data comes from us, keeping our read side open if the transport allows. */
    void shutdownOutput() throws IOException;

    static Endpoint of(Socket socket) {
        return new Endpoint() {
            @Override
            public InputStream in() throws IOException {
                return socket.getInputStream();
            }

            @Override
            public OutputStream out() throws IOException {
                return socket.getOutputStream();
            }

            @Override
            public void shutdownOutput() throws IOException {
                if (!socket.isClosed() && !socket.isOutputShutdown()) {
                    socket.shutdownOutput();
                }
            }

            @Override
            public void close() throws IOException {
                socket.close();
            }
        };
    }

    /** An endpoint from streams; {@code shutdownOutput} and {@code close} are given by the caller. */
    static Endpoint of(InputStream in, OutputStream out, Closeable shutdownOutput, Closeable close) {
        return new Endpoint() {
            @Override
            public InputStream in() {
                return in;
            }

            @Override
            public OutputStream out() {
                return out;
            }

            @Override
            public void shutdownOutput() throws IOException {
                shutdownOutput.close();
            }

            @Override
            public void close() throws IOException {
                close.close();
            }
        };
    }
}
