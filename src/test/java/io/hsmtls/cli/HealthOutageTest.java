package io.hsmtls.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.sun.net.httpserver.HttpServer;
import io.hsmtls.testing.SoftHsm;
import io.hsmtls.testing.TestPki;
import io.hsmtls.token.KeyType;
import io.hsmtls.token.Pkcs11Uri;
import io.hsmtls.token.Token;
import io.hsmtls.token.TokenKey;
import io.hsmtls.token.TokenOptions;
import io.hsmtls.token.iaik.IaikTokens;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * /healthz and the token metrics through a real outage: serve (a child JVM) reaches SoftHSM through
 * p11-kit remoting; killing the p11-kit server makes the token disappear, restarting it brings it back.
 */
class HealthOutageTest {
    static final Path CLIENT_MODULE = Path.of("/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so");
    @RegisterExtension
    static SoftHsm hsm = new SoftHsm();
    private final List<Process> started = new ArrayList<>();
    private final StringBuffer childOut = new StringBuffer();

    @AfterEach
    void stop() {
        for (Process p : started) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
    }

    @Test
    void tokenGone_healthz503NamesIt_tokenBack_healthz200_withoutRestart() throws Exception {
        if (!Files.exists(CLIENT_MODULE) || !Files.isExecutable(Path.of("/usr/bin/p11-kit"))) {
            fail("p11-kit and its client module are needed: apt-get install p11-kit p11-kit-modules");
        }
        TestPki.Ca ca = TestPki.ca("CN=Outage Root");
        try (Token t = IaikTokens.open(TokenOptions.of(Pkcs11Uri.parse(hsm.tokenUri()), null).withReadWrite(true))) {
            TokenKey k = t.generateKeyPair(KeyType.EC_P256, "ec", Optional.empty(), false);
            t.storeCertificate(k, ca.leaf("CN=localhost").dns("localhost").publicKey(k.info().publicKey())
                    .serverAuth().sign(), false);
        }
        Path caPem = TestPki.writePem(hsm.workDir().resolve(hsm.label() + "-ca.pem"), List.of(ca.certificate()));
        HttpServer backend = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 10);
        backend.createContext("/", ex -> {
            byte[] b = "up\n".getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, b.length);
            ex.getResponseBody().write(b);
            ex.close();
        });
        backend.start();
        Path socket = hsm.workDir().resolve("health-" + ProcessHandle.current().pid() + ".sock");
        Files.deleteIfExists(socket);
        Process server = startServer(socket);
        try {
            String keyUri = "pkcs11:token=" + hsm.label() + ";object=ec?module-path=" + CLIENT_MODULE
                    + "&pin-source=file:" + hsm.pinFile();
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
            ProcessBuilder pb = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp", cp,
                    Main.class.getName(), "serve", "--listen", "127.0.0.1:0", "--backend",
                    "127.0.0.1:" + backend.getAddress().getPort(), "--key", keyUri, "--metrics", "127.0.0.1:0",
                    "--drain-timeout", "1").redirectErrorStream(true);
            pb.environment().put("P11_KIT_SERVER_ADDRESS", "unix:path=" + socket);
            Process child = pb.start();
            started.add(child);
            Thread.ofPlatform().daemon(true).start(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(child.getInputStream(),
                        StandardCharsets.UTF_8))) {
                    String l;
                    while ((l = r.readLine()) != null) {
                        childOut.append(l).append('\n');
                    }
                } catch (java.io.IOException ignored) {
                    // child gone
                }
            });
            String port = awaitGroup("hsmtls: listening on 127\\.0\\.0\\.1:(\\d+)");
            String metrics = awaitGroup("metrics on http://127\\.0\\.0\\.1:(\\d+)/metrics");

            assertTrue(curl(caPem, port).output().contains("up"));
            HttpResponse<String> ok = MetricsServeTest.get(metrics, "/healthz");
            assertEquals(200, ok.statusCode(), ok.body());
            assertEquals("ok\n", ok.body());

            // The HSM (the p11-kit server and its worker) goes away; the next handshake finds out.
            server.descendants().forEach(ProcessHandle::destroyForcibly);
            server.destroyForcibly();
            server.onExit().get(5, TimeUnit.SECONDS);
            SoftHsm.Result failed = curl(caPem, port);
            assertTrue(failed.exitCode() != 0, failed.output());
            await(() -> status(metrics) == 503, "healthz 503");
            HttpResponse<String> down = MetricsServeTest.get(metrics, "/healthz");
            assertTrue(down.body().matches("token " + Pattern.quote(hsm.label())
                    + " down since \\d{4}-\\d\\d-\\d\\dT[0-9:.]+Z: .+\\n"), down.body());
            String text = MetricsServeTest.get(metrics, "/metrics").body();
            assertEquals(0.0, MetricsServeTest.value(text, "hsmtls_token_up", "token=\"" + hsm.label() + "\""), text);
            assertTrue(MetricsServeTest.value(text, "hsmtls_token_errors_total") >= 1, text);

            // The HSM comes back: hsmtls recovers by itself, health says so.
            Files.deleteIfExists(socket);
            server = startServer(socket);
            await(() -> status(metrics) == 200, "healthz 200 again");
            assertEquals(0, curl(caPem, port).exitCode(), childOut.toString());
            text = MetricsServeTest.get(metrics, "/metrics").body();
            assertEquals(1.0, MetricsServeTest.value(text, "hsmtls_token_up"), text);
            assertTrue(MetricsServeTest.value(text, "hsmtls_token_reinitializations_total") >= 1, text);
            child.destroy();
            assertTrue(child.waitFor(20, TimeUnit.SECONDS), childOut.toString());
        } finally {
            backend.stop(0);
        }
    }

    private static int status(String metricsPort) {
        try {
            return MetricsServeTest.get(metricsPort, "/healthz").statusCode();
        } catch (Exception e) {
            return -1;
        }
    }

    private static SoftHsm.Result curl(Path caPem, String port) {
        return SoftHsm.exec(List.of("curl", "-sS", "--max-time", "10", "--cacert", caPem.toString(), "--resolve",
                "localhost:" + port + ":127.0.0.1", "https://localhost:" + port + "/"), null);
    }

    private String awaitGroup(String regex) throws InterruptedException {
        Pattern p = Pattern.compile(regex);
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < end) {
            Matcher m = p.matcher(childOut);
            if (m.find()) {
                return m.group(1);
            }
            Thread.sleep(20);
        }
        throw new AssertionError("child never printed " + regex + ":\n" + childOut);
    }

    private void await(BooleanSupplier ok, String what) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!ok.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError(what + " not seen in 20 s; serve said:\n" + childOut);
            }
            Thread.sleep(100);
        }
    }

    private Process startServer(Path socket) throws Exception {
        Process p = new ProcessBuilder("p11-kit", "server", "-f", "--provider", SoftHsm.modulePath().toString(),
                "-n", socket.toString(), "pkcs11:token=" + hsm.label()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(hsm.workDir().resolve("p11-kit-health.log").toFile()))
                .start();
        started.add(p);
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!Files.exists(socket)) {
            if (System.nanoTime() > end) {
                throw new AssertionError("p11-kit server socket did not appear");
            }
            Thread.sleep(20);
        }
        return p;
    }
}
