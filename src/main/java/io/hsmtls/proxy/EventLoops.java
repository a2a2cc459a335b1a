package io.hsmtls.proxy;

import io.hsmtls.tls.HandshakeFailedException;
import io.hsmtls.tls.HandshakeInfo;
import io.hsmtls.tls.TlsEngine;
import io.hsmtls.token.CallTime;
import io.hsmtls.token.TokenWait;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.CancelledKeyException;
import java.nio.channels.FileChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;

/**
 * The proxy's front end on a few event loops ({@code serve --io loop}): each loop thread
 * accepts, runs handshakes with the TLS side in non-blocking mode ({@link TlsEngine}) and relays
 * established connections, all with non-blocking sockets. A thread per connection costs about a
 * dozen thread switches per short connection (parks and wake-ups on both sockets, the hand-offs
 * between threads); a loop that finds several sockets ready per wake-up costs about three.
 *
 * <p>What a loop must not do is wait long on the token. A handshake flight that may need the
 * private-key operation ({@link TlsEngine#mayWaitOnToken()}) runs on the loop, token call
 * included, only while the token answers fast ({@link TokenSpeed}) and the loop has CPU to spare
 * ({@link LoopLoad}); otherwise it is offered on a virtual thread and the connection comes back
 * to its loop when that returns. Should a call made on the loop hang, a watchdog gives the loop
 * a new thread after {@link #INLINE_TOKEN_WAIT}. A slow or remote token so holds up its own
 * handshakes, and the loop's other connections at most once, for that long.
 *
 * <p>Connections behave as on threads: the same limits, timeouts, half-close passed on to the
 * backend, PROXY protocol header, connection records and drain at shutdown. Writes never block,
 * so a peer that stops reading holds nothing up: its pending output stops the other side's reads
 * (back-pressure) until it drains, and a close waits for it no longer than {@link #CLOSE_GRACE}.
 */
final class EventLoops {
    /** How long a connection whose peer stopped reading may take to take its last bytes (close_notify). */
    static final Duration CLOSE_GRACE = Duration.ofSeconds(2);
    /** A failed handshake's alert gets this long to reach the client before the socket closes (see lingering close). */
    private static final long LINGER_NANOS = TimeUnit.MILLISECONDS.toNanos(500);
    /** What one read takes from a socket: four full TLS records. */
    private static final int READ = 64 * 1024;
    /** 64 KiB of plaintext encrypts to four full records plus their headers and tags. */
    private static final int OUT = READ + 4 * 256;
    /** Timeouts are checked this often. */
    private static final long SWEEP_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    /**
     * The most a loop's connections wait on a token call made on the loop: past it a new thread
     * carries the loop on, the stuck thread finishes that one handshake when the token answers,
     * and the next flights wait off the loop. SoftHSM under full load answered within 4 ms at p99
     * (137 ms at most in 35,000).
     */
    static final Duration INLINE_TOKEN_WAIT = Duration.ofMillis(200);
    /** How often the watchdog looks for a loop stuck in a token call. */
    private static final long WATCH_MILLIS = 50;
    /** {@link Loop#inline} after the watchdog took the loop from a thread stuck in a token call. */
    private static final Object REPLACED = new Object();
    /**
     * The CPU time a loop round gives to handshakes after the established connections' bytes
     * (at least one flight). Measured with 64 clients handshaking on one loop: without it,
     * echoes on established connections waited behind every ready handshake, p99 819 ms.
     */
    private static final long HANDSHAKE_SLICE_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
    /**
     * A connection that has moved no bytes for this long gives its TLS buffers back
     * ({@link TlsEngine#trim()}). Measured: after 4 MB each way, 200 idle connections held 327 KiB
     * of heap each untrimmed, 7 KiB trimmed; a burst after a second's pause pays a few array allocations.
     */
    private static final long TRIM_AFTER_NANOS = TimeUnit.SECONDS.toNanos(1);
    /** Connections accepted per wake-up before the loop turns to its other sockets. */
    private static final int ACCEPT_BATCH = 32;

    private final ProxyServer owner;
    private final TokenSpeed token = new TokenSpeed();
    private final ServerSocketChannel channel;
    private final Loop[] loops;
    private final AtomicInteger open = new AtomicInteger();
    private volatile boolean stopAccepting;
    private volatile boolean stopped;

    EventLoops(ProxyServer owner, ServerSocketChannel channel, int threads) throws IOException {
        this.owner = owner;
        this.channel = channel;
        channel.configureBlocking(false);
        this.loops = new Loop[threads];
        for (int i = 0; i < threads; i++) {
            loops[i] = new Loop(i);
        }
    }

    void start(int port) {
        for (Loop l : loops) {
            Thread t = Thread.ofPlatform().name("hsmtls-loop-" + port + "-" + l.index).daemon(false).unstarted(l);
            l.thread = t;
            t.start();
        }
        Thread.ofPlatform().name("hsmtls-loop-" + port + "-watchdog").daemon(true).start(this::watch);
    }

    /**
     * Replaces a loop thread that has been inside one token call for longer than
     * {@link #INLINE_TOKEN_WAIT}: a native call cannot be interrupted, so the loop's other
     * connections move on with a new thread, and the stuck one hands its handshake back when the
     * token answers ({@link Conn#offerHandshake}).
     */
    private void watch() {
        while (!stopped) {
            try {
                Thread.sleep(WATCH_MILLIS);
            } catch (InterruptedException e) {
                return;
            }
            long now = System.nanoTime();
            for (Loop l : loops) {
                Object t = l.inline.get();
                if (t instanceof Thread && now - l.inlineSince > INLINE_TOKEN_WAIT.toNanos()
                        && l.inline.compareAndSet(t, REPLACED)) {
                    l.replace(now);
                }
            }
        }
    }

