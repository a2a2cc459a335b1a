package io.hsmtls.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmtls.testing.SoftHsm;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The bench's Java baseline (SunJSSE + SunPKCS11, key on a real SoftHSM token, certificate made
 * by OpenSSL's pkcs11 engine with that key) behind the load generator in its full, resumed and
 * bulk modes, through the echo backend. Slow: starts a JVM and does a few hundred handshakes.
 */
@Tag("slow")
class SunJsseBaselineServerTest {
    @RegisterExtension
    static SoftHsm hsm = new SoftHsm();
    private static Process server;
    private static EchoBackend backend;
    private static InetSocketAddress address;
    private static Path cert;

    @BeforeAll
    static void start() throws Exception {
        String module = SoftHsm.modulePath().toString();
        SoftHsm.run(List.of("pkcs11-tool", "--module", module, "--token-label", hsm.label(), "--login", "--pin",
                SoftHsm.USER_PIN, "--keypairgen", "--key-type", "EC:prime256v1", "--id", "01", "--label", "ec"));
        Path dir = hsm.workDir().resolve(hsm.label());
        Files.createDirectories(dir);
        Path cnf = dir.resolve("openssl.cnf");
        Files.writeString(cnf, "openssl_conf = init\n[init]\nengines = engines\n[engines]\npkcs11 = p11\n[p11]\n"
                + "engine_id = pkcs11\nMODULE_PATH = " + module + "\ninit = 1\n");
        cert = dir.resolve("ec.pem");
        SoftHsm.exec(List.of("openssl", "req", "-new", "-x509", "-engine", "pkcs11", "-keyform", "engine", "-key",
                "pkcs11:token=" + hsm.label() + ";object=ec;type=private?pin-value=" + SoftHsm.USER_PIN,
                "-subj", "/CN=localhost", "-days", "1", "-out", cert.toString()), null,
                Map.of("OPENSSL_CONF", cnf.toString()));
        Path der = dir.resolve("ec.der");
        SoftHsm.run(List.of("openssl", "x509", "-in", cert.toString(), "-outform", "der", "-out", der.toString()));
        SoftHsm.run(List.of("pkcs11-tool", "--module", module, "--token-label", hsm.label(), "--login", "--pin",
                SoftHsm.USER_PIN, "--write-object", der.toString(), "--type", "cert", "--id", "01", "--label", "ec"));

        backend = EchoBackend.start(new InetSocketAddress("127.0.0.1", 0), 100);
        // The token's slot index: SoftHsm puts every test class's token in one store, so find ours.
        int slotIndex = slotIndex(module);
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        server = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                SunJsseBaselineServer.class.getName(), "--listen", "127.0.0.1:0", "--backend",
                "127.0.0.1:" + backend.address().getPort(), "--library", module, "--slot-index",
                Integer.toString(slotIndex), "--pin-file", hsm.pinFile().toString(), "--alias", "ec")
                .redirectErrorStream(true).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8));
        String line = out.readLine();
        if (line == null || !line.startsWith("listening ")) {
            throw new IllegalStateException("baseline did not start: " + line);
        }
        String hp = line.substring("listening ".length());
        address = new InetSocketAddress("127.0.0.1", Integer.parseInt(hp.substring(hp.lastIndexOf(':') + 1)));
        Thread.ofVirtual().start(() -> out.lines().forEach(l -> { })); // drain
    }

    /** SunPKCS11 selects by slotListIndex: the position of our token's slot among initialised ones. */
    private static int slotIndex(String module) {
        String slots = SoftHsm.run(List.of("pkcs11-tool", "--module", module, "--list-token-slots"));
        int index = -1;
        for (String l : slots.split("\n")) {
            if (l.startsWith("Slot ")) {
                index++;
            }
            if (l.matches("\\s*token label\\s*:\\s*" + java.util.regex.Pattern.quote(hsm.label()) + "\\s*")) {
                return index;
            }
        }
        throw new IllegalStateException("token " + hsm.label() + " not listed:\n" + slots);
    }

    @AfterAll
    static void stop() throws Exception {
        if (server != null) {
            server.destroy();
            server.waitFor();
        }
        if (backend != null) {
            backend.close();
        }
    }

    private static LoadResult run(Mode mode, String version, long count) throws Exception {
        ClientConfig c = new ClientConfig(address, version, Optional.empty(), Optional.empty(), List.of(cert),
                Optional.empty());
        LoadSpec spec = new LoadSpec(mode, c, 4, Duration.ofSeconds(40), count, 20, Duration.ofSeconds(20),
                1_000_000, 1, 1, Duration.ZERO, OptionalLong.of(server.pid()), Duration.ofSeconds(10));
        return new LoadGenerator(spec, ProcStat.system(), new PrintStream(new ByteArrayOutputStream())).run();
    }

    @Test
    void tls13FullHandshakes_withTheTokenKey() throws Exception {
        LoadResult r = run(Mode.HANDSHAKE, "TLSv1.3", 100);
        assertEquals(100, r.get("count"));
        assertEquals(0.0, r.get("resumed_share"));
        assertTrue(r.get("server_cpu_s") > 0, r.toString());
    }

    @Test
    void tls12SessionIdResumption() throws Exception {
        LoadResult r = run(Mode.RESUME, "TLSv1.2", 100);
        assertTrue(r.get("resumed_share") > 0.9, r.toString());
    }

    @Test
    void bulk_echoesEveryByteThroughProxyAndBackend() throws Exception {
        LoadResult r = run(Mode.BULK, "TLSv1.3", 3);
        assertEquals(3, r.get("count"));
        // 1 MB sent and 1 MB echoed per connection, 3 connections.
        assertEquals(6.0, r.get("mb"), 1e-9);
        assertTrue(r.get("mb_per_cpu_s") > 0, r.toString());
    }
}
