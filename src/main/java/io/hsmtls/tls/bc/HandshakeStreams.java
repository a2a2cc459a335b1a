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
 * <p>Past the handshake, reads still take several records per system call while data streams:
 * Bouncy Castle reads a record as a 5-byte header and then its body, two {@code read} calls per
 * record (four per 16 KiB with peers that follow each full record with a small one). When the
 * socket already holds more than the caller asked for, a pooled {@link #STREAM_BUFFER} is filled
 * with all of it and records are served from there; when the socket is empty the read goes
 * straight into the caller's array and blocks there, with the pooled buffer given back first. So
 * a connection that waits for data holds no buffer, and one that streams needs about one
 * {@code read} per 32 KiB instead of one per header and body.
 *
 * <p>Closing the output only half-closes the socket: Bouncy Castle closes its streams after a
 * fatal alert, and a full close with client data still unread would reset the connection before
 * the client reads the alert. The socket's owner closes the socket.
 */
final class HandshakeStreams {
    private static final int READ_BUFFER = 4096;
    /**
     * What one read takes from the socket while data streams, and what one write sends of a
     * batch: four full TLS 1.3 records of 16 KiB with their headers and tags.
     */
    static final int STREAM_BUFFER = 4 * (16 * 1024 + 256 + 5);
    /**
     * Stream buffers given back by connections that drained theirs, for the next one that streams:
     * an array per burst would be 32 KiB of garbage per pause. Bounded, so the process keeps at
     * most {@code 64 × 32 KiB} here however many connections once streamed.
     */
    private static final java.util.concurrent.ArrayBlockingQueue<byte[]> POOL =
            new java.util.concurrent.ArrayBlockingQueue<>(64);
    /** TLS record header: type (1), version (2), length (2). */
    private static final int HEADER = 5;
    private static final int APPLICATION_DATA = 23;
    /**
     * A buffered record this long or longer may be read without risk of blocking on the socket
     * afterwards: see {@link #dataRecordBuffered()}.
     */
    private static final int SAFE_RECORD = 256;

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
    /** True when inBuf is a {@link #STREAM_BUFFER} from the pool, to be given back once drained. */
    private boolean inPooled;
    /** Between {@link #beginBatch()} and {@link #endBatch()}: records collect in outBuf (guarded by out). */
    private boolean batching;
    private byte[] outBuf = new byte[4096];
    private int outLen;

    /** The handshake's place in the CPU gate: given up while a read waits for the peer. */
    private final io.hsmtls.tls.CpuGate.Pass pass;

    HandshakeStreams(Socket socket) throws IOException {
        this(socket, io.hsmtls.tls.CpuGate.Pass.none());
    }

    HandshakeStreams(Socket socket, io.hsmtls.tls.CpuGate.Pass pass) throws IOException {
        this.socket = socket;
        this.pass = pass;
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

    /**
     * Collects the records of one application write, to send them in one system call at
     * {@link #endBatch()}: Bouncy Castle writes each record on its own, so a 64 KiB write would
     * otherwise be four {@code write} calls. The buffer comes from the pool and goes back at the
     * end, so nothing stays behind on an idle connection.
     */
    void beginBatch() {
        synchronized (out) {
            if (!handshaking) {
                batching = true;
            }
        }
    }

    /** Sends the records collected since {@link #beginBatch()} and gives the buffer back. */
    void endBatch() throws IOException {
        synchronized (out) {
            if (!batching) {
                return;
            }
            batching = false;
            try {
                sendPending();
            } finally {
                if (outBuf != null) {
                    POOL.offer(outBuf);
                    outBuf = null;
                }
            }
        }
    }

    private void sendPending() throws IOException {
        if (outLen > 0) {
            int n = outLen;
            outLen = 0;
            rawOut.write(outBuf, 0, n);
        }
    }

    private void releaseInBuf() {
        if (inPooled) {
            POOL.offer(inBuf);
            inPooled = false;
        }
        inBuf = null;
    }

    /**
     * Whether the read buffer holds a whole application-data record that is worth reading now
     * (for the reader's thread only). Used to hand several records to one caller's read: Bouncy
     * Castle reads until it has application data, so reading a buffered record that turns out to
     * carry none (a TLS 1.3 KeyUpdate travels as outer type application_data) would block on the
     * socket while bytes already decrypted wait for the caller. Such messages are a few dozen
     * bytes; data records worth gathering are larger, so a record shorter than {@link #SAFE_RECORD}
     * is left for the next read unless a long one follows it whole.
     */
    boolean dataRecordBuffered() {
        if (inBuf == null || handshaking) {
            return false;
        }
        int length = wholeDataRecord(inPos);
        if (length < 0) {
            return false;
        }
        // A short record is safe when a long one follows it whole (JSSE sends 16 KiB writes as a
        // full record and a 17-byte one): were the short one a KeyUpdate, Bouncy Castle would go
        // on to read the long one from the buffer, not wait on the socket.
        return length >= SAFE_RECORD || wholeDataRecord(inPos + HEADER + length) >= SAFE_RECORD;
    }

    /** The length of the whole application-data record at {@code pos} in the read buffer, or -1. */
    private int wholeDataRecord(int pos) {
        if (inLimit - pos < HEADER || inBuf[pos] != APPLICATION_DATA) {
            return -1;
        }
        int length = ((inBuf[pos + 3] & 0xff) << 8) | (inBuf[pos + 4] & 0xff);
        return inLimit - pos >= HEADER + length ? length : -1;
    }

    /** Bytes read from the socket and not yet handed on (for the reader's thread only). */
    int buffered() {
        return inBuf == null ? 0 : inLimit - inPos;
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
                    releaseInBuf();
                }
                return n;
            }
            if (handshaking) {
                // About to wait for the peer: first send it everything it has to answer.
                synchronized (out) {
                    sendPending();
                }
                if (len < READ_BUFFER) {
                    int n = handshakeRead(inBuf, 0, READ_BUFFER);
                    if (n <= 0) {
                        return n;
                    }
                    inPos = 0;
                    inLimit = n;
                    return read(b, off, len);
                }
            }
            if (handshaking) {
                return handshakeRead(b, off, len);
            }
            if (len >= STREAM_BUFFER) {
                return rawIn.read(b, off, len);
            }
            // Past the handshake. FIONREAD is one cheap system call; it saves a read per header
            // and per body while data streams, and tells us when a read would wait.
            int ready = rawIn.available();
            if (ready <= len) {
                // Empty socket (we would wait: hold no buffer) or the caller takes it all anyway.
                return rawIn.read(b, off, len);
            }
            byte[] buf = POOL.poll();
            if (buf == null) {
                buf = new byte[STREAM_BUFFER];
            }
            int n;
            try {
                n = rawIn.read(buf, 0, buf.length); // does not wait: ready > 0
            } catch (IOException e) {
                POOL.offer(buf);
                throw e;
            }
            if (n <= 0) {
                POOL.offer(buf);
                return n;
            }
            inBuf = buf;
            inPooled = true;
            inPos = 0;
            inLimit = n;
            return read(b, off, len);
        }

        /**
         * A handshake read: when the socket has nothing yet, the read will wait for the peer, and
         * the handshake leaves the CPU gate for that time (FIONREAD costs one system call; a
         * read that finds data keeps its place and its turn).
         */
        private int handshakeRead(byte[] b, int off, int len) throws IOException {
            if (!pass.holding() || rawIn.available() > 0) {
                return rawIn.read(b, off, len);
            }
            pass.leave();
            try {
                return rawIn.read(b, off, len);
            } finally {
                pass.enter();
            }
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
                if (batching) {
                    if (outBuf == null) {
                        outBuf = POOL.poll();
                        if (outBuf == null) {
                            outBuf = new byte[STREAM_BUFFER];
                        }
                    }
                    if (outLen + len > outBuf.length) {
                        sendPending();
                    }
                    if (len <= outBuf.length) {
                        System.arraycopy(b, off, outBuf, outLen, len);
                        outLen += len;
                        return;
                    }
                    rawOut.write(b, off, len);
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
                if (outBuf != null) {
                    sendPending();
                }
            }
            if (!socket.isClosed() && !socket.isOutputShutdown()) {
                rawOut.flush();
                socket.shutdownOutput();
            }
        }
    }
}
