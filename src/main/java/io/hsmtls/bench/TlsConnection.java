package io.hsmtls.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSession;

/**
 * One client TLS connection: a JSSE {@link SSLEngine} driven over a blocking socket. An engine
 * rather than an SSLSocket because only an engine created without a peer host lets the harness
 * rule out resumption (JSSE resumes by host:port, TLS 1.3 tickets included), while an engine
 * created with one resumes TLS 1.2 sessions on purpose.
 *
 * <p>Reading and writing may run on two threads at once (the bulk echo); each direction owns its
 * buffers and JSSE serialises the engine itself.
 */
final class TlsConnection implements AutoCloseable {
    private static final ByteBuffer EMPTY = ByteBuffer.allocate(0);

    private final Socket socket;
    private final SSLEngine engine;
    private final InputStream in;
    private final OutputStream out;
    private ByteBuffer netIn;   // read mode: unread ciphertext between position and limit
    private ByteBuffer netOut;
    private ByteBuffer appIn;
    private boolean inboundClosed;

    private TlsConnection(Socket socket, SSLEngine engine) throws IOException {
        this.socket = socket;
        this.engine = engine;
        this.in = socket.getInputStream();
        this.out = socket.getOutputStream();
        SSLSession s = engine.getSession();
        netIn = ByteBuffer.allocate(s.getPacketBufferSize()).flip();
        netOut = ByteBuffer.allocate(s.getPacketBufferSize());
        appIn = ByteBuffer.allocate(s.getApplicationBufferSize());
    }

    /** Connects and completes the handshake; the socket is closed when the handshake fails. */
    static TlsConnection open(InetSocketAddress target, SSLEngine engine, int timeoutMillis) throws IOException {
        Socket socket = new Socket();
        try {
            socket.setTcpNoDelay(true);
            socket.setSoTimeout(timeoutMillis);
            socket.connect(target, timeoutMillis);
            TlsConnection c = new TlsConnection(socket, engine);
            c.handshake();
            return c;
        } catch (IOException | RuntimeException e) {
            socket.close();
            throw e;
        }
    }

    SSLSession session() {
        return engine.getSession();
    }

    /** The plain socket, for holding an idle connection without its TLS buffers. */
    Socket socket() {
        return socket;
    }

    private void handshake() throws IOException {
        engine.beginHandshake();
        HandshakeStatus hs = engine.getHandshakeStatus();
        // Bounded: every iteration either moves bytes or ends the handshake; a stuck peer hits SO_TIMEOUT.
        while (hs != HandshakeStatus.FINISHED && hs != HandshakeStatus.NOT_HANDSHAKING) {
            switch (hs) {
                case NEED_WRAP -> hs = wrap(EMPTY).getHandshakeStatus();
                case NEED_UNWRAP, NEED_UNWRAP_AGAIN -> {
                    SSLEngineResult r = unwrap();
                    if (r == null) {
                        throw new SSLException("server closed the connection during the handshake");
                    }
                    hs = r.getHandshakeStatus();
                }
                case NEED_TASK -> {
                    Runnable t;
                    while ((t = engine.getDelegatedTask()) != null) {
                        t.run();
                    }
                    hs = engine.getHandshakeStatus();
                }
                default -> throw new IllegalStateException("handshake status " + hs);
            }
        }
    }

    /** Wraps (part of) src into one record batch and writes it. */
    private SSLEngineResult wrap(ByteBuffer src) throws IOException {
        while (true) {
            netOut.clear();
            SSLEngineResult r = engine.wrap(src, netOut);
            switch (r.getStatus()) {
                case OK, CLOSED -> {
                    netOut.flip();
                    out.write(netOut.array(), netOut.arrayOffset() + netOut.position(), netOut.remaining());
                    return r;
                }
                case BUFFER_OVERFLOW -> netOut = ByteBuffer.allocate(netOut.capacity() * 2);
                default -> throw new SSLException("wrap: " + r);
            }
        }
    }

    /**
     * Unwraps one record into appIn (after which appIn is in write mode with the plaintext before
     * its position); reads from the socket as needed. Returns null at end of stream.
     */
    private SSLEngineResult unwrap() throws IOException {
        while (true) {
            if (netIn.hasRemaining()) {
                SSLEngineResult r = engine.unwrap(netIn, appIn);
                switch (r.getStatus()) {
                    case OK -> {
                        return r;
                    }
                    case CLOSED -> {
                        inboundClosed = true;
                        return r;
                    }
                    case BUFFER_OVERFLOW -> {
                        ByteBuffer bigger = ByteBuffer.allocate(appIn.capacity() * 2);
                        appIn.flip();
                        bigger.put(appIn);
                        appIn = bigger;
                        continue;
                    }
                    case BUFFER_UNDERFLOW -> {
                        // fall through to read more ciphertext
                    }
                    default -> throw new SSLException("unwrap: " + r);
                }
            }
            if (netIn.limit() == netIn.capacity() && netIn.position() == 0) {
                netIn = ByteBuffer.allocate(netIn.capacity() * 2).put(netIn).flip();
            }
            netIn.compact();
            int n = in.read(netIn.array(), netIn.arrayOffset() + netIn.position(), netIn.remaining());
            if (n < 0) {
                netIn.flip();
                return null;
            }
            netIn.position(netIn.position() + n);
            netIn.flip();
        }
    }

    /** Encrypts and sends all of src. */
    void write(ByteBuffer src) throws IOException {
        while (src.hasRemaining()) {
            SSLEngineResult r = wrap(src);
            if (r.getStatus() == SSLEngineResult.Status.CLOSED) {
                throw new SSLException("connection closed while writing");
            }
        }
    }

    /** Reads and discards plaintext; returns how many bytes, or -1 at close_notify or end of stream. */
    long readDiscard() throws IOException {
        if (inboundClosed) {
            return -1;
        }
        appIn.clear();
        SSLEngineResult r = unwrap();
        if (r == null || r.getStatus() == SSLEngineResult.Status.CLOSED) {
            inboundClosed = true;
            return appIn.position() > 0 ? appIn.position() : -1;
        }
        runTasks(r);
        return appIn.position();
    }

    private void runTasks(SSLEngineResult r) {
        if (r.getHandshakeStatus() == HandshakeStatus.NEED_TASK) {
            Runnable t;
            while ((t = engine.getDelegatedTask()) != null) {
                t.run();
            }
        }
    }

    /**
     * Sends close_notify and waits (bounded by SO_TIMEOUT) for the server to close too, so the
     * server has processed the whole handshake before the next one counts. Reading to the end also
     * drains a TLS 1.3 NewSessionTicket, which would otherwise make the close a TCP reset.
     */
    void closeGracefully() throws IOException {
        try {
            engine.closeOutbound();
            while (!engine.isOutboundDone()) {
                wrap(EMPTY);
            }
            socket.shutdownOutput();
            long bounded = 0;
            while (readDiscard() >= 0 && bounded++ < 100_000) {
                // discard whatever the server still sends
            }
        } finally {
            socket.close();
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
