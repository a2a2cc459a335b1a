package io.hsmtls.tls.bc;

import io.hsmtls.tls.CipherSuite;
import io.hsmtls.tls.CpuGate;
import io.hsmtls.tls.Deadlines;
import io.hsmtls.tls.HandshakeFailedException;
import io.hsmtls.tls.HandshakeInfo;
import io.hsmtls.tls.KeyUseListener;
import io.hsmtls.tls.ServerHandshaker;
import io.hsmtls.tls.ServerSettings;
import io.hsmtls.tls.SessionCache;
import io.hsmtls.tls.TlsConnection;
import io.hsmtls.tls.TlsVersion;
import io.hsmtls.tls.TokenTimer;
import io.hsmtls.token.CallTime;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import org.bouncycastle.tls.ProtocolVersion;
import org.bouncycastle.tls.SecurityParameters;
import org.bouncycastle.tls.TlsServerProtocol;
import org.bouncycastle.tls.TlsSession;
import org.bouncycastle.tls.crypto.impl.jcajce.JcaTlsCrypto;

/**
 * Server handshakes with Bouncy Castle's {@code TlsServerProtocol} in blocking mode. Record
 * crypto, key exchange and the key schedule run in the JVM through {@link JcaTlsCrypto} on the
 * JDK's providers (never the BC provider: measured 15–35× slower for records); only the
 * signature or the RSA premaster decryption goes to the token. One instance serves all
 * connections of a listener; the session cache is shared.
 */
public final class BcServerHandshaker implements ServerHandshaker {
    private final ServerSettings settings;
    private final JcaTlsCrypto crypto;
    private final SessionCache<TlsSession> cache;
    private final KeyUseListener keyUses;
    private final PreparedServer prepared;
    /** Shared by every listener of the process: the CPUs are (null: no gate). */
    private final CpuGate gate = CpuGate.shared();

    /**
     * With {@link FastTlsCrypto}: Bouncy Castle's curve code for the key exchange, the JDK for the
     * rest. The JVM property {@code -Dhsmtls.crypto=jdk} selects the stock {@code JcaTlsCrypto}
     * instead (JDK key exchange too): for before/after measurements, and a way out should a curve
     * implementation ever need to be swapped without a release.
     */
    public BcServerHandshaker(ServerSettings settings) {
        this(settings, (KeyUseListener) null);
    }

    /** With the default crypto and a listener told about every private-key operation (null for none). */
    public BcServerHandshaker(ServerSettings settings, KeyUseListener keyUses) {
        this(settings, defaultCrypto(), keyUses);
    }

    static JcaTlsCrypto defaultCrypto() {
        String choice = System.getProperty("hsmtls.crypto", "fast");
        return switch (choice) {
            case "fast" -> FastTlsCrypto.create();
            case "jdk" -> new JdkTlsCrypto(new java.security.SecureRandom());
            default -> throw new IllegalArgumentException("-Dhsmtls.crypto=" + choice
                    + ": unknown; use 'fast' (the default) or 'jdk'");
        };
    }

    /**
     * With a given crypto: the seam for the performance levers (a {@code JcaTlsCrypto} subclass
     * with Bouncy Castle's X25519/P-256 key exchange via {@code createECDomain}, shared nonce
     * generators, prepared JCA instances). Records must stay on the JDK providers.
     */
    public BcServerHandshaker(ServerSettings settings, JcaTlsCrypto crypto) {
        this(settings, crypto, null);
    }

    /**
     * With a listener told about every private-key operation (the audit log, metrics); null for
     * none.
     */
    public BcServerHandshaker(ServerSettings settings, JcaTlsCrypto crypto, KeyUseListener keyUses) {
        this.settings = settings;
        this.crypto = crypto;
        this.keyUses = keyUses;
        this.prepared = new PreparedServer(crypto, settings);
        this.cache = settings.sessionCacheSize() > 0 && settings.profile().allows(TlsVersion.TLS_1_2)
                ? new SessionCache<>(settings.sessionCacheSize(), settings.sessionLifetime()) : null;
    }

