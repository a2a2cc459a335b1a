package io.hsmtls.jmh;

import io.hsmtls.testing.JcaTokenKey;
import io.hsmtls.tls.ServerSettings;
import io.hsmtls.tls.bc.FastTlsCrypto;
import java.io.IOException;
import java.util.concurrent.TimeUnit;
import org.bouncycastle.tls.CipherSuite;
import org.bouncycastle.tls.NamedGroup;
import org.bouncycastle.tls.TlsClientProtocol;
import org.bouncycastle.tls.TlsServerProtocol;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The record path of an established TLS 1.3 connection (TLS_AES_128_GCM_SHA256) through Bouncy
 * Castle's protocol with our crypto ({@code FastTlsCrypto}, records on the JDK's AES-GCM), in
 * memory: {@code encrypt} is the client's application data to wire bytes, {@code decrypt} is the
 * server's wire bytes to application data (with the copy out, as the proxy's pump reads them).
 * One operation is one record of {@code size} bytes; the {@code mb} row is MB/s of plaintext
 * (10^6 bytes). For scale, {@code openssl speed -evp aes-128-gcm -bytes 16384} on one core.
 *
 * <p>A record can be decrypted once only (its sequence number is in the nonce), so the
 * decrypt benchmark is fed batches of fresh records made before each call and not timed.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 2, jvmArgsAppend = {"-Xmx1g", "--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 4, time = 2)
@Measurement(iterations = 5, time = 2)
public class RecordBenchmark {
    /** Records per decrypt call: enough that the untimed set-up around each call is noise. */
    static final int BATCH = 64;

    /** One connected client/server pair, handshake done. */
    @State(Scope.Thread)
    public static class Connection {
        /** Plaintext bytes per record: a full 16 KiB record and a small one (an HTTP header, an RPC). */
        @Param({"16384", "256"})
        public int size;

        TlsClientProtocol client;
        TlsServerProtocol server;
        byte[] plain;
        byte[] wire;
        final byte[] got = new byte[16 * 1024];

        @Setup
        public void connect() throws IOException {
            ServerSettings settings = JcaTokenKey.compatServer("CN=JMH Root");
            byte[] buf = new byte[32 * 1024];
            InMemoryTls.Pair connected = InMemoryTls.handshake(
                    new InMemoryTls.Listener(FastTlsCrypto.create(), settings).newServer(),
                    InMemoryTls.LoadClient.tls13Aes128(FastTlsCrypto.create(), NamedGroup.x25519), buf);
            client = connected.client();
            server = connected.server();
            int suite = connected.peer().parameters().getCipherSuite();
            if (suite != CipherSuite.TLS_AES_128_GCM_SHA256) {
                throw new IllegalStateException("negotiated " + CipherSuite.class.getSimpleName() + " 0x"
                        + Integer.toHexString(suite) + ", not TLS_AES_128_GCM_SHA256");
            }
            // Nothing should be left queued after the handshake; drop it if there is, so the first
            // timed record is a record.
            client.readOutput(buf, 0, client.getAvailableOutputBytes());
            server.readOutput(buf, 0, server.getAvailableOutputBytes());
            plain = new byte[size];
            for (int i = 0; i < size; i++) {
                plain[i] = (byte) (i * 31 + 7);
            }
            // header 5 + content type 1 + tag 16, with room to spare
            wire = new byte[BATCH * (size + 64)];
        }

        /** The client encrypts one record; returns its length on the wire. */
        int encryptOne(byte[] into, int offset) throws IOException {
            client.writeApplicationData(plain, 0, size);
            return client.readOutput(into, offset, into.length - offset);
        }
    }

    /**
     * {@link RecordBenchmark#BATCH} records the client made for the server's next decrypt call.
     * The decrypt benchmark reaches the connection through here: JMH gives a benchmark method's
     * own {@code Connection} parameter and a helper's {@code Connection} parameter two different
     * instances, and a record only decrypts on the connection that made it.
     */
    @State(Scope.Thread)
    public static class Ciphertext {
        Connection connection;
        byte[] bytes;
        int length;

        @Setup(Level.Invocation)
        public void make(Connection c) throws IOException {
            connection = c;
            if (bytes == null) {
                bytes = new byte[c.wire.length];
            }
            length = 0;
            for (int i = 0; i < BATCH; i++) {
                length += c.encryptOne(bytes, length);
            }
        }
    }

    /** Plaintext MB (10^6 bytes) moved, reported as MB/s next to records/s (JMH zeroes it per iteration). */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Bytes {
        public double mb;
    }

    @Benchmark
    public int encrypt(Connection c, Bytes b) throws IOException {
        int n = c.encryptOne(c.wire, 0);
        b.mb += c.size / 1e6;
        return n;
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public int decrypt(Ciphertext in, Bytes b) throws IOException {
        Connection c = in.connection;
        c.server.offerInput(in.bytes, 0, in.length);
        int total = 0;
        for (int n; (n = c.server.readInput(c.got, 0, c.got.length)) > 0; ) {
            total += n;
        }
        if (total != BATCH * c.size) {
            throw new IllegalStateException("decrypted " + total + " bytes from " + BATCH + " records of " + c.size);
        }
        b.mb += total / 1e6;
        return total;
    }
}
