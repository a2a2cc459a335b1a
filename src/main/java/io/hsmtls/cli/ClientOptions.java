package io.hsmtls.cli;

import io.hsmtls.tls.TlsVersion;
import io.hsmtls.tls.client.ClientCandidate;
import io.hsmtls.tls.client.ClientSettings;
import io.hsmtls.tls.client.ProbeStep;
import io.hsmtls.tls.client.ServerVerifier;
import io.hsmtls.tls.client.VersionPolicy;
import io.hsmtls.token.Pkcs11Uri;
import io.hsmtls.token.SignatureScheme;
import io.hsmtls.token.Token;
import io.hsmtls.token.TokenKey;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Option;

/**
 * The options {@code connect} and {@code probe} share: how the server is verified, which versions
 * are offered, and extra chain certificates for the client. {@code @Mixin ClientOptions client;}
 */
public class ClientOptions {
    @Option(names = "--trust", paramLabel = "FILE",
            description = "CA certificates (PEM) that may issue the server's certificate; default: the JDK trust store")
    Path trust;

    @Option(names = "--server-name", paramLabel = "NAME",
            description = "the name to send as SNI and to check against the server certificate; default: the host")
    String serverName;

    @Option(names = "--cert", paramLabel = "FILE",
            description = "intermediate CA certificates (PEM) to send after the token's client certificate")
    Path chain;

    @Option(names = "--insecure-skip-verify",
            description = "DANGEROUS: do not validate the server's certificate or name (anyone can impersonate it)")
    boolean insecureSkipVerify;

    @ArgGroup(exclusive = true)
    Versions versions;

    static final class Versions {
        @Option(names = "--tls1.2", description = "offer TLS 1.2 only")
        boolean tls12;
        @Option(names = "--tls1.3", description = "offer TLS 1.3 only")
        boolean tls13;
    }

    /** The versions the user allows, highest first. */
    List<TlsVersion> allowedVersions() {
        if (versions != null && versions.tls12) return List.of(TlsVersion.TLS_1_2);
        if (versions != null && versions.tls13) return List.of(TlsVersion.TLS_1_3);
        return List.of(TlsVersion.TLS_1_3, TlsVersion.TLS_1_2);
    }

    String serverName(String host) {
        return serverName != null ? serverName : host;
    }

    /** Null with --insecure-skip-verify (after a loud warning on stderr). */
    ServerVerifier verifier(Io io) throws IOException {
        if (insecureSkipVerify) {
            io.err().println("hsmtls: WARNING: --insecure-skip-verify: the server's certificate and name are NOT "
                    + "checked; anyone on the network path can impersonate it and read everything sent");
            io.err().flush();
            return null;
        }
        if (trust == null) {
            return ServerVerifier.jdkDefault();
        }
        List<X509Certificate> anchors = readCertificates(trust, "--trust");
        return ServerVerifier.trusting(anchors, trust.toString());
    }

    /** The client's candidate certificates: the named key, or every key with a certificate on the token. */
    List<ClientCandidate> candidates(Token token, Pkcs11Uri uri) throws IOException {
        List<X509Certificate> extra = chain == null ? List.of() : readCertificates(chain, "--cert");
        List<ClientCandidate> out = new ArrayList<>();
        if (uri.namesObject()) {
            TokenKey key = token.key(uri);
            Optional<ClientCandidate> c = ClientCandidate.of(key, extra);
            if (c.isEmpty()) {
                throw new OperationFailedException("key '" + key.uri().withoutQuery() + "' has no certificate on the "
                        + "token (no CKO_CERTIFICATE with CKA_ID " + key.info().id() + "): store one with "
                        + "'hsmtls cert import' or pick another key");
            }
            out.add(c.get());
        } else {
            for (TokenKey key : token.keys()) {
                ClientCandidate.of(key, extra).ifPresent(out::add);
            }
        }
        return out;
    }

    /** Settings plus the steps that explain version choices, for the probe. */
    record Prepared(ClientSettings settings, List<ProbeStep> notes, VersionPolicy.Decision decision) { }

    Prepared prepare(String host, ServerVerifier verifier, List<ClientCandidate> candidates) {
        VersionPolicy.Decision d = VersionPolicy.decide(allowedVersions(), candidates);
        List<ProbeStep> notes = new ArrayList<>();
        notes.add(new ProbeStep("Client keys", candidates.isEmpty() ? ProbeStep.Status.INFO : ProbeStep.Status.OK, 0,
                List.of(ProbeStep.d("candidates", candidates.isEmpty() ? List.of("none (no --key): no client certificate")
                        : candidates.stream().map(c -> c.description() + " | " + c.leaf().getSubjectX500Principal()
                                .getName() + " | can sign: " + c.schemes().stream().sorted()
                                .map(SignatureScheme::tlsName).toList()).toList()))));
        if (d.note() != null) {
            notes.add(new ProbeStep("Version choice", d.warning() ? ProbeStep.Status.WARN : ProbeStep.Status.INFO, 0,
                    List.of(ProbeStep.d("offered", d.versions().stream().map(TlsVersion::display).toList()),
                            ProbeStep.d("why", d.note()))));
        }
        ClientSettings s = new ClientSettings(serverName(host), d.versions(), verifier, candidates);
        return new Prepared(s, notes, d);
    }

    static List<X509Certificate> readCertificates(Path file, String option) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            List<X509Certificate> out = new ArrayList<>();
            for (var c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                out.add((X509Certificate) c);
            }
            if (out.isEmpty()) {
                throw new OperationFailedException(option + " " + file + " holds no certificate: give a PEM file with "
                        + "-----BEGIN CERTIFICATE----- blocks");
            }
            return out;
        } catch (NoSuchFileException e) {
            throw new OperationFailedException(option + " " + file + ": no such file");
        } catch (CertificateException e) {
            throw new OperationFailedException(option + " " + file + " is not a PEM/DER certificate file ("
                    + e.getMessage() + "): give CA certificates in PEM");
        }
    }

    /** "host:port" → host and port; IPv6 as "[::1]:443". */
    record HostPort(String host, int port) {
        static HostPort parse(String text, String option) {
            int colon = text.lastIndexOf(':');
            if (colon <= 0 || colon == text.length() - 1) {
                throw new IllegalArgumentException(option + " '" + text + "' is not HOST:PORT: e.g. 127.0.0.1:8443");
            }
            String host = text.substring(0, colon);
            if (host.startsWith("[") && host.endsWith("]")) {
                host = host.substring(1, host.length() - 1);
            }
            int port;
            try {
                port = Integer.parseInt(text.substring(colon + 1));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(option + " '" + text + "' has no numeric port: e.g. 127.0.0.1:8443");
            }
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException(option + " '" + text + "': port " + port + " is out of range 0-65535");
            }
            return new HostPort(host, port);
        }

        @Override
        public String toString() {
            return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
        }
    }
}
