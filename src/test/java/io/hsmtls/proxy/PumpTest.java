package io.hsmtls.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The pump over plain sockets: half-close passed on, byte counts, idle timeout. */
class PumpTest {
    /** Two connected socket pairs: client&lt;-&gt;pumpA and pumpB&lt;-&gt;server. */
    record Pair(Socket outer, Socket inner) { }

    static Pair pair(ServerSocket ss) throws Exception {
        Socket outer = new Socket(InetAddress.getLoopbackAddress(), ss.getLocalPort());
        Socket inner = ss.accept();
        return new Pair(outer, inner);
    }

    @Test
    void halfClose_passedOn_responseStillFlows_countsExact() throws Exception {
        try (ServerSocket ss = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
            Pair front = pair(ss);
            Pair back = pair(ss);
            var exec = Executors.newVirtualThreadPerTaskExecutor();
            CompletableFuture<Pump.Result> pump = CompletableFuture.supplyAsync(() -> {
                try {
                    return Pump.run(Endpoint.of(front.inner()), Endpoint.of(back.outer()), Duration.ofSeconds(10));
                } catch (InterruptedException e) {
                    throw new RuntimeException(e);
                }
            }, exec);
            // The "server" reads the request to EOF (the client's half-close), then answers.
            CompletableFuture<String> server = CompletableFuture.supplyAsync(() -> {
                try (Socket s = back.inner()) {
                    String req = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                    s.getOutputStream().write(("echo:" + req).getBytes(StandardCharsets.UTF_8));
                    return req;
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            }, exec);
            Socket client = front.outer();
            client.getOutputStream().write("hello".getBytes(StandardCharsets.UTF_8));
            client.shutdownOutput();
            InputStream in = client.getInputStream();
            assertEquals("echo:hello", new String(in.readAllBytes(), StandardCharsets.UTF_8));
            assertEquals("hello", server.get(10, TimeUnit.SECONDS));
            Pump.Result r = pump.get(10, TimeUnit.SECONDS);
            assertEquals(5, r.aToB());
            assertEquals(10, r.bToA());
            assertFalse(r.idle());
            assertTrue(r.failure().isEmpty(), r.toString());
            client.close();
        }
    }

    @Test
    void idleTimeout_closesBothSides() throws Exception {
        try (ServerSocket ss = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
            Pair front = pair(ss);
            Pair back = pair(ss);
            long t0 = System.nanoTime();
            Pump.Result r = Pump.run(Endpoint.of(front.inner()), Endpoint.of(back.outer()), Duration.ofMillis(300));
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(r.idle());
            assertTrue(ms >= 250 && ms < 5000, "took " + ms + " ms");
            assertEquals(-1, front.outer().getInputStream().read(), "client sees the close");
            assertEquals(-1, back.inner().getInputStream().read(), "backend sees the close");
            front.outer().close();
            back.inner().close();
        }
    }
}
