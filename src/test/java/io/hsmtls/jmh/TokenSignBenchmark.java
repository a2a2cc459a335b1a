package io.hsmtls.jmh;

import io.hsmtls.token.PinSource;
import io.hsmtls.token.Pkcs11Uri;
import io.hsmtls.token.SignatureScheme;
import io.hsmtls.token.Token;
import io.hsmtls.token.TokenKey;
import io.hsmtls.token.TokenOptions;
import io.hsmtls.token.iaik.IaikTokens;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Signatures through the token layer exactly as a handshake asks for them: {@link TokenKey#signDigest}
 * on a key found through {@link IaikTokens}, so each call goes through the lane of platform
 * threads, a pooled session and SoftHSM's {@code C_SignInit}/{@code C_Sign}. One caller shows the
 * latency of one signature and what the hand-off to the lane costs; {@value #CALLERS} callers
 * show what the lane delivers when handshakes queue for it (SoftHSM's own CPU is the limit).
 *
 * <p>The keys come from {@code -Dhsmtls.jmh.ecKey=URI} and {@code -Dhsmtls.jmh.rsaKey=URI}
 * ({@code pkcs11:token=…;object=…?module-path=…&pin-source=file:…}, both on one token), which
 * scripts/jmh.sh sets after making a SoftHSM token; {@code SOFTHSM2_CONF} must point at it.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 2, jvmArgsAppend = {"-Xmx1g", "--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class TokenSignBenchmark {
    public static final String EC_KEY = "hsmtls.jmh.ecKey";
    public static final String RSA_KEY = "hsmtls.jmh.rsaKey";
    static final int CALLERS = 8;

    Token token;
    TokenKey ec;
    TokenKey rsa;
    /** A SHA-256 value: the token signs what it is given, so its content does not matter. */
    final byte[] digest = new byte[32];

    @Setup
    public void open() {
        open(property(EC_KEY), property(RSA_KEY));
    }

    /** Opens the token the EC key's URI names (its PIN from the URI's pin-source) and finds both keys on it. */
    void open(String ecUri, String rsaUri) {
        Pkcs11Uri ecRef = Pkcs11Uri.parse(ecUri);
        Pkcs11Uri rsaRef = Pkcs11Uri.parse(rsaUri);
        PinSource pin = PinSource.of(ecRef).orElseThrow(() -> new IllegalArgumentException(
                "key URI " + ecRef + " has no pin-source: add ?pin-source=file:/path/to/pin"));
        token = IaikTokens.open(TokenOptions.of(ecRef, pin));
        ec = token.key(ecRef);
        rsa = token.key(rsaRef);
        for (int i = 0; i < digest.length; i++) {
            digest[i] = (byte) i;
        }
    }

    @TearDown
    public void close() {
        if (token != null) {
            token.close();
        }
    }

    private static String property(String name) {
        String v = System.getProperty(name);
        if (v == null || v.isBlank()) {
            throw new IllegalStateException("-D" + name + " is not set: run the token benchmarks through"
                    + " scripts/jmh.sh, which makes a SoftHSM token and passes the key URIs");
        }
        return v;
    }

    @Benchmark
    @Threads(1)
    public byte[] ecdsaP256_1caller() {
        return ec.signDigest(SignatureScheme.ECDSA_SECP256R1_SHA256, digest);
    }

    @Benchmark
    @Threads(CALLERS)
    public byte[] ecdsaP256_8callers() {
        return ec.signDigest(SignatureScheme.ECDSA_SECP256R1_SHA256, digest);
    }

    @Benchmark
    @Threads(1)
    public byte[] rsa2048Pss_1caller() {
        return rsa.signDigest(SignatureScheme.RSA_PSS_RSAE_SHA256, digest);
    }

    @Benchmark
    @Threads(CALLERS)
    public byte[] rsa2048Pss_8callers() {
        return rsa.signDigest(SignatureScheme.RSA_PSS_RSAE_SHA256, digest);
    }
}
