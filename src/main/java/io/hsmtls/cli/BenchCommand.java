package io.hsmtls.cli;

import io.hsmtls.bench.ClientConfig;
import io.hsmtls.bench.EchoBackend;
import io.hsmtls.bench.LoadGenerator;
import io.hsmtls.bench.LoadResult;
import io.hsmtls.bench.LoadSpec;
import io.hsmtls.bench.Mode;
import io.hsmtls.bench.ProcStat;
import io.hsmtls.bench.ResultTable;
import io.hsmtls.bench.TokenRate;
import io.hsmtls.token.PinSource;
import io.hsmtls.token.Pkcs11Uri;
import io.hsmtls.token.SignatureScheme;
import io.hsmtls.token.Token;
import io.hsmtls.token.TokenKey;
import io.hsmtls.token.TokenOptions;
import io.hsmtls.token.iaik.IaikTokens;
import java.security.PublicKey;
import java.security.SecureRandom;
import javax.crypto.Cipher;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code hsmtls bench …}: the load generator, the echo backend and the result table of scripts/bench.sh. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Benchmark harness: load generator, echo backend, result table.",
        subcommands = {BenchCommand.Load.class, BenchCommand.Backend.class, BenchCommand.Table.class,
                BenchCommand.TokenRateCmd.class})
