package io.hsmtls.tls.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.hsmtls.testing.SoftHsm;
import io.hsmtls.testing.TestPki;
import io.hsmtls.token.KeyType;
import io.hsmtls.token.Pkcs11Uri;
import io.hsmtls.token.Token;
import io.hsmtls.token.TokenKey;
import io.hsmtls.token.TokenOptions;
import io.hsmtls.token.iaik.IaikTokens;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** SIGTERM to a running {@code hsmtls connect} (child JVM): no new connections, open ones finish, then it exits. */
class ConnectDrainTest {
    @RegisterExtension
    static SoftHsm hsm = new SoftHsm();

    @Test
    void sigterm_stopsAccepting_letsOpenConnectionFinish_thenExits() throws Exception {
        Path dir = Files.createTempDirectory(hsm.workDir(), "drain");
        TestPki.Ca serverCa = TestPki.ca("CN=Server Root");
        TestPki.Ca clientCa = TestPki.ca("CN=Card Issuer");
        Path serverCaPem = TestPki.writePem(dir.resolve("server-ca.pem"), List.of(serverCa.certificate()));
        try (Token t = IaikTokens.open(TokenOptions.of(Pkcs11Uri.parse(hsm.tokenUri()), null).withReadWrite(true))) {
            TokenKey key = t.generateKeyPair(KeyType.EC_P256, "card", Optional.empty(), false);
            t.storeCertificate(key, clientCa.leaf("CN=card").publicKey(key.info().publicKey()).clientAuth().sign(),
                    false);
        }
        try (JsseServer upstream = new JsseServer(serverCa.leaf("CN=localhost").serverAuth().generate(),
                clientCa.certificate(), "TLSv1.3")) {
            int port;
            try (ServerSocket free = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                port = free.getLocalPort();
            }
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
            Process child = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp", cp,
                    "io.hsmtls.cli.Main", "connect", "--listen", "127.0.0.1:" + port, "--upstream",
                    "127.0.0.1:" + upstream.port(), "--key", hsm.keyUri("card"), "--trust", serverCaPem.toString(),
                    "--server-name", "localhost", "--drain-timeout", "20").redirectErrorStream(true)
                    .redirectOutput(dir.resolve("connect.log").toFile()).start();
            Path logFile = dir.resolve("connect.log");
            try {
                // A file, not a pipe: the log must stay readable while the JVM is shutting down.
                Log log = new Log(logFile);
                long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (log.stream().noneMatch(l -> l.contains("connect listening on"))) {
                    if (!child.isAlive() || System.nanoTime() > end) {
                        fail("connect did not start: " + log);
                    }
                    Thread.sleep(50);
                }
                try (Socket open = new Socket(InetAddress.getLoopbackAddress(), port)) {
                    open.setSoTimeout(10_000);
                    assertEquals("one\n", echo(open, "one\n"));

                    child.destroy(); // SIGTERM
                    end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                    while (log.stream().noneMatch(l -> l.contains("draining: 1 connection(s) open"))) {
                        if (System.nanoTime() > end) {
                            fail("no drain: " + log);
                        }
                        Thread.sleep(50);
                    }
                    assertThrows(IOException.class, () -> {
                        try (Socket refused = new Socket(InetAddress.getLoopbackAddress(), port)) {
                            refused.getOutputStream().write(1);
                        }
                    }, "the listener is closed");
                    assertEquals("two\n", echo(open, "two\n"), "the open connection keeps working while draining");
                    assertTrue(child.isAlive(), "waits for the open connection");
                }
                assertTrue(child.waitFor(15, TimeUnit.SECONDS), "exits once the connection ended: " + log);
                Thread.sleep(100);
                assertTrue(log.stream().anyMatch(l -> l.endsWith(" stopped")), log.toString());
                assertFalse(log.stream().anyMatch(l -> l.contains("cut at the drain deadline")), log.toString());
            } finally {
                child.destroyForcibly();
            }
        }
    }

    /** The child's output file, read afresh on each look. */
    record Log(Path file) {
        java.util.stream.Stream<String> stream() {
            try {
                return Files.exists(file) ? Files.readAllLines(file).stream() : java.util.stream.Stream.empty();
            } catch (IOException e) {
                return java.util.stream.Stream.empty();
            }
        }

        @Override
        public String toString() {
            return stream().toList().toString();
        }
    }

    private static String echo(Socket s, String line) throws IOException {
        s.getOutputStream().write(line.getBytes(StandardCharsets.UTF_8));
        s.getOutputStream().flush();
        byte[] b = s.getInputStream().readNBytes(line.length());
        return new String(b, StandardCharsets.UTF_8);
    }
}
