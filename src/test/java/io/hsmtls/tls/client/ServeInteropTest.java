package io.hsmtls.tls.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import io.hsmtls.cli.CliRun;
import io.hsmtls.cli.Main;
import io.hsmtls.testing.SoftHsm;
import io.hsmtls.testing.TestPki;
import io.hsmtls.token.KeyType;
import io.hsmtls.token.Pkcs11Uri;
import io.hsmtls.token.Token;
import io.hsmtls.token.TokenKey;
import io.hsmtls.token.TokenOptions;
import io.hsmtls.token.iaik.IaikTokens;
import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@code hsmtls probe} and {@code hsmtls connect} against {@code hsmtls serve --client-auth required}, all keys on SoftHSM. */
class ServeInteropTest {
    @RegisterExtension
    static SoftHsm hsm = new SoftHsm();

    static final String BODY = "hello from the backend\n";
    static HttpServer http;
    static Path serverCaPem;
    static int servePort;
    static CompletableFuture<Integer> serveExit = new CompletableFuture<>();
    static final StringWriter serveOut = new StringWriter();
    static final StringWriter serveErr = new StringWriter();

    @BeforeAll
    static void setUp() throws Exception {
        Path dir = Files.createTempDirectory(hsm.workDir(), "serve");
        TestPki.Ca serverCa = TestPki.ca("CN=Server Root");
        TestPki.Ca clientCa = TestPki.ca("CN=Card Issuer");
        serverCaPem = TestPki.writePem(dir.resolve("server-ca.pem"), List.of(serverCa.certificate()));
        Path clientCaPem = TestPki.writePem(dir.resolve("client-ca.pem"), List.of(clientCa.certificate()));
        try (Token t = IaikTokens.open(TokenOptions.of(Pkcs11Uri.parse(hsm.tokenUri()), null).withReadWrite(true))) {
            TokenKey server = t.generateKeyPair(KeyType.EC_P256, "server-ec", Optional.empty(), false);
            t.storeCertificate(server, serverCa.leaf("CN=localhost").publicKey(server.info().publicKey()).serverAuth()
                    .sign(), false);
            for (String[] k : new String[][] {{"client-ec", "ec"}, {"client-rsa", "rsa"}}) {
                TokenKey key = t.generateKeyPair("ec".equals(k[1]) ? KeyType.EC_P256 : KeyType.RSA_2048, k[0],
                        Optional.empty(), false);
                t.storeCertificate(key, clientCa.leaf("CN=" + k[0]).publicKey(key.info().publicKey()).clientAuth()
                        .sign(), false);
            }
        }
        http = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
        http.createContext("/", ex -> {
            byte[] b = BODY.getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, b.length);
            ex.getResponseBody().write(b);
            ex.close();
        });
        http.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        http.start();
        String[] args = {"serve", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:" + http.getAddress().getPort(),
                "--key", hsm.keyUri("server-ec"), "--client-auth", "required", "--client-ca", clientCaPem.toString()};
        Thread.ofVirtual().start(() -> serveExit.complete(Main.run(new ByteArrayInputStream(new byte[0]),
                new PrintWriter(serveOut, true), new PrintWriter(serveErr, true), args)));
        Pattern listening = Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+)");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        Matcher m;
        while (!(m = listening.matcher(serveOut.toString())).find()) {
            if (serveExit.isDone() || System.nanoTime() > deadline) {
                throw new IllegalStateException("serve did not start:\n" + serveOut + serveErr);
            }
            Thread.sleep(20);
        }
        servePort = Integer.parseInt(m.group(1));
    }

    @AfterAll
    static void tearDown() throws Exception {
        // serve stops on SIGTERM; in-process, its test latch does the same.
        var f = Class.forName("io.hsmtls.cli.ServeCommand").getDeclaredField("stopForTests");
        f.setAccessible(true);
        CountDownLatch stop = (CountDownLatch) f.get(null);
        if (stop != null) {
            stop.countDown();
            serveExit.get(15, TimeUnit.SECONDS);
        }
        http.stop(0);
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"client-ec, --tls1.3, TLSv1.3", "client-rsa, --tls1.3, TLSv1.3", "client-ec, --tls1.2, TLSv1.2",
            "client-rsa, --tls1.2, TLSv1.2"})
    void probe_serveRequiringClientAuth_succeeds(String key, String flag, String version) {
        CliRun r = CliRun.of("probe", "127.0.0.1:" + servePort, "--trust", serverCaPem.toString(), "--server-name",
                "localhost", "--key", hsm.keyUri(key), flag);
        assertEquals(0, r.code(), () -> r + "\n--- serve log\n" + serveOut + serveErr);
        assertTrue(r.out().contains("- CN=Card Issuer"), r.out());
        assertTrue(r.out().contains("sent: CN=" + key), r.out());
        assertTrue(r.out().contains(", " + version + ","), r.out());
    }

    @Test
    void probe_withoutClientKey_failsWithCertificateRequired() {
        CliRun r = CliRun.of("probe", "127.0.0.1:" + servePort, "--trust", serverCaPem.toString(), "--server-name",
                "localhost", "--json");
        assertEquals(1, r.code(), r.toString());
        assertTrue(r.out().contains("\"outcome\":\"HANDSHAKE_FAILED\""), r.out());
        assertTrue(r.out().contains("certificate_required") || r.out().contains("handshake_failure"), r.out());
    }

    @Test
    void connect_throughServe_reachesBackend() throws Exception {
        int port;
        try (ServerSocket free = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = free.getLocalPort();
        }
        StringWriter err = new StringWriter();
        String[] args = {"connect", "--listen", "127.0.0.1:" + port, "--upstream", "127.0.0.1:" + servePort,
                "--key", hsm.keyUri("client-ec"), "--trust", serverCaPem.toString(), "--server-name", "localhost"};
        CompletableFuture<Integer> exit = new CompletableFuture<>();
        Thread t = Thread.ofVirtual().start(() -> exit.complete(Main.run(new ByteArrayInputStream(new byte[0]),
                new PrintWriter(new StringWriter()), new PrintWriter(err), args)));
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (!err.toString().contains("connect listening on")) {
                if (exit.isDone() || System.nanoTime() > deadline) {
                    throw new IllegalStateException("connect did not start: " + err);
                }
                Thread.sleep(20);
            }
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
                s.setSoTimeout(10_000);
                s.getOutputStream().write("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                        .getBytes(StandardCharsets.UTF_8));
                String resp = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertTrue(resp.startsWith("HTTP/1.1 200"), resp);
                assertTrue(resp.endsWith(BODY), resp);
            }
        } finally {
            t.interrupt();
            exit.get(10, TimeUnit.SECONDS);
        }
    }
}
