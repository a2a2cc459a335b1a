package io.hsmtls.cli;

import io.hsmtls.config.HostPort;
import io.hsmtls.config.ProxyLimitsConfig;
import io.hsmtls.config.ServeConfig;
import io.hsmtls.config.ServeConfigLoader;
import io.hsmtls.observe.AuditLog;
import io.hsmtls.observe.Metrics;
import io.hsmtls.proxy.HeapBudget;
import io.hsmtls.proxy.ProxyLimits;
import io.hsmtls.proxy.ProxyServer;
import io.hsmtls.tls.ChainValidator;
import io.hsmtls.tls.ClientAuthMode;
import io.hsmtls.tls.CredentialsException;
import io.hsmtls.tls.KeyUseListener;
import io.hsmtls.tls.Profile;
import io.hsmtls.tls.ServerCredentials;
import io.hsmtls.tls.ServerSettings;
import io.hsmtls.tls.bc.BcServerHandshaker;
import io.hsmtls.token.Pkcs11Uri;
import io.hsmtls.token.Token;
import io.hsmtls.token.TokenKey;
import io.hsmtls.token.TokenOptions;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code hsmtls serve}: terminate TLS with a token-held key and forward plaintext to a backend.
 * Checks the certificate against the token key and the profile before the port opens; prints
 * one "listening on" line when ready; on SIGTERM stops accepting and drains.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Terminate TLS with a key on a PKCS#11 token and forward to a TCP backend.")
