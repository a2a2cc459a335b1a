package io.hsmtls.testing;

import java.io.DataInputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

/** Real ClientHello records, captured from SunJSSE on a loopback socket, for fuzzing and slowloris tests. */
public final class ClientHellos {
    private ClientHellos() {
    }

    /** The first TLS record (header included) a SunJSSE client sends to {@code serverName}. */
    public static byte[] jsse(String serverName) throws Exception {
        try (ServerSocket ss = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, null, null);
            CompletableFuture<Void> client = CompletableFuture.runAsync(() -> {
                try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket(
                        new Socket(InetAddress.getLoopbackAddress(), ss.getLocalPort()), serverName,
                        ss.getLocalPort(), true)) {
                    s.setSoTimeout(5_000);
                    s.startHandshake();
                } catch (IOException expected) {
                    // we never answer
                }
            }, Executors.newVirtualThreadPerTaskExecutor());
            try (Socket s = ss.accept()) {
                DataInputStream in = new DataInputStream(s.getInputStream());
                byte[] header = new byte[5];
                in.readFully(header);
                int len = ((header[3] & 0xff) << 8) | (header[4] & 0xff);
                byte[] record = new byte[5 + len];
                System.arraycopy(header, 0, record, 0, 5);
                in.readFully(record, 5, len);
                if (record[0] != 0x16 || record[5] != 0x01) {
                    throw new IllegalStateException("first record is not a ClientHello");
                }
                return record;
            } finally {
                client.cancel(true);
            }
        }
    }
}
