package io.hsmtls.proxy;

import com.sun.net.httpserver.HttpServer;
import io.hsmtls.testing.SoftHsm;
import io.hsmtls.testing.TestPki;
import io.hsmtls.tls.ChainValidator;
import io.hsmtls.tls.ClientAuthMode;
import io.hsmtls.tls.Profile;
import io.hsmtls.tls.ServerCredentials;
import io.hsmtls.tls.ServerSettings;
import io.hsmtls.tls.bc.BcServerHandshaker;
import io.hsmtls.token.KeyType;
import io.hsmtls.token.Pkcs11Uri;
import io.hsmtls.token.Token;
import io.hsmtls.token.TokenKey;
import io.hsmtls.token.TokenOptions;
import io.hsmtls.token.iaik.IaikTokens;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * A SoftHSM token with EC P-256 and RSA-2048 server keys, a test PKI (CA, server certificates for
 * the token keys, good and bad client certificates, all as PEM files too), a tiny HTTP backend,
 * and proxies started on demand. One per test class; close it in {@code @AfterAll}.
 */
final class ServeFixture implements AutoCloseable {
    static final String BODY = "hello from the backend\n";

    final SoftHsm hsm;
    final Token token;
    final TokenKey ecKey;
    final TokenKey rsaKey;
    final TestPki.Ca ca = TestPki.ca("CN=hsmtls Test Root,O=hsmtls");
    final TestPki.Ca otherCa = TestPki.ca("CN=Unrelated Root,O=elsewhere");
    final TestPki.Ca clientCa = TestPki.ca("CN=hsmtls Client CA,O=hsmtls");
    final X509Certificate ecCert;
    final X509Certificate rsaCert;
    final TestPki.Held alice;
    final TestPki.Held expired;
    final TestPki.Held wrongCa;
    final TestPki.Held wrongEku;
    final Path dir;
    final Path caPem;
    final Path clientCaPem;
    final HttpServer http;
    final List<ProxyServer> proxies = new ArrayList<>();
    final List<ConnectionRecord> records = new CopyOnWriteArrayList<>();

    ServeFixture(SoftHsm hsm) throws IOException {
        this.hsm = hsm;
        this.token = IaikTokens.open(TokenOptions.of(Pkcs11Uri.parse(hsm.tokenUri()), null).withReadWrite(true));
        this.ecKey = token.generateKeyPair(KeyType.EC_P256, "server-ec", Optional.empty(), false);
        this.rsaKey = token.generateKeyPair(KeyType.RSA_2048, "server-rsa", Optional.empty(), false);
        this.ecCert = ca.leaf("CN=localhost").publicKey(ecKey.info().publicKey()).serverAuth().sign();
        this.rsaCert = ca.leaf("CN=localhost").publicKey(rsaKey.info().publicKey()).serverAuth().sign();
        this.alice = clientCa.leaf("CN=alice,O=hsmtls").clientAuth().generate();
        this.expired = clientCa.leaf("CN=old,O=hsmtls").clientAuth().expired().generate();
        this.wrongCa = otherCa.leaf("CN=mallory,O=elsewhere").clientAuth().generate();
        this.wrongEku = clientCa.leaf("CN=mailer,O=hsmtls").wrongEku().generate();
        this.dir = hsm.workDir().resolve(hsm.label() + "-pki");
        java.nio.file.Files.createDirectories(dir);
        this.caPem = TestPki.writePem(dir.resolve("ca.pem"), List.of(ca.certificate()));
        this.clientCaPem = TestPki.writePem(dir.resolve("client-ca.pem"), List.of(clientCa.certificate()));
        alice.writePem(dir, "alice");
        expired.writePem(dir, "expired");
        wrongCa.writePem(dir, "wrongca");
        wrongEku.writePem(dir, "wrongeku");
        this.http = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
        http.createContext("/", ex -> {
            byte[] b = BODY.getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, b.length);
            ex.getResponseBody().write(b);
            ex.close();
        });
        http.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        http.start();
    }

    TokenKey key(String type) {
        return "rsa".equals(type) ? rsaKey : ecKey;
    }

    X509Certificate cert(String type) {
        return "rsa".equals(type) ? rsaCert : ecCert;
    }

    ServerSettings settings(String type, Profile profile, ClientAuthMode mode) {
        ServerSettings s = ServerSettings.of(ServerCredentials.checked(key(type), List.of(cert(type)), profile), profile);
        return mode == ClientAuthMode.NONE ? s : s.withClientAuth(mode,
                Optional.of(new ChainValidator(List.of(clientCa.certificate()), ChainValidator.Purpose.CLIENT_AUTH)));
    }

    /** Starts a proxy to the HTTP backend; returns its port. */
    int proxy(ServerSettings settings) throws IOException {
        return proxy(settings, http.getAddress(), ProxyLimits.defaults());
    }

    int proxy(ServerSettings settings, InetSocketAddress backend, ProxyLimits limits) throws IOException {
        ProxyServer p = new ProxyServer(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), backend,
                new BcServerHandshaker(settings), limits, records::add);
        proxies.add(p);
        return p.start().getPort();
    }

    /** A started proxy (EC key, compat profile, default limits) to {@code backend}. */
    ProxyServer proxyTo(java.net.ServerSocket backend) throws IOException {
        proxy(settings("ec", Profile.COMPAT, ClientAuthMode.NONE),
                (InetSocketAddress) backend.getLocalSocketAddress(), ProxyLimits.defaults());
        return proxies.get(proxies.size() - 1);
    }

    /** A SunJSSE context trusting the test CA, with a client key if given. */
    SSLContext jsse(TestPki.Held client) throws Exception {
        KeyStore ts = KeyStore.getInstance("PKCS12");
        ts.load(null, null);
        ts.setCertificateEntry("ca", ca.certificate());
        TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
        tmf.init(ts);
        KeyManagerFactory kmf = null;
        if (client != null) {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry("client", client.privateKey(), "x".toCharArray(),
                    client.chain().toArray(new java.security.cert.Certificate[0]));
            kmf = KeyManagerFactory.getInstance("PKIX");
            kmf.init(ks, "x".toCharArray());
        }
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        return ctx;
    }

    /** Waits briefly for the connection record of the most recent connection matching {@code port}-independent criteria. */
    ConnectionRecord lastRecord() throws InterruptedException {
        for (int i = 0; i < 100 && records.isEmpty(); i++) {
            Thread.sleep(20);
        }
        return records.get(records.size() - 1);
    }

    /** Waits until no proxy has a connection open, so every earlier connection's record is in. */
    int quiesce() throws InterruptedException {
        for (int i = 0; i < 500 && proxies.stream().anyMatch(p -> p.openConnections() > 0); i++) {
            Thread.sleep(10);
        }
        return records.size();
    }

    @Override
    public void close() {
        for (ProxyServer p : proxies) {
            p.shutdown(java.time.Duration.ZERO);
        }
        http.stop(0);
        token.close();
    }
}
