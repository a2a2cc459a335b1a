package io.hsmtls.jmh;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmtls.testing.SoftHsm;
import io.hsmtls.token.KeyType;
import io.hsmtls.token.Pkcs11Uri;
import io.hsmtls.token.Token;
import io.hsmtls.token.TokenOptions;
import io.hsmtls.token.iaik.IaikTokens;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PSSParameterSpec;
import java.util.Arrays;
import java.util.Collection;
import java.util.Optional;
import org.bouncycastle.tls.CipherSuite;
import org.bouncycastle.tls.ProtocolVersion;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.runner.options.VerboseMode;

/**
 * The benchmarks measure what they claim: records round-trip byte for byte, handshakes negotiate
 * TLS 1.3 and resume TLS 1.2 with either crypto, token signatures verify, and JMH itself finds and
 * runs a benchmark from the generated list (the annotation processor ran). Figures are not
 * checked here: speed is shown by scripts/jmh.sh, never asserted in a unit test.
 */
class JmhBenchmarksTest {
    @RegisterExtension
    static SoftHsm hsm = new SoftHsm();

    @ParameterizedTest(name = "{0} bytes")
    @ValueSource(ints = {16384, 256})
    void recordBenchmark_roundTripsTheBytes(int size) throws Exception {
        RecordBenchmark bench = new RecordBenchmark();
        RecordBenchmark.Connection c = new RecordBenchmark.Connection();
        c.size = size;
        c.connect();
        RecordBenchmark.Bytes counted = new RecordBenchmark.Bytes();

        int wire = bench.encrypt(c, counted);
        // one TLS 1.3 record: 5-byte header, the data, the content type byte, a 16-byte GCM tag
        assertEquals(size + 5 + 1 + 16, wire);
        assertEquals(size / 1e6, counted.mb, 1e-12);
        byte[] ciphertext = Arrays.copyOf(c.wire, wire);
        assertFalse(contains(ciphertext, Arrays.copyOf(c.plain, Math.min(size, 64))), "plaintext on the wire");
        c.server.offerInput(ciphertext);
        byte[] got = new byte[size];
        assertEquals(size, c.server.readInput(got, 0, size));
        assertArrayEquals(c.plain, got);

        RecordBenchmark.Ciphertext batch = new RecordBenchmark.Ciphertext();
        batch.make(c);
        assertEquals(RecordBenchmark.BATCH * (size + 22), batch.length);
        counted.mb = 0;
        assertEquals(RecordBenchmark.BATCH * size, bench.decrypt(batch, counted));
        assertEquals(RecordBenchmark.BATCH * size / 1e6, counted.mb, 1e-9);
        assertArrayEquals(c.plain, Arrays.copyOf(c.got, size), "the last record read back is the plaintext");
        // the next batch decrypts too: the sequence numbers stay in step
        batch.make(c);
        assertEquals(RecordBenchmark.BATCH * size, bench.decrypt(batch, counted));
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"fast", "jdk"})
    void handshakeBenchmark_fullTls13AndResumedTls12(String crypto) throws Exception {
        HandshakeBenchmark bench = new HandshakeBenchmark();
        bench.crypto = crypto;
        bench.prepare();
        var full = bench.tls13Full();
        assertEquals(ProtocolVersion.TLSv13, full.getNegotiatedVersion());
        assertEquals(CipherSuite.TLS_AES_128_GCM_SHA256, full.getCipherSuite());
        assertFalse(full.isResumedSession());
        for (int i = 0; i < 3; i++) {
            var resumed = bench.tls12Resumed();
            assertEquals(ProtocolVersion.TLSv12, resumed.getNegotiatedVersion());
            assertTrue(resumed.isResumedSession());
        }
        assertEquals(crypto.equals("fast") ? "FastTlsCrypto" : "JdkTlsCrypto",
                bench.listener.crypto.getClass().getSimpleName());
    }

    @Test
    void tokenSignBenchmark_signaturesVerifyWithTheTokensPublicKeys() throws Exception {
        try (Token t = IaikTokens.open(TokenOptions.of(Pkcs11Uri.parse(hsm.tokenUri()), null).withReadWrite(true),
                m -> { })) {
            t.generateKeyPair(KeyType.EC_P256, "ec", Optional.empty(), false);
            t.generateKeyPair(KeyType.RSA_2048, "rsa", Optional.empty(), false);
        }
        TokenSignBenchmark bench = new TokenSignBenchmark();
        bench.open(hsm.keyUri("ec"), hsm.keyUri("rsa"));
        try {
            // The benchmark signs whatever digest it holds: give it a known message's, so the JDK
            // can verify the token's signatures over the message.
            byte[] message = "jmh".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            System.arraycopy(MessageDigest.getInstance("SHA-256").digest(message), 0, bench.digest, 0, 32);
            assertTrue(verify("SHA256withECDSA", null, bench.ec.info().publicKey(), message,
                    bench.ecdsaP256_1caller()));
            assertTrue(verify("SHA256withECDSA", null, bench.ec.info().publicKey(), message,
                    bench.ecdsaP256_8callers()));
            PSSParameterSpec pss = new PSSParameterSpec("SHA-256", "MGF1", MGF1ParameterSpec.SHA256, 32, 1);
            assertTrue(verify("RSASSA-PSS", pss, bench.rsa.info().publicKey(), message, bench.rsa2048Pss_1caller()));
            assertTrue(verify("RSASSA-PSS", pss, bench.rsa.info().publicKey(), message, bench.rsa2048Pss_8callers()));
            assertEquals(0, bench.token.stats().failures());
        } finally {
            bench.close();
        }
    }

    @Test
    void jmhRunner_runsTheGeneratedRecordBenchmark() throws Exception {
        Collection<RunResult> results = new Runner(new OptionsBuilder()
                .include(RecordBenchmark.class.getName() + ".encrypt$")
                .param("size", "256")
                .forks(0)
                .warmupIterations(0)
                .measurementIterations(1)
                .measurementTime(TimeValue.milliseconds(300))
                .addProfiler(CpuProfiler.class)
                .shouldFailOnError(true)
                .verbosity(VerboseMode.SILENT)
                .build()).run();
        assertEquals(1, results.size());
        RunResult r = results.iterator().next();
        assertTrue(r.getPrimaryResult().getScore() > 0, "records/s");
        Result<?> mb = r.getSecondaryResults().get("mb");
        assertTrue(mb != null && mb.getScore() > 0, "MB/s row: " + r.getSecondaryResults().keySet());
        // the MB/s row is the record rate times the record size
        assertEquals(r.getPrimaryResult().getScore() * 256 / 1e6, mb.getScore(), mb.getScore() * 0.01);
        // the CPU profiler's row: records per CPU-second of this JVM
        Result<?> cpu = r.getSecondaryResults().get("cpu");
        assertTrue(cpu != null && cpu.getScore() > 0, "CPU row: " + r.getSecondaryResults().keySet());
        assertEquals("ops/cpu-s", cpu.getScoreUnit());
        Result<?> cpuMb = r.getSecondaryResults().get("cpu.mb");
        assertEquals(cpu.getScore() * 256 / 1e6, cpuMb.getScore(), cpuMb.getScore() * 0.01);
    }

    private static boolean verify(String alg, PSSParameterSpec spec, PublicKey key, byte[] message, byte[] sig)
            throws Exception {
        Signature s = Signature.getInstance(alg);
        if (spec != null) {
            s.setParameter(spec);
        }
        s.initVerify(key);
        s.update(message);
        return s.verify(sig);
    }

    private static boolean contains(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }
}
