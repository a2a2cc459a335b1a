package io.hsmtls.tls.bc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmtls.testing.JcaTokenKey;
import io.hsmtls.tls.TlsEngine;
import io.hsmtls.tls.TlsVersion;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.bouncycastle.tls.NamedGroup;
import org.bouncycastle.tls.TlsClientProtocol;
import org.bouncycastle.tls.crypto.impl.jcajce.JcaTlsCrypto;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The event loops' engine ({@link TrimmableServerProtocol} behind {@link TlsEngine}), driven in
 * memory by a Bouncy Castle client the way a loop drives it: offers of up to 64 KiB, writes of up
 * to 64 KiB. Records cut anywhere arrive whole; bytes that are not a record fail at once;
 * {@link TlsEngine#trim()} gives back what a burst grew and loses nothing that is queued (a
 * half-received record, decrypted data not yet read, encrypted output not yet sent). The key is a
 * JVM key behind the token interface: what is tested is the buffering after the handshake.
 */
class EngineBuffersTest {
    private static final int CHUNK = 64 * 1024;
    private static BcServerHandshaker handshaker;
    private static JcaTlsCrypto clientCrypto;

    @BeforeAll
    static void server() throws Exception {
        handshaker = new BcServerHandshaker(JcaTokenKey.compatServer("CN=Trim Root"));
        clientCrypto = FastTlsCrypto.create();
    }

    @Test
    void trim_withARecordHalfReceived_andDataQueuedBothWays_losesNothing() throws Exception {
        Pair p = Pair.connect(1);
        byte[] up = random(40_000, 1);
        byte[] down = random(30_000, 2);
        p.client.writeApplicationData(up, 0, up.length);
        byte[] wire = p.clientOutput();
        // The first full record and part of the second reach the server; nothing is read yet.
        int cut = 16_384 + 22 + 1_000;
        p.server.offer(wire, 0, cut);
        p.server.write(down, 0, down.length);
        assertTrue(p.server.plaintextAvailable() > 0, "the first record's plaintext waits to be read");

        p.server.trim();

        p.server.offer(wire, cut, wire.length - cut);
        assertArrayEquals(up, p.serverPlaintext(), "what the client sent, byte for byte, across the trim");
        p.client.offerInput(p.serverOutput());
        assertArrayEquals(down, p.clientPlaintext(), "what the server had queued, byte for byte");

        // Trimmed while empty, the engine takes the next burst as before.
        p.server.trim();
        p.burst(200_000);
    }

    @Test
    void recordsCutAnywhere_arriveWhole() throws Exception {
        Pair p = Pair.connect(2);
        byte[] up = random(100_000, 3);
        for (int off = 0; off < up.length; off += 20_000) {
            p.client.writeApplicationData(up, off, 20_000); // records of 16,384 and 3,616 bytes
        }
        byte[] wire = p.clientOutput();
        int[] pieces = {1, 2, 1, 3, 7, 1_000, 16_389, 4, 40_000, 5, 6};
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        for (int off = 0, i = 0; off < wire.length; i++) {
            int n = Math.min(pieces[i % pieces.length], wire.length - off);
            p.server.offer(wire, off, n);
            off += n;
            got.writeBytes(p.serverPlaintext());
        }
        assertArrayEquals(up, got.toByteArray());
        p.burst(CHUNK);
    }

    @Test
    void notARecord_afterTheHandshake_failsAtOnce_evenWhenCut() throws Exception {
        byte[] http = "GET / HTTP/1.1\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        Pair whole = Pair.connect(3);
        assertThrows(IOException.class, () -> whole.server.offer(http, 0, http.length));
        Pair cut = Pair.connect(4);
        cut.server.offer(http, 0, 3); // not yet a header: kept
        assertThrows(IOException.class, () -> cut.server.offer(http, 3, http.length - 3));
        // A header that claims more than any record may hold is refused before its body arrives.
        Pair big = Pair.connect(5);
        byte[] huge = {23, 3, 3, (byte) 0xff, (byte) 0xff};
        assertThrows(IOException.class, () -> big.server.offer(huge, 0, huge.length));
    }