    int openConnections() {
        return open.get();
    }

    /**
     * Stops accepting, waits up to {@code drain} for open connections to end, then cuts the rest
     * (close_notify if it can be written at once) and stops the loops. Returns how many were cut.
     */
    int shutdown(Duration drain) {
        stopAccepting = true;
        for (Loop l : loops) {
            l.selector.wakeup();
        }
        long deadline = System.nanoTime() + drain.toNanos();
        while (open.get() > 0 && System.nanoTime() < deadline) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        int cut = open.get();
        CountDownLatch done = new CountDownLatch(loops.length);
        for (Loop l : loops) {
            l.submit(() -> {
                l.cutAll();
                l.stop = true;
                done.countDown();
            });
        }
        stopped = true;
        try {
            done.await(5, TimeUnit.SECONDS);
            for (Loop l : loops) {
                if (l.thread != null) {
                    l.thread.join(2_000);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return cut;
    }

    private final class Loop implements Runnable {
        final int index;
        final Selector selector;
        final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
        final Set<Conn> conns = new HashSet<>();
        /** Handshake sockets that were ready, oldest first, waiting for a round's handshake slice. */
        final ArrayDeque<SelectionKey> handshakes = new ArrayDeque<>();
        /** The loop's one read buffer: every read copies out of it before the next. */
        final byte[] buf = new byte[READ];
        final ByteBuffer bb = ByteBuffer.wrap(buf);
        /** The loop's one outgoing buffer (see Conn.sendOutput): direct, so socket writes need no copy. */
        final ByteBuffer out = ByteBuffer.allocateDirect(OUT);
        /** The thread running this loop: replaced by the watchdog when it is stuck in a token call. */
        volatile Thread thread;
        /**
         * The thread that is inside a token flight on this loop, or {@link #REPLACED} once the
         * watchdog took the loop from it, or null. The flight's thread clears it only if it still
         * holds it: after a replacement the new thread may be inline itself by the time the old
         * call returns.
         */
        final AtomicReference<Object> inline = new AtomicReference<>();
        /** When the current inline flight began, and whose it is (written before {@link #inline}). */
        volatile long inlineSince;
        volatile Conn inlineConn;
        SelectionKey acceptKey;
        long nextSweep = System.nanoTime() + SWEEP_NANOS;
        /** Whether this loop's thread is saturated while the machine has an idle CPU. */
        final LoopLoad load = new LoopLoad();
        /** Connections accepted here (loop 0), for dealing them out. */
        long dealt;
        volatile boolean stop;
        /**
         * Sockets of ended connections whose keys this thread cancelled: closed once the next select
         * has taken them out of epoll. The JDK closes a socket that is still registered in two steps,
         * an SO_LINGER read and a shutdown now, the close at the next select; a deregistered one in
         * one: 4 system calls fewer per connection (2 sockets). The FIN leaves one round later; that
         * round's select does not wait while sockets are queued here.
         */
        final ArrayList<SocketChannel> closeAfterSelect = new ArrayList<>();

        Loop(int index) throws IOException {
            this.index = index;
            this.selector = Selector.open();
            // One loop accepts and deals the connections out in turn: with every loop waiting on
            // the listening socket, the kernel would wake them all for each connection (measured:
            // ~2 thread switches more per connection with two loops).
            this.acceptKey = index == 0 ? channel.register(selector, SelectionKey.OP_ACCEPT) : null;
        }

        /**
         * A new thread takes over this loop; the old one stays in its token call. Runs on the
         * watchdog after it swapped {@link #inline} from the old thread to REPLACED, so what the
         * old thread wrote before it went inline is visible here and, through {@code start}, to
         * the new one.
         */
        void replace(long now) {
            Conn c = inlineConn;
            c.busy = true; // its engine is the stuck thread's until the flight comes back through tasks
            token.stalled();
            Thread old = thread;
            Thread t = Thread.ofPlatform().name(old.getName() + "+").daemon(false).unstarted(this);
            thread = t;
            t.start();
            ProxyServer.warn("event loop " + old.getName() + " has waited "
                    + TimeUnit.NANOSECONDS.toMillis(now - inlineSince) + " ms in a token call (conn=" + c.id
                    + "): " + t.getName() + " carries its other connections on; the next handshakes wait"
                    + " for the token off the loop");
        }

        void submit(Runnable task) {
            tasks.add(task);
            selector.wakeup();
        }

        @Override
        public void run() {
            try {
                while (!stop && thread == Thread.currentThread()) {
                    if (closeAfterSelect.isEmpty()) {
                        long wait = Math.max(1, TimeUnit.NANOSECONDS.toMillis(nextSweep - System.nanoTime()));
                        selector.select(wait);
                    } else {
                        selector.selectNow(); // deregisters the cancelled keys: their sockets close now
                        closeDeregistered();
                    }
                    Runnable t;
                    while ((t = tasks.poll()) != null) {
                        try {
                            t.run();
                        } catch (RuntimeException e) {
                            // a bug of ours in one connection's step: the loop and the others stay
                            ProxyServer.warn("event loop task failed: " + e);
                        }
                    }
                    if (stopAccepting && acceptKey != null) {
                        acceptKey.cancel();
                        acceptKey = null;
                    }
                    // Established connections first: someone waits for their bytes. Handshake flights
                    // (a few hundred µs of CPU each) then get a time slice and wait in arrival order
                    // for the next round; their sockets stay ready, so the next select returns at once.
                    Iterator<SelectionKey> it = selector.selectedKeys().iterator();
                    while (it.hasNext()) {
                        SelectionKey k = it.next();
                        it.remove();
                        if (k.attachment() instanceof Conn c && c.state == State.HANDSHAKE && !c.busy) {
                            if (!c.queued) {
                                c.queued = true;
                                handshakes.add(k);
                            }
                        } else {
                            ready(k);
                        }
                    }
                    long sliceEnd = System.nanoTime() + HANDSHAKE_SLICE_NANOS;
                    int flights = 0;
                    SelectionKey h;
                    while ((flights++ == 0 || System.nanoTime() - sliceEnd < 0) && (h = handshakes.poll()) != null) {
                        ((Conn) h.attachment()).queued = false;
                        ready(h);
                    }
                    long now = System.nanoTime();
                    if (now - nextSweep >= 0) {
                        load.sample(now);
                        sweep(now);
                        nextSweep = now + SWEEP_NANOS;
                    }
                }
            } catch (Replaced r) {
                // a new thread carries this loop on; this one's flight went back through tasks
                return;
            } catch (IOException | RuntimeException | Error e) {
                ProxyServer.warn("event loop " + thread.getName() + " failed: " + e + "; its connections are closed");
                cutAll();
                if (e instanceof Error err) {
                    throw err;
                }
            } finally {
                if (thread == Thread.currentThread()) {
                    try {
                        selector.close();
                    } catch (IOException ignored) {
                        // the loop is ending either way
                    }
                    closeDeregistered();
                }
            }
        }

        /** Closes a socket of an ended connection: after the next select when on this loop's thread. */
        void closeSoon(SocketChannel ch) {
            SelectionKey k = ch.keyFor(selector);
            if (k == null || Thread.currentThread() != thread) {
                ProxyServer.closeQuietly(ch);
                return;
            }
            k.cancel();
            closeAfterSelect.add(ch);
        }

        private void closeDeregistered() {
            for (SocketChannel ch : closeAfterSelect) {
                ProxyServer.closeQuietly(ch);
            }
            closeAfterSelect.clear();
        }

        private void ready(SelectionKey k) {
            if (k == acceptKey) {
                if (k.isValid() && !stopAccepting) {
                    accept();
                }
                return;
            }
            Conn c = (Conn) k.attachment();
            try {
                if (!k.isValid()) {
                    return;
                }
                if (k.channel() == c.front) {
                    c.frontReady(k.readyOps());
                } else {
                    c.backReady(k.readyOps());
                }
                if (!c.finished) {
                    c.interest();
                }
            } catch (CancelledKeyException e) {
                c.fail("error: " + e);
            } catch (Replaced r) {
                throw r;
            } catch (RuntimeException e) {
                // a bug of ours: this connection goes, the loop and its other connections stay
                ProxyServer.warn("conn=" + c.id + ": " + e);
                c.fail("error: " + e);
            }
        }

        private void accept() {
            for (int i = 0; i < ACCEPT_BATCH; i++) {
                SocketChannel ch;
                try {
                    ch = channel.accept();
                } catch (IOException e) {
                    if (!stopAccepting) {
                        ProxyServer.warn("accept on " + owner.localAddress() + " failed: " + e.getMessage());
                    }
                    return;
                }
                if (ch == null) {
                    return;
                }
                long id = owner.nextId();
                InetSocketAddress peer;
                try {
                    peer = (InetSocketAddress) ch.getRemoteAddress();
                } catch (IOException e) {
                    ProxyServer.closeQuietly(ch);
                    continue; // gone already
                }
                String refused = owner.admit(peer.getAddress());
                if (refused != null) {
                    owner.reject(id, ch, peer, refused);
                    continue;
                }
                open.incrementAndGet();
                Loop to = loops[(int) (dealt++ % loops.length)];
                if (to == this) {
                    adopt(id, ch, peer);
                } else {
                    to.submit(() -> to.adopt(id, ch, peer));
                }
            }
        }

        /** Takes an accepted connection into this loop. */
        private void adopt(long id, SocketChannel ch, InetSocketAddress peer) {
            Conn c = new Conn(this, id, ch, peer);
            conns.add(c);
            if (stop) {
                c.finish(c.outcome("closed at shutdown", 0, 0));
                return;
            }
            try {
                ch.configureBlocking(false);
                ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
                c.engine = owner.handshaker().engine(id, peer);
                c.fkey = ch.register(selector, SelectionKey.OP_READ, c);
            } catch (IOException | RuntimeException e) {
                c.finish(c.outcome("error: " + e, 0, 0));
            }
        }

        private void sweep(long now) {
            for (Conn c : List.copyOf(conns)) {
                c.timeouts(now);
            }
        }

        void cutAll() {
            for (Conn c : List.copyOf(conns)) {
                c.cut();
            }
        }
    }

    /**
     * Whether the token answers fast enough to be called from a loop. A loop that waits on the
     * token waits with all its connections, so a flight that may sign is offered on the loop only
     * while the token itself does not keep its callers waiting: moving averages over about the
     * last 16 handshakes of the token calls' time and of the part of it the calling thread was
     * blocked ({@link TlsEngine#tokenCalls()}). Off the loop once the blocked time averages over
     * {@link #SLOW} and over half the calls' time; back once it is under {@link #FAST} or under a
     * quarter. A local module's work is CPU time the loop's CPU would spend anyway, wherever the
     * call runs; under CPU load the run queue stretches it, and a wall time alone moved SoftHSM's
     * 0.7 ms RSA signatures off the loop, where the lane's queue kept them (a busy machine also
     * shows some blocked time, ~10 % of a stretched call's, hence the share). A network HSM, a
     * hung or a sleeping token moves such flights to virtual threads. Offered on the loop, a
     * flight costs about three thread switches fewer than through a virtual thread.
     */
    static final class TokenSpeed {
        static final long SLOW = TimeUnit.MILLISECONDS.toNanos(1);
        static final long FAST = TimeUnit.MICROSECONDS.toNanos(500);
        private volatile long calls;
        private volatile long blocked;
        private volatile boolean slow;

        boolean fast() {
            return !slow;
        }

        /** A token call on a loop hung past {@link #INLINE_TOKEN_WAIT}: off the loop until it is fast again. */
        void stalled() {
            long b = Math.max(blocked, 2 * SLOW);
            blocked = b;
            calls = Math.max(calls, b);
            slow = true;
        }

        /** One handshake's token calls; lost updates between threads are harmless for an average. */
        void observed(CallTime handshake) {
            if (handshake.nanos() == 0) {
                return; // a resumption, or a flight that did not reach the token: no news
            }
            long c = calls + (handshake.nanos() - calls) / 16;
            long b = blocked + (handshake.blockedNanos() - blocked) / 16;
            calls = c;
            blocked = b;
            if (b > SLOW && b > c / 2) {
                slow = true;
            } else if (b < FAST || b < c / 4) {
                slow = false;
            }
        }
    }

    /**
     * Whether a loop should hand its signing flights to other threads: its thread used over
     * {@link #SATURATED} of a CPU since the last sweep and the machine had at least
     * {@link #SPARE} of a CPU idle meanwhile. With one loop per two CPUs, a loop that signs on its
     * own thread would otherwise leave the other CPUs idle under a full handshake load. When the
     * machine has no idle CPU, handing over only adds thread switches: measured with the load
     * generator pinned to one of two CPUs, TLS 1.2 ECDHE-RSA, 2 interleaved runs each, per
     * server CPU-second 956 / 966 with every flight on the loop, 877 / 756 handing over at 90 %
     * regardless of idle CPUs, 798 / 821 as before (the token's wall time decided).
     */
    static final class LoopLoad {
        static final double SATURATED = 0.9;
        static final double SPARE = 0.5;
        private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
        private final LongSupplier idleNanos;
        private Thread thread;
        private long cpu;
        private long idle;
        private long wall;
        private boolean handOver;

        LoopLoad() {
            this(MachineIdle::nanos);
        }

        /** {@code idleNanos}: the machine's idle CPU time so far, summed over its CPUs; -1 when unknown. */
        LoopLoad(LongSupplier idleNanos) {
            this.idleNanos = idleNanos;
        }

        boolean handOver() {
            return handOver;
        }

        /** On the loop's thread, once per sweep. */
        void sample(long now) {
            long c = THREADS.getCurrentThreadCpuTime();
            long i = idleNanos.getAsLong();
            long span = now - wall;
            if (thread == Thread.currentThread() && span > 0) {
                handOver = c - cpu > SATURATED * span && i >= 0 && idle >= 0 && i - idle >= SPARE * span;
            } else {
                thread = Thread.currentThread(); // a new or replaced loop thread: its own CPU clock
                handOver = false;
            }
            cpu = c;
            idle = i;
            wall = now;
        }
    }

    /** The machine's idle CPU time from {@code /proc/stat}; -1 where it cannot be read (then loops keep their flights). */
    static final class MachineIdle {
        /** /proc/stat counts in USER_HZ ticks, 100 per second on Linux whatever the kernel's HZ. */
        private static final long NANOS_PER_TICK = 10_000_000L;
        private static FileChannel stat;
        private static boolean unreadable;
        private static final ByteBuffer BUF = ByteBuffer.allocate(256);

        private MachineIdle() {
        }

        /** Idle plus iowait time of all CPUs, in ns. */
        static synchronized long nanos() {
            if (unreadable) {
                return -1;
            }
            try {
                if (stat == null) {
                    stat = FileChannel.open(Path.of("/proc/stat"));
                }
                BUF.clear();
                int n = stat.read(BUF, 0);
                return n <= 0 ? -1 : parse(BUF.array(), n) * NANOS_PER_TICK;
            } catch (IOException | RuntimeException e) {
                unreadable = true;
                return -1;
            }
        }

        /** The first line, "cpu  user nice system idle iowait ...": idle + iowait ticks. */
        static long parse(byte[] b, int n) {
            String first = new String(b, 0, n, StandardCharsets.US_ASCII).split("\n", 2)[0];
            String[] f = first.trim().split("\\s+");
            return Long.parseLong(f[4]) + Long.parseLong(f[5]);
        }
    }

    /** Ends a loop thread that was replaced while in a token call, once it has handed its flight back. */
    private static final class Replaced extends RuntimeException {
        Replaced() {
            super(null, null, false, false);
        }
    }

    private enum State { HANDSHAKE, CONNECTING, OPEN, LINGER }

    /** One proxied connection; touched only by its loop's thread (and, during an off-loop flight, the engine by that flight's thread). */
    private final class Conn {
        final Loop loop;
        final long id;
        final SocketChannel front;
        final InetSocketAddress peer;
        final long start = System.nanoTime();
        SelectionKey fkey;
        SocketChannel back;
        SelectionKey bkey;
        TlsEngine engine;
        HandshakeInfo info;
        State state = State.HANDSHAKE;
        /** A flight is being offered on another thread: the engine is not ours until it comes back. */
        boolean busy;
        /** In the loop's handshake queue. */
        boolean queued;
        boolean timedOut;
        final ArrayDeque<ByteBuffer> toFront = new ArrayDeque<>();
        final ArrayDeque<ByteBuffer> toBack = new ArrayDeque<>();
        /** The client's data has ended (close_notify or EOF): see {@link #backendHasAll()}, once toBack drains. */
        boolean frontDone;
        boolean backShut;
        /** Close once toFront has drained (or at closeBy), with this outcome. */
        String closing;
        long closeBy;
        long deadline;
        long lastActivity = start;
        /** The engine's buffers were trimmed and no byte has moved since. */
        boolean trimmed;
        long clientToBackend;
        long backendToClient;
        int lingered;
        boolean finished;

        Conn(Loop loop, long id, SocketChannel front, InetSocketAddress peer) {
            this.loop = loop;
            this.id = id;
            this.front = front;
            this.peer = peer;
            this.deadline = start + owner.handshaker().settings().handshakeTimeout().toNanos();
        }

        Duration since() {
            return Duration.ofNanos(System.nanoTime() - start);
        }

        /** Bytes moved: the idle timeout starts again, and the buffers may have grown. */
        private void active() {
            lastActivity = System.nanoTime();
            trimmed = false;
        }

        // ---- readiness ---------------------------------------------------------------------

        void frontReady(int ops) {
            if ((ops & SelectionKey.OP_WRITE) != 0 && !flush(front, toFront)) {
                return;
            }
            if (closing != null && toFront.isEmpty()) {
                close(closing);
                return;
            }
            if ((ops & SelectionKey.OP_READ) == 0 || busy) {
                return;
            }
            int n = read(front);
            if (n == -2) {
                return;
            }
            switch (state) {
                case HANDSHAKE -> {
                    if (n < 0) {
                        handshakeFailedQuietly(engine.failure(null, false, null)); // the client is gone: no alert, no linger
                    } else if (n > 0) {
                        offerHandshake(n);
                    }
                }
                case LINGER -> {
                    lingered += Math.max(n, 0);
                    if (n < 0 || lingered > 65536) {
                        finishQuietly();
                    }
                }
                default -> {
                    if (n < 0) {
                        // TCP end without close_notify: what was sent is passed on, then the backend sees the end.
                        frontDone = true;
                        frontEnded();
                    } else if (n > 0) {
                        offerData(loop.buf, n);
                    }
                }
            }
        }

        void backReady(int ops) {
            if (state == State.CONNECTING && (ops & SelectionKey.OP_CONNECT) != 0) {
                try {
                    back.finishConnect();
                    backConnected();
                } catch (IOException e) {
                    backendUnreachable(e.getMessage());
                }
                return;
            }
            if ((ops & SelectionKey.OP_WRITE) != 0) {
                if (!flush(back, toBack)) {
                    return;
                }
                if (frontDone && toBack.isEmpty()) {
                    backendHasAll();
                }
            }
            if ((ops & SelectionKey.OP_READ) == 0 || state != State.OPEN || closing != null) {
                return;
            }
            int n = read(back);
            if (n == -2) {
                return;
            }
            if (n < 0) {
                // The backend ended: TLS cannot half-close, so the client gets close_notify and the connection ends.
                engine.close();
                closeAfterFlush("closed");
                return;
            }
            if (n > 0) {
                active();
                if (frontDone) {
                    // the client already closed TLS: nothing can be sent to it any more
                    close("closed");
                    return;
                }
                try {
                    engine.write(loop.buf, 0, n);
                } catch (IOException e) {
                    fail("error: " + e.getMessage());
                    return;
                }
                backendToClient += n;
                sendOutput();
            }
        }

        /** Reads into the loop's buffer: the count, -1 at end of stream, -2 when the connection failed (and is closed). */
        private int read(SocketChannel ch) {
            loop.bb.clear();
            try {
                return ch.read(loop.bb);
            } catch (IOException e) {
                if (state == State.HANDSHAKE) {
                    handshakeFailed(engine.failure(e, false, null));
                } else if (state == State.LINGER) {
                    finishQuietly();
                } else {
                    fail("error: " + e.getMessage());
                }
                return -2;
            }
        }

        // ---- handshake ---------------------------------------------------------------------

        private void offerHandshake(int n) {
            boolean tokenFlight = engine.mayWaitOnToken();
            if (!tokenFlight) {
                IOException error = null;
                try {
                    engine.offer(loop.buf, 0, n);
                } catch (IOException e) {
                    error = e;
                }
                afterFlight(error);
                return;
            }
            if (token.fast() && !loop.load.handOver()) {
                offerOnLoop(n);
                return;
            }
            // This flight may wait on the token, or the loop has no CPU to spare for the token's
            // work: offered on a virtual thread, back through the loop's queue.
            byte[] flight = java.util.Arrays.copyOf(loop.buf, n);
            busy = true;
            TlsEngine e = engine;
            try {
                Thread.ofVirtual().name("handshake-" + id).start(() -> flightReturned(offerFlight(e, flight)));
            } catch (RuntimeException | Error x) {
                busy = false;
                fail("error: cannot start a thread for the handshake (" + x + ")");
            }
        }

        /**
         * A flight that may sign, offered on the loop's thread with the token called on it too
         * ({@link TokenWait#onCallingThread()}: no hand-over to the token's threads). Should the
         * call hang, the watchdog gives the loop a new thread; this one then hands the flight back
         * like an off-loop flight and leaves the loop ({@link Replaced}). The flight reads a copy
         * of its bytes, since a new loop thread would reuse the loop's buffer.
         */
        private void offerOnLoop(int n) {
            byte[] flight = java.util.Arrays.copyOf(loop.buf, n);
            Thread me = Thread.currentThread();
            loop.inlineConn = this;
            loop.inlineSince = System.nanoTime();
            loop.inline.set(me);
            IOException error;
            try (TokenWait.Scope w = TokenWait.onCallingThread()) {
                error = offerFlight(engine, flight);
            } catch (Error e) {
                loop.inline.compareAndSet(me, null);
                throw e;
            }
            if (!loop.inline.compareAndSet(me, null)) {
                // another thread runs the loop now: this flight goes back to it, and this thread ends
                flightReturned(error);
                throw new Replaced();
            }
            afterFlight(error);
        }

        /** Offers a flight that may sign and reports its token time; the failure, or null. */
        private IOException offerFlight(TlsEngine e, byte[] flight) {
            IOException error = null;
            try {
                e.offer(flight, 0, flight.length);
            } catch (IOException x) {
                error = x;
            } catch (RuntimeException x) {
                error = new IOException(x.toString(), x);
            }
            token.observed(e.tokenCalls());
            return error;
        }

        /** A flight offered off the loop's thread is back: the loop takes the connection up again. */
        private void flightReturned(IOException result) {
            loop.submit(() -> {
                busy = false;
                if (finished) {
                    return;
                }
                try {
                    if (timedOut) {
                        handshakeFailed(engine.failure(null, true, owner.handshaker().settings().handshakeTimeout()));
                        return;
                    }
                    afterFlight(result);
                    if (!finished) {
                        interest();
                    }
                } catch (RuntimeException x) {
                    ProxyServer.warn("conn=" + id + ": " + x);
                    fail("error: " + x);
                }
            });
        }

        private void afterFlight(IOException error) {
            if (error != null || engine.closed() && engine.handshaking()) {
                handshakeFailed(engine.failure(error, false, null));
                return;
            }
            if (engine.handshaking()) {
                sendOutput();
                return;
            }
            info = engine.info();
            owner.notifyCompleted(info);
            state = State.CONNECTING;
            deadline = System.nanoTime() + owner.limits().connectTimeout().toNanos();
            sendOutput(); // the server's last flight
            if (finished) {
                return;
            }
            // A TLS 1.3 client may send data right after its Finished, and close_notify too: the
            // data waits for the backend.
            movePlaintext();
            frontDone = engine.closed();
            if (frontDone && toBack.isEmpty()) {
                // The client closed with its Finished and sent nothing (a health check, a scanner, a
                // TLS ping): the backend has all of it already, and the connection ends, so no
                // backend connection is opened. Measured on such clients: 65 -> 49 system calls
                // per handshake, +22 % TLS 1.3 handshakes per CPU-second.
                backendHasAll();
                return;
            }
            try {
                InetSocketAddress to = owner.backend();
                back = openFor(to);
                back.configureBlocking(false);
                boolean connected = back.connect(to);
                if (!connected && to.getAddress() != null && to.getAddress().isLoopbackAddress()) {
                    // On loopback the kernel has done the TCP handshake by the time connect()
                    // returns (the SYN-ACK is processed before the call ends), though a
                    // non-blocking connect still answers "in progress". Asking at once saves the
                    // OP_CONNECT registration and its change afterwards: an epoll_ctl and a select
                    // round per connection. The same poll and getsockopt run either way; when
                    // the connect is really pending (a full backlog) the usual path follows.
                    connected = back.finishConnect();
                }
                bkey = back.register(loop.selector, connected ? 0 : SelectionKey.OP_CONNECT, this);
                if (connected) {
                    backConnected();
                }
            } catch (IOException e) {
                backendUnreachable(e.getMessage());
            }
        }

        /**
         * A socket of the backend's family. The JDK's default is a dual-stack IPv6 socket, which
         * for an IPv4 backend costs a setsockopt (IPV6_V6ONLY off) per connection and the kernel's
         * mapped-address path.
         */
        private static SocketChannel openFor(InetSocketAddress to) throws IOException {
            return to.getAddress() instanceof Inet4Address
                    ? SocketChannel.open(StandardProtocolFamily.INET) : SocketChannel.open();
        }

        private void backConnected() {
            try {
                back.setOption(StandardSocketOptions.TCP_NODELAY, true);
            } catch (IOException ignored) {
                // not fatal: latency only
            }
            state = State.OPEN;
            active();
            if (owner.proxyProtocol()) {
                try {
                    toBack.addFirst(ByteBuffer.wrap(ProxyProtocolV2.header(peer,
                            (InetSocketAddress) front.getLocalAddress(), info)));
                } catch (IOException e) {
                    fail("error: " + e.getMessage());
                    return;
                }
            }
            if (flush(back, toBack) && frontDone && toBack.isEmpty()) {
                backendHasAll();
            }
        }

        private void backendUnreachable(String why) {
            engine.close();
            sendOutput();
            finish(outcome("error: backend " + owner.backend() + " unreachable: " + why, 0, 0));
        }

        private void handshakeFailed(HandshakeFailedException e) {
            owner.notifyFailed(e);
            record(failed(e));
            // The alert goes out, then a lingering close: a client that already sent data must
            // not get a reset that would swallow the alert.
            state = State.LINGER;
            deadline = System.nanoTime() + LINGER_NANOS;
            if (sendOutput() && !finished) {
                try {
                    front.shutdownOutput();
                } catch (IOException ex) {
                    finishQuietly();
                }
            }
        }

        // ---- data --------------------------------------------------------------------------

        private void offerData(byte[] b, int n) {
            active();
            try {
                engine.offer(b, 0, n);
            } catch (IOException e) {
                sendOutput();
                fail("error: " + e.getMessage());
                return;
            }
            sendOutput();
            if (finished) {
                return;
            }
            sendPlaintext();
            if (engine.closed() && !finished) {
                frontDone = true; // close_notify: the client's data has ended
                frontEnded();
            }
        }

        /** The client's data ended: {@link #backendHasAll()} once what is pending has gone. */
        private void frontEnded() {
            if (state == State.OPEN && toBack.isEmpty() && !finished) {
                backendHasAll();
            }
        }

        /**
         * Everything the client sent has reached the backend, and the client's data has ended. After
         * a bare TCP end the backend's output is shut and its answer still goes to the client, which
         * may be reading. After close_notify our own close_notify has answered (no TLS half-close
         * here), so nothing the backend says could reach the client: the connection ends now. Before,
         * it waited for the backend's end, and a backend that ignores an end of input held the
         * connection until the idle timeout.
         */
        private void backendHasAll() {
            if (engine.closed()) {
                closeAfterFlush("closed");
            } else {
                shutBack();
            }
        }

        private void shutBack() {
            if (backShut || finished) {
                return;
            }
            backShut = true;
            try {
                back.shutdownOutput();
            } catch (IOException e) {
                close("closed");
            }
        }

        /** Queues the client's decrypted data for the backend (while it is not connected yet). */
        private void movePlaintext() {
            int avail;
            while ((avail = engine.plaintextAvailable()) > 0) {
                ByteBuffer d = ByteBuffer.allocate(avail);
                clientToBackend += engine.readPlaintext(d, avail);
                toBack.add(d.flip());
            }
        }

        /** Queues the engine's output for the client. */
        private void pullOutput() {
            int avail;
            while ((avail = engine.outputAvailable()) > 0) {
                ByteBuffer d = ByteBuffer.allocate(avail);
                engine.readOutput(d, avail);
                toFront.add(d.flip());
            }
        }

        // The two send methods below are the data path. While nothing is queued, bytes go from the
        // engine into the loop's direct buffer and from there to the socket: no array allocated and
        // zeroed per read, no copy into the JDK's temporary direct buffer. Only what the socket does
        // not take is copied into the queue. (Measured: with a fresh array per read, bulk cost
        // ~15 % more CPU per MB than the thread-per-connection front end.)

        /** Sends the engine's output to the client; true when all of it went (false also when the connection failed). */
        private boolean sendOutput() {
            if (!flush(front, toFront)) {
                pullOutput();
                return false;
            }
            ByteBuffer o = loop.out;
            int avail;
            while ((avail = engine.outputAvailable()) > 0) {
                o.clear();
                engine.readOutput(o, Math.min(avail, o.capacity()));
                if (!writeOrQueue(front, toFront, o.flip())) {
                    pullOutput();
                    return false;
                }
            }
            return true;
        }

        /** Sends the client's decrypted data to the backend, or queues it while the backend is not connected. */
        private void sendPlaintext() {
            if (state != State.OPEN || !flush(back, toBack)) {
                movePlaintext();
                return;
            }
            ByteBuffer o = loop.out;
            int avail;
            while ((avail = engine.plaintextAvailable()) > 0) {
                o.clear();
                clientToBackend += engine.readPlaintext(o, Math.min(avail, o.capacity()));
                if (!writeOrQueue(back, toBack, o.flip())) {
                    movePlaintext();
                    return;
                }
            }
        }

        /** Writes the loop's buffer; the part the socket does not take is copied into the queue. True when all went. */
        private boolean writeOrQueue(SocketChannel ch, ArrayDeque<ByteBuffer> q, ByteBuffer o) {
            if (finished) {
                return false;
            }
            try {
                ch.write(o);
            } catch (IOException e) {
                writeFailed(e, q);
                return false;
            }
            if (!o.hasRemaining()) {
                return true;
            }
            q.add(ByteBuffer.allocate(o.remaining()).put(o).flip());
            return false;
        }

        /** Writes what is queued; true when all of it went (false also when the connection failed). */
        private boolean flush(SocketChannel ch, ArrayDeque<ByteBuffer> q) {
            if (finished) {
                return false;
            }
            try {
                while (!q.isEmpty()) {
                    ByteBuffer b = q.peek();
                    ch.write(b);
                    if (b.hasRemaining()) {
                        return false;
                    }
                    q.poll();
                }
                return true;
            } catch (IOException e) {
                writeFailed(e, q);
                return false;
            }
        }

        private void writeFailed(IOException e, ArrayDeque<ByteBuffer> q) {
            if (state == State.LINGER) {
                finishQuietly();
            } else if (state == State.HANDSHAKE) {
                q.clear();
                handshakeFailed(engine.failure(e, false, null));
            } else {
                fail("error: " + e.getMessage());
            }
        }

        /** Sets what each socket waits for: reads only while the other side has nothing pending (back-pressure). */
        void interest() {
            if (finished) {
                return;
            }
            int f = 0;
            if (!toFront.isEmpty()) {
                f |= SelectionKey.OP_WRITE;
            }
            // While the backend connects the client stays readable until a read's worth waits in
            // toBack: its socket so keeps its epoll registration instead of a removal and a re-add
            // around every connect (2 of 7 epoll_ctl calls per connection, also when the client's
            // first request comes before the backend has answered the connect).
            if (!busy && closing == null && (state == State.HANDSHAKE || state == State.LINGER
                    || state == State.OPEN && !frontDone && toBack.isEmpty()
                    || state == State.CONNECTING && !frontDone && queued(toBack) < READ)) {
                f |= SelectionKey.OP_READ;
            }
            setOps(fkey, f);
            if (bkey != null) {
                int b = 0;
                if (state == State.CONNECTING) {
                    b = SelectionKey.OP_CONNECT;
                } else if (state == State.OPEN) {
                    if (!toBack.isEmpty()) {
                        b |= SelectionKey.OP_WRITE;
                    }
                    if (closing == null && toFront.isEmpty()) {
                        b |= SelectionKey.OP_READ;
                    }
                }
                setOps(bkey, b);
            }
        }

        private static long queued(ArrayDeque<ByteBuffer> q) {
            long n = 0;
            for (ByteBuffer b : q) {
                n += b.remaining();
            }
            return n;
        }

        private void setOps(SelectionKey k, int ops) {
            if (k != null && k.isValid() && k.interestOps() != ops) {
                k.interestOps(ops);
            }
        }

        // ---- ends --------------------------------------------------------------------------

        void timeouts(long now) {
            if (closing != null) {
                if (now - closeBy >= 0) {
                    close(closing);
                }
                return;
            }
            switch (state) {
                case HANDSHAKE -> {
                    if (now - deadline >= 0) {
                        if (busy) {
                            // the flight's thread owns the engine: the record is made when it returns
                            timedOut = true;
                            closeChannels();
                        } else {
                            handshakeFailedQuietly(engine.failure(null, true,
                                    owner.handshaker().settings().handshakeTimeout()));
                        }
                    }
                }
                case CONNECTING -> {
                    if (now - deadline >= 0) {
                        backendUnreachable("connect timed out after " + owner.limits().connectTimeout().toMillis() + " ms");
                    }
                }
                case LINGER -> {
                    if (now - deadline >= 0) {
                        finishQuietly();
                    }
                }
                case OPEN -> {
                    Duration idle = owner.limits().idleTimeout();
                    if (idle != null && !idle.isZero() && !idle.isNegative() && now - lastActivity >= idle.toNanos()) {
                        engine.close();
                        closeAfterFlush("idle timeout " + idle);
                    } else if (!trimmed && now - lastActivity >= TRIM_AFTER_NANOS) {
                        engine.trim();
                        trimmed = true;
                    }
                }
            }
        }

        private void handshakeFailedQuietly(HandshakeFailedException e) {
            owner.notifyFailed(e);
            finish(failed(e));
        }

        /** Cut at shutdown: close_notify if it can go at once, then closed. */
        void cut() {
            if (finished) {
                return;
            }
            if (state == State.HANDSHAKE || state == State.LINGER || state == State.CONNECTING && closing == null || busy) {
                record(outcome("closed at shutdown", 0, 0));
                finishQuietly();
                return;
            }
            if (closing == null) {
                engine.close();
                sendOutput();
            }
            close(closing != null ? closing : "closed at shutdown");
        }

        private void closeAfterFlush(String outcome) {
            if (sendOutput()) {
                close(outcome);
            } else if (!finished) {
                closing = outcome;
                closeBy = System.nanoTime() + CLOSE_GRACE.toNanos();
            }
        }

        void fail(String outcome) {
            close(outcome);
        }

        private void close(String outcome) {
            finish(outcome(outcome, clientToBackend, backendToClient));
        }

        /** The connection's record: what the handshake gave (once it completed), the outcome, the bytes each way. */
        ConnectionRecord outcome(String outcome, long in, long out) {
            return new ConnectionRecord(id, peer, Optional.ofNullable(info), info == null ? Optional.empty() : info.sni(),
                    outcome, in, out, since(), info == null ? Duration.ZERO : info.tokenTime());
        }

        private ConnectionRecord failed(HandshakeFailedException e) {
            return new ConnectionRecord(id, peer, Optional.empty(), e.sni(), ProxyServer.handshakeOutcome(e), 0, 0,
                    since(), Duration.ZERO);
        }

        private boolean recorded;

        private void record(ConnectionRecord r) {
            if (!recorded) {
                recorded = true;
                owner.emit(r);
            }
        }

        /** Ends the connection, once: sockets closed, slot given back, the record (unless one was made). */
        void finish(ConnectionRecord r) {
            if (finished) {
                return;
            }
            record(r);
            finishQuietly();
        }

        private void finishQuietly() {
            if (finished) {
                return;
            }
            finished = true;
            closeChannels();
            loop.conns.remove(this);
            owner.release(peer.getAddress());
            open.decrementAndGet();
        }

        private void closeChannels() {
            loop.closeSoon(front);
            if (back != null) {
                loop.closeSoon(back);
            }
        }
    }
}
