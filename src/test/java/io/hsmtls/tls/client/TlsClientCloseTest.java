package io.hsmtls.tls.client;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmtls.testing.TestPki;
import io.hsmtls.tls.bc.GracefulClose;
import io.hsmtls.tls.bc.client.TlsClientConnection;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The client side's close, like the server's, does not wait on a peer that stopped reading. */
class TlsClientCloseTest {

    @Test
    void close_serverStoppedReading_returnsWithinTheGrace_andUnblocksTheWriter() throws Exception {
        TestPki.Ca ca = TestPki.ca("CN=Server Root");
        TestPki.Held server = ca.leaf("CN=localhost").serverAuth().generate();
        try (JsseServer srv = JsseServer.nonReading(server, ca.certificate())) {
            Socket s = new Socket();
            s.setSendBufferSize(8 * 1024);
            s.connect(new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), srv.port()));
            TlsClientConnection tls = TlsClientConnection.handshake(s,
                    TokenTlsClientJsseTest.settings("localhost", List.of(), ca.certificate()), new HandshakeRecorder());
            Thread writer = Thread.ofVirtual().start(() -> {
                byte[] chunk = new byte[16 * 1024];
                try {
                    while (true) {
                        tls.out().write(chunk); // blocks once both buffers are full
                    }
                } catch (IOException closed) {
                    // the close below ends it
                }
            });
            Thread.sleep(500);
            assertTrue(writer.isAlive(), "the writer is blocked on the full buffers");
            Thread closer = Thread.ofVirtual().start(tls::close);
            long grace = GracefulClose.GRACE.toMillis();
            closer.join(Duration.ofMillis(grace + 2_000));
            assertFalse(closer.isAlive(), "close returned within the " + grace + " ms grace (and a tick)");
            writer.join(Duration.ofSeconds(5));
            assertFalse(writer.isAlive(), "the blocked writer failed once the socket was closed");
        }
    }
}
