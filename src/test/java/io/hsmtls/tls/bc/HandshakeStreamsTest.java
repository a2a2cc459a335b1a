package io.hsmtls.tls.bc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The handshake's socket streams: a flight leaves in one write when we turn to read, then pass-through. */
class HandshakeStreamsTest {
    @Test
    void flightIsHeldUntilWeRead_thenPassThrough_andHalfClose() throws Exception {
        try (ServerSocket ss = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
             Socket peer = new Socket(InetAddress.getLoopbackAddress(), ss.getLocalPort());
             Socket ours = ss.accept()) {
            HandshakeStreams s = new HandshakeStreams(ours);
            InputStream fromUs = peer.getInputStream();
            s.out.write(bytes("one"));
            s.out.flush();
            s.out.write(bytes("two"));
            s.out.flush();
            Thread.sleep(100);
            assertEquals(0, fromUs.available(), "nothing sent while the flight is being written");

            peer.getOutputStream().write(bytes("xyz"));
            byte[] one = new byte[1];
            assertEquals(1, s.in.read(one, 0, 1)); // turning to read sends the flight first
            assertEquals('x', one[0]);
            assertArrayEquals(bytes("onetwo"), fromUs.readNBytes(6));

            s.handshakeDone();
            byte[] rest = new byte[2];
            assertEquals(2, s.in.read(rest, 0, 2), "bytes read ahead during the handshake are not lost");
            assertArrayEquals(bytes("yz"), rest);

            s.out.write(bytes("app"));
            s.out.flush();
            assertArrayEquals(bytes("app"), fromUs.readNBytes(3), "after the handshake writes go straight out");

            s.out.close();
            assertEquals(-1, fromUs.read(), "closing our output half-closes");
            peer.getOutputStream().write(bytes("late"));
            assertArrayEquals(bytes("late"), s.in.readNBytes(4), "our read side stays open");
        }
    }

    @Test
    void pendingAlertIsSentOnFailure() throws Exception {
        try (ServerSocket ss = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
             Socket peer = new Socket(InetAddress.getLoopbackAddress(), ss.getLocalPort());
             Socket ours = ss.accept()) {
            HandshakeStreams s = new HandshakeStreams(ours);
            s.out.write(new byte[] {21, 3, 3, 0, 2, 2, 40}); // a fatal handshake_failure alert
            s.sendPendingQuietly();
            assertArrayEquals(new byte[] {21, 3, 3, 0, 2, 2, 40}, peer.getInputStream().readNBytes(7));
        }
    }

    @Test
    void afterTheHandshake_streamingReadsTakeWhatTheSocketHas_andAWaitingReadHoldsNoBuffer() throws Exception {
        try (ServerSocket ss = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
             Socket peer = new Socket(InetAddress.getLoopbackAddress(), ss.getLocalPort());
             Socket ours = ss.accept()) {
            HandshakeStreams s = new HandshakeStreams(ours);
            s.handshakeDone();
            // Two records as they would stream: a 300-byte application-data record, then a 20-byte one.
            byte[] big = record(23, 300);
            byte[] small = record(23, 20);
            peer.getOutputStream().write(concat(big, small));
            awaitAvailable(s, big.length + small.length);

            byte[] header = new byte[5];
            assertEquals(5, s.in.read(header, 0, 5));
            assertArrayEquals(java.util.Arrays.copyOf(big, 5), header);
            assertEquals(big.length + small.length - 5, s.buffered(), "one read took both records");
            assertEquals(false, s.dataRecordBuffered(), "the rest of a record is not a whole record");
            assertArrayEquals(java.util.Arrays.copyOfRange(big, 5, big.length), s.in.readNBytes(big.length - 5));
            assertEquals(false, s.dataRecordBuffered(), "a record under 256 bytes may be a KeyUpdate: not gathered");
            assertArrayEquals(small, s.in.readNBytes(small.length));
            assertEquals(0, s.buffered(), "drained: the buffer went back to the pool");

            peer.getOutputStream().write(concat(record(23, 400), record(22, 400)));
            awaitAvailable(s, 2 * 405);
            assertEquals(1, s.in.read(new byte[1], 0, 1));
            s.in.readNBytes(404);
            assertEquals(false, s.dataRecordBuffered(), "only application data is gathered");

            // Nothing in the socket: the read waits in the caller's array, and the data arrives there.
            s.in.readNBytes(405);
            Thread writer = Thread.ofVirtual().start(() -> {
                try {
                    Thread.sleep(100);
                    peer.getOutputStream().write(bytes("late"));
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            byte[] late = new byte[16];
            int n = s.in.read(late, 0, late.length);
            writer.join();
            assertEquals(0, s.buffered());
            assertArrayEquals(bytes("late"), java.util.Arrays.copyOf(late, n));
        }
    }

    @Test
    void aWholeLargeDataRecordInTheBufferMayBeGathered() throws Exception {
        try (ServerSocket ss = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
             Socket peer = new Socket(InetAddress.getLoopbackAddress(), ss.getLocalPort());
             Socket ours = ss.accept()) {
            HandshakeStreams s = new HandshakeStreams(ours);
            s.handshakeDone();
            byte[] first = record(23, 1000);
            byte[] second = record(23, 1000);
            peer.getOutputStream().write(concat(first, concat(second, new byte[] {23, 3, 3})));
            awaitAvailable(s, 2 * 1005 + 3);
            s.in.readNBytes(first.length - 1);
            assertEquals(false, s.dataRecordBuffered(), "a record not yet whole");
            s.in.readNBytes(1);
            assertEquals(true, s.dataRecordBuffered(), "a whole application-data record of 1000 bytes");
            s.in.readNBytes(second.length);
            assertEquals(false, s.dataRecordBuffered(), "three bytes of a header");
        }
    }

    @Test
    void aShortRecordIsGatheredOnlyWithALongOneWholeBehindIt() throws Exception {
        try (ServerSocket ss = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
             Socket peer = new Socket(InetAddress.getLoopbackAddress(), ss.getLocalPort());
             Socket ours = ss.accept()) {
            HandshakeStreams s = new HandshakeStreams(ours);
            s.handshakeDone();
            byte[] lead = record(23, 10);
            byte[] shortOne = record(23, 34);
            byte[] longOne = record(23, 2000);
            byte[] all = concat(lead, concat(shortOne, concat(longOne, concat(shortOne, java.util.Arrays.copyOf(longOne, 1000)))));
            peer.getOutputStream().write(all);
            awaitAvailable(s, all.length);
            s.in.readNBytes(lead.length);
            assertEquals(true, s.dataRecordBuffered(), "short record, long one whole behind it");
            s.in.readNBytes(shortOne.length + longOne.length);
            assertEquals(false, s.dataRecordBuffered(), "short record, long one not yet whole");
        }
    }

    private static void awaitAvailable(HandshakeStreams s, int n) throws Exception {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (s.in.available() < n && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertEquals(n, s.in.available(), "bytes the peer sent");
    }

    private static byte[] record(int type, int length) {
        byte[] r = new byte[5 + length];
        r[0] = (byte) type;
        r[1] = 3;
        r[2] = 3;
        r[3] = (byte) (length >> 8);
        r[4] = (byte) length;
        for (int i = 5; i < r.length; i++) {
            r[i] = (byte) (i * 31 + type);
        }
        return r;
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }
}
