package io.hsmtls.tls.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.hsmtls.testing.P11KitServer;
import io.hsmtls.testing.SoftHsm;
import io.hsmtls.testing.TestPki;
import io.hsmtls.token.KeyType;
import io.hsmtls.token.Pkcs11Uri;
import io.hsmtls.token.Token;
import io.hsmtls.token.TokenKey;
import io.hsmtls.token.TokenOptions;
import io.hsmtls.token.iaik.IaikTokens;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The card goes away under a running {@code hsmtls connect} (a child JVM reaching SoftHSM through
 * p11-kit remoting; the test kills the {@code p11-kit-remote} worker): the next connection fails
 * cleanly with the token's error in the log, and connections work again without a restart.
 */
class ConnectTokenOutageTest {
    @RegisterExtension
    static SoftHsm hsm = new SoftHsm();

    private final List<Process> started = new ArrayList<>();
    private final List<AutoCloseable> cleanup = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        for (Process p : started) {
            p.destroyForcibly();
        }
        for (AutoCloseable c : cleanup) {
            c.close();
        }
    }

    @Test
    void workerKilled_nextConnectionFailsCleanly_thenWorksWithoutRestart() throws Exception {
        Path dir = Files.createTempDirectory(hsm.workDir(), "outage");
        TestPki.Ca serverCa = TestPki.ca("CN=Server Root");
        TestPki.Ca clientCa = TestPki.ca("CN=Card Issuer");
        Path[] server = serverCa.leaf("CN=localhost").serverAuth().generate().writePem(dir, "server");
        Path serverCaPem = TestPki.writePem(dir.resolve("server-ca.pem"), List.of(serverCa.certificate()));
        Path clientCaPem = TestPki.writePem(dir.resolve("client-ca.pem"), List.of(clientCa.certificate()));
        try (Token t = IaikTokens.open(TokenOptions.of(Pkcs11Uri.parse(hsm.tokenUri()), null).withReadWrite(true))) {
            TokenKey key = t.generateKeyPair(KeyType.EC_P256, "card", Optional.empty(), false);
            t.storeCertificate(key, clientCa.leaf("CN=card").publicKey(key.info().publicKey()).clientAuth().sign(),
                    false);
        }
        P11KitServer p11 = P11KitServer.start(hsm, "connect");
        cleanup.add(p11);
        long end;

        try (OpensslServer upstream = new OpensslServer(server[0], server[1], clientCaPem, "-tls1_3")) {
            int port;
            try (ServerSocket free = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                port = free.getLocalPort();
            }
            String keyUri = p11.keyUri("card");
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
            ProcessBuilder pb = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp", cp,
                    "io.hsmtls.cli.Main", "connect", "--listen", "127.0.0.1:" + port, "--upstream",
                    "127.0.0.1:" + upstream.port(), "--key", keyUri, "--trust", serverCaPem.toString(),
                    "--server-name", "localhost").redirectErrorStream(true);
            pb.environment().putAll(p11.clientEnv());
            Process child = start(pb);
            List<String> log = new CopyOnWriteArrayList<>();
            Thread.ofPlatform().daemon(true).start(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(child.getInputStream(),
                        StandardCharsets.UTF_8))) {
                    String l;
                    while ((l = r.readLine()) != null) {
                        log.add(l);
                    }
                } catch (IOException ignored) {
                    // child gone
                }
            });
            end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (log.stream().noneMatch(l -> l.contains("connect listening on"))) {
                if (!child.isAlive() || System.nanoTime() > end) {
                    fail("connect did not start: " + log);
                }
                Thread.sleep(50);
            }

            assertTrue(get(port).startsWith("HTTP/1.0 200 ok"), () -> "first connection: " + log);

            p11.killWorker();

            String during = get(port);
            assertEquals("", during, "the connection during the outage is closed without data");
            String errorLine = awaitLine(log, l -> l.contains(" conn=2 ") && l.contains("result=error"));
            assertTrue(errorLine.toLowerCase(Locale.ROOT).contains("token"), errorLine);

            String after = "";
            end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (!after.startsWith("HTTP/1.0 200 ok") && System.nanoTime() < end) {
                Thread.sleep(250);
                after = get(port);
            }
            assertTrue(after.startsWith("HTTP/1.0 200 ok"), () -> "never recovered: " + log);
            assertTrue(child.isAlive(), "connect kept running");
        }
    }

    private static String get(int port) throws IOException {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            s.setSoTimeout(15_000);
            s.getOutputStream().write("GET / HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.UTF_8));
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        } catch (java.net.SocketException e) {
            return "";
        }
    }

    private static String awaitLine(List<String> log, java.util.function.Predicate<String> p) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (System.nanoTime() < end) {
            Optional<String> l = log.stream().filter(p).findFirst();
            if (l.isPresent()) {
                return l.get();
            }
            Thread.sleep(50);
        }
        throw new AssertionError("no such log line in " + log);
    }

    private Process start(ProcessBuilder pb) throws IOException {
        Process p = pb.start();
        started.add(p);
        return p;
    }
}
