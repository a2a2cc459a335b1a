package io.hsmtls.cli;

import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Model.CommandSpec;

/**
 * The streams and terminal facts of one CLI run. Commands read them from here rather than from
 * {@code System.*}, so tests can run the CLI in-process ({@link Main#run}) with their own streams
 * and without a terminal.
 *
 * @param in             standard input ({@code --pin-stdin}, confirmations)
 * @param out            results: URIs, PEM, listings
 * @param err            messages, warnings, progress
 * @param interactive    a person is at a terminal: prompts and confirmations may ask
 * @param stderrTerminal standard error is a terminal: progress lines are worth printing
 */
public record Io(InputStream in, PrintWriter out, PrintWriter err, boolean interactive, boolean stderrTerminal) {

    /** The Io of the run a command or mixin belongs to. */
    public static Io of(CommandSpec spec) {
        return ((Main) spec.root().userObject()).io();
    }

    /** The real process: terminal facts from the JDK console and, on Linux, where fd 2 points. */
    static Io system(PrintWriter out, PrintWriter err) {
        return new Io(System.in, out, err, consoleIsTerminal(), fdIsTerminal(2));
    }

    private static boolean consoleIsTerminal() {
        java.io.Console c = System.console();
        if (c == null) {
            return false;
        }
        try {
            return (boolean) java.io.Console.class.getMethod("isTerminal").invoke(c);
        } catch (ReflectiveOperationException e) {
            return true; // before JDK 22, System.console() is non-null only on a terminal
        }
    }

    /** Java cannot ask isatty(2); on Linux, /proc tells where the descriptor points. */
    private static boolean fdIsTerminal(int fd) {
        try {
            String target = Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString();
            return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty");
        } catch (Exception e) {
            return consoleIsTerminal();
        }
    }

    /** Prints a progress line on stderr only when a person watches it; pipes and logs stay clean. */
    public void progress(String line) {
        if (stderrTerminal) {
            err.println(line);
            err.flush();
        }
    }
}
