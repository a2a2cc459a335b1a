package io.hsmtls.cli;

import io.hsmtls.observe.AuditLog;
import io.hsmtls.proxy.Endpoint;
import io.hsmtls.proxy.Pump;
import io.hsmtls.tls.KeyUseListener;
import io.hsmtls.tls.TokenTimer;
import io.hsmtls.tls.bc.client.TlsClientConnection;
import io.hsmtls.tls.client.ClientCandidate;
import io.hsmtls.tls.client.ClientSettings;
import io.hsmtls.tls.client.HandshakeRecorder;
import io.hsmtls.tls.client.HostNames;
import io.hsmtls.tls.client.ServerVerifier;
import io.hsmtls.token.Token;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code hsmtls connect}: a local plaintext listener whose connections are each carried over TLS to
 * the upstream, authenticated with the token's client certificate (stunnel's client mode). One
 * virtual thread per connection; the token is opened and logged in once, so the PIN is asked once.
 */
@Command(name = "connect", mixinStandardHelpOptions = true,
        description = {"Listen on a local port and carry each connection over TLS to the upstream,",
                "authenticating with the client certificate whose key is on the token."})
final class ConnectCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--listen", required = true, paramLabel = "HOST:PORT",
            description = "local address for plaintext clients, e.g. 127.0.0.1:8080 (port 0: any free port)")
    String listen;

    @Option(names = "--upstream", required = true, paramLabel = "HOST:PORT", description = "the TLS server")
    String upstream;

    @Mixin
    KeyOptionsMixin key;

    @Mixin
    ClientOptions client;

    @Option(names = "--max-connections", paramLabel = "N", defaultValue = "1024",
            description = "connections carried at once; more wait to be accepted (default: ${DEFAULT-VALUE})")
    int maxConnections;

    @Option(names = "--handshake-timeout", paramLabel = "SECONDS", defaultValue = "10",
            description = "connect plus TLS handshake to the upstream (default: ${DEFAULT-VALUE})")
    int handshakeTimeout;

    @Option(names = "--idle-timeout", paramLabel = "SECONDS", defaultValue = "300",
            description = "close a connection with no data either way for this long; 0 = never (default: ${DEFAULT-VALUE})")
    int idleTimeout;

    @Option(names = "--drain-timeout", paramLabel = "SECONDS", defaultValue = "30",
            description = "on SIGTERM, stop accepting and let open connections finish for this long (default: ${DEFAULT-VALUE})")
    int drainTimeout;

    @Option(names = "--audit-log", paramLabel = "FILE", description = "append one hash-chained JSON line per "
            + "client signature to FILE (check it with 'hsmtls audit verify FILE')")
    java.nio.file.Path auditLog;

    @Override
    public Integer call() throws Exception {
        Io io = Io.of(spec);
        ClientOptions.HostPort local = ClientOptions.HostPort.parse(listen, "--listen");
        ClientOptions.HostPort up = ClientOptions.HostPort.parse(upstream, "--upstream");
        if (maxConnections < 1) throw new IllegalArgumentException("--max-connections " + maxConnections + " < 1");
        if (handshakeTimeout < 1) throw new IllegalArgumentException("--handshake-timeout " + handshakeTimeout + " < 1");
        if (idleTimeout < 0) throw new IllegalArgumentException("--idle-timeout " + idleTimeout + " < 0");
        if (drainTimeout < 0) throw new IllegalArgumentException("--drain-timeout " + drainTimeout + " < 0");
        ServerVerifier verifier = client.verifier(io);
        try (AuditLog audit = auditLog == null ? null : ServeCommand.openAudit(io, auditLog);
             Token token = Tokens.openRecovering(io, key.tokenOptions(false))) {
            List<ClientCandidate> candidates = client.candidates(token, key.uri());
            ClientOptions.Prepared p = client.prepare(up.host(), verifier, candidates);
            if (p.decision().note() != null) {
                io.err().println("hsmtls: " + (p.decision().warning() ? "warning: " : "") + p.decision().note());
            }
            Tunnel tunnel = new Tunnel(up, p.settings(), Duration.ofSeconds(handshakeTimeout),
                    Duration.ofSeconds(idleTimeout), maxConnections, io.err())
                    .withKeyUses(KeyUses.listener(audit, null, List.of()));
            try (ServerSocket server = new ServerSocket()) {
                server.bind(new InetSocketAddress(InetAddress.getByName(local.host()), local.port()), 128);
                io.err().println("hsmtls: connect listening on " + new ClientOptions.HostPort(local.host(),
                        server.getLocalPort()) + " -> " + up + " (TLS " + p.settings().versions() + ", client key "
                        + candidates.stream().map(ClientCandidate::description).toList() + ")");
                io.err().flush();
                // SIGTERM: stop accepting, let open connections finish up to the drain deadline.
                Thread hook = new Thread(() -> tunnel.drain(server, Duration.ofSeconds(drainTimeout)),
                        "hsmtls-connect-drain");
                Runtime.getRuntime().addShutdownHook(hook);
                try {
                    tunnel.serve(server);
                } finally {
                    try {
                        Runtime.getRuntime().removeShutdownHook(hook);
                    } catch (IllegalStateException shuttingDown) {
                        // the hook is draining; this thread just ends
                    }
                }
            } catch (InterruptedException stopped) {
                // stopped by an interrupt (in-process use): close the listener and the token, exit 0
                Thread.currentThread().interrupt();
            }
            return Main.OK;
        }
    }

    /** The accept loop and per-connection work, separate from option parsing. */
    static final class Tunnel {
        private final ClientOptions.HostPort upstream;
        private final ClientSettings settings;
        private final Duration handshakeTimeout;
        private final Duration idleTimeout;
        private final Semaphore slots;
        private final PrintWriter log;
        private final AtomicLong ids = new AtomicLong();
        private final java.util.concurrent.atomic.AtomicInteger active = new java.util.concurrent.atomic.AtomicInteger();
        private KeyUseListener keyUses;

        Tunnel(ClientOptions.HostPort upstream, ClientSettings settings, Duration handshakeTimeout,
               Duration idleTimeout, int maxConnections, PrintWriter log) {
            this.upstream = upstream;
            this.settings = settings;
            this.handshakeTimeout = handshakeTimeout;
            this.idleTimeout = idleTimeout;
            this.slots = new Semaphore(maxConnections);
            this.log = log;
        }

        /** Reports each client signature (audit log); null for none. Set before {@link #serve}. */
        Tunnel withKeyUses(KeyUseListener listener) {
            this.keyUses = listener;
            return this;
        }

        /** Accepts until the server socket closes or the thread is interrupted. */
        void serve(ServerSocket server) throws InterruptedException {
            while (!server.isClosed() && !Thread.currentThread().isInterrupted()) {
                slots.acquire();
                Socket s;
                try {
                    s = server.accept();
                } catch (IOException e) {
                    slots.release();
                    if (server.isClosed()) {
                        return;
                    }
                    log("accept failed: " + e.getMessage());
                    continue;
                }
                long id = ids.incrementAndGet();
                active.incrementAndGet();
                Thread.ofVirtual().name("connect-" + id).start(() -> {
                    try {
                        handle(id, s);
                    } finally {
                        active.decrementAndGet();
                        slots.release();
                    }
                });
            }
        }

        /** Closes the listener, then waits for open connections to end, up to {@code deadline}. */
        void drain(ServerSocket server, Duration deadline) {
            try {
                server.close();
            } catch (IOException ignored) {
                // closing to stop accepting; nothing else to do
            }
            log("draining: " + active.get() + " connection(s) open, waiting up to " + deadline.toSeconds() + " s");
            long end = System.nanoTime() + deadline.toNanos();
            while (active.get() > 0 && System.nanoTime() < end) {
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
            int cut = active.get();
            log("stopped" + (cut > 0 ? " (" + cut + " connection(s) cut at the drain deadline)" : ""));
        }

        private void handle(long id, Socket local) {
            long start = System.nanoTime();
            String peer = String.valueOf(local.getRemoteSocketAddress());
            HandshakeRecorder rec = new HandshakeRecorder();
            Socket remote = new Socket();
            TlsClientConnection tls;
            try {
                int timeout = (int) handshakeTimeout.toMillis();
                remote.connect(new InetSocketAddress(upstream.host(), upstream.port()), timeout);
                remote.setSoTimeout(timeout);
                remote.setTcpNoDelay(true);
                String sni = settings.serverName() == null || HostNames.isIpLiteral(settings.serverName()) ? null
                        : settings.serverName();
                TokenTimer timer = TokenTimer.client(keyUses, id, (InetSocketAddress) remote.getRemoteSocketAddress(), sni);
                tls = TlsClientConnection.handshake(remote, settings, rec, timer);
                remote.setSoTimeout(0);
            } catch (IOException | TlsClientConnection.HandshakeFailedException | RuntimeException e) {
                closeQuietly(remote);
                closeQuietly(local);
                logLine(id, peer, rec, 0, 0, start, "error: " + e.getMessage());
                return;
            }
            Endpoint plain = Endpoint.of(local);
            // Bouncy Castle cannot half-close: its close sends close_notify and closes the socket. So
            // the local client's end of stream closes the upstream connection (as serve does with a
            // backend's); keeping it open would hold the connection until the idle timeout.
            Endpoint secure = Endpoint.of(tls.in(), tls.out(), tls::close, tls::close);
            try {
                Pump.Result r = Pump.run(plain, secure, idleTimeout);
                logLine(id, peer, rec, r.aToB(), r.bToA(), start, r.idle() ? "idle timeout"
                        : r.failure().map(f -> "error: " + f.getMessage()).orElse("ok"));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                logLine(id, peer, rec, 0, 0, start, "interrupted");
            }
        }

        private void logLine(long id, String peer, HandshakeRecorder rec, long up, long down, long startNanos,
                             String result) {
            log(String.format(Locale.ROOT,
                    "conn=%d peer=%s upstream=%s sni=%s version=%s suite=%s client-cert=%s server=%s bytes-up=%d "
                            + "bytes-down=%d ms=%d token-ms=%.2f token-ops=%d result=%s",
                    id, peer, upstream, settings.serverName(), rec.version(), rec.cipherSuite(),
                    rec.clientCertificate() == null ? "none" : "\"" + rec.clientCertificate() + "\"",
                    rec.serverSubject() == null ? "-" : "\"" + rec.serverSubject() + "\"", up, down,
                    (System.nanoTime() - startNanos) / 1_000_000, rec.tokenNanos() / 1e6, rec.tokenOperations(),
                    result));
        }

        private synchronized void log(String line) {
            log.println(Instant.now() + " " + line);
            log.flush();
        }

        private static void closeQuietly(java.io.Closeable c) {
            try {
                c.close();
            } catch (IOException ignored) {
                // already failing
            }
        }
    }
}