public final class ServeCommand implements java.util.concurrent.Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ServeKeyOptions key;

    @Option(names = "--listen", paramLabel = "HOST:PORT", description = "address to accept TLS on, e.g. 127.0.0.1:8443")
    String listen;

    @Option(names = "--backend", paramLabel = "HOST:PORT", description = "plain TCP backend to forward to")
    String backend;

    @Option(names = "--cert", paramLabel = "FILE",
            description = "PEM certificate chain, leaf first (default: the certificate on the token with the key's CKA_ID)")
    Path cert;

    @Option(names = "--client-ca", paramLabel = "FILE",
            description = "PEM CA certificates client certificates must chain to (also the CA names sent)")
    Path clientCa;

    @Option(names = "--client-auth", paramLabel = "MODE", defaultValue = "none",
            description = "none, optional or required (default: ${DEFAULT-VALUE})")
    String clientAuth;

    @Option(names = "--profile", paramLabel = "NAME", defaultValue = "compat",
            description = "modern (TLS 1.3), compat (TLS 1.3 + 1.2 ECDHE) or legacy-rsa (adds RSA key exchange); "
                    + "default: ${DEFAULT-VALUE}")
    String profile;

    @Option(names = "--print-profile", arity = "0..1", paramLabel = "NAME", fallbackValue = "",
            description = "print what a profile offers (default: the --profile) and exit")
    String printProfile;

    @Option(names = "--max-connections", defaultValue = "10000", description = "connections open at once (default: ${DEFAULT-VALUE})")
    int maxConnections;

    @Option(names = "--max-connections-per-source", paramLabel = "N",
            description = "connections open at once from one client IP address (default: --max-connections, "
                    + "i.e. no extra limit; behind a load balancer every client shares its address)")
    Integer maxConnectionsPerSource;

    @Option(names = "--handshake-timeout", defaultValue = "10", paramLabel = "SECONDS",
            description = "the whole handshake must finish within this, however slowly the client sends "
                    + "(default: ${DEFAULT-VALUE})")
    double handshakeTimeout;

    @Option(names = "--idle-timeout", defaultValue = "300", paramLabel = "SECONDS",
            description = "close a connection with no data either way for this long (default: ${DEFAULT-VALUE})")
    double idleTimeout;

    @Option(names = "--drain-timeout", defaultValue = "30", paramLabel = "SECONDS",
            description = "on SIGTERM, let open connections finish for this long (default: ${DEFAULT-VALUE})")
    double drainTimeout;
    /** The connection log writer (lines of many connections per write); made when serving starts. */
    private volatile io.hsmtls.observe.LineLog connectionLog;

    @Option(names = "--proxy-protocol", description = "send a PROXY protocol v2 header to the backend with the "
            + "client address, SNI, TLS version/cipher and client certificate subject and SHA-256 fingerprint")
    boolean proxyProtocol;

    @Option(names = "--io", paramLabel = "MODE", defaultValue = "${sys:hsmtls.io:-loop}",
            description = "how connections are run: 'loop' (event loops, one per two CPUs, with handshakes that wait "
                    + "on the token moved off them) or 'threads' (a virtual thread per connection) (default: ${DEFAULT-VALUE})")
    String ioMode;

    /** Set by tests to stop a running serve; a signal handler does the same in production. */
    static volatile CountDownLatch stopForTests;

    @Option(names = "--audit-log", paramLabel = "FILE", description = "append one hash-chained JSON line per "
            + "private-key use to FILE (check it with 'hsmtls audit verify FILE'); overrides audit-log: in --config")
    Path auditLog;

    @Option(names = "--metrics", paramLabel = "HOST:PORT", description = "serve Prometheus metrics on "
            + "http://HOST:PORT/metrics and health on /healthz, e.g. 127.0.0.1:9464; overrides metrics: in --config")
    String metrics;

    @Option(names = "--reload-poll", paramLabel = "SECONDS", defaultValue = "2",
            description = "check the config and certificate files for changes this often and reload the "
                    + "credentials when they change (also on SIGHUP); 0 = only on SIGHUP (default: ${DEFAULT-VALUE})")
    double reloadPoll;

    /** What a running serve holds, for tests that count resources before and after (set once listening). */
    record Running(List<Token> tokens, List<ProxyServer> proxies) { }

    static volatile Running runningForTests;

    @Option(names = "--config", paramLabel = "FILE", description = "serve the listeners of a YAML configuration "
            + "(several listeners, SNI keys; see hsm-config/serve.example.yaml) instead of --listen/--backend/--key")
    Path config;

    @Override
    public Integer call() throws Exception {
        if (!ioMode.equals("loop") && !ioMode.equals("threads")) {
            throw new ParameterException(spec.commandLine(), "--io " + ioMode + ": unknown; use 'loop' or 'threads'");
        }
        Io io = Io.of(spec);
        Profile p = parse(() -> Profile.fromCliName(profile));
        if (printProfile != null) {
            Profile shown = printProfile.isEmpty() ? p : parse(() -> Profile.fromCliName(printProfile));
            io.out().print(shown.describe());
            io.out().flush();
            return Main.OK;
        }
        if (config != null) {
            if (listen != null || backend != null || key.key != null) {
                throw new ParameterException(spec.commandLine(), "--config " + config + " names the listeners: "
                        + "drop --listen, --backend and --key, or drop --config");
            }
            ServeConfigLoader.ServeFile file = ServeConfigLoader.loadFile(config);
            return serve(io, file.listeners(), Optional.ofNullable(auditLog).or(file::auditLog),
                    metricsAddress().or(file::metrics));
        }
        if (listen == null || backend == null || key.key == null) {
            throw new ParameterException(spec.commandLine(), "serve needs --listen HOST:PORT, --backend HOST:PORT and "
                    + "--key 'pkcs11:…', or --config FILE (missing: " + String.join(", ", missing()) + ")");
        }
        ClientAuthMode mode = parse(() -> ClientAuthMode.fromCliName(clientAuth));
        ServeConfig single = parse(() -> new ServeConfig(HostPort.parse(listen), HostPort.parse(backend), key.key,
                Optional.ofNullable(cert), Optional.ofNullable(clientCa), mode, p,
                new ProxyLimitsConfig(maxConnections, seconds(handshakeTimeout), seconds(idleTimeout),
                        Duration.ofSeconds(5), seconds(drainTimeout),
                        maxConnectionsPerSource == null ? maxConnections : maxConnectionsPerSource), proxyProtocol));
        return serve(io, List.of(new ServeConfigLoader.Listener("main", single)), Optional.ofNullable(auditLog),
                metricsAddress());
    }

    private Optional<HostPort> metricsAddress() {
        return metrics == null ? Optional.empty() : Optional.of(parse(() -> {
            try {
                return HostPort.parse(metrics);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--metrics " + e.getMessage());
            }
        }));
    }

    /** One running listener: what reload may change (the TLS side) and what it may not (address, backend). */
    static final class Live {
        final String name;
        final ServeConfig config;
        final ProxyServer proxy;
        final KeyUseListener keyUses;
        volatile ServerSettings settings;
        /** The configuration of the TLS side now in effect (config keeps what the listener started with). */
        volatile ServeConfig current;

        Live(String name, ServeConfig config, ProxyServer proxy, KeyUseListener keyUses, ServerSettings settings) {
            this.name = name;
            this.config = config;
            this.current = config;
            this.proxy = proxy;
            this.keyUses = keyUses;
            this.settings = settings;
        }
    }

    /**
     * Opens each token once, checks every listener's credentials before any port opens, then runs
     * all listeners until SIGTERM (or {@link #stopForTests}) and drains them before the tokens close.
     */
    private int serve(Io io, List<ServeConfigLoader.Listener> listeners, Optional<Path> auditFile,
                      Optional<HostPort> metricsAt) throws Exception {
        Map<String, Token> tokens = java.util.Collections.synchronizedMap(new LinkedHashMap<>());
        List<ProxyServer> proxies = new java.util.concurrent.CopyOnWriteArrayList<>();
        List<Live> live = new java.util.concurrent.CopyOnWriteArrayList<>();
        AuditLog audit = null;
        Metrics metricsServer = metricsAt.isPresent() ? new Metrics() : null;
        Reloader reloader = null;
        connectionLog = new io.hsmtls.observe.LineLog(io.err(), "hsmtls-connection-log");
        try {
            if (auditFile.isPresent()) {
                audit = openAudit(io, auditFile.get());
            }
            List<Runnable> starts = new ArrayList<>();
            for (ServeConfigLoader.Listener l : listeners) {
                List<KeyUseListener> others = metricsServer == null ? List.of()
                        : List.of(u -> metricsServer.tokenOperation(u.mechanism().name(), u.latency().toNanos() / 1e9,
                                u.result()));
                KeyUseListener keyUses = KeyUses.listener(audit, l.name().equals("main") ? null : l.name(), others);
                starts.add(prepare(io, l, tokens, proxies, keyUses, metricsServer, live));
            }
            long maxConnections = listeners.stream().mapToLong(l -> l.config().limits().maxConnections()).sum();
            HeapBudget.check(maxConnections, Runtime.getRuntime().maxMemory())
                    .ifPresent(w -> io.err().println("hsmtls: warning: " + w));
            starts.forEach(Runnable::run);
            if (metricsServer != null) {
                ServeMetrics.wire(metricsServer, live, tokens);
                InetSocketAddress at;
                try {
                    at = metricsServer.start(new InetSocketAddress(metricsAt.get().host(), metricsAt.get().port()));
                } catch (IOException e) {
                    throw new OperationFailedException("--metrics " + metricsAt.get() + ": cannot listen (" + e.getMessage()
                            + "): choose a free port");
                }
                io.out().println("hsmtls: metrics on http://" + new HostPort(at.getAddress().getHostAddress(), at.getPort())
                        + "/metrics, health on /healthz");
                io.out().flush();
            }
            reloader = new Reloader(io, this, config, live, tokens, seconds(reloadPoll));
            reloader.start();
            runningForTests = new Running(List.copyOf(tokens.values()), List.copyOf(proxies));
            CountDownLatch stop = new CountDownLatch(1);
            CountDownLatch drained = new CountDownLatch(1);
            stopForTests = stop;
            Duration drain = listeners.stream().map(l -> l.config().limits().drainTimeout())
                    .max(Duration::compareTo).orElse(Duration.ZERO);
            // SIGTERM runs this hook: stop accepting, drain to the deadline; the tokens stay open
            // until the drain ends (the main thread waits for it before closing them).
            Thread hook = new Thread(() -> {
                stop.countDown();
                try {
                    int cut = shutdown(proxies, drain);
                    closeConnectionLog();
                    io.err().println("hsmtls: stopped on signal" + (cut > 0 ? " (" + cut
                            + " connections cut at the drain deadline)" : ""));
                    io.err().flush();
                } finally {
                    drained.countDown();
                }
            }, "hsmtls-shutdown");
            Runtime.getRuntime().addShutdownHook(hook);
            stop.await();
            boolean bySignal;
            try {
                bySignal = !Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                bySignal = true;
            }
            if (bySignal) {
                drained.await();
            } else {
                int cut = shutdown(proxies, drain);
                closeConnectionLog();
                io.err().println("hsmtls: stopped" + (cut > 0 ? " (" + cut + " connections cut at the drain deadline)" : ""));
            }
            return Main.OK;
        } finally {
            closeConnectionLog();
            if (reloader != null) {
                reloader.close();
            }
            if (metricsServer != null) {
                metricsServer.close();
            }
            for (Token t : List.copyOf(tokens.values())) {
                t.close();
            }
            if (audit != null) {
                audit.close();
            }
        }
    }

    private void closeConnectionLog() {
        io.hsmtls.observe.LineLog log = connectionLog;
        if (log != null) {
            log.close();
        }
    }

    /** Opens (or continues) the audit log; says where its chain stands so an operator can anchor it. */
    static AuditLog openAudit(Io io, Path file) {
        AuditLog log;
        try {
            log = AuditLog.open(file);
        } catch (java.io.UncheckedIOException e) {
            throw new OperationFailedException("--audit-log " + file + ": " + e.getCause().getMessage()
                    + ": give a writable file");
        }
        io.err().println("hsmtls: audit log " + file + " (chain continues from " + log.lastHash().substring(0, 16) + "…)");
        io.err().flush();
        return log;
    }

    private static int shutdown(List<ProxyServer> proxies, Duration drain) {
        // Drain the listeners side by side, one virtual thread each, on one executor that is closed after.
        try (var drains = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            List<java.util.concurrent.Future<Integer>> cuts = proxies.stream()
                    .map(px -> drains.submit(() -> px.shutdown(drain)))
                    .toList();
            int cut = 0;
            for (var f : cuts) {
                try {
                    cut += f.get();
                } catch (java.util.concurrent.ExecutionException e) {
                    throw new IllegalStateException("draining a listener failed: " + e.getCause(), e.getCause());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return cut;
                }
            }
            return cut;
        }
    }

    /** Checks one listener's keys and certificates and builds its proxy; the returned step starts it. */
    private Runnable prepare(Io io, ServeConfigLoader.Listener listener, Map<String, Token> tokens,
                             List<ProxyServer> proxies, KeyUseListener keyUses, Metrics metricsServer,
                             List<Live> live) throws IOException {
        ServeConfig c = listener.config();
        String where = listener.name().equals("main") ? "" : "listener " + listener.name() + ": ";
        Profile p = c.profile();
        ClientAuthMode mode = c.clientAuth();
        ServerSettings settings = settings(io, listener, tokens);
        ServerCredentials credentials = settings.credentials();
        Map<String, ServerCredentials> byName = settings.sniCredentials();
        ProxyLimits limits = new ProxyLimits(c.limits().maxConnections(), c.limits().idleTimeout(),
                c.limits().connectTimeout(), c.limits().drainTimeout(), c.limits().maxConnectionsPerSource());
        String prefix = listener.name().equals("main") ? "hsmtls: connection " : "hsmtls: connection listener="
                + listener.name() + " ";
        ProxyServer proxy = new ProxyServer(new InetSocketAddress(c.listen().host(), c.listen().port()),
                new InetSocketAddress(c.backend().host(), c.backend().port()), new BcServerHandshaker(settings, keyUses),
                limits, r -> {
                    if (metricsServer != null && r.handshake().isPresent()) {
                        metricsServer.connectionClosed(listener.name(), r.clientToBackend(), r.backendToClient());
                    }
                    // To stderr, not java.util.logging: JUL resets its handlers in its own shutdown
                    // hook, which would lose the lines of connections drained on SIGTERM.
                    connectionLog.append(prefix + r.line());
                });
        proxy.withProxyProtocol(c.proxyProtocol());
        proxy.withEventLoops(ioMode.equals("loop") ? ProxyServer.defaultEventLoops() : 0);
        if (metricsServer != null) {
            proxy.onHandshake(ServeMetrics.handshakes(metricsServer, listener.name()));
        }
        live.add(new Live(listener.name(), c, proxy, keyUses, settings));
        return () -> {
            InetSocketAddress bound;
            try {
                bound = proxy.start();
            } catch (IOException e) {
                throw new OperationFailedException(where + "cannot listen on " + c.listen() + ": " + e.getMessage());
            }
            proxies.add(proxy);
            io.out().println("hsmtls: listening on " + new HostPort(bound.getAddress().getHostAddress(), bound.getPort())
                    + (where.isEmpty() ? "" : " [" + listener.name() + "]")
                    + " (profile " + p.cliName() + ", client-auth " + mode.cliName() + ", key "
                    + credentials.key().uri() + ", certificate " + ChainValidator.describe(credentials.leaf())
                    + (byName.isEmpty() ? "" : ", SNI " + String.join(" ", byName.keySet()))
                    + "), forwarding to " + c.backend());
            io.out().flush();
        };
    }

    /**
     * A listener's TLS side from its configuration: keys found on the (once opened) tokens,
     * certificate and client-CA files read now, each key checked against its certificate and the
     * profile. Used at start and on every reload.
     */
    ServerSettings settings(Io io, ServeConfigLoader.Listener listener, Map<String, Token> tokens) throws IOException {
        ServeConfig c = listener.config();
        String where = listener.name().equals("main") ? "" : "listener " + listener.name() + ": ";
        Profile p = c.profile();
        Optional<ChainValidator> validator = c.clientCa().isEmpty() ? Optional.empty()
                : Optional.of(new ChainValidator(readPem(c.clientCa().get(), where + "client-ca"),
                        ChainValidator.Purpose.CLIENT_AUTH));
        ServerCredentials credentials = credentials(io, where, c.key(), c.cert(), p, tokens);
        Map<String, ServerCredentials> byName = new LinkedHashMap<>();
        for (ServeConfig.Sni sni : c.sni()) {
            byName.put(sni.serverName(), credentials(io, where + "server name " + sni.serverName() + ": ", sni.key(),
                    sni.cert(), p, tokens));
        }
        return ServerSettings.of(credentials, p)
                .withClientAuth(c.clientAuth(), validator)
                .withHandshakeTimeout(c.limits().handshakeTimeout())
                .withSni(byName, c.rejectUnknownSni());
    }

    /** The token key and its chain, checked against each other and the profile; tokens are opened once. */
    private ServerCredentials credentials(Io io, String where, Pkcs11Uri keyUri, Optional<Path> certFile, Profile p,
                                          Map<String, Token> tokens) throws IOException {
        Optional<List<X509Certificate>> fileChain = certFile.isEmpty() ? Optional.empty()
                : Optional.of(readPem(certFile.get(), where.isEmpty() ? "--cert" : where + "cert"));
        TokenOptions options = key.optionsFor(keyUri);
        String tokenKey = keyUri.tokenOnly().withoutQuery() + " " + options.module().map(Path::toString)
                .orElse(keyUri.modulePath().orElse(keyUri.moduleName().orElse("")));
        Token token = tokens.get(tokenKey);
        if (token == null) {
            token = Tokens.openRecovering(io, options);
            tokens.put(tokenKey, token);
        }
        TokenKey tokenKeyObj = token.key(keyUri);
        List<X509Certificate> chain = fileChain.orElseGet(() -> tokenKeyObj.certificate().map(List::of)
                .orElseThrow(() -> new OperationFailedException(where + "key " + tokenKeyObj.uri() + " has no "
                        + "certificate on the token (same CKA_ID): give a certificate chain file, or store one with "
                        + "hsmtls cert import")));
        try {
            return ServerCredentials.checked(tokenKeyObj, chain, p);
        } catch (CredentialsException e) {
            throw new OperationFailedException(where + "cannot serve with " + e.getMessage());
        }
    }

    private List<String> missing() {
        List<String> m = new ArrayList<>();
        if (listen == null) m.add("--listen");
        if (backend == null) m.add("--backend");
        if (key.key == null) m.add("--key");
        return m;
    }

    private <T> T parse(java.util.function.Supplier<T> s) {
        try {
            return s.get();
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
    }

    private static Duration seconds(double s) {
        return Duration.ofMillis((long) (s * 1000));
    }

    static List<X509Certificate> readPem(Path file, String option) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            List<X509Certificate> out = new ArrayList<>();
            for (var c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                out.add((X509Certificate) c);
            }
            if (out.isEmpty()) {
                throw new OperationFailedException(option + " " + file + ": no certificate in the file (expected PEM "
                        + "'-----BEGIN CERTIFICATE-----' blocks)");
            }
            return out;
        } catch (CertificateException e) {
            throw new OperationFailedException(option + " " + file + ": not a PEM certificate file (" + e.getMessage() + ")");
        }
    }

    /** --key for serve: optional at parse time so that --print-profile works alone. */
    public static final class ServeKeyOptions extends TokenAccessOptions {
        @Option(names = "--key", paramLabel = "URI", converter = Pkcs11UriConverter.class,
                description = "the server key, as an RFC 7512 PKCS#11 URI: 'pkcs11:token=LABEL;object=NAME"
                        + "?module-path=…&pin-source=file:…'")
        Pkcs11Uri key;

        @Override
        public Pkcs11Uri uri() {
            return key;
        }
    }
}
