package io.hsmtls.tls.bc;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.util.Arrays;

/**
 * The socket streams Bouncy Castle's blocking protocol runs on, shaped for few system calls
 * during the handshake and little memory after it.
 *
 * <p>Bouncy Castle writes and flushes every handshake message as its own record, and reads each
 * record as a 5-byte header and then a body: about a dozen small {@code write}/{@code read}
 * calls per handshake, each a system call (and on loopback the receiver's work too). While the
 * handshake runs, writes are collected and sent in one go when the server turns to read the
 * peer's next flight (a peer cannot answer what it has not been sent) or when the handshake
 * ends; reads fill a small buffer with whatever the socket has. Afterwards both buffers are
 * dropped and the streams pass straight through, so an established, idle connection keeps no
 * buffer here.
 *
 * <p>Closing the output only half-closes the socket: Bouncy Castle closes its streams after a
 * fatal alert, and a full close with client data still unread would reset the connection before
 * the client reads the alert. The socket's owner closes the socket.
 */
final class HandshakeStreams {
    private static final int READ_BUFFER = 4096;

    private final Socket socket;
    private final InputStream rawIn;
    private final OutputStream rawOut;
    final InputStream in = new In();
    final OutputStream out = new Out();

    /** Read by the pump threads after the handshake; the buffers are the handshake thread's until then. */
    private volatile boolean handshaking = true;
    private byte[] inBuf = new byte[READ_BUFFER];
    private int inPos;
    private int inLimit;
    private byte[] outBuf = new byte[4096];
    private int outLen;

    HandshakeStreams(Socket socket) throws IOException {
        this.socket = socket;
        this.rawIn = socket.getInputStream();
        this.rawOut = socket.getOutputStream();
    }

    /** Sends what is pending and switches to pass-through; bytes already read are still served first. */
    void handshakeDone() throws IOException {
        synchronized (out) {
            handshaking = false;
            sendPending();
            outBuf = null;
        }
        if (inPos == inLimit) {
            inBuf = null;
        }
    }

    /** Sends pending bytes (an alert after a failed handshake); errors are the caller's to ignore. */
    void sendPendingQuietly() {
        try {
            synchronized (out) {
                sendPending();
            }
        } catch (IOException ignored) {
            // the peer is gone: nothing to deliver the alert to
        }
    }

    private void sendPending() throws IOException {
        if (outLen > 0) {
            int n = outLen;
            outLen = 0;
            rawOut.write(outBuf, 0, n);
        }
    }

    private final class In extends InputStream {
        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            if (inBuf != null && inPos < inLimit) {
                int n = Math.min(len, inLimit - inPos);
                System.arraycopy(inBuf, inPos, b, off, n);
                inPos += n;
                if (inPos == inLimit && !handshaking) {
                    inBuf = null;
                }
                return n;
            }
            if (handshaking) {
                // About to wait for the peer: first send it everything it has to answer.
                synchronized (out) {
                    sendPending();
                }
                if (len < READ_BUFFER) {
                    int n = rawIn.read(inBuf, 0, READ_BUFFER);
                    if (n <= 0) {
                        return n;
                    }
                    inPos = 0;
                    inLimit = n;
                    return read(b, off, len);
                }
            }
            return rawIn.read(b, off, len);
        }

        @Override
        public int available() throws IOException {
            return (inBuf == null ? 0 : inLimit - inPos) + rawIn.available();
        }

        @Override
        public void close() {
            // the socket's owner closes it
        }
    }

    private final class Out extends OutputStream {
        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            synchronized (this) {
                if (handshaking) {
                    if (outLen + len > outBuf.length) {
                        outBuf = Arrays.copyOf(outBuf, Math.max(outBuf.length * 2, outLen + len));
                    }
                    System.arraycopy(b, off, outBuf, outLen, len);
                    outLen += len;
                    return;
                }
            }
            rawOut.write(b, off, len);
        }

        @Override
        public void flush() throws IOException {
            // While handshaking, the flight goes out when we turn to read (or the handshake ends).
            if (!handshaking) {
                rawOut.flush();
            }
        }

        @Override
        public void close() throws IOException {
            synchronized (this) {
                sendPending();
            }
            if (!socket.isClosed() && !socket.isOutputShutdown()) {
                rawOut.flush();
                socket.shutdownOutput();
            }
        }
    }
}
