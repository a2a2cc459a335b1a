package io.hsmtls.tls.client;

import io.hsmtls.testing.TestPki;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.SocketTimeoutException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/**
 * A SunJSSE server that requires a client certificate from the given CA, for tests: it echoes
 * what it reads and records each client's certificate subject (or the handshake error).
 */
final class JsseServer implements AutoCloseable {
    final SSLServerSocket socket;
    final BlockingQueue<String> clients = new LinkedBlockingQueue<>();
    private final Thread thread;
    /** False: after the handshake the server never reads (and its receive buffer is small). */
    private final boolean reads;

    JsseServer(TestPki.Held server, X509Certificate clientCa, String... protocols) throws Exception {
        this(server, clientCa, true, protocols);
    }

    JsseServer(TestPki.Held server, X509Certificate clientCa, boolean needClientAuth, String... protocols)
            throws Exception {
        this(server, clientCa, needClientAuth, true, protocols);
    }

    /** A server that completes handshakes (no client certificate) and then never reads. */
    static JsseServer nonReading(TestPki.Held server, X509Certificate anyCa) throws Exception {
        return new JsseServer(server, anyCa, false, false, "TLSv1.3");
    }

    private JsseServer(TestPki.Held server, X509Certificate clientCa, boolean needClientAuth, boolean reads,
                       String... protocols) throws Exception {
        this.reads = reads;
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("server", server.privateKey(), new char[0],
                server.chain().toArray(new Certificate[0]));
        KeyManagerFactory kmf = KeyManagerFactory.getInstance("PKIX");
        kmf.init(ks, new char[0]);
        KeyStore ts = KeyStore.getInstance("PKCS12");
        ts.load(null, null);
        ts.setCertificateEntry("ca", clientCa);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
        tmf.init(ts);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        socket = (SSLServerSocket) ctx.getServerSocketFactory().createServerSocket(0, 50,
                InetAddress.getLoopbackAddress());
        socket.setNeedClientAuth(needClientAuth);
        if (!reads) {
            socket.setReceiveBufferSize(8 * 1024); // inherited by accepted sockets
        }
        socket.setEnabledProtocols(protocols);
        thread = Thread.ofVirtual().start(this::loop);
    }

    int port() {
        return socket.getLocalPort();
    }

    /** The next client's certificate subject, "error: …" when its handshake failed, or null after 10 s. */
    String nextClient() throws InterruptedException {
        return clients.poll(10, TimeUnit.SECONDS);
    }

    private void loop() {
        while (!socket.isClosed()) {
            try {
                SSLSocket s = (SSLSocket) socket.accept();
                Thread.ofVirtual().start(() -> serve(s));
            } catch (IOException e) {
                return;
            }
        }
    }

    private static boolean needClientAuthOf(SSLSocket s) {
        return s.getNeedClientAuth();
    }

    private void serve(SSLSocket s) {
        try (s) {
            s.setSoTimeout(10_000);
            s.startHandshake();
            clients.add(needClientAuthOf(s) ? ((X509Certificate) s.getSession().getPeerCertificates()[0])
                    .getSubjectX500Principal().getName() + " " + s.getSession().getProtocol()
                    : "anonymous " + s.getSession().getProtocol());
            if (!reads) {
                while (!socket.isClosed()) {
                    Thread.sleep(50); // hold the connection, read nothing
                }
                return;
            }
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            byte[] buf = new byte[8192];
            int n;
            while ((n = in.read(buf)) > 0) {
                out.write(buf, 0, n);
                out.flush();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (SocketTimeoutException e) {
            clients.add("error: timeout");
        } catch (IOException e) {
            clients.add("error: " + e.getMessage());
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
        thread.interrupt();
    }

    static List<String> protocols() {
        return List.of("TLSv1.3", "TLSv1.2");
    }
}
