package io.hsmtls.cli;

import io.hsmtls.provision.Certificates;
import io.hsmtls.provision.Pem;
import io.hsmtls.provision.ProvisionException;
import io.hsmtls.provision.SubjectAltName;
import io.hsmtls.token.Token;
import io.hsmtls.token.TokenKey;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bouncycastle.asn1.x500.X500Name;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code hsmtls cert self-sign|import|show}: the certificate stored beside a token key. */
@Command(name = "cert", mixinStandardHelpOptions = true,
        description = "Self-sign, import and show the certificate stored on the token beside a key.",
        subcommands = {CertCommand.SelfSign.class, CertCommand.Import.class, CertCommand.Show.class})
final class CertCommand {

    @Command(name = "self-sign", mixinStandardHelpOptions = true,
            description = {"Make an X.509 v3 certificate for the key, signed on the token, store it beside the key",
                    "and print it as PEM."})
    static final class SelfSign implements Runnable {
        @Spec
        CommandSpec spec;
        @Mixin
        KeyOptionsMixin key;
        @Option(names = "--subject", required = true, paramLabel = "DN", description = "e.g. 'CN=host.example'")
        X500Name subject;
        @Option(names = "--days", defaultValue = "365", paramLabel = "N", description = "validity in days (default 365)")
        int days;
        @Option(names = "--san", paramLabel = "KIND:VALUE",
                description = "subjectAltName, repeatable: dns:NAME, ip:ADDRESS, email:ADDRESS, uri:URI")
        List<SubjectAltName> sans = new ArrayList<>();
        @Option(names = "--ca", description = "a CA certificate (keyCertSign, no TLS extended key usage)")
        boolean ca;
        @Option(names = "--pss", description = "RSA keys: sign with RSASSA-PSS instead of PKCS#1 v1.5")
        boolean pss;
        @Option(names = "--force", description = "replace a certificate already stored for the key")
        boolean force;

        @Override
        public void run() {
            if (days < 1) {
                throw new IllegalArgumentException("--days " + days + ": give a positive number of days");
            }
            Io io = Io.of(spec);
            try (Token t = Tokens.open(io, key.tokenOptions(true))) {
                TokenKey k = t.key(key.uri());
                X509Certificate cert = Certificates.selfSignAndStore(t, k,
                        new Certificates.SelfSignedSpec(subject, Duration.ofDays(days), sans, ca, pss), force);
                io.out().print(Pem.certificate(cert));
            }
        }
    }

    @Command(name = "import", mixinStandardHelpOptions = true,
            description = {"Store the leaf certificate of a PEM chain beside the key (same CKA_ID and label).",
                    "Refused when the certificate's public key is not the key's."})
    static final class Import implements Runnable {
        @Spec
        CommandSpec spec;
        @Mixin
        KeyOptionsMixin key;
        @Parameters(index = "0", paramLabel = "CHAIN.pem", description = "PEM certificates, leaf first")
        Path chain;
        @Option(names = "--force", description = "replace a certificate already stored for the key")
        boolean force;

        @Override
        public void run() {
            Io io = Io.of(spec);
            List<X509Certificate> certs;
            try {
                certs = Pem.readCertificates(chain);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            try (Token t = Tokens.open(io, key.tokenOptions(true))) {
                TokenKey k = t.key(key.uri());
                X509Certificate leaf = Certificates.importLeaf(t, k, certs, chain.toString(), force);
                io.err().println("stored certificate '" + leaf.getSubjectX500Principal().getName() + "' beside key "
                        + k.info().describe() + (certs.size() > 1 ? "; the other " + (certs.size() - 1)
                        + " certificate(s) of " + chain + " were not stored (give the chain to serve with --cert)" : ""));
            }
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true,
            description = "Show the certificate stored beside the key: subject, issuer, validity, SANs, fingerprint.")
    static final class Show implements Runnable {
        @Spec
        CommandSpec spec;
        @Mixin
        KeyOptionsMixin key;
        @Mixin
        JsonOption json;
        @Option(names = "--pem", description = "print the certificate as PEM")
        boolean pem;

        @Override
        public void run() {
            Io io = Io.of(spec);
            try (Token t = Tokens.open(io, key.tokenOptions(false))) {
                TokenKey k = t.key(key.uri());
                X509Certificate cert = k.certificate().orElseThrow(() -> new ProvisionException("key "
                        + k.info().describe() + " has no certificate on the token: make one with 'hsmtls cert "
                        + "self-sign' or store one with 'hsmtls cert import'"));
                if (pem) {
                    io.out().print(Pem.certificate(cert));
                    return;
                }
                Certificates.Summary s = Certificates.summarize(cert);
                if (json.enabled()) {
                    Map<String, Object> o = new LinkedHashMap<>();
                    o.put("key", k.uri().toString());
                    o.put("subject", s.subject());
                    o.put("issuer", s.issuer());
                    o.put("serial", s.serial());
                    o.put("notBefore", s.notBefore().toString());
                    o.put("notAfter", s.notAfter().toString());
                    o.put("subjectAltNames", s.subjectAltNames());
                    o.put("sha256", s.sha256Fingerprint());
                    o.put("publicKey", s.publicKey());
                    o.put("signatureAlgorithm", s.signatureAlgorithm());
                    o.put("selfSigned", s.selfSigned());
                    o.put("ca", s.ca());
                    io.out().println(Json.write(o));
                    return;
                }
                io.out().println("key:        " + k.uri());
                io.out().println("subject:    " + s.subject());
                io.out().println("issuer:     " + s.issuer() + (s.selfSigned() ? " (self-signed)" : ""));
                io.out().println("serial:     " + s.serial());
                io.out().println("valid:      " + s.notBefore() + " to " + s.notAfter());
                io.out().println("SANs:       " + (s.subjectAltNames().isEmpty() ? "none"
                        : String.join(", ", s.subjectAltNames())));
                io.out().println("public key: " + s.publicKey() + (s.ca() ? ", CA" : ""));
                io.out().println("signature:  " + s.signatureAlgorithm());
                io.out().println("SHA-256:    " + s.sha256Fingerprint());
            }
        }
    }
}