public final class BenchCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** Runs the bench commands without the rest of the CLI (scripts/bench.sh uses this). */
    public static void main(String[] args) {
        System.exit(new CommandLine(new BenchCommand()).execute(args));
    }

    static InetSocketAddress hostPort(String s) {
        int colon = s.lastIndexOf(':');
        if (colon <= 0) {
            throw new CommandLine.TypeConversionException("'" + s + "': expected HOST:PORT, e.g. 127.0.0.1:8443");
        }
        return new InetSocketAddress(s.substring(0, colon), Integer.parseInt(s.substring(colon + 1)));
    }

    static Duration duration(String s) {
        String v = s.trim().toLowerCase(java.util.Locale.ROOT);
        try {
            if (v.endsWith("ms")) {
                return Duration.ofMillis(Long.parseLong(v.substring(0, v.length() - 2)));
            }
            if (v.endsWith("s")) {
                return Duration.ofMillis((long) (Double.parseDouble(v.substring(0, v.length() - 1)) * 1000));
            }
            if (v.endsWith("m")) {
                return Duration.ofSeconds(Long.parseLong(v.substring(0, v.length() - 1)) * 60);
            }
        } catch (NumberFormatException e) {
            // fall through to the message below
        }
        throw new CommandLine.TypeConversionException("duration '" + s + "': use e.g. 500ms, 10s or 2m");
    }

    @Command(name = "load", mixinStandardHelpOptions = true,
            description = "Drive one TLS server with the load generator and print a BENCH line.")
    static final class Load implements Callable<Integer> {
        @Option(names = "--connect", required = true, description = "HOST:PORT of the server under test")
        String connect;
        @Option(names = "--mode", required = true, description = "handshake, resume, bulk, latency or idle")
        String mode;
        @Option(names = "--tls", defaultValue = "1.3", description = "1.3 or 1.2 (default ${DEFAULT-VALUE})")
        String tls;
        @Option(names = "--suite", description = "one JSSE cipher suite name, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
        String suite;
        @Option(names = "--group", description = "one key exchange group, e.g. x25519 or secp256r1")
        String group;
        @Option(names = "--trust", required = true, split = ",", description = "PEM certificate(s) to trust")
        List<Path> trust;
        @Option(names = "--sni", description = "server name to send")
        String sni;
        @Option(names = "--concurrency", defaultValue = "16") int concurrency;
        @Option(names = "--duration", defaultValue = "10s") String duration;
        @Option(names = "--count", defaultValue = "1000000") long count;
        @Option(names = "--warmup", defaultValue = "3000", description = "uncounted handshakes first (default ${DEFAULT-VALUE})")
        long warmup;
        @Option(names = "--warmup-duration", defaultValue = "60s") String warmupDuration;
        @Option(names = "--bulk-mb", defaultValue = "64", description = "bulk: MB sent and echoed per connection")
        double bulkMb;
        @Option(names = "--rate", defaultValue = "200", description = "latency: handshakes started per second")
        double rate;
        @Option(names = "--connections", defaultValue = "1000", description = "idle: connections to hold")
        int connections;
        @Option(names = "--hold", defaultValue = "5s", description = "idle: hold time before reading RSS")
        String hold;
        @Option(names = "--echo-connections", defaultValue = "0",
                description = "handshake: established connections echoing small messages during the run (default none)")
        int echoConnections;
        @Option(names = "--echo-rate", defaultValue = "50",
                description = "messages per second on each echo connection (default ${DEFAULT-VALUE})")
        double echoRate;
        @Option(names = "--round-trip-bytes", defaultValue = "0",
                description = "handshake: bytes each connection sends after its handshake and reads back through the"
                        + " server's echo backend before it closes (default ${DEFAULT-VALUE}: close at once)")
        int roundTripBytes;
        @Option(names = "--server-pid", description = "server root process for CPU time and RSS")
        Long serverPid;
        @Option(names = "--timeout", defaultValue = "10s") String timeout;
        @Option(names = "--label", defaultValue = "server", description = "server name in the BENCH line")
        String label;
        @Option(names = "--scenario", defaultValue = "run", description = "scenario name in the BENCH line")
        String scenario;

        /** The run the flags describe (the record checks the bounds and combinations). */
        LoadSpec spec() {
            ClientConfig client = new ClientConfig(hostPort(connect), ClientConfig.normaliseVersion(tls),
                    Optional.ofNullable(suite), Optional.ofNullable(group), trust, Optional.ofNullable(sni));
            Mode m = Mode.valueOf(mode.toUpperCase(java.util.Locale.ROOT));
            return new LoadSpec(m, client, concurrency, duration(duration), count, warmup,
                    duration(warmupDuration), (long) (bulkMb * 1e6), rate, connections, duration(hold),
                    serverPid == null ? OptionalLong.empty() : OptionalLong.of(serverPid), duration(timeout))
                    .withEcho(echoConnections, echoRate).withRoundTrip(roundTripBytes);
        }

        @Override
        public Integer call() throws Exception {
            LoadSpec spec = spec();
            try {
                LoadResult r = new LoadGenerator(spec, ProcStat.system(), System.err).run();
                System.out.println(r.toLine(label, scenario));
                return 0;
            } catch (IllegalStateException e) {
                // The server could not do this scenario at all (e.g. nginx and RSA key exchange with a
                // token key): a row that says so, not a stack trace.
                System.err.println("bench load " + label + " " + scenario + ": " + e.getMessage());
                System.out.println(new LoadResult(java.util.Map.of("failed", 1.0)).toLine(label, scenario));
                return 3;
            }
        }
    }

    @Command(name = "backend", mixinStandardHelpOptions = true,
            description = "Plain-TCP echo backend for the proxies under test; prints 'listening HOST:PORT'.")
    static final class Backend implements Callable<Integer> {
        @Option(names = "--listen", defaultValue = "127.0.0.1:0") String listen;
        @Option(names = "--max-connections", defaultValue = "30000") int maxConnections;

        @Override
        public Integer call() throws Exception {
            try (EchoBackend b = EchoBackend.start(hostPort(listen), maxConnections)) {
                System.out.println("listening " + b.address().getHostString() + ":" + b.address().getPort());
                System.out.flush();
                b.await();
            }
            return 0;
        }
    }

    @Command(name = "table", mixinStandardHelpOptions = true,
            description = "Read BENCH lines (files or stdin) and print min/median/max per figure per server.")
    static final class Table implements Callable<Integer> {
        @CommandLine.Parameters(description = "result files; stdin when none") List<Path> files = new ArrayList<>();
        @Option(names = "--share", split = ",",
                description = "SCENARIO=TOKEN_SCENARIO: add handshakes per CPU-s as a share of the token's rate")
        List<String> shares = new ArrayList<>();
        @Option(names = "--ratio", split = ",",
                description = "SCENARIO=BASE_SCENARIO: add SCENARIO's handshakes/s (and per CPU-s) over BASE's, per server")
        List<String> ratios = new ArrayList<>();

        @Override
        public Integer call() throws IOException {
            ResultTable t = new ResultTable();
            if (files.isEmpty()) {
                BufferedReader r = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
                r.lines().forEach(t::add);
            } else {
                for (Path f : files) {
                    Files.readAllLines(f).forEach(t::add);
                }
            }
            for (String s : shares) {
                String[] p = s.split("=", 2);
                if (p.length != 2) {
                    throw new CommandLine.ParameterException(new CommandLine(this),
                            "--share '" + s + "': expected SCENARIO=TOKEN_SCENARIO");
                }
                t.addShareOfToken(p[0], p[1]);
            }
            for (String s : ratios) {
                String[] p = s.split("=", 2);
                if (p.length != 2) {
                    throw new CommandLine.ParameterException(new CommandLine(this),
                            "--ratio '" + s + "': expected SCENARIO=BASE_SCENARIO, e.g. slow-token=hs13-ec-echo");
                }
                t.addRatio(p[0], p[1]);
            }
            System.out.print(t.render());
            t.problems().forEach(p -> System.err.println("table: " + p));
            return 0;
        }
    }

    @Command(name = "token-rate", mixinStandardHelpOptions = true,
            description = "Raw token rate: one private-key operation in a loop through the token layer; prints a BENCH line.")
    static final class TokenRateCmd implements Callable<Integer> {
        @Option(names = "--key", required = true, description = "the key: 'pkcs11:token=…;object=…?module-path=…&pin-source=file:…'")
        String key;
        @Option(names = "--pin-file", description = "user PIN file (else the URI's pin-source)")
        Path pinFile;
        @Option(names = "--op", defaultValue = "ecdsa_secp256r1_sha256",
                description = "a signature scheme (ecdsa_secp256r1_sha256, rsa_pss_rsae_sha256, rsa_pkcs1_sha256, …) "
                        + "or rsa-decrypt (default ${DEFAULT-VALUE})")
        String op;
        @Option(names = "--threads", defaultValue = "2") int threads;
        @Option(names = "--warmup", defaultValue = "200") long warmup;
        @Option(names = "--count", defaultValue = "1000000") long count;
        @Option(names = "--duration", defaultValue = "5s") String duration;
        @Option(names = "--label", defaultValue = "token") String label;
        @Option(names = "--scenario", defaultValue = "token-rate") String scenario;

        @Override
        public Integer call() throws Exception {
            Pkcs11Uri uri = Pkcs11Uri.parse(key);
            PinSource pin = pinFile != null ? new PinSource.FromFile(pinFile) : PinSource.of(uri).orElseThrow(() ->
                    new CommandLine.ParameterException(new CommandLine(this),
                            "no PIN source: add --pin-file FILE or pin-source=file:… to the key URI"));
            TokenOptions options = TokenOptions.of(uri, pin).withMaxSessions(Math.max(threads, 1));
            try (Token token = IaikTokens.open(options)) {
                TokenKey k = token.key(uri);
                TokenRate.Operation operation;
                int inputLength;
                if (op.equals("rsa-decrypt")) {
                    PublicKey pub = k.certificate().orElseThrow(() -> new IllegalStateException("key " + k.uri()
                            + " has no certificate on the token: rsa-decrypt needs its public key")).getPublicKey();
                    // A TLS 1.2 RSA key exchange: the server decrypts a 48-byte premaster under PKCS#1 v1.5.
                    byte[] premaster = new byte[48];
                    new SecureRandom().nextBytes(premaster);
                    Cipher c = Cipher.getInstance("RSA/ECB/PKCS1Padding");
                    c.init(Cipher.ENCRYPT_MODE, pub);
                    byte[] ciphertext = c.doFinal(premaster);
                    operation = in -> k.decryptRsa(ciphertext).bytes();
                    inputLength = 0;
                } else {
                    SignatureScheme scheme = SignatureScheme.valueOf(op.toUpperCase(java.util.Locale.ROOT));
                    operation = digest -> k.signDigest(scheme, digest);
                    inputLength = scheme.hashLength();
                }
                LoadResult r = TokenRate.run(operation, inputLength, threads, warmup, count, duration(duration),
                        ProcStat.system(), System.err);
                System.out.println(r.toLine(label, scenario));
                return 0;
            }
        }
    }
}
