package io.hsmtls.cli;

import io.hsmtls.testing.RsaKeyExchangeClient;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmtls.testing.ChildJvm;
import io.hsmtls.testing.SoftHsm;
import io.hsmtls.testing.TestPki;
import java.io.IOException;
import java.math.BigInteger;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.RSAPrivateCrtKey;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bouncycastle.jcajce.util.DefaultJcaJceHelper;
import org.bouncycastle.tls.CipherSuite;
import org.bouncycastle.tls.DefaultTlsClient;
import org.bouncycastle.tls.ProtocolVersion;
import org.bouncycastle.tls.ServerOnlyTlsAuthentication;
import org.bouncycastle.tls.TlsAuthentication;
import org.bouncycastle.tls.TlsClientProtocol;
import org.bouncycastle.tls.TlsServerCertificate;
import org.bouncycastle.tls.crypto.TlsSecret;
import org.bouncycastle.tls.crypto.impl.jcajce.JcaTlsCrypto;
import org.bouncycastle.tls.crypto.impl.jcajce.JceTlsSecret;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Everything {@code hsmtls serve} writes (stdout, stderr, the connection log, in a child JVM)
 * across a wrong-PIN start, TLS 1.2 RSA key exchange (legacy-rsa), TLS 1.3, and client
 * certificates, searched for every secret the test knows: the PIN and the wrong PIN, the RSA
 * premaster a client chose, the master and traffic secrets from openssl's key log, the server's
 * private key (imported into the token from software so the test knows it) and the client's.
 */
class SecretsInLogsTest {
    static final String PIN = "Zq8-hsmtls-PIN-4471";
    static final String WRONG_PIN = "Wx3-wrong-PIN-9902";

    @RegisterExtension
    static SoftHsm hsm = new SoftHsm(PIN);

