package io.hsmtls.bench;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.Security;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManagerFactory;

/**
 * What the load generator offers: one protocol version, optionally one cipher suite and one key
 * exchange group, the certificates it trusts, and the server name it sends. The same JSSE client
 * drives every server, so differences in the table come from the servers.
 *
 * @param target  where to connect (127.0.0.1 in the harness)
 * @param version "TLSv1.3" or "TLSv1.2"
 * @param suite   a JSSE suite name, or empty for JSSE's defaults for the version
 * @param group   a named group (x25519, secp256r1, …), or empty for JSSE's defaults
 * @param trust   PEM certificates the server's certificate must chain to (the bench's own self-signed ones)
 * @param sni     the server name to send, or empty for none
 */
public record ClientConfig(InetSocketAddress target, String version, Optional<String> suite, Optional<String> group,
                           List<Path> trust, Optional<String> sni) {
    public ClientConfig {
        if (!version.equals("TLSv1.3") && !version.equals("TLSv1.2")) {
            throw new IllegalArgumentException("TLS version '" + version + "': use TLSv1.3 or TLSv1.2");
        }
        if (trust.isEmpty()) {
            throw new IllegalArgumentException("no trusted certificate: pass the servers' certificate(s) with --trust");
        }
        trust = List.copyOf(trust);
    }

    /** Accepts "1.3", "tls1.3", "TLSv1.3" and the same for 1.2. */
    public static String normaliseVersion(String v) {
        String s = v.toLowerCase(Locale.ROOT).replace("tlsv", "").replace("tls", "");
        return switch (s) {
            case "1.3" -> "TLSv1.3";
            case "1.2" -> "TLSv1.2";
            default -> throw new IllegalArgumentException("TLS version '" + v + "': use 1.3 or 1.2");
        };
    }

    /**
     * Builds the JSSE context. TLS_RSA_* key exchange is disabled by default on current JDKs; the
     * load generator re-enables it for its own process only when asked for such a suite, before
     * JSSE reads the property.
     */
    SSLContext context() throws GeneralSecurityException, IOException {
        if (suite.map(s -> s.startsWith("TLS_RSA_")).orElse(false)) {
            String disabled = Security.getProperty("jdk.tls.disabledAlgorithms");
            if (disabled != null) {
                Security.setProperty("jdk.tls.disabledAlgorithms",
                        disabled.replaceAll("TLS_RSA_\\*\\s*,?", "").replaceAll(",\\s*$", ""));
            }
        }
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        int i = 0;
        for (Path p : trust) {
            Collection<? extends Certificate> certs;
            try (InputStream in = Files.newInputStream(p)) {
                certs = cf.generateCertificates(in);
            }
            if (certs.isEmpty()) {
                throw new IOException("no certificate in " + p + ": pass a PEM file with the server's certificate");
            }
            for (Certificate c : certs) {
                ks.setCertificateEntry("trusted-" + i++, (X509Certificate) c);
            }
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }

    /**
     * A client engine. Without a peer (resumable = false) JSSE neither looks up nor stores a
     * session, so every handshake is full; with one, TLS 1.2 sessions are resumed by host:port.
     */
    SSLEngine engine(SSLContext ctx, boolean resumable) {
        SSLEngine e = resumable ? ctx.createSSLEngine(target.getHostString(), target.getPort()) : ctx.createSSLEngine();
        e.setUseClientMode(true);
        SSLParameters p = e.getSSLParameters();
        p.setProtocols(new String[] {version});
        suite.ifPresent(s -> p.setCipherSuites(new String[] {s}));
        group.ifPresent(g -> p.setNamedGroups(new String[] {g}));
        sni.ifPresent(n -> p.setServerNames(List.of(new SNIHostName(n))));
        e.setSSLParameters(p);
        return e;
    }

    /** For messages: "TLSv1.3 x25519" etc. */
    String describe() {
        List<String> parts = new ArrayList<>(List.of(version));
        suite.ifPresent(parts::add);
        group.ifPresent(parts::add);
        return String.join(" ", parts);
    }
}
