package io.hsmtls.proxy;

import io.hsmtls.tls.HandshakeFailedException;
import io.hsmtls.tls.HandshakeInfo;
import io.hsmtls.tls.ServerHandshaker;
import io.hsmtls.tls.TlsConnection;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * A TLS-terminating TCP proxy for one listener: accepts on a socket and runs the connections on
 * a few event loops ({@link EventLoops}, the default) or each on its own virtual thread
 * (handshake, connect to the backend, {@link Pump}, with blocking I/O on both sides). Limits: connections at once, in all and per client address (excess connections are
 * closed at accept), the handshake
 * timeout (in the handshaker's settings), the idle timeout. {@link #shutdown(Duration)} stops
 * accepting and lets open connections drain up to a deadline. Each connection ends with one
 * {@link ConnectionRecord}, given to the listener (by default logged on {@code io.hsmtls.connection}).
 */
public final class ProxyServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("io.hsmtls.connection");
    /** How long shutdown waits for the cut TLS connections' close_notify before closing their sockets. */
    private static final Duration CLOSE_WAIT = Duration.ofSeconds(5);

    private final InetSocketAddress listen;
    private final InetSocketAddress backend;
    private final java.util.concurrent.atomic.AtomicReference<ServerHandshaker> handshaker;
    private final ProxyLimits limits;
    private final Consumer<ConnectionRecord> listener;
    private final Semaphore slots;
    private final AtomicLong ids = new AtomicLong();
    private final Set<Thread> connections = ConcurrentHashMap.newKeySet();
    private final Set<AutoCloseable> openSockets = ConcurrentHashMap.newKeySet();
    /** Open connections by client address; an entry goes when its count is back to zero. */
    private final ConcurrentHashMap<java.net.InetAddress, Integer> perSource = new ConcurrentHashMap<>();
    private volatile ServerSocket server;
    private volatile boolean stopping;
    private volatile boolean proxyProtocol;
    private volatile HandshakeListener handshakes;
    private Thread acceptor;
    /**
     * Event-loop threads for the front end; 0: a virtual thread per connection. The default is
     * event loops; {@code -Dhsmtls.io=threads} makes threads the process's default (serve's
     * {@code --io} default too), for comparisons and as a way back without a release.
     */
    private volatile int eventLoops = "threads".equals(System.getProperty("hsmtls.io")) ? 0 : defaultEventLoops();
    /** Set by {@link #withEventLoops}: a handshaker that cannot run on a loop is then an error, not a quiet fall-back to threads. */
    private volatile boolean eventLoopsChosen;
    private EventLoops loops;

    /** Told about each handshake as it ends (metrics), before the connection carries data. */
    public interface HandshakeListener {
        void completed(HandshakeInfo info);

        void failed(HandshakeFailedException e);
    }

    public ProxyServer(InetSocketAddress listen, InetSocketAddress backend, ServerHandshaker handshaker,
                       ProxyLimits limits, Consumer<ConnectionRecord> listener) {
        this.listen = Objects.requireNonNull(listen, "listen");
        this.backend = Objects.requireNonNull(backend, "backend");
        this.handshaker = new java.util.concurrent.atomic.AtomicReference<>(Objects.requireNonNull(handshaker, "handshaker"));
        this.limits = Objects.requireNonNull(limits, "limits");
        this.listener = listener == null ? ProxyServer::log : listener;
        this.slots = new Semaphore(limits.maxConnections());
    }

    /**
     * Sends a PROXY protocol v2 header ({@link ProxyProtocolV2}) to the backend before any data,
     * with the client's address and verified certificate. Set before {@link #start()}.
     */
    public ProxyServer withProxyProtocol(boolean on) {
        this.proxyProtocol = on;
        return this;
    }

    /**
     * One event loop per two CPUs, at least one: on two CPUs one loop took fewer thread switches
     * per handshake than two (3.6 vs 5.5) for as many or more handshakes per CPU-second (2,376 /
     * 1,931 against 1,719 / 1,840 in interleaved runs on 2026-11-29). A loop signs on its own
     * thread while it has CPU to spare; a saturated one hands its signing flights to other
     * threads, so the token's work uses the other CPUs (EventLoops.LoopLoad).
     */
    public static int defaultEventLoops() {
        return Math.max(1, Runtime.getRuntime().availableProcessors() / 2);
    }

    /**
     * Runs the connections on {@code threads} event loops ({@link EventLoops}) instead of a
     * virtual thread each; 0 keeps threads. Set before {@link #start()}.
     */
    public ProxyServer withEventLoops(int threads) {
        if (threads < 0) {
            throw new IllegalArgumentException("event loops < 0: " + threads);
        }
        this.eventLoops = threads;
        this.eventLoopsChosen = true;
        return this;
    }

    /** Reports each handshake as it ends, not only when its connection closes. Set before {@link #start()}. */
    public ProxyServer onHandshake(HandshakeListener listener) {
        this.handshakes = listener;
        return this;
    }

    /**
     * Replaces the TLS side for connections accepted from now on (reload: new certificate, key or
     * policy); open connections keep theirs. Returns the previous one.
     */
    public ServerHandshaker swapHandshaker(ServerHandshaker next) {
        return handshaker.getAndSet(Objects.requireNonNull(next, "handshaker"));
    }

    /** Binds and starts accepting; returns the bound address (port 0 becomes the real port). */
    public synchronized InetSocketAddress start() throws IOException {
        if (server != null) {
            throw new IllegalStateException("proxy on " + listen + " already started");
        }
        java.nio.channels.ServerSocketChannel channel = eventLoops > 0 && runsOnLoops()
                ? java.nio.channels.ServerSocketChannel.open() : null;
        ServerSocket ss = channel != null ? channel.socket() : new ServerSocket();
        ss.setReuseAddress(true);
        try {
            ss.bind(listen, 1024);
        } catch (IOException e) {
            ss.close();
            throw new IOException("cannot listen on " + listen + ": " + e.getMessage()
                    + " (port in use, or no permission for a port below 1024?)", e);
        }
        server = ss;
        if (channel != null) {
            loops = new EventLoops(this, channel, eventLoops);
            loops.start(ss.getLocalPort());
            return localAddress();
        }
        acceptor = Thread.ofPlatform().name("hsmtls-accept-" + ss.getLocalPort()).daemon(false).start(this::acceptLoop);
        return localAddress();
    }

    /**
     * Whether the TLS side can be driven by a loop ({@link ServerHandshaker#engine}). A handshaker
     * of the caller's that cannot runs on threads, unless loops were asked for by name.
     */
    private boolean runsOnLoops() {
        try {
            handshaker.get().engine(0, listen);
            return true;
        } catch (UnsupportedOperationException e) {
            if (eventLoopsChosen) {
                throw new IllegalStateException("withEventLoops(" + eventLoops + ") needs a handshaker that runs on an "
                        + "event loop (" + e.getMessage() + "); use withEventLoops(0) for a thread per connection", e);
            }
            return false;
        }
    }

    public InetSocketAddress localAddress() {
        return (InetSocketAddress) server.getLocalSocketAddress();
    }

    public int openConnections() {
        EventLoops l = loops;
        return l != null ? l.openConnections() : connections.size();
    }

    private void acceptLoop() {
        while (!stopping) {
            Socket s;
            try {
                s = server.accept();
            } catch (IOException e) {
                if (stopping) {
                    return;
                }
                LOG.log(System.Logger.Level.WARNING, "accept on " + listen + " failed: " + e.getMessage());
                continue;
            }
            long id = ids.incrementAndGet();
            InetSocketAddress peer = (InetSocketAddress) s.getRemoteSocketAddress();
            java.net.InetAddress source = peer.getAddress();
            String refused = admit(source);
            if (refused != null) {
                reject(id, s, peer, refused);
                continue;
            }
            Thread t = Thread.ofVirtual().name("conn-" + id).unstarted(() -> {
                Runnable carry = null;
                try {
                    carry = handle(id, s);
                } finally {
                    if (carry == null || !handOff(id, carry, source)) {
                        ended(source);
                    }
                }
            });
            connections.add(t);
            t.start();
        }
    }

    /**
     * Carries an established connection on a fresh virtual thread and lets the handshake's thread
     * end. A virtual thread keeps the stack chunk its deepest park needed for as long as it lives,
     * and the handshake parks deep (inside Bouncy Castle, waiting for the peer's flight or the
     * token); the connection then idles for minutes on a much shallower stack. A fresh thread's
     * chunk fits the shallow stack: about half the idle connection's heap was stack chunks before.
     * False if the thread could not be started: then the connection was carried here, and the
     * caller releases its slot.
     */
    private boolean handOff(long id, Runnable carry, java.net.InetAddress source) {
        Thread d = Thread.ofVirtual().name("conn-" + id).unstarted(() -> {
            try {
                carry.run();
            } finally {
                ended(source);
            }
        });
        // Added before the handshake thread leaves the set, so shutdown always sees the connection.
        connections.add(d);
        connections.remove(Thread.currentThread());
        try {
            d.start();
            return true;
        } catch (RuntimeException | Error e) {
            connections.add(Thread.currentThread());
            connections.remove(d);
            LOG.log(System.Logger.Level.WARNING, "conn=" + id + ": cannot start a thread for it ("
                    + e + "); it stays on its handshake's thread");
            carry.run();
            return false;
        }
    }

    private void ended(java.net.InetAddress source) {
        connections.remove(Thread.currentThread());
        release(source);
    }

    /** Takes a connection slot for a client at {@code source}; null when admitted, else why not. */
    String admit(java.net.InetAddress source) {
        if (!slots.tryAcquire()) {
            return limits.maxConnections() + " connections open (max connections)";
        }
        if (!admitSource(source)) {
            slots.release();
            return limits.maxConnectionsPerSource() + " connections open from " + source.getHostAddress()
                    + " (max connections per source)";
        }
        return null;
    }

    /** Gives back what {@link #admit} took. */
    void release(java.net.InetAddress source) {
        leave(source);
        slots.release();
    }

    long nextId() {
        return ids.incrementAndGet();
    }

    ServerHandshaker handshaker() {
        return handshaker.get();
    }

    InetSocketAddress backend() {
        return backend;
    }

    ProxyLimits limits() {
        return limits;
    }

    boolean proxyProtocol() {
        return proxyProtocol;
    }

    void notifyCompleted(HandshakeInfo info) {
        notifyHandshake(l -> l.completed(info));
    }

    void notifyFailed(HandshakeFailedException e) {
        notifyHandshake(l -> l.failed(e));
    }

    static void warn(String message) {
        LOG.log(System.Logger.Level.WARNING, message);
    }

    /** A failed handshake as the connection log says it. */
    static String handshakeOutcome(HandshakeFailedException e) {
        return "handshake failed: " + e.alert() + (e.alertSent() ? " sent" : e.alert().equals("none") ? "" : " received")
                + " (" + e.getMessage() + ")";
    }

    void reject(long id, AutoCloseable s, InetSocketAddress peer, String why) {
        closeQuietly(s);
        emit(new ConnectionRecord(id, peer, Optional.empty(), Optional.empty(), "rejected: " + why, 0, 0,
                Duration.ZERO, Duration.ZERO));
    }

    /** Counts a connection from {@code source} unless that address is at its limit. */
    private boolean admitSource(java.net.InetAddress source) {
        boolean[] ok = {false};
        perSource.compute(source, (k, n) -> {
            int open = n == null ? 0 : n;
            if (open >= limits.maxConnectionsPerSource()) {
                return n;
            }
            ok[0] = true;
            return open + 1;
        });
        return ok[0];
    }

    private void leave(java.net.InetAddress source) {
        perSource.computeIfPresent(source, (k, n) -> n <= 1 ? null : n - 1);
    }

    /** Sockets and TLS connections held for closing at shutdown (for tests: back to zero when all have ended). */
    public int resourcesTracked() {
        EventLoops l = loops;
        return openSockets.size() + (l != null ? l.openConnections() : 0);
    }

    /** Client addresses with a connection open (for tests and metrics: the per-source table must not grow). */
    public int sourcesTracked() {
        return perSource.size();
    }

    /**
     * The handshake and the backend connection; returns what carries the connection from there
     * (the pump, then its record), or null when the connection already ended. The client socket
     * is closed here when null is returned, and by the returned carrier otherwise.
     */
    private Runnable handle(long id, Socket client) {
        long start = System.nanoTime();
        InetSocketAddress peer = (InetSocketAddress) client.getRemoteSocketAddress();
        openSockets.add(client);
        Runnable carry = null;
        try {
            try {
                client.setTcpNoDelay(true);
            } catch (SocketException ignored) {
                // not fatal: latency only
            }
            TlsConnection tls;
            try {
                tls = handshaker.get().handshake(client, id);
            } catch (HandshakeFailedException e) {
                notifyFailed(e);
                emit(new ConnectionRecord(id, peer, Optional.empty(), e.sni(), handshakeOutcome(e), 0, 0,
                        since(start), Duration.ZERO));
                return null;
            }
            HandshakeInfo info = tls.info();
            notifyCompleted(info);
            openSockets.add(tls);
            Socket back = new Socket();
            openSockets.add(back);
            try {
                back.connect(backend, (int) limits.connectTimeout().toMillis());
                back.setTcpNoDelay(true);
                if (proxyProtocol) {
                    back.getOutputStream().write(ProxyProtocolV2.header(peer,
                            (InetSocketAddress) client.getLocalSocketAddress(), info));
                    back.getOutputStream().flush();
                }
            } catch (IOException e) {
                tls.close();
                closeQuietly(back);
                openSockets.remove(tls);
                openSockets.remove(back);
                emit(new ConnectionRecord(id, peer, Optional.of(info), info.sni(),
                        "error: backend " + backend + " unreachable: " + e.getMessage(), 0, 0, since(start),
                        info.tokenTime()));
                return null;
            }
            carry = () -> {
                try {
                    pump(id, peer, start, tls, info, back);
                } finally {
                    closeQuietly(client);
                    // All three go: the set is for closing what is open at shutdown, and an entry
                    // left here keeps the connection's whole TLS state reachable for good.
                    openSockets.remove(client);
                    openSockets.remove(tls);
                    openSockets.remove(back);
                }
            };
            return carry;
        } finally {
            if (carry == null) {
                closeQuietly(client);
                openSockets.remove(client);
            }
        }
    }

    private void pump(long id, InetSocketAddress peer, long start, TlsConnection tls, HandshakeInfo info, Socket back) {
        Endpoint front = Endpoint.of(tls.in(), tls.out(), tls::close, tls::close);
        Pump.Result r;
        try {
            r = Pump.run(front, Endpoint.of(back), limits.idleTimeout());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            tls.close();
            closeQuietly(back);
            r = new Pump.Result(0, 0, false, Optional.empty());
        }
        String outcome = r.idle() ? "idle timeout " + limits.idleTimeout()
                : stopping && r.failure().isPresent() ? "closed at shutdown"
                : r.failure().map(f -> "error: " + f.getMessage()).orElse("closed");
        emit(new ConnectionRecord(id, peer, Optional.of(info), info.sni(), outcome, r.aToB(), r.bToA(),
                since(start), info.tokenTime()));
    }

    /** The default connection log: one INFO line on {@code io.hsmtls.connection}. */
    public static void log(ConnectionRecord r) {
        LOG.log(System.Logger.Level.INFO, r.line());
    }

    private void notifyHandshake(Consumer<HandshakeListener> call) {
        HandshakeListener l = handshakes;
        if (l != null) {
            try {
                call.accept(l);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "handshake listener failed: " + e);
            }
        }
    }

    void emit(ConnectionRecord r) {
        try {
            listener.accept(r);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "connection listener failed: " + e);
        }
    }

    /**
     * Stops accepting, waits up to {@code drain} for open connections to finish, then closes the
     * rest. Returns the number of connections that had to be cut.
     */
    public int shutdown(Duration drain) {
        stopping = true;
        ServerSocket ss = server;
        if (ss != null) {
            closeQuietly(ss);
        }
        if (loops != null) {
            return loops.shutdown(drain);
        }
        if (acceptor != null) {
            try {
                acceptor.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        long deadline = System.nanoTime() + drain.toNanos();
        // Rounds, not one pass: a connection whose handshake ends during the drain moves to a new
        // thread (handOff) that the first copy of the set did not hold.
        drain:
        while (!connections.isEmpty()) {
            for (Thread t : Set.copyOf(connections)) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break drain;
                }
                try {
                    t.join(Duration.ofNanos(left));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break drain;
                }
            }
        }
        int cut = connections.size();
        // TLS connections first, so their peers get close_notify, each on a thread of its own: a
        // close waits (up to a grace) on a peer that stopped reading, and one after another that
        // would add up over thousands of connections. Then the plain sockets.
        List<Thread> closing = new ArrayList<>();
        for (AutoCloseable c : Set.copyOf(openSockets)) {
            if (!(c instanceof Socket)) {
                closing.add(Thread.ofVirtual().name("shutdown-close").start(() -> closeQuietly(c)));
            }
        }
        long closeBy = System.nanoTime() + CLOSE_WAIT.toNanos();
        for (Thread t : closing) {
            try {
                if (!t.join(Duration.ofNanos(Math.max(1, closeBy - System.nanoTime())))) {
                    break;
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        for (AutoCloseable c : Set.copyOf(openSockets)) {
            closeQuietly(c);
        }
        for (Thread t : Set.copyOf(connections)) {
            try {
                t.join(2_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return cut;
    }

    @Override
    public void close() {
        shutdown(Duration.ZERO);
    }

    private static Duration since(long start) {
        return Duration.ofNanos(System.nanoTime() - start);
    }

    static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception ignored) {
            // closing for shutdown or after an error
        }
    }
}
