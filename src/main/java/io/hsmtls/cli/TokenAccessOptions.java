package io.hsmtls.cli;

import io.hsmtls.token.PinSource;
import io.hsmtls.token.Pkcs11Uri;
import io.hsmtls.token.TokenOptions;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * What every command that opens a token shares: the module and where the PIN comes from. The
 * concrete mixins add the URI option ({@link KeyOptionsMixin}: {@code --key}, {@link
 * TokenOptionsMixin}: {@code --token}).
 *
 * <p>PIN precedence: one of {@code --pin-file}, {@code --pin-stdin}, {@code --pin-env} (they
 * exclude each other); else the URI's {@code pin-source}; else a no-echo prompt, which fails with
 * a clear message when no terminal is attached. Never a PIN value on the command line.
 */
public abstract class TokenAccessOptions {
    @Spec(Spec.Target.MIXEE)
    CommandSpec mixee;

    @Option(names = "--module", paramLabel = "PATH",
            description = "PKCS#11 module (shared library), overrides the URI's module-path, "
                    + "e.g. /usr/lib/softhsm/libsofthsm2.so; default: the URI's module-path or module-name, "
                    + "$HSMTLS_PKCS11_MODULE, else SoftHSM2")
    Path module;

    @Option(names = "--pin-file", paramLabel = "FILE", description = "read the user PIN from FILE (one line)")
    Path pinFile;

    @Option(names = "--pin-stdin", description = "read the user PIN from the first line of standard input")
    boolean pinStdin;

    @Option(names = "--pin-env", paramLabel = "VAR",
            description = "read the user PIN from environment variable VAR (warns: the environment leaks)")
    String pinEnv;

    /** The URI the command was given (or the default for commands where it is optional). */
    public abstract Pkcs11Uri uri();

    /**
     * The {@code --module} override, if given. Without it the token layer looks at the URI's
     * module-path/module-name, then {@code HSMTLS_PKCS11_MODULE}, then SoftHSM2 where installed,
     * and its error names every place it tried.
     */
    public Optional<Path> modulePath() {
        return Optional.ofNullable(module);
    }

    /**
     * Where the PIN will come from. Nothing is read here: the token reads the PIN only when it
     * needs a login, so a token without login or with a PIN pad never prompts.
     */
    public PinSource pinSource() {
        List<String> given = new ArrayList<>();
        if (pinFile != null) given.add("--pin-file");
        if (pinStdin) given.add("--pin-stdin");
        if (pinEnv != null) given.add("--pin-env");
        if (given.size() > 1) {
            throw new ParameterException(mixee.commandLine(), String.join(" and ", given)
                    + " both name a PIN source: give only one");
        }
        Io io = Io.of(mixee);
        if (pinFile != null) {
            return new PinSource.FromFile(pinFile);
        }
        if (pinStdin) {
            return new PinSource.Stdin(io.in());
        }
        if (pinEnv != null) {
            return new PinSource.FromEnv(pinEnv, w -> {
                io.err().println("hsmtls: warning: " + w);
                io.err().flush();
            });
        }
        return PinSource.of(uri()).orElseGet(() -> new PinSource.Prompt(
                "PIN for " + uri().token().map(t -> "token '" + t + "'").orElse("the token") + ": "));
    }

    /** Options to open the token the URI names: read-write for provisioning, read-only otherwise. */
    public TokenOptions tokenOptions(boolean readWrite) {
        TokenOptions o = TokenOptions.of(uri(), pinSource()).withReadWrite(readWrite);
        Optional<Path> m = modulePath();
        return m.isPresent() ? o.withModule(m.get()) : o;
    }
}