    @Override
    public ServerSettings settings() {
        return settings;
    }

    /** The TLS 1.2 session cache, or null when resumption is off. */
    public SessionCache<TlsSession> sessionCache() {
        return cache;
    }

    @Override
    public TlsConnection handshake(Socket socket) throws HandshakeFailedException {
        return handshake(socket, 0);
    }

    /**
     * A Bouncy Castle {@code TlsServer} for one handshake on a transport the caller drives (the
     * in-memory benchmarks; BC's non-blocking {@code TlsServerProtocol}), with this listener's
     * policy, prepared credentials, session cache and key-use listener, as {@link #handshake}
     * uses. One per handshake.
     */
    public org.bouncycastle.tls.TlsServer newTlsServer() {
        return newServer(TokenTimer.server(keyUses, 0, null));
    }

    private HsmTlsServer newServer(TokenTimer timer) {
        return new HsmTlsServer(crypto, settings, cache, timer, prepared);
    }

    @Override
    public TlsConnection handshake(Socket socket, long connectionId) throws HandshakeFailedException {
        long start = System.nanoTime();
        CpuGate.Pass pass = gate == null ? CpuGate.Pass.none() : gate.pass();
        HsmTlsServer server = newServer(TokenTimer.server(keyUses, connectionId,
                socket.getRemoteSocketAddress() instanceof java.net.InetSocketAddress a ? a : null).gate(pass));
        AtomicBoolean timedOut = new AtomicBoolean();
        Deadlines.Entry deadline = Deadlines.shared().after(settings.handshakeTimeout(), () -> {
            timedOut.set(true);
            closeQuietly(socket);
        });
        TlsServerProtocol protocol;
        HandshakeStreams streams = null;
        try {
            streams = new HandshakeStreams(socket, pass);
            pass.enter();
            protocol = new TlsServerProtocol(streams.in, streams.out);
            protocol.accept(server);
            streams.handshakeDone();
        } catch (IOException | RuntimeException e) {
            pass.leave(); // before the lingering close, which waits on the peer
            boolean late = timedOut.get();
            // The deadline stays armed through the alert and the lingering close: both wait on
            // the peer (the alert on a send buffer a non-reading peer has filled), and the
            // handshake timeout is what bounds a connection's time before it carries data.
            if (streams != null) {
                streams.sendPendingQuietly();
            }
            if (late) {
                closeQuietly(socket);
            } else {
                lingeringClose(socket);
            }
            deadline.cancel();
            throw failure(server, start, e, late, settings.handshakeTimeout());
        } finally {
            // Every way out, an Error too: a place kept by a dead handshake would be lost for good.
            pass.leave();
        }
        deadline.cancel();
        return new BcConnection(socket, protocol, streams, info(server, start));
    }

    /** What the connection log and metrics get of a completed handshake. */
    private static HandshakeInfo info(HsmTlsServer server, long start) {
        SecurityParameters sp = server.connectionParameters();
        ProtocolVersion pv = sp.getNegotiatedVersion();
        TlsVersion version = ProtocolVersion.TLSv13.equals(pv) ? TlsVersion.TLS_1_3 : TlsVersion.TLS_1_2;
        return new HandshakeInfo(version, CipherSuite.nameOf(sp.getCipherSuite()), server.sni,
                sp.isResumedSession(), server.client, server.timer.elapsed(), server.timer.operations(),
                Duration.ofNanos(System.nanoTime() - start));
    }

    /** A failed handshake for the log: the alert and the most specific reason, or the timeout. */
    private static HandshakeFailedException failure(HsmTlsServer server, long start, Throwable e, boolean late,
                                                    Duration timeout) {
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        String alert = late ? "none" : server.alert;
        String reason = late
                ? "handshake not finished within " + timeout
                : server.alertMessage != null ? server.alertMessage
                : e == null ? "connection closed during the handshake"
                : e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
        return new HandshakeFailedException(alert, !late && server.alertSent, server.sni, took, reason, e);
    }

