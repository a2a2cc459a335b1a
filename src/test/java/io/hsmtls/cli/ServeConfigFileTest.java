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
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@code hsmtls serve --config}: several listeners from one file, each its own key, SNI picking keys by name. */
class ServeConfigFileTest {
    @RegisterExtension
    static SoftHsm hsm = new SoftHsm();
    static TestPki.Ca ca = TestPki.ca("CN=Config Root");
    static Path caPem;
    static HttpServer web;
    static HttpServer api;

    @BeforeAll
    static void setUp() throws Exception {
        try (Token t = IaikTokens.open(TokenOptions.of(Pkcs11Uri.parse(hsm.tokenUri()), null).withReadWrite(true))) {
            TokenKey w = t.generateKeyPair(KeyType.EC_P256, "web", Optional.empty(), false);
            t.storeCertificate(w, ca.leaf("CN=localhost").dns("localhost").publicKey(w.info().publicKey()).serverAuth().sign(), false);
            TokenKey a = t.generateKeyPair(KeyType.EC_P256, "api", Optional.empty(), false);
            t.storeCertificate(a, ca.leaf("CN=api.test").dns("api.test").publicKey(a.info().publicKey()).serverAuth().sign(), false);
        }
        caPem = TestPki.writePem(hsm.workDir().resolve(hsm.label() + "-ca.pem"), List.of(ca.certificate()));
        web = backend("web backend");
        api = backend("api backend");
    }

    private static HttpServer backend(String text) throws Exception {
        HttpServer h = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 10);
        h.createContext("/", ex -> {
            byte[] b = (text + "\n").getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, b.length);
            ex.getResponseBody().write(b);
            ex.close();
        });
        h.start();
        return h;
    }

    @AfterAll
    static void tearDown() {
        web.stop(0);
        api.stop(0);
    }

    @Test
    void twoListeners_eachItsOwnKey_andSniPicksTheApiKeyByName() throws Exception {
        Path config = Files.writeString(hsm.workDir().resolve(hsm.label() + "-serve.yaml"), """
                defaults:
                  profile: compat
                listeners:
                  - name: web
                    listen: 127.0.0.1:0
                    backend: 127.0.0.1:%d
                    key: "%s"
                    sni:
                      - server-name: api.test
                        key: "%s"
                  - name: api
                    listen: 127.0.0.1:0
                    backend: 127.0.0.1:%d
                    key: "%s"
                    profile: modern
                """.formatted(web.getAddress().getPort(), hsm.keyUri("web"), hsm.keyUri("api"),
                api.getAddress().getPort(), hsm.keyUri("api")));
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CompletableFuture<Integer> run = CompletableFuture.supplyAsync(() -> Main.run(
                new ByteArrayInputStream(new byte[0]), new PrintWriter(out), new PrintWriter(err),
                "serve", "--config", config.toString()), Executors.newVirtualThreadPerTaskExecutor());
        Pattern listening = Pattern.compile("hsmtls: listening on 127\\.0\\.0\\.1:(\\d+) \\[(\\w+)\\]");
        List<String> ports = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (int i = 0; i < 500 && ports.size() < 2 && !run.isDone(); i++) {
            Thread.sleep(20);
            ports.clear();
            names.clear();
            Matcher m = listening.matcher(out.toString());
            while (m.find()) {
                ports.add(m.group(1));
                names.add(m.group(2));
            }
        }
        assertEquals(List.of("web", "api"), names, out + "\n" + err);
        try {
            String webPort = ports.get(0);
            String apiPort = ports.get(1);
            SoftHsm.Result byDefault = curl("localhost", webPort);
            assertTrue(byDefault.output().contains("web backend"), byDefault.output());
            assertTrue(byDefault.output().contains("subject: CN=localhost"), byDefault.output());
            SoftHsm.Result bySni = curl("api.test", webPort);
            assertTrue(bySni.output().contains("web backend"), bySni.output());
            assertTrue(bySni.output().contains("subject: CN=api.test"), bySni.output());
            SoftHsm.Result apiListener = curl("api.test", apiPort);
            assertTrue(apiListener.output().contains("api backend"), apiListener.output());
            assertTrue(apiListener.output().contains("SSL connection using TLSv1.3"), apiListener.output());
            SoftHsm.Result tls12 = SoftHsm.exec(List.of("curl", "-sS", "--tlsv1.2", "--tls-max", "1.2", "--cacert",
                    caPem.toString(), "--resolve", "api.test:" + apiPort + ":127.0.0.1",
                    "https://api.test:" + apiPort + "/"), null);
            assertTrue(tls12.exitCode() != 0, "the modern listener must refuse TLS 1.2: " + tls12.output());
        } finally {
            ServeCommand.stopForTests.countDown();
        }
        assertEquals(0, run.get(20, TimeUnit.SECONDS), err.toString());
        assertTrue(err.toString().contains("hsmtls: connection listener=web "), err.toString());
    }

    @Test
    void badConfig_reportsEveryProblem_andOpensNoPort() throws Exception {
        Path config = Files.writeString(hsm.workDir().resolve(hsm.label() + "-bad.yaml"), """
                listeners:
                  - listen: 127.0.0.1:0
                    backend: 127.0.0.1
                    key: "%s"
                    sni:
                      - server-name: "not a name"
                        key: "pkcs11:token=x"
                """.formatted(hsm.keyUri("web")));
        CliRun r = CliRun.of("serve", "--config", config.toString());
        assertEquals(1, r.code(), r.toString());
        assertTrue(r.err().contains("3 problems in " + config), r.err());
        assertTrue(r.err().contains("listeners[0].backend: '127.0.0.1' is not HOST:PORT"), r.err());
        assertTrue(r.err().contains("listeners[0].sni[0].server-name: 'not a name' is not a DNS name"), r.err());
        assertTrue(r.err().contains("listeners[0].sni[0].key: 'pkcs11:token=x' names no key"), r.err());
        assertTrue(!r.out().contains("listening"), r.out());
    }

    @Test
    void configAndListen_together_isUsageError() {
        CliRun r = CliRun.of("serve", "--config", "x.yaml", "--listen", "127.0.0.1:0");
        assertEquals(2, r.code(), r.toString());
        assertTrue(r.err().contains("drop --listen, --backend and --key, or drop --config"), r.err());
    }

    private static SoftHsm.Result curl(String name, String port) {
        SoftHsm.Result r = SoftHsm.exec(List.of("curl", "-sS", "-v", "--cacert", caPem.toString(), "--resolve",
                name + ":" + port + ":127.0.0.1", "https://" + name + ":" + port + "/"), null);
        assertEquals(0, r.exitCode(), r.output());
        return r;
    }
}
