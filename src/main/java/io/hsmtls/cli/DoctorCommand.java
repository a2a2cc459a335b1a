package io.hsmtls.cli;

import io.hsmtls.doctor.Doctor;
import io.hsmtls.doctor.DoctorOptions;
import io.hsmtls.doctor.DoctorReport;
import io.hsmtls.doctor.TokenAccess;
import io.hsmtls.token.ModuleLoadException;
import io.hsmtls.token.Pkcs11Uri;
import io.hsmtls.token.Token;
import io.hsmtls.token.TokenInfo;
import io.hsmtls.token.TokenOptions;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code hsmtls doctor}: a setup check a person can read, one verdict per TLS use. The checks live in {@code doctor}. */
@Command(name = "doctor", mixinStandardHelpOptions = true,
        description = {"Check a key for serving TLS, one line per step: module, token, login",
                "(once, never retried), key attributes, mechanisms, certificate match,",
                "chain, expiry, sign speed. Then a verdict for TLS 1.3, TLS 1.2 ECDHE and",
                "TLS 1.2 RSA key exchange. Exit 0 when no check failed, 1 otherwise."})
final class DoctorCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Mixin
    KeyOptionsMixin key;
    @Mixin
    JsonOption json;
    @Option(names = "--cert", paramLabel = "FILE",
            description = "PEM certificate chain, leaf first (default: the certificate stored with the key)")
    Path cert;
    @Option(names = "--speed-seconds", paramLabel = "S", defaultValue = "2",
            description = "how long to time signatures (default 2; 0 = one signature only)")
    double speedSeconds;

    @Override
    public Integer call() {
        if (!(speedSeconds >= 0 && speedSeconds <= 600)) {
            throw new IllegalArgumentException("--speed-seconds " + speedSeconds + ": give a number from 0 to 600");
        }
        Io io = Io.of(spec);
        DoctorOptions options = DoctorOptions.of(key.uri())
                .withSpeedTime(Duration.ofNanos((long) (speedSeconds * 1e9)));
        if (cert != null) {
            List<X509Certificate> chain;
            try {
                chain = ServeCommand.readPem(cert, "--cert");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            options = options.withChain(chain, cert.toString());
        }
        DoctorReport report = Doctor.run(new CliTokenAccess(io, key), options, io::progress);
        if (json.enabled()) {
            io.out().println(Json.write(report.tree()));
        } else {
            report.lines().forEach(io.out()::println);
        }
        io.out().flush();
        return report.failed() ? Main.FAILED : Main.OK;
    }

    /**
     * The doctor's steps bound to the PKCS#11 implementation. The token options are made on first
     * use, inside the checks, so whatever goes wrong shows up as the doctor's own lines.
     */
    private static final class CliTokenAccess implements TokenAccess {
        private final Io io;
        private final KeyOptionsMixin key;
        private TokenOptions options;

        CliTokenAccess(Io io, KeyOptionsMixin key) {
            this.io = io;
            this.key = key;
        }

        private TokenOptions options() {
            if (options == null) {
                options = key.tokenOptions(false);
            }
            return options;
        }

        @Override
        public String module() {
            try {
                return Tokens.modulePath(options()).toString();
            } catch (ModuleLoadException e) {
                return "(no module found)";
            }
        }

        @Override
        public List<TokenInfo> slots() {
            TokenOptions o = options();
            return Tokens.list(new TokenOptions(moduleOnly(o.uri()), o.module(), o.pin(), o.maxSessions(),
                    o.acquireTimeout(), o.opDeadline(), o.maxPending(), o.readWrite()));
        }

        @Override
        public TokenInfo token() {
            return Tokens.find(options());
        }

        @Override
        public Token open() {
            return Tokens.open(io, options());
        }

        /** The URI with its path attributes dropped: every slot of the module it names. */
        private static Pkcs11Uri moduleOnly(Pkcs11Uri uri) {
            String text = uri.toString();
            int q = text.indexOf('?');
            return Pkcs11Uri.parse(q < 0 ? "pkcs11:" : "pkcs11:" + text.substring(q));
        }
    }
}