    /**
     * A connection driven by an event loop: Bouncy Castle's protocol in non-blocking mode, the same
     * server policy, credentials, session cache and key-use reports as {@link #handshake}. No CPU
     * gate: an event loop is bounded by its own thread count.
     */
    @Override
    public io.hsmtls.tls.TlsEngine engine(long connectionId, java.net.InetSocketAddress peer) {
        HsmTlsServer server = newServer(TokenTimer.server(keyUses, connectionId, peer));
        TrimmableServerProtocol protocol = new TrimmableServerProtocol();
        try {
            protocol.accept(server);
        } catch (IOException e) {
            // accept() only prepares the state machine; nothing has been read or sent yet
            throw new IllegalStateException("Bouncy Castle refused to start a server handshake: " + e.getMessage(), e);
        }
        return new BcEngine(protocol, server, System.nanoTime());
    }

    private static final class BcEngine implements io.hsmtls.tls.TlsEngine {
        private final TrimmableServerProtocol protocol;
        private final HsmTlsServer server;
        private final long start;
        private HandshakeInfo info;

        BcEngine(TrimmableServerProtocol protocol, HsmTlsServer server, long start) {
            this.protocol = protocol;
            this.server = server;
            this.start = start;
        }

        @Override
        public void offer(byte[] b, int off, int len) throws IOException {
            protocol.offerInput(b, off, len);
            if (info == null && server.completed) {
                info = BcServerHandshaker.info(server, start);
            }
        }

        @Override
        public boolean handshaking() {
            return info == null;
        }

        @Override
        public boolean mayWaitOnToken() {
            return info == null && server.timer.operations() == 0 && !server.resumedId();
        }

        @Override
        public CallTime tokenCalls() {
            return server.timer.calls();
        }

        @Override
        public HandshakeInfo info() {
            if (info == null) {
                throw new IllegalStateException("the handshake has not completed");
            }
            return info;
        }

        @Override
        public HandshakeFailedException failure(Throwable cause, boolean timedOut, Duration timeout) {
            return BcServerHandshaker.failure(server, start, cause, timedOut, timeout);
        }

        @Override
        public int plaintextAvailable() {
            return protocol.getAvailableInputBytes();
        }

        @Override
        public int readPlaintext(java.nio.ByteBuffer into, int max) {
            return protocol.readInput(into, max);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            protocol.writeApplicationData(b, off, len);
        }

        @Override
        public int outputAvailable() {
            return protocol.getAvailableOutputBytes();
        }

        @Override
        public int readOutput(java.nio.ByteBuffer into, int max) {
            return protocol.readOutput(into, max);
        }

        @Override
        public void trim() {
            protocol.trim();
        }

        @Override
        public void close() {
            try {
                protocol.close();
            } catch (IOException ignored) {
                // non-blocking mode: close_notify only goes into the output queue
            }
        }

        @Override
        public boolean closed() {
            return protocol.isClosed();
        }
    }

    private static final class BcConnection implements TlsConnection {
        private final Socket socket;
        private final TlsServerProtocol protocol;
        private final HandshakeInfo info;
        private final AtomicBoolean closed = new AtomicBoolean();
        private final InputStream in;
        private final OutputStream out;

        BcConnection(Socket socket, TlsServerProtocol protocol, HandshakeStreams streams, HandshakeInfo info) {
            this.socket = socket;
            this.protocol = protocol;
            this.info = info;
            this.in = new GatheringInput(protocol, streams);
            this.out = new BatchedOutput(protocol.getOutputStream(), streams);
        }

        @Override
        public InputStream in() {
            return in;
        }

        @Override
        public OutputStream out() {
            return out;
        }

        @Override
        public HandshakeInfo info() {
            return info;
        }

        /** Sends close_notify, waiting on the peer no longer than {@link GracefulClose#GRACE}, then closes the socket. */
        @Override
        public void close() {
            if (closed.compareAndSet(false, true)) {
                GracefulClose.close(protocol, socket);
            }
        }
    }