    @Test
    void wrongPin_rsaKeyExchange_tls13_clientAuth_noPinPremasterOrKeyByteInAnyOutput() throws Exception {
        Path dir = Files.createDirectories(hsm.workDir().resolve(hsm.label() + "-secrets"));
        TestPki.Ca ca = TestPki.ca("CN=Secrets Root");
        TestPki.Ca clientCa = TestPki.ca("CN=Secrets Client CA");
        KeyPair server = TestPki.rsaKeyPair();
        Path serverKey = TestPki.writeKeyPem(dir.resolve("server.key"), server.getPrivate());
        SoftHsm.run(List.of("softhsm2-util", "--import", serverKey.toString(), "--token", hsm.label(), "--label",
                "web-rsa", "--id", "0a0b0c", "--pin", PIN));
        Files.delete(serverKey);
        Path serverCert = TestPki.writePem(dir.resolve("server.pem"),
                List.of(ca.leaf("CN=localhost").publicKey(server.getPublic()).serverAuth().sign()));
        Path caPem = TestPki.writePem(dir.resolve("ca.pem"), List.of(ca.certificate()));
        Path clientCaPem = TestPki.writePem(dir.resolve("client-ca.pem"), List.of(clientCa.certificate()));
        TestPki.Held alice = clientCa.leaf("CN=alice").clientAuth().generate();
        Path[] alicePem = alice.writePem(dir, "alice");
        Path wrongPin = Files.writeString(dir.resolve("wrong.pin"), WRONG_PIN + "\n");
        String key = "pkcs11:token=" + hsm.label() + ";object=web-rsa?module-path=" + SoftHsm.modulePath();
        List<String> logs = new ArrayList<>();

        // 1. A wrong PIN: one failed login, a clear error, no listener (with --verbose: stack traces too).
        try (ChildJvm bad = ChildJvm.start("io.hsmtls.cli.Main", Map.of(), "--verbose", "serve", "--listen",
                "127.0.0.1:0", "--backend", "127.0.0.1:1", "--key", key, "--pin-file", wrongPin.toString(),
                "--cert", serverCert.toString(), "--profile", "legacy-rsa")) {
            assertTrue(bad.process().waitFor(60, TimeUnit.SECONDS), "serve with a wrong PIN must not start");
            Thread.sleep(200);
            logs.add(bad.output());
            assertEquals(1, bad.process().exitValue(), bad.output());
            assertTrue(bad.output().contains("CKR_PIN_INCORRECT"), bad.output());
            assertFalse(bad.output().contains("listening on"), bad.output());
        }

        // 2. The right PIN: legacy-rsa with optional client certificates, in front of an echo backend.
        Map<String, byte[]> secrets = new LinkedHashMap<>();
        RSAPrivateCrtKey rsa = (RSAPrivateCrtKey) server.getPrivate();
        secrets.put("server private exponent", unsigned(rsa.getPrivateExponent()));
        secrets.put("server prime p", unsigned(rsa.getPrimeP()));
        secrets.put("server prime q", unsigned(rsa.getPrimeQ()));
        secrets.put("server PKCS#8", rsa.getEncoded());
        secrets.put("client private scalar", unsigned(((ECPrivateKey) alice.privateKey()).getS()));
        secrets.put("client PKCS#8", alice.privateKey().getEncoded());
        // The backend answers one HTTP request and closes, so every client ends by itself.
        com.sun.net.httpserver.HttpServer http = com.sun.net.httpserver.HttpServer.create(
                new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0), 10);
        http.createContext("/", ex -> {
            byte[] b = "backend-answer\n".getBytes(StandardCharsets.US_ASCII);
            ex.sendResponseHeaders(200, b.length);
            ex.getResponseBody().write(b);
            ex.close();
        });
        http.start();
        try (AutoCloseable stopHttp = () -> http.stop(0);
             ChildJvm serve = ChildJvm.start("io.hsmtls.cli.Main", Map.of(), "--verbose", "serve", "--listen",
                     "127.0.0.1:0", "--backend", "127.0.0.1:" + http.getAddress().getPort(), "--key", key, "--pin-file",
                     hsm.pinFile().toString(), "--cert", serverCert.toString(), "--profile", "legacy-rsa",
                     "--client-auth", "optional", "--client-ca", clientCaPem.toString())) {
            Matcher m = Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+) ")
                    .matcher(serve.await(l -> l.contains("listening on"), 30, "listening line"));
            assertTrue(m.find());
            int port = Integer.parseInt(m.group(1));

