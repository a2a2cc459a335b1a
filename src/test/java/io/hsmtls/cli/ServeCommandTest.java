package io.hsmtls.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@code hsmtls serve} end to end, in-process, on a SoftHSM key: startup checks, listening line, curl, stop. */
class ServeCommandTest {
    @RegisterExtension
    static SoftHsm hsm = new SoftHsm();
    static TestPki.Ca ca = TestPki.ca("CN=Serve CLI Root");
    static Path caPem;
    static Path ecChain;
    static Path wrongChain;
    static HttpServer http;

    @BeforeAll
    static void setUp() throws Exception {
        try (Token t = IaikTokens.open(TokenOptions.of(Pkcs11Uri.parse(hsm.tokenUri()), null).withReadWrite(true))) {
            TokenKey ec = t.generateKeyPair(KeyType.EC_P256, "web", Optional.empty(), false);
            var cert = ca.leaf("CN=localhost").publicKey(ec.info().publicKey()).serverAuth().sign();
            t.storeCertificate(ec, cert, false);
            ecChain = TestPki.writePem(hsm.workDir().resolve(hsm.label() + "-ec.pem"), List.of(cert));
        }
        var other = ca.leaf("CN=localhost").serverAuth().generate();
        wrongChain = TestPki.writePem(hsm.workDir().resolve(hsm.label() + "-wrong.pem"), List.of(other.certificate()));
        caPem = TestPki.writePem(hsm.workDir().resolve(hsm.label() + "-ca.pem"), List.of(ca.certificate()));
        http = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 10);
        http.createContext("/", ex -> {
            byte[] b = "served\n".getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, b.length);
            ex.getResponseBody().write(b);
            ex.close();
        });
        http.start();
    }

    @AfterAll
    static void tearDown() {
        http.stop(0);
    }

    @Test
    void printProfile_showsSuitesAndVersions_withoutKey() {
        CliRun r = CliRun.of("serve", "--print-profile", "legacy-rsa");
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().contains("profile legacy-rsa"), r.out());
        assertTrue(r.out().contains("TLS_RSA_WITH_AES_128_GCM_SHA256"), r.out());
        CliRun modern = CliRun.of("serve", "--print-profile", "modern");
        assertTrue(modern.out().contains("versions: TLSv1.3\n"), modern.out());
        assertFalse(modern.out().contains("ECDHE"), modern.out());
        assertEquals(2, CliRun.of("serve", "--print-profile", "bogus").code());
    }

    @Test
    void missingOptions_usageError_namingThem() {
        CliRun r = CliRun.of("serve", "--listen", "127.0.0.1:0");
        assertEquals(2, r.code(), r.toString());
        assertTrue(r.err().contains("--backend") && r.err().contains("--key"), r.err());
    }

    @Test
    void clientAuthWithoutClientCa_usageError() {
        CliRun r = CliRun.of("serve", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:1", "--key", hsm.keyUri("web"),
                "--client-auth", "required");
        assertEquals(2, r.code(), r.toString());
        assertTrue(r.err().contains("needs --client-ca FILE"), r.err());
        CliRun bad = CliRun.of("serve", "--listen", "nohost", "--backend", "127.0.0.1:1", "--key", hsm.keyUri("web"));
        assertEquals(2, bad.code(), bad.toString());
        assertTrue(bad.err().contains("'nohost' is not HOST:PORT"), bad.err());
    }

    @Test
    void maxConnectionsPerSource_zero_usageError() {
        CliRun r = CliRun.of("serve", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:1", "--key", hsm.keyUri("web"),
                "--max-connections-per-source", "0");
        assertEquals(2, r.code(), r.toString());
        assertTrue(r.err().contains("max connections per source < 1: 0"), r.err());
    }

    @Test
    void certificateOfAnotherKey_refusedBeforeListening() {
        CliRun r = CliRun.of("serve", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:1", "--key", hsm.keyUri("web"),
                "--cert", wrongChain.toString());
        assertEquals(1, r.code(), r.toString());
        assertTrue(r.err().contains("different public key than the token key"), r.err());
        assertFalse(r.out().contains("listening"), r.out());
    }

    @Test
    void legacyRsaWithEcKey_refusedNamingWhy() {
        CliRun r = CliRun.of("serve", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:1", "--key", hsm.keyUri("web"),
                "--profile", "legacy-rsa");
        assertEquals(1, r.code(), r.toString());
        assertTrue(r.err().contains("needs an RSA key"), r.err());
    }

    @Test
    void serve_certificateFromToken_curlFetchesThroughIt_thenStops() throws Exception {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CompletableFuture<Integer> run = serveInProcess(out, err);
        Pattern listening = Pattern.compile("hsmtls: listening on 127\\.0\\.0\\.1:(\\d+) ");
        Matcher m = null;
        for (int i = 0; i < 300; i++) {
            m = listening.matcher(out.toString());
            if (m.find() || run.isDone()) {
                break;
            }
            Thread.sleep(20);
        }
        assertTrue(m != null && m.find(0), "listening line\n" + out + "\n" + err);
        int port = Integer.parseInt(m.group(1));
        SoftHsm.Result curl = SoftHsm.exec(List.of("curl", "-sS", "-v", "--cacert", caPem.toString(), "--resolve",
                "localhost:" + port + ":127.0.0.1", "https://localhost:" + port + "/"), null);
        assertEquals(0, curl.exitCode(), curl.output());
        assertTrue(curl.output().contains("served"), curl.output());
        assertTrue(curl.output().contains("SSL connection using TLSv1.3"), curl.output());
        ServeCommand.stopForTests.countDown();
        assertEquals(0, run.get(20, TimeUnit.SECONDS), err.toString());
    }

    /** A connection limit the heap could not hold if every connection streamed: said before serving. */
    @Test
    void maxConnectionsBeyondTheHeap_warnsNamingTheFigures_andServes() throws Exception {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CompletableFuture<Integer> run = serveInProcess(out, err, "--max-connections", "10000000");
        for (int i = 0; i < 300 && !out.toString().contains("listening on") && !run.isDone(); i++) {
            Thread.sleep(20);
        }
        assertTrue(out.toString().contains("listening on"), out + "\n" + err);
        for (int i = 0; i < 400 && !run.isDone(); i++) {
            java.util.concurrent.CountDownLatch stop = ServeCommand.stopForTests; // set just after listening
            if (stop != null) {
                stop.countDown();
            }
            Thread.sleep(50);
        }
        assertEquals(0, run.get(20, TimeUnit.SECONDS), err.toString());
        assertTrue(err.toString().contains("hsmtls: warning: max connections 10000000 would need about 3662.1 GiB "
                + "of heap if all streamed at once"), err.toString());
    }

    /** {@code serve} on 127.0.0.1:0 with the web key, forwarding to the test's HTTP backend, in this JVM. */
    private static CompletableFuture<Integer> serveInProcess(StringWriter out, StringWriter err, String... more) {
        List<String> args = new java.util.ArrayList<>(List.of("serve", "--listen", "127.0.0.1:0",
                "--backend", "127.0.0.1:" + http.getAddress().getPort(), "--key", hsm.keyUri("web")));
        args.addAll(List.of(more));
        return CompletableFuture.supplyAsync(() -> Main.run(new ByteArrayInputStream(new byte[0]),
                new PrintWriter(out), new PrintWriter(err), args.toArray(String[]::new)),
                java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor());
    }

    /**
     * Started with SIGHUP ignored (as under nohup; the JVM keeps an ignored SIGHUP ignored), serve
     * must not promise a reload on SIGHUP. This JVM's SIGHUP stays ignored afterwards, which no
     * other test here uses.
     */
    @Test
    void sighupIgnoredAtStart_saysSo_insteadOfPromisingAReloadOnSighup() throws Exception {
        sun.misc.Signal.handle(new sun.misc.Signal("HUP"), sun.misc.SignalHandler.SIG_IGN);
        java.util.concurrent.CountDownLatch earlier = ServeCommand.stopForTests;
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CompletableFuture<Integer> run = serveInProcess(out, err, "--reload-poll", "0");
        try {
            for (int i = 0; i < 500 && !err.toString().contains("credentials reload") && !run.isDone(); i++) {
                Thread.sleep(20);
            }
            assertTrue(err.toString().contains("SIGHUP is ignored in this process (started with nohup"), err.toString());
            assertTrue(err.toString().contains("(and set --reload-poll above 0)"), err.toString());
            assertTrue(err.toString().contains("credentials reload: off"), err.toString());
            assertFalse(err.toString().contains("on SIGHUP"), err.toString());
        } finally {
            for (int i = 0; i < 500 && ServeCommand.stopForTests == earlier && !run.isDone(); i++) {
                Thread.sleep(20); // the reload line comes just before serve sets its stop latch
            }
            ServeCommand.stopForTests.countDown();
        }
        assertEquals(0, run.get(20, TimeUnit.SECONDS), err.toString());
    }

    /** A real process and a real SIGTERM: stops accepting, lets the open connection finish, exits. */
    @Test
    void sigterm_drainsOpenConnection_andExits() throws Exception {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        try (java.net.ServerSocket backend = new java.net.ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
            ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "--enable-native-access=ALL-UNNAMED", "-cp", cp, "io.hsmtls.cli.Main", "serve",
                    "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:" + backend.getLocalPort(),
                    "--key", hsm.keyUri("web"), "--drain-timeout", "10").redirectErrorStream(true);
            Process p = pb.start();
            try {
                java.io.BufferedReader r = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(),
                        StandardCharsets.UTF_8));
                String line = r.readLine();
                StringBuilder seen = new StringBuilder();
                while (line != null && !line.startsWith("hsmtls: listening on")) {
                    seen.append(line).append('\n');
                    line = r.readLine();
                }
                assertTrue(line != null, "listening line; output:\n" + seen);
                Matcher m = Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+) ").matcher(line);
                assertTrue(m.find(), line);
                int port = Integer.parseInt(m.group(1));
                javax.net.ssl.SSLContext ctx = javax.net.ssl.SSLContext.getInstance("TLS");
                java.security.KeyStore ts = java.security.KeyStore.getInstance("PKCS12");
                ts.load(null, null);
                ts.setCertificateEntry("ca", ca.certificate());
                javax.net.ssl.TrustManagerFactory tmf = javax.net.ssl.TrustManagerFactory.getInstance("PKIX");
                tmf.init(ts);
                ctx.init(null, tmf.getTrustManagers(), null);
                try (javax.net.ssl.SSLSocket s = (javax.net.ssl.SSLSocket) ctx.getSocketFactory().createSocket("localhost", port)) {
                    s.getOutputStream().write('x');
                    s.getOutputStream().flush();
                    try (java.net.Socket b = backend.accept()) {
                        assertEquals('x', b.getInputStream().read());
                        // kill(1), not Process.destroy(): destroy also closes our end of its output
                        SoftHsm.run(List.of("kill", "-TERM", Long.toString(p.pid())));
                        Thread.sleep(500);
                        assertTrue(p.isAlive(), "still draining the open connection");
                        b.getOutputStream().write("bye".getBytes(StandardCharsets.US_ASCII));
                    }
                    assertEquals("bye", new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII));
                }
                assertTrue(p.waitFor(10, TimeUnit.SECONDS), "exits after the drain");
                String rest = r.lines().collect(java.util.stream.Collectors.joining("\n"));
                assertTrue(rest.contains("stopped on signal"), rest);
                assertTrue(rest.contains("in=1 out=3"), "connection log line: " + rest);
            } finally {
                p.destroyForcibly();
            }
        }
    }
}