    /**
     * The decrypted input, handing the caller as many records as are already here in one read.
     * Bouncy Castle's stream returns one record's data per read, and a proxy writes what each
     * read returns: a peer that sends a full record and then a small one (JSSE splits each 16 KiB
     * write so) cost two writes to the backend per 16 KiB, plus a third when the reader's buffer
     * shrank after the small one. Only data already decrypted or a whole record sitting in the
     * read buffer is taken ({@link HandshakeStreams#dataRecordBuffered()}): a read never waits on
     * the socket while it holds bytes for the caller.
     */
    static final class GatheringInput extends InputStream {
        private final TlsServerProtocol protocol;
        private final InputStream tls;
        private final HandshakeStreams streams;
        /** An error met while gathering after some bytes were already read: thrown by the next read. */
        private IOException deferred;

        GatheringInput(TlsServerProtocol protocol, HandshakeStreams streams) {
            this.protocol = protocol;
            this.tls = protocol.getInputStream();
            this.streams = streams;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (deferred != null) {
                IOException e = deferred;
                deferred = null;
                throw e;
            }
            int n = tls.read(b, off, len);
            if (n <= 0 || streams == null) {
                return n;
            }
            while (n < len && (protocol.applicationDataAvailable() > 0 || streams.dataRecordBuffered())) {
                int m;
                try {
                    m = tls.read(b, off + n, len - n);
                } catch (IOException e) {
                    deferred = e; // deliver what we have; the connection's failure comes next
                    break;
                }
                if (m <= 0) {
                    break; // end of stream: the next read reports it again
                }
                n += m;
            }
            return n;
        }

        @Override
        public int available() {
            return protocol.applicationDataAvailable() + (streams == null ? 0 : streams.buffered());
        }

        @Override
        public void close() throws IOException {
            tls.close();
        }
    }

    /**
     * The plaintext output: a write longer than one record goes out as its records in one system
     * call ({@link HandshakeStreams#beginBatch()}) rather than one call per record.
     */
    static final class BatchedOutput extends OutputStream {
        /** TLS's largest record payload: a write up to this is one record, one system call anyway. */
        private static final int RECORD = 16 * 1024;
        private final OutputStream tls;
        private final HandshakeStreams streams;

        BatchedOutput(OutputStream tls, HandshakeStreams streams) {
            this.tls = tls;
            this.streams = streams;
        }

        @Override
        public void write(int b) throws IOException {
            tls.write(b);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            if (len <= RECORD || streams == null) {
                tls.write(b, off, len);
                return;
            }
            streams.beginBatch();
            try {
                tls.write(b, off, len);
            } catch (IOException | RuntimeException e) {
                try {
                    streams.endBatch(); // whatever was encrypted goes out, an alert included
                } catch (IOException suppressed) {
                    e.addSuppressed(suppressed);
                }
                throw e;
            }
            streams.endBatch();
        }

        @Override
        public void flush() throws IOException {
            tls.flush();
        }

        @Override
        public void close() throws IOException {
            tls.close();
        }
    }

    /**
     * Closes after an alert without resetting the connection: closing a socket with unread input
     * sends a TCP RST, and a client that already sent application data (TLS 1.3 clients do before
     * the server has checked their certificate) would then lose our alert to "connection reset".
     * So: half-close, read what is left for a short while, then close.
     */
    private static void lingeringClose(Socket s) {
        try {
            if (!s.isOutputShutdown()) {
                s.shutdownOutput();
            }
            s.setSoTimeout(500);
            InputStream in = s.getInputStream();
            byte[] buf = new byte[4096];
            long deadline = System.nanoTime() + 500_000_000L;
            int total = 0;
            while (total < 65536 && System.nanoTime() < deadline) {
                int n = in.read(buf);
                if (n < 0) {
                    break;
                }
                total += n;
            }
        } catch (IOException ignored) {
            // timeout, reset or already closed: close below either way
        } finally {
            closeQuietly(s);
        }
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // nothing to report: closing a socket we are abandoning
        }
    }
}