            // openssl: RSA key exchange with a client certificate, then TLS 1.3 with one; key logs kept.
            Path keylog = dir.resolve("keylog.txt");
            for (List<String> version : List.of(List.of("-tls1_2", "-cipher", "AES128-GCM-SHA256"), List.of("-tls1_3"))) {
                List<String> cmd = new ArrayList<>(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + port,
                        "-servername", "localhost", "-CAfile", caPem.toString(), "-verify_return_error", "-cert",
                        alicePem[0].toString(), "-key", alicePem[1].toString(), "-keylogfile", keylog.toString(),
                        "-ign_eof"));
                cmd.addAll(version);
                SoftHsm.Result r = SoftHsm.exec(cmd, "GET / HTTP/1.0\r\n\r\n");
                assertTrue(r.output().contains("backend-answer"), r.output());
                assertEquals(0, r.exitCode(), r.output());
            }
            int n = 0;
            for (String line : Files.readAllLines(keylog)) {
                String[] f = line.split(" ");
                if (f.length == 3 && !line.startsWith("#")) {
                    secrets.put(f[0] + " #" + n++, HexFormat.of().parseHex(f[2]));
                }
            }
            assertTrue(n >= 6, "openssl logged the TLS 1.2 master secret and the TLS 1.3 secrets: " + n);

            // Bouncy Castle: RSA key exchange with a premaster the test chose.
            byte[] premaster = bcRsaKeyExchange(port);
            secrets.put("RSA premaster", premaster);

            serve.await(l -> l.contains("suite=TLS_RSA_WITH_AES_128_GCM_SHA256") && l.contains("client=\"CN=alice\""),
                    10, "the RSA key exchange with client certificate in the connection log");
            serve.await(l -> l.contains("version=TLSv1.3") && l.contains("client=\"CN=alice\""), 10,
                    "the TLS 1.3 connection with client certificate in the connection log");
            serve.await(l -> l.contains("suite=TLS_RSA_WITH_AES_128_GCM_SHA256") && l.contains("client=\"-\"")
                    && l.contains("in=18 "), 10, "the Bouncy Castle connection in the log");
            serve.terminate(20);
            logs.add(serve.output());
        }

        String all = String.join("\n", logs);
        Files.writeString(dir.resolve("all-output.txt"), all);
        assertTrue(all.length() > 500, "output was captured: " + all);
        List<String> found = new ArrayList<>();
        for (String pin : List.of(PIN, WRONG_PIN)) {
            byte[] b = pin.getBytes(StandardCharsets.UTF_8);
            for (String needle : List.of(pin, pin.substring(0, 8), HexFormat.of().formatHex(b),
                    Base64.getEncoder().encodeToString(b), Arrays.toString(pin.toCharArray()).substring(0, 12))) {
                if (all.contains(needle)) {
                    found.add("PIN " + needle);
                }
            }
        }
        for (Map.Entry<String, byte[]> s : secrets.entrySet()) {
            for (String needle : needles(s.getValue())) {
                if (all.contains(needle)) {
                    found.add(s.getKey() + " as " + needle);
                    break;
                }
            }
        }
        assertEquals(List.of(), found, "secrets in the output (see " + dir.resolve("all-output.txt") + ")");
    }

    /** Hex (both cases, and every 8-byte window), Base64 (with and without padding), Arrays.toString. */
    static List<String> needles(byte[] secret) {
        List<String> out = new ArrayList<>();
        HexFormat hex = HexFormat.of();
        out.add(hex.formatHex(secret));
        out.add(hex.withUpperCase().formatHex(secret));
        for (int i = 0; i + 8 <= secret.length; i++) {
            byte[] w = Arrays.copyOfRange(secret, i, i + 8);
            out.add(hex.formatHex(w));
            out.add(hex.withUpperCase().formatHex(w));
            out.add(hex.withDelimiter(":").formatHex(w));
        }
        out.add(Base64.getEncoder().encodeToString(secret));
        out.add(Base64.getEncoder().withoutPadding().encodeToString(secret));
        for (int i = 0; i + 12 <= secret.length; i += 3) { // Base64 of aligned 12-byte windows
            out.add(Base64.getEncoder().encodeToString(Arrays.copyOfRange(secret, i, i + 12)));
        }
        String list = Arrays.toString(secret);
        out.add(list.substring(0, Math.min(list.length(), 30)));
        return out;
    }

    private static byte[] unsigned(BigInteger v) {
        byte[] b = v.toByteArray();
        return b[0] == 0 ? Arrays.copyOfRange(b, 1, b.length) : b;
    }

    /** A TLS 1.2 RSA key exchange whose premaster the test picks; one HTTP request through it. Returns the premaster. */
    private static byte[] bcRsaKeyExchange(int port) throws IOException {
        byte[][] chosen = new byte[1][];
        JcaTlsCrypto crypto = new JcaTlsCrypto(new DefaultJcaJceHelper(), new SecureRandom(), new SecureRandom()) {
            @Override
            public TlsSecret generateRSAPreMasterSecret(ProtocolVersion version) {
                byte[] pm = new byte[48];
                getSecureRandom().nextBytes(pm);
                pm[0] = 3;
                pm[1] = 3;
                chosen[0] = pm.clone();
                return new JceTlsSecret(this, pm);
            }
        };
        DefaultTlsClient client = RsaKeyExchangeClient.of(crypto);
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            TlsClientProtocol p = new TlsClientProtocol(s.getInputStream(), s.getOutputStream());
            p.connect(client);
            p.getOutputStream().write("GET / HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            String back = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            assertTrue(back.endsWith("backend-answer\n"), back);
            p.close();
        }
        return chosen[0];
    }
}
