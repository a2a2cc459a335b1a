package io.hsmtls.cli;

import io.hsmtls.config.HostPort;
import io.hsmtls.config.ProxyLimitsConfig;
import io.hsmtls.config.ServeConfig;
import io.hsmtls.proxy.ProxyLimits;
import io.hsmtls.proxy.ProxyServer;
import io.hsmtls.tls.ChainValidator;
import io.hsmtls.tls.ClientAuthMode;
import io.hsmtls.tls.CredentialsException;
import io.hsmtls.tls.Profile;
import io.hsmtls.tls.ServerCredentials;
import io.hsmtls.tls.ServerSettings;
import io.hsmtls.tls.bc.BcServerHandshaker;
import io.hsmtls.token.Pkcs11Uri;
import io.hsmtls.token.Token;
import io.hsmtls.token.TokenKey;
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
import java.util.List;
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

    @Option(names = "--handshake-timeout", defaultValue = "10", paramLabel = "SECONDS",
            description = "a handshake must finish within this (default: ${DEFAULT-VALUE})")
    double handshakeTimeout;

    @Option(names = "--idle-timeout", defaultValue = "300", paramLabel = "SECONDS",
            description = "close a connection with no data either way for this long (default: ${DEFAULT-VALUE})")
    double idleTimeout;

    @Option(names = "--drain-timeout", defaultValue = "30", paramLabel = "SECONDS",
            description = "on SIGTERM, let open connections finish for this long (default: ${DEFAULT-VALUE})")
    double drainTimeout;

    @Option(names = "--proxy-protocol", description = "send a PROXY protocol v2 header to the backend with the "
            + "client address, SNI, TLS version/cipher and client certificate subject and SHA-256 fingerprint")
    boolean proxyProtocol;

    /** Set by tests to stop a running serve; a signal handler does the same in production. */
    static volatile CountDownLatch stopForTests;

    @Override
    public Integer call() throws Exception {
        Io io = Io.of(spec);
        Profile p = parse(() -> Profile.fromCliName(profile));
        if (printProfile != null) {
            Profile shown = printProfile.isEmpty() ? p : parse(() -> Profile.fromCliName(printProfile));
            io.out().print(shown.describe());
            io.out().flush();
            return Main.OK;
        }
        if (listen == null || backend == null || key.key == null) {
            throw new ParameterException(spec.commandLine(), "serve needs --listen HOST:PORT, --backend HOST:PORT and "
                    + "--key 'pkcs11:…' (missing: " + String.join(", ", missing()) + ")");
        }
        ClientAuthMode mode = parse(() -> ClientAuthMode.fromCliName(clientAuth));
        ServeConfig config = parse(() -> new ServeConfig(HostPort.parse(listen), HostPort.parse(backend), key.key,
                Optional.ofNullable(cert), Optional.ofNullable(clientCa), mode, p,
                new ProxyLimitsConfig(maxConnections, seconds(handshakeTimeout), seconds(idleTimeout),
                        Duration.ofSeconds(5), seconds(drainTimeout)), proxyProtocol));
        return serve(io, config);
    }

    /** Runs one listener until SIGTERM (or {@link #stopForTests}); the YAML config can call this too. */
    private int serve(Io io, ServeConfig config) throws Exception {
        Profile p = config.profile();
        ClientAuthMode mode = config.clientAuth();
        HostPort backendAt = config.backend();
        HostPort listenAt = config.listen();
        Optional<List<X509Certificate>> fileChain = config.cert().isEmpty() ? Optional.empty()
                : Optional.of(readPem(config.cert().get(), "--cert"));
        Optional<ChainValidator> validator = config.clientCa().isEmpty() ? Optional.empty()
                : Optional.of(new ChainValidator(readPem(config.clientCa().get(), "--client-ca"),
                        ChainValidator.Purpose.CLIENT_AUTH));

        try (Token token = Tokens.open(io, key.tokenOptions(false))) {
            TokenKey tokenKey = token.key(config.key());
            List<X509Certificate> chain = fileChain.orElseGet(() -> tokenKey.certificate().map(List::of)
                    .orElseThrow(() -> new OperationFailedException("key " + tokenKey.uri() + " has no certificate "
                            + "on the token (same CKA_ID): give --cert chain.pem, or store one with hsmtls cert import")));
            ServerCredentials credentials;
            try {
                credentials = ServerCredentials.checked(tokenKey, chain, p);
            } catch (CredentialsException e) {
                throw new OperationFailedException("cannot serve with " + e.getMessage());
            }
            ServerSettings settings = ServerSettings.of(credentials, p)
                    .withClientAuth(mode, validator)
                    .withHandshakeTimeout(config.limits().handshakeTimeout());
            ProxyLimits limits = new ProxyLimits(config.limits().maxConnections(), config.limits().idleTimeout(),
                    config.limits().connectTimeout(), config.limits().drainTimeout());
            ProxyServer proxy = new ProxyServer(new InetSocketAddress(listenAt.host(), listenAt.port()),
                    new InetSocketAddress(backendAt.host(), backendAt.port()), new BcServerHandshaker(settings),
                    limits, r -> {
                        // Straight to stderr, not java.util.logging: JUL resets its handlers in its own
                        // shutdown hook, which would lose the lines of connections drained on SIGTERM.
                        synchronized (io.err()) {
                            io.err().println("hsmtls: connection " + r.line());
                            io.err().flush();
                        }
                    });
            proxy.withProxyProtocol(config.proxyProtocol());
            InetSocketAddress bound = proxy.start();
            CountDownLatch stop = new CountDownLatch(1);
            CountDownLatch drained = new CountDownLatch(1);
            stopForTests = stop;
            // SIGTERM runs this hook: stop accepting, drain to the deadline; the token stays open
            // until the drain ends (the main thread waits for it before closing the token).
            Thread hook = new Thread(() -> {
                stop.countDown();
                try {
                    int cut = proxy.shutdown(limits.drainTimeout());
                    io.err().println("hsmtls: stopped on signal" + (cut > 0 ? " (" + cut
                            + " connections cut at the drain deadline)" : ""));
                    io.err().flush();
                } finally {
                    drained.countDown();
                }
            }, "hsmtls-shutdown");
            Runtime.getRuntime().addShutdownHook(hook);
            io.out().println("hsmtls: listening on " + new HostPort(bound.getAddress().getHostAddress(), bound.getPort())
                    + " (profile " + p.cliName() + ", client-auth " + mode.cliName() + ", key " + tokenKey.uri()
                    + ", certificate " + ChainValidator.describe(credentials.leaf()) + "), forwarding to " + backendAt);
            io.out().flush();
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
                int cut = proxy.shutdown(limits.drainTimeout());
                io.err().println("hsmtls: stopped" + (cut > 0 ? " (" + cut + " connections cut at the drain deadline)" : ""));
            }
            return Main.OK;
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
