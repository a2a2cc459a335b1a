package io.hsmtls.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.Semaphore;

/**
 * The plain-TCP backend behind the proxies under test: echoes every byte and, at end of input,
 * closes its side. One virtual thread per connection; a bounded number of connections.
 */
public final class EchoBackend implements AutoCloseable {
    private final ServerSocket server;
    private final Semaphore slots;
    private final Thread acceptor;

    private EchoBackend(ServerSocket server, int maxConnections) {
        this.server = server;
        this.slots = new Semaphore(maxConnections);
        this.acceptor = Thread.ofPlatform().name("echo-accept").daemon(false).unstarted(this::acceptLoop);
    }

    /** Binds (port 0 = any free port) and starts accepting. */
    public static EchoBackend start(InetSocketAddress listen, int maxConnections) throws IOException {
        if (maxConnections < 1) {
            throw new IllegalArgumentException("maxConnections < 1: " + maxConnections);
        }
        ServerSocket s = new ServerSocket();
        s.setReuseAddress(true);
        s.bind(listen, 4096);
        EchoBackend b = new EchoBackend(s, maxConnections);
        b.acceptor.start();
        return b;
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) server.getLocalSocketAddress();
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                if (!slots.tryAcquire()) {
                    s.close(); // over the limit: refuse rather than queue
                    continue;
                }
                Thread.ofVirtual().start(() -> echo(s));
            } catch (IOException e) {
                if (server.isClosed()) {
                    return;
                }
            }
        }
    }

    private void echo(Socket s) {
        try (s) {
            s.setTcpNoDelay(true);
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            byte[] buf = new byte[64 * 1024];
            int n;
            while ((n = in.read(buf)) >= 0) {
                out.write(buf, 0, n);
            }
            s.shutdownOutput();
        } catch (IOException e) {
            // a reset peer ends the echo; nothing to report per connection
        } finally {
            slots.release();
        }
    }

    /** Blocks until the backend is closed. */
    public void await() throws InterruptedException {
        acceptor.join();
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
