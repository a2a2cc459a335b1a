package io.hsmtls.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import io.hsmtls.testing.SoftHsm;
import io.hsmtls.testing.TestPki;
import io.hsmtls.token.KeyType;
import io.hsmtls.token.Pkcs11Uri;
import io.hsmtls.token.Token;
import io.hsmtls.token.TokenKey;
import io.hsmtls.token.TokenOptions;
import io.hsmtls.token.iaik.IaikTokens;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Reload under load: a new certificate for the same token key is swapped in with no connection
 * lost, and a certificate for another key is refused while the old one keeps serving.
 */
class ReloadServeTest {
    static final int BIG = 24 * 1024 * 1024;
    @RegisterExtension
    static SoftHsm hsm = new SoftHsm();
    static TestPki.Ca ca = TestPki.ca("CN=Reload Root");
    static X509Certificate certA;
    static X509Certificate certB;
    static X509Certificate foreign;
    static Path dir;
    static HttpServer backend;
    static SSLContext jsse;

    @BeforeAll
    static void setUp() throws Exception {
        try (Token t = IaikTokens.open(TokenOptions.of(Pkcs11Uri.parse(hsm.tokenUri()), null).withReadWrite(true))) {
            TokenKey ec = t.generateKeyPair(KeyType.EC_P256, "ec", Optional.empty(), false);
            certA = ca.leaf("CN=localhost").dns("localhost").publicKey(ec.info().publicKey()).serverAuth().sign();
            certB = ca.leaf("CN=localhost").dns("localhost").publicKey(ec.info().publicKey()).serverAuth().sign();
        }
        foreign = ca.leaf("CN=localhost").dns("localhost").serverAuth().generate().certificate();
        assertTrue(!certA.getSerialNumber().equals(certB.getSerialNumber()));
        dir = Files.createTempDirectory(hsm.workDir(), "reload");
        TestPki.writePem(dir.resolve("ca.pem"), List.of(ca.certificate()));
        backend = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
        backend.createContext("/", ex -> {
            byte[] b = "small body\n".getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, b.length);
            ex.getResponseBody().write(b);
            ex.close();
        });
        backend.createContext("/big", ex -> {
            ex.sendResponseHeaders(200, BIG);
            byte[] chunk = new byte[64 * 1024];
            try (OutputStream out = ex.getResponseBody()) {
                for (int sent = 0; sent < BIG; sent += chunk.length) {
                    out.write(chunk);
                    Thread.sleep(8); // about 3 s in all: the transfer spans the reloads
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            ex.close();
        });
        backend.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        backend.start();
        KeyStore ts = KeyStore.getInstance("PKCS12");
        ts.load(null, null);
        ts.setCertificateEntry("ca", ca.certificate());
        TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
        tmf.init(ts);
        jsse = SSLContext.getInstance("TLS");
        jsse.init(null, tmf.getTrustManagers(), null);
    }

    @AfterAll
    static void tearDown() {
        backend.stop(0);
    }

    /** A running serve with its output. */
    record Serve(CompletableFuture<Integer> run, StringWriter out, StringWriter err, int port) { }

    static Serve serve(Path certFile, String poll) throws Exception {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CompletableFuture<Integer> run = CompletableFuture.supplyAsync(() -> Main.run(
                new ByteArrayInputStream(new byte[0]), new PrintWriter(out), new PrintWriter(err),
                "serve", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:" + backend.getAddress().getPort(),
                "--key", hsm.keyUri("ec"), "--cert", certFile.toString(), "--reload-poll", poll),
                Executors.newVirtualThreadPerTaskExecutor());
        int port = Integer.parseInt(AuditServeTest.ports(out, run, 1).get(0));
        await(() -> err.toString().contains("credentials reload"), "reload set up", err);
        return new Serve(run, out, err, port);
    }

    @Test
    void certificateChange_underLoad_dropsNothing_andMismatchIsRefused() throws Exception {
        Path certFile = dir.resolve("server.pem");
        TestPki.writePem(certFile, List.of(certA));
        Serve s = serve(certFile, "0.2");
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger ok = new AtomicInteger();
        ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        AtomicReference<BigInteger> lastSerial = new AtomicReference<>();
        ConcurrentLinkedQueue<BigInteger> serials = new ConcurrentLinkedQueue<>();
        try {
            CompletableFuture<SoftHsm.Result> transfer = CompletableFuture.supplyAsync(() -> SoftHsm.exec(List.of(
                    "curl", "-sS", "--cacert", dir.resolve("ca.pem").toString(), "--resolve",
                    "localhost:" + s.port() + ":127.0.0.1", "-o", "/dev/null", "-w", "%{size_download}",
                    "https://localhost:" + s.port() + "/big"), null), Executors.newVirtualThreadPerTaskExecutor());
            List<Thread> load = List.of(1, 2).stream().map(i -> Thread.ofVirtual().start(() -> {
                // bounded: at most 2000 handshakes per thread, and the test stops it sooner
                for (int n = 0; n < 2000 && !stop.get(); n++) {
                    try {
                        BigInteger serial = handshake(s.port());
                        lastSerial.set(serial);
                        serials.add(serial);
                        ok.incrementAndGet();
                    } catch (Exception e) {
                        failures.add(e.toString());
                    }
                }
            })).toList();
            await(() -> ok.get() >= 10, "load running", s.err());
            assertEquals(certA.getSerialNumber(), lastSerial.get());

            replace(certFile, certB);
            await(() -> certB.getSerialNumber().equals(lastSerial.get()), "new handshakes show the new certificate",
                    s.err());
            assertTrue(s.err().toString().contains("reloaded (changed: " + certFile + "): key pkcs11:token="
                    + hsm.label() + ";object=ec"), s.err().toString());
            assertTrue(s.err().toString().contains("serial " + certB.getSerialNumber().toString(16)), s.err().toString());

            replace(certFile, foreign);
            await(() -> s.err().toString().contains("refused"), "the mismatching certificate refused", s.err());
            assertTrue(s.err().toString().contains("has a different public key than the token key"), s.err().toString());
            assertTrue(s.err().toString().contains("every listener keeps its previous credentials"), s.err().toString());
            int before = ok.get();
            await(() -> ok.get() >= before + 10, "still serving after the refused reload", s.err());
            assertEquals(certB.getSerialNumber(), lastSerial.get());

            SoftHsm.Result t = transfer.get(60, TimeUnit.SECONDS);
            assertEquals(0, t.exitCode(), t.output());
            assertEquals(String.valueOf(BIG), t.output().trim(), "the long transfer spanned both reloads intact");
            stop.set(true);
            for (Thread th : load) {
                th.join(10_000);
            }
            assertEquals(List.of(), List.copyOf(failures), "no handshake or request failed during the reloads");
            assertTrue(serials.contains(certA.getSerialNumber()) && serials.contains(certB.getSerialNumber()));
        } finally {
            stop.set(true);
            ServeCommand.stopForTests.countDown();
        }
        assertEquals(0, s.run().get(20, TimeUnit.SECONDS), s.err().toString());
    }

    @Test
    void sighup_reloadsTheCertificate() throws Exception {
        Path certFile = dir.resolve("hup.pem");
        TestPki.writePem(certFile, List.of(certA));
        Serve s = serve(certFile, "0");
        try {
            Assumptions.assumeTrue(s.err().toString().contains("credentials reload on SIGHUP"),
                    "SIGHUP cannot be caught on this platform: " + s.err());
            assertEquals(certA.getSerialNumber(), handshake(s.port()));
            replace(certFile, certB);
            Thread.sleep(300);
            assertEquals(certA.getSerialNumber(), handshake(s.port()), "no poll: nothing changes before the signal");
            SoftHsm.run(List.of("kill", "-HUP", String.valueOf(ProcessHandle.current().pid())));
            await(() -> s.err().toString().contains("reloaded (SIGHUP)"), "reload on SIGHUP", s.err());
            assertEquals(certB.getSerialNumber(), handshake(s.port()));
        } finally {
            ServeCommand.stopForTests.countDown();
        }
        assertEquals(0, s.run().get(20, TimeUnit.SECONDS), s.err().toString());
    }

    @Test
    void configFileChange_brokenFileKeepsTheOld_addressChangeNeedsARestart() throws Exception {
        Path a = TestPki.writePem(dir.resolve("cfg-a.pem"), List.of(certA));
        Path b = TestPki.writePem(dir.resolve("cfg-b.pem"), List.of(certB));
        String yaml = """
                listeners:
                  - name: web
                    listen: %s
                    backend: 127.0.0.1:%d
                    key: "%s"
                    cert: %s
                """;
        int backendPort = backend.getAddress().getPort();
        Path config = dir.resolve("serve.yaml");
        Files.writeString(config, yaml.formatted("127.0.0.1:0", backendPort, hsm.keyUri("ec"), a));
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CompletableFuture<Integer> run = CompletableFuture.supplyAsync(() -> Main.run(
                new ByteArrayInputStream(new byte[0]), new PrintWriter(out), new PrintWriter(err),
                "serve", "--config", config.toString(), "--reload-poll", "0.2"), Executors.newVirtualThreadPerTaskExecutor());
        int port = Integer.parseInt(AuditServeTest.ports(out, run, 1).get(0));
        try {
            await(() -> err.toString().contains("when the config file or a certificate file changes"), "poll on", err);
            assertEquals(certA.getSerialNumber(), handshake(port));

            writeOver(config, "listeners: [ { name: web, listen: nowhere } ]\n");
            await(() -> err.toString().contains("reload (changed: " + config + ") failed: "), "bad config reported", err);
            assertTrue(err.toString().contains("still serving the previous configuration"), err.toString());
            assertEquals(certA.getSerialNumber(), handshake(port));

            writeOver(config, yaml.formatted("127.0.0.1:1", backendPort, hsm.keyUri("ec"), b));
            await(() -> err.toString().contains("listener web: reloaded") || err.toString().contains("reloaded ("),
                    "reload with the new certificate", err);
            assertTrue(err.toString().contains("listener web: listen 127.0.0.1:0 -> 127.0.0.1:1 changed: that needs a "
                    + "restart; keeping the running values"), err.toString());
            assertEquals(certB.getSerialNumber(), handshake(port), "same port, new certificate");
        } finally {
            ServeCommand.stopForTests.countDown();
        }
        assertEquals(0, run.get(20, TimeUnit.SECONDS), err.toString());
    }

    static void writeOver(Path file, String text) throws Exception {
        Path tmp = Files.writeString(file.resolveSibling(file.getFileName() + ".new"), text);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** Writes the new certificate beside the file and renames it over, as deployment tools do. */
    static void replace(Path file, X509Certificate cert) throws Exception {
        Path tmp = TestPki.writePem(file.resolveSibling(file.getFileName() + ".new"), List.of(cert));
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** One full TLS 1.3 handshake and request with SunJSSE; returns the server certificate's serial. */
    static BigInteger handshake(int port) throws Exception {
        try (SSLSocket sock = (SSLSocket) jsse.getSocketFactory().createSocket("127.0.0.1", port)) {
            sock.setSoTimeout(10_000);
            SSLParameters p = sock.getSSLParameters();
            p.setServerNames(List.of(new SNIHostName("localhost")));
            p.setEndpointIdentificationAlgorithm("HTTPS");
            sock.setSSLParameters(p);
            sock.startHandshake();
            BigInteger serial = ((X509Certificate) sock.getSession().getPeerCertificates()[0]).getSerialNumber();
            sock.getOutputStream().write("GET / HTTP/1.0\r\nHost: localhost\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            sock.getOutputStream().flush();
            InputStream in = sock.getInputStream();
            String reply = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            if (!reply.contains("small body")) {
                throw new IllegalStateException("unexpected reply: " + reply);
            }
            return serial;
        }
    }

    static void await(BooleanSupplier cond, String what, StringWriter log) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for: " + what + "\n" + log);
            }
            Thread.sleep(20);
        }
    }
}
