package io.hsmtls.tls.bc;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmtls.testing.JcaTokenKey;
import io.hsmtls.testing.TestPki;
import io.hsmtls.tls.Profile;
import io.hsmtls.tls.ServerCredentials;
import io.hsmtls.tls.ServerSettings;
import io.hsmtls.tls.TlsVersion;
import io.hsmtls.token.SignatureScheme;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;
import org.bouncycastle.tls.NamedGroup;
import org.bouncycastle.tls.TlsSession;
import org.bouncycastle.tls.crypto.impl.jcajce.JcaTlsCrypto;
import org.bouncycastle.tls.crypto.impl.jcajce.JcaTlsCryptoProvider;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Server CPU per handshake, in memory, stock {@code JcaTlsCrypto} against {@link FastTlsCrypto}:
 * both ends in this thread, the server's share timed with thread CPU time, the key's signature
 * (a JVM key standing in for the token) timed apart so the figures show what the TLS engine
 * costs. Warm-up first (the JIT needs thousands of handshakes), then the variants interleaved,
 * three rounds each; min and median are printed and written to target/perf/handshake-cost.txt.
 *
 * <p>Run: {@code mvn -o test -Dtest=HandshakeCostTest -Dhsmtls.excludedGroups= [-Dperf.warmup=4000
 * -Dperf.count=2000]}
 */
@Tag("slow")
class HandshakeCostTest {
    private static final int WARMUP = Integer.getInteger("perf.warmup", 4000);
    private static final int COUNT = Integer.getInteger("perf.count", 1500);
    private static final int ROUNDS = Integer.getInteger("perf.rounds", 3);

    /** A JVM key whose signatures are timed, so they can be taken out of the server's figure. */
    static final class TimedKey extends JcaTokenKey {
        long cpu;

        TimedKey(KeyPair pair, X509Certificate cert) {
            super(pair, cert);
        }

        @Override
        public byte[] signDigest(SignatureScheme scheme, byte[] digest) {
            long t0 = InMemoryHandshake.cpuNow();
            try {
                return super.signDigest(scheme, digest);
            } finally {
                cpu += InMemoryHandshake.cpuNow() - t0;
            }
        }
    }

    record Scenario(String name, TlsVersion version, int group, boolean resumed) {
    }

    private static final List<Scenario> ALL_SCENARIOS = List.of(
            new Scenario("TLS1.3 x25519", TlsVersion.TLS_1_3, NamedGroup.x25519, false),
            new Scenario("TLS1.3 P-256", TlsVersion.TLS_1_3, NamedGroup.secp256r1, false),
            new Scenario("TLS1.2 ECDHE x25519", TlsVersion.TLS_1_2, NamedGroup.x25519, false),
            new Scenario("TLS1.2 resumed", TlsVersion.TLS_1_2, NamedGroup.x25519, true));
    /** -Dperf.scenarios=a substring of the names to keep, e.g. "1.3" (for a profiler run). */
    private static final List<Scenario> SCENARIOS = ALL_SCENARIOS.stream()
            .filter(s -> s.name().contains(System.getProperty("perf.scenarios", ""))).toList();

    @Test
    void serverCpuPerHandshake_stockVersusFast() throws Exception {
        TestPki.Ca ca = TestPki.ca("CN=Perf Root");
        KeyPair kp = TestPki.ecKeyPair();
        X509Certificate cert = ca.leaf("CN=localhost").publicKey(kp.getPublic()).serverAuth().sign();
        TimedKey key = new TimedKey(kp, cert);
        ServerSettings settings = ServerSettings.of(ServerCredentials.checked(key, List.of(cert), Profile.COMPAT),
                Profile.COMPAT);
        // The client's crypto is the same for every variant; only the server's changes.
        JcaTlsCrypto clientCrypto = FastTlsCrypto.create();
        Map<String, Supplier<JcaTlsCrypto>> variants = new LinkedHashMap<>();
        variants.put("stock", () -> new JcaTlsCryptoProvider().create(new SecureRandom()));
        variants.put("fast-bc-nonces", () -> FastTlsCrypto.create(new SecureRandom(), false));
        variants.put("fast", FastTlsCrypto::create);
        String only = System.getProperty("perf.variants", "");
        if (!only.isBlank()) {
            variants.keySet().retainAll(List.of(only.split(",")));
        }
        Map<String, InMemoryHandshake> loops = new LinkedHashMap<>();
        variants.forEach((name, crypto) -> loops.put(name, new InMemoryHandshake(settings, crypto.get(), clientCrypto)));

        for (var e : loops.entrySet()) {
            for (int i = 0; i < WARMUP; i++) {
                Scenario s = SCENARIOS.get(i % SCENARIOS.size());
                warm(e.getValue(), s);
            }
        }
        Map<String, List<double[]>> results = new LinkedHashMap<>();
        for (int round = 0; round < ROUNDS; round++) {
            for (var e : loops.entrySet()) {
                for (Scenario s : SCENARIOS) {
                    InMemoryHandshake loop = e.getValue();
                    TlsSession session = s.resumed() ? loop.run(s.version(), s.group(), null).clientSession() : null;
                    long cpu0 = loop.serverCpuNanos;
                    long key0 = key.cpu;
                    for (int i = 0; i < COUNT; i++) {
                        var out = loop.run(s.version(), s.group(), session);
                        if (s.resumed() && !out.resumed()) {
                            throw new AssertionError("expected a resumed handshake");
                        }
                    }
                    double total = (loop.serverCpuNanos - cpu0) / 1000.0 / COUNT;
                    double signing = (key.cpu - key0) / 1000.0 / COUNT;
                    results.computeIfAbsent(e.getKey() + " | " + s.name(), k -> new ArrayList<>())
                            .add(new double[] {total, total - signing});
                }
            }
        }
        StringBuilder report = new StringBuilder(String.format(Locale.ROOT,
                "server CPU per handshake, µs (warm-up %d, %d per round, %d rounds, %s)%n"
                        + "%-34s %10s %10s %14s %14s%n", WARMUP, COUNT, ROUNDS, Runtime.version(),
                "variant | scenario", "min", "median", "min excl.sign", "med excl.sign"));
        results.forEach((name, list) -> {
            double[] tot = list.stream().mapToDouble(a -> a[0]).sorted().toArray();
            double[] ex = list.stream().mapToDouble(a -> a[1]).sorted().toArray();
            report.append(String.format(Locale.ROOT, "%-34s %10.1f %10.1f %14.1f %14.1f%n", name, tot[0],
                    tot[tot.length / 2], ex[0], ex[ex.length / 2]));
        });
        System.out.print(report);
        Path out = Path.of("target/perf/handshake-cost.txt");
        Files.createDirectories(out.getParent());
        Files.writeString(out, report);
        assertTrue(results.values().stream().allMatch(l -> l.stream().allMatch(a -> a[0] > 0)));
    }

    /** Outside Maven, e.g. under a profiler: the same measurement with the -Dperf.* properties. */
    public static void main(String[] args) throws Exception {
        new HandshakeCostTest().serverCpuPerHandshake_stockVersusFast();
    }

    private static void warm(InMemoryHandshake loop, Scenario s) throws Exception {
        if (s.resumed()) {
            var first = loop.run(s.version(), s.group(), null);
            loop.run(s.version(), s.group(), first.clientSession());
        } else {
            loop.run(s.version(), s.group(), null);
        }
    }
}
