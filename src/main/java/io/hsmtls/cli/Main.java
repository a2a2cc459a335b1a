package io.hsmtls.cli;

import io.hsmtls.provision.DistinguishedNames;
import io.hsmtls.provision.ProvisionException;
import io.hsmtls.provision.SubjectAltName;
import io.hsmtls.tls.bc.FastTlsCrypto;
import io.hsmtls.token.KeyId;
import io.hsmtls.token.KeyType;
import io.hsmtls.token.TokenException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.security.GeneralSecurityException;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Callable;
import org.bouncycastle.asn1.x500.X500Name;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * The {@code hsmtls} root command: registers the subcommands and maps every failure to an exit
 * code in one place — 0 ok, 1 the operation failed (one clean line; the stack trace only with
 * {@code --verbose}), 2 the command line was wrong.
 */
@Command(name = "hsmtls", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "A TLS endpoint whose private keys never leave a PKCS#11 token.",
        footer = {"", "Exit codes: 0 ok, 1 operation failed, 2 usage error."})
public final class Main implements Callable<Integer> {
    public static final int OK = 0;
    public static final int FAILED = 1;
    public static final int USAGE = 2;

    /**
     * Every subcommand, in help order. The one place to register a command: add its class here
     * (one per line, so parallel additions merge cleanly).
     */
    static final List<Class<?>> SUBCOMMANDS = List.of(
            TokenCommand.class,
            KeyCommand.class,
            CsrCommand.class,
            CertCommand.class,
            ServeCommand.class,
            ConnectCommand.class,
            ProbeCommand.class,
            ConfigCommand.class,
            AuditCommand.class,
            DoctorCommand.class,
            BenchCommand.class
    );

    @Option(names = {"-v", "--verbose"}, scope = ScopeType.INHERIT,
            description = "on failure, also print the stack trace")
    boolean verbose;

    private final Io io;

    Main(Io io) {
        this.io = io;
    }

    Io io() {
        return io;
    }

    /** "hsmtls" alone: nothing to do, so show what there is to do, as a usage error. */
    @Override
    public Integer call() {
        commandLine(io).usage(io.err());
        return USAGE;
    }

    public static void main(String[] args) {
        // One log line per event (the connection log is meant for grep and log shippers), unless
        // the operator configured java.util.logging otherwise.
        if (System.getProperty("java.util.logging.SimpleFormatter.format") == null
                && System.getProperty("java.util.logging.config.file") == null) {
            System.setProperty("java.util.logging.SimpleFormatter.format", "%1$tFT%1$tT.%1$tL%1$tz %4$s %5$s%6$s%n");
        }
        PrintWriter out = new PrintWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8), true);
        PrintWriter err = new PrintWriter(new OutputStreamWriter(System.err, StandardCharsets.UTF_8), true);
        int code = execute(Io.system(out, err), args);
        out.flush();
        err.flush();
        System.exit(code);
    }

    /** Runs the CLI in-process with no terminal and standard input from {@code System.in}. */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        return run(System.in, out, err, args);
    }

    /** Runs the CLI in-process with no terminal; {@code in} feeds {@code --pin-stdin} and confirmations. */
    public static int run(InputStream in, PrintWriter out, PrintWriter err, String... args) {
        try {
            return execute(new Io(in, out, err, false, false), args);
        } finally {
            out.flush();
            err.flush();
        }
    }

    static int execute(Io io, String... args) {
        return commandLine(io).execute(args);
    }

    static CommandLine commandLine(Io io) {
        CommandLine cl = new CommandLine(new Main(io));
        for (Class<?> c : SUBCOMMANDS) {
            cl.addSubcommand(c);
        }
        // Values are parsed once, here at the edge; a converter's IllegalArgumentException is a usage error.
        cl.registerConverter(KeyType.class, converter(KeyType::fromCliName));
        cl.registerConverter(KeyId.class, converter(KeyId::ofHex));
        cl.registerConverter(SubjectAltName.class, converter(SubjectAltName::parse));
        cl.registerConverter(X500Name.class, converter(DistinguishedNames::parse));
        cl.setOut(io.out());
        cl.setErr(io.err());
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        cl.setParameterExceptionHandler(Main::usageError);
        cl.setExecutionExceptionHandler((e, c, pr) -> failure(io, e, pr));
        return cl;
    }

    /** Lets picocli quote our own message ("what is wrong, what to write") instead of its generic one. */
    private static <T> CommandLine.ITypeConverter<T> converter(java.util.function.Function<String, T> parse) {
        return value -> {
            try {
                return parse.apply(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        };
    }

    private static int usageError(ParameterException e, String[] args) {
        CommandLine cl = e.getCommandLine();
        PrintWriter err = cl.getErr();
        err.println("hsmtls: " + e.getMessage());
        UnmatchedArgumentException.printSuggestions(e, err);
        err.println("Try '" + cl.getCommandSpec().qualifiedName() + " --help' for more information.");
        return USAGE;
    }

    /** The single mapping from an exception to a message and an exit code. */
    static int failure(Io io, Exception e, ParseResult pr) {
        Throwable t = e;
        while ((t instanceof UncheckedIOException || t instanceof CommandLine.ExecutionException)
                && t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        if (t instanceof ParameterException pe) {
            // Thrown by a mixin after parsing (e.g. two PIN sources): still a usage error.
            return usageError(pe, new String[0]);
        }
        int code;
        String message;
        if (t instanceof IllegalArgumentException) {
            code = USAGE;
            message = t.getMessage();
        } else if (t instanceof TokenException || t instanceof OperationFailedException
                || t instanceof io.hsmtls.config.ConfigException || t instanceof ProvisionException
                || t instanceof GeneralSecurityException) {
            code = FAILED;
            message = t.getMessage();
        } else if (t instanceof IOException io2) {
            code = FAILED;
            message = describe(io2);
        } else {
            code = FAILED;
            message = "internal error (" + t.getClass().getName() + (t.getMessage() == null ? "" : ": "
                    + t.getMessage()) + ")" + (verbose(pr) ? "" : "; run again with --verbose for the stack trace");
        }
        io.err().println("hsmtls: " + (message == null ? t.getClass().getSimpleName() : message));
        if (verbose(pr)) {
            t.printStackTrace(io.err());
        }
        io.err().flush();
        return code;
    }

    private static String describe(IOException e) {
        if (e instanceof NoSuchFileException n) {
            return "no such file: " + n.getFile();
        }
        if (e instanceof AccessDeniedException a) {
            return "permission denied: " + a.getFile();
        }
        if (e instanceof FileAlreadyExistsException f) {
            return "file exists: " + f.getFile() + ": remove it or choose another path";
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }

    private static boolean verbose(ParseResult pr) {
        for (ParseResult p = pr; p != null; p = p.subcommand()) {
            if (p.hasMatchedOption("--verbose")) {
                return true;
            }
        }
        return false;
    }

    /**
     * The version from the jar's Maven metadata (or "development build" when run from classes), the
     * runtime, and where the key exchange's X25519 comes from.
     */
    static final class Version implements IVersionProvider {
        @Override
        public String[] getVersion() throws IOException {
            Properties p = new Properties();
            try (InputStream in = Main.class.getResourceAsStream("/META-INF/maven/io.hsmtls/hsmtls/pom.properties")) {
                if (in != null) {
                    p.load(in);
                }
            }
            return new String[] {"hsmtls " + p.getProperty("version", "(development build)"),
                    "Java " + Runtime.version() + " (" + System.getProperty("java.vendor") + ")",
                    "X25519 key exchange: " + FastTlsCrypto.x25519Implementation()};
        }
    }
}