    @Test
    void trim_afterBursts_leavesAnEngineAsSmallAsAFreshOne() throws Exception {
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        List<TlsEngine> engines = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            Pair p = Pair.connect(10 + i);
            p.burst(4 * CHUNK);
            engines.add(p.server); // the client goes: what stays is the server engine alone
        }
        long untrimmed = usedAfterGc(memory);
        engines.forEach(TlsEngine::trim);
        long trimmed = usedAfterGc(memory);
        engines.clear();
        long none = usedAfterGc(memory);
        long before = (untrimmed - none) / 40 / 1024;
        long after = (trimmed - none) / 40 / 1024;
        // Untrimmed, an engine keeps its grown plaintext and output queues and a record's worth of
        // input (~200 KiB here); Bouncy Castle's own input queue, were 64 KiB offers to reach it,
        // would keep another 128 KiB that no trim can reach. A fresh engine holds ~10 KiB.
        assertTrue(after <= 48, "a trimmed engine holds " + after + " KiB (untrimmed " + before + " KiB), expected <= 48");
        assertTrue(before - after >= 128, "trimming gave back " + (before - after) + " KiB per engine, expected >= 128");
    }

    private static long usedAfterGc(MemoryMXBean memory) {
        System.gc();
        System.gc();
        return memory.getHeapMemoryUsage().getUsed();
    }

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** A server engine and a Bouncy Castle client, their bytes handed over in memory. */
    private record Pair(TlsEngine server, TlsClientProtocol client) {
        static Pair connect(int id) throws IOException {
            TlsEngine server = handshaker.engine(id, new InetSocketAddress("127.0.0.1", 40_000 + id));
            TlsClientProtocol client = new TlsClientProtocol();
            client.connect(new InMemoryHandshake.Client(clientCrypto, TlsVersion.TLS_1_3, NamedGroup.x25519, null));
            Pair p = new Pair(server, client);
            for (int rounds = 0; server.handshaking(); rounds++) {
                assertTrue(rounds < 20, "handshake did not finish in 20 flights");
                byte[] c = p.clientOutput();
                if (c.length > 0) {
                    server.offer(c, 0, c.length);
                }
                byte[] s = p.serverOutput();
                if (s.length > 0) {
                    client.offerInput(s);
                }
            }
            return p;
        }

        /** {@code n} bytes each way in loop-sized pieces, checked at the far end. */
        void burst(int n) throws IOException {
            byte[] up = random(n, n);
            client.writeApplicationData(up, 0, up.length);
            byte[] wire = clientOutput();
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            for (int off = 0; off < wire.length; off += CHUNK) {
                server.offer(wire, off, Math.min(CHUNK, wire.length - off));
                got.writeBytes(serverPlaintext());
            }
            assertArrayEquals(up, got.toByteArray(), "client to server");
            byte[] down = random(n, n + 1);
            for (int off = 0; off < n; off += CHUNK) {
                server.write(down, off, Math.min(CHUNK, n - off));
                client.offerInput(serverOutput());
            }
            assertArrayEquals(down, clientPlaintext(), "server to client");
        }

        byte[] clientOutput() {
            byte[] b = new byte[client.getAvailableOutputBytes()];
            assertEquals(b.length, client.readOutput(b, 0, b.length));
            return b;
        }

        byte[] serverOutput() {
            ByteBuffer b = ByteBuffer.allocate(server.outputAvailable());
            server.readOutput(b, b.remaining());
            return b.array();
        }

        byte[] serverPlaintext() {
            ByteBuffer b = ByteBuffer.allocate(server.plaintextAvailable());
            server.readPlaintext(b, b.remaining());
            return b.array();
        }

        byte[] clientPlaintext() {
            byte[] b = new byte[client.getAvailableInputBytes()];
            client.readInput(b, 0, b.length);
            return Arrays.copyOf(b, b.length);
        }
    }
}
