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

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }
}
