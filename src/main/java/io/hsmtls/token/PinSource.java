package io.hsmtls.token;

import java.io.Console;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.Consumer;

/**
 * Where a PIN comes from. A closed set: a file, an interactive prompt without echo, standard
 * input, or a named environment variable (with a warning). There is deliberately no "literal
 * value" source: a PIN on a command line ends up in shell history and {@code ps}.
 */
public sealed interface PinSource {

    /** Reads the PIN. Each call reads again; callers that must not ask twice cache the Pin. */
    Pin read();

    /** For messages: where the PIN came from, never the PIN. */
    String describe();

    /** A file holding the PIN; one trailing newline (LF or CRLF) is dropped. */
    record FromFile(Path path) implements PinSource {
        @Override
        public Pin read() {
            byte[] bytes;
            try {
                bytes = Files.readAllBytes(path);
            } catch (IOException e) {
                throw new PinUnavailableException(describe(), "cannot read it (" + e.getClass().getSimpleName()
                        + "): check the path and its permissions");
            }
            try {
                int n = bytes.length;
                if (n > 0 && bytes[n - 1] == '\n') n--;
                if (n > 0 && bytes[n - 1] == '\r') n--;
                if (n == 0) {
                    throw new PinUnavailableException(describe(), "the file is empty: write the PIN into it");
                }
                var decoded = StandardCharsets.UTF_8.decode(java.nio.ByteBuffer.wrap(bytes, 0, n));
                char[] pin = Arrays.copyOfRange(decoded.array(), decoded.position(), decoded.limit());
                Arrays.fill(decoded.array(), '\0');
                return Pin.of(pin);
            } finally {
                Arrays.fill(bytes, (byte) 0);
            }
        }

        @Override
        public String describe() {
            return "PIN file " + path;
        }
    }

    /** Asks on the terminal without echo. Fails when no terminal is attached instead of hanging. */
    record Prompt(String prompt) implements PinSource {
        @Override
        public Pin read() {
            Console console = System.console();
            if (console == null || !isTerminal(console)) {
                throw new PinUnavailableException(describe(), "no terminal to ask on: give --pin-file FILE or --pin-stdin");
            }
            char[] pin = console.readPassword("%s", prompt);
            if (pin == null || pin.length == 0) {
                throw new PinUnavailableException(describe(), "no PIN entered");
            }
            return Pin.of(pin);
        }

        private static boolean isTerminal(Console console) {
            try {
                return (boolean) Console.class.getMethod("isTerminal").invoke(console);
            } catch (ReflectiveOperationException e) {
                return true; // JDK < 22: System.console() is non-null only with a terminal
            }
        }

        @Override
        public String describe() {
            return "terminal prompt";
        }
    }

    /** The first line of standard input. */
    record Stdin(InputStream in) implements PinSource {
        public Stdin() {
            this(System.in);
        }

        @Override
        public Pin read() {
            try {
                // Read char by char: a BufferedReader would keep PIN bytes in a buffer we cannot zero.
                InputStreamReader reader = new InputStreamReader(in, StandardCharsets.UTF_8);
                char[] buf = new char[256];
                int n = 0;
                int c;
                while ((c = reader.read()) != -1 && c != '\n') {
                    if (n == buf.length) {
                        char[] bigger = Arrays.copyOf(buf, n * 2);
                        Arrays.fill(buf, '\0');
                        buf = bigger;
                    }
                    buf[n++] = (char) c;
                }
                if (n > 0 && buf[n - 1] == '\r') n--;
                if (n == 0) {
                    throw new PinUnavailableException(describe(), "standard input gave no PIN");
                }
                char[] pin = Arrays.copyOf(buf, n);
                Arrays.fill(buf, '\0');
                return Pin.of(pin);
            } catch (IOException e) {
                throw new PinUnavailableException(describe(), "cannot read standard input: " + e.getMessage());
            }
        }

        @Override
        public String describe() {
            return "standard input";
        }
    }

    /** A named environment variable; reading it warns, since the environment leaks to children and /proc. */
    record FromEnv(String variable, Consumer<String> warn) implements PinSource {
        @Override
        public Pin read() {
            String value = System.getenv(variable);
            if (value == null || value.isEmpty()) {
                throw new PinUnavailableException(describe(), "the variable is not set or empty");
            }
            warn.accept("reading the PIN from environment variable " + variable
                    + ": the environment is visible to child processes and in /proc; prefer --pin-file");
            return Pin.of(value.toCharArray());
        }

        @Override
        public String describe() {
            return "environment variable " + variable;
        }
    }

    /**
     * The RFC 7512 pin-source value: {@code file:/path}, a {@code file:} URI, or a plain path.
     */
    public static PinSource fromUriPinSource(String value) {
        if (value.startsWith("file:")) {
            String rest = value.substring("file:".length());
            if (rest.startsWith("//")) {
                return new FromFile(Path.of(URI.create(value)));
            }
            return new FromFile(Path.of(rest));
        }
        if (value.startsWith("|")) {
            // RFC 7512 lets pin-source name a program ("|/usr/bin/pinentry"); hsmtls runs no programs for PINs.
            throw new PinUnavailableException("pin-source " + value,
                    "running a program for the PIN is not supported; use a file (pin-source=file:/etc/hsmtls/pin)");
        }
        if (value.contains(":") && !value.startsWith("/")) {
            throw new PinUnavailableException("pin-source " + value,
                    "only file: pin sources are supported (e.g. pin-source=file:/etc/hsmtls/pin)");
        }
        return new FromFile(Path.of(value));
    }

    /** The pin-source named by a URI, if it has one. */
    public static java.util.Optional<PinSource> of(Pkcs11Uri uri) {
        return uri.pinSource().map(PinSource::fromUriPinSource);
    }
}
