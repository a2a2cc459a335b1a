package io.hsmtls.cli;

import io.hsmtls.provision.CertificateRequests;
import io.hsmtls.provision.SubjectAltName;
import io.hsmtls.token.Token;
import io.hsmtls.token.TokenKey;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code hsmtls csr}: a PKCS#10 request signed on the token, as PEM. */
@Command(name = "csr", mixinStandardHelpOptions = true,
        description = "Make a PKCS#10 certificate request for a token key, signed on the token (PEM).")
final class CsrCommand implements Runnable {
    @Spec
    CommandSpec spec;
    @Mixin
    KeyOptionsMixin key;
    @Option(names = "--subject", required = true, paramLabel = "DN", description = "e.g. 'CN=host.example,O=Example'")
    X500Name subject;
    @Option(names = "--san", paramLabel = "KIND:VALUE",
            description = "subjectAltName, repeatable: dns:NAME, ip:ADDRESS, email:ADDRESS, uri:URI")
    List<SubjectAltName> sans = new ArrayList<>();
    @Option(names = "--pss", description = "RSA keys: sign with RSASSA-PSS instead of PKCS#1 v1.5")
    boolean pss;
    @Option(names = "--out", paramLabel = "FILE", description = "write the PEM to FILE instead of standard output")
    Path out;

    @Override
    public void run() {
        Io io = Io.of(spec);
        try (Token t = Tokens.open(io, key.tokenOptions(false))) {
            TokenKey k = t.key(key.uri());
            KeyCommand.write(io, out, CertificateRequests.pem(CertificateRequests.create(k, subject, sans, pss)));
        }
    }
}
