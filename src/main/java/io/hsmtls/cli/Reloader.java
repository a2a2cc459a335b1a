package io.hsmtls.cli;

import io.hsmtls.config.ConfigException;
import io.hsmtls.config.ServeConfig;
import io.hsmtls.config.ServeConfigLoader;
import io.hsmtls.tls.ChainValidator;
import io.hsmtls.tls.ServerSettings;
import io.hsmtls.tls.bc.BcServerHandshaker;
import io.hsmtls.token.Token;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Reloads serve's credentials without dropping connections: on SIGHUP, and when the config file
 * or a certificate/CA file it names changes (a cheap poll of modification time and size). Every
 * listener's new TLS side is built and checked first — certificate files read, keys found on the
 * token, each certificate matched against its token key and the profile — and only when all of
 * them pass are they swapped in ({@code ProxyServer.swapHandshaker}); open connections keep the
 * handshaker they started with. A reload that fails keeps the old state and says why. What a
 * running listener cannot change (its address, backend, limits, PROXY protocol, the set of
 * listeners) is reported as needing a restart and left as it is.
 */
final class Reloader implements AutoCloseable {
    private final Io io;
    private final ServeCommand command;
    private final Path configFile;
    private final List<ServeCommand.Live> live;
    private final Map<String, Token> tokens;
    private final Duration poll;
    private volatile boolean closed;
    private Thread poller;
    private Object previousHup;
    private boolean hupInstalled;

    Reloader(Io io, ServeCommand command, Path configFile, List<ServeCommand.Live> live, Map<String, Token> tokens,
             Duration poll) {
        this.io = io;
        this.command = command;
        this.configFile = configFile;
        this.live = live;
        this.tokens = tokens;
        this.poll = poll;
    }

    void start() {
        installHup();
        boolean polling = !poll.isZero() && !poll.isNegative();
        say("credentials reload" + (hupInstalled ? " on SIGHUP" : "") + (hupInstalled && polling ? " and" : "")
                + (polling ? " when " + (configFile != null ? "the config file or " : "")
                + "a certificate file changes (checked every " + poll.toMillis() + " ms)" : "")
                + (!hupInstalled && !polling ? ": off (no SIGHUP here and --reload-poll 0)" : ""));
        if (polling) {
            Map<Path, String> first = snapshot();
            poller = Thread.ofPlatform().daemon().name("hsmtls-reload-poll").start(() -> pollLoop(first));
        }
    }

    /**
     * sun.misc.Signal is the JDK's only way to catch SIGHUP; it exists on Linux and macOS JDKs.
     * Elsewhere (or on a JVM run with -Xrs) the file poll still reloads.
     *
     * A process started with SIGHUP ignored (nohup, some supervisors) keeps it ignored: the JVM
     * accepts the handler but never installs it, and the only sign is that the previous handler
     * comes back as SIG_IGN. Saying "reload on SIGHUP" then would be a promise nothing keeps.
     */
    private void installHup() {
        sun.misc.Signal hup;
        try {
            hup = new sun.misc.Signal("HUP");
            Object previous = sun.misc.Signal.handle(hup,
                    sig -> Thread.ofVirtual().name("hsmtls-reload-hup").start(() -> reload("SIGHUP")));
            if (previous == sun.misc.SignalHandler.SIG_IGN) {
                sun.misc.Signal.handle(hup, sun.misc.SignalHandler.SIG_IGN);
                say("SIGHUP is ignored in this process (started with nohup, or by a supervisor that ignores it): "
                        + "reload by changing the files instead" + (poll.isZero() ? " (and set --reload-poll above 0)" : "")
                        + ", or start hsmtls without ignoring SIGHUP");
                return;
            }
            previousHup = previous;
            hupInstalled = true;
        } catch (IllegalArgumentException | UnsupportedOperationException | LinkageError e) {
            say("SIGHUP cannot be caught here (" + e.getMessage() + "): reload by changing the files instead"
                    + (poll.isZero() ? " (and set --reload-poll above 0)" : ""));
        }
    }

    private void pollLoop(Map<Path, String> first) {
        Map<Path, String> last = first;
        while (!closed) {
            try {
                Thread.sleep(poll);
            } catch (InterruptedException e) {
                return;
            }
            Map<Path, String> now = snapshot();
            if (!now.equals(last)) {
                List<String> changed = new ArrayList<>();
                for (Path p : union(now.keySet(), last.keySet())) {
                    if (!Objects.equals(now.get(p), last.get(p))) {
                        changed.add(p.toString());
                    }
                }
                reload("changed: " + String.join(", ", changed));
                // Whatever the outcome, wait for the next change: a failed reload is not retried in a loop.
                last = snapshot();
            }
        }
    }

    private static Set<Path> union(Set<Path> a, Set<Path> b) {
        Set<Path> u = new LinkedHashSet<>(a);
        u.addAll(b);
        return u;
    }

    /** Modification time and size of every file the running configuration reads. */
    private Map<Path, String> snapshot() {
        Set<Path> files = new LinkedHashSet<>();
        if (configFile != null) {
            files.add(configFile);
        }
        for (ServeCommand.Live l : live) {
            ServeConfig c = l.current;
            c.cert().ifPresent(files::add);
            c.clientCa().ifPresent(files::add);
            c.sni().forEach(s -> s.cert().ifPresent(files::add));
        }
        Map<Path, String> out = new LinkedHashMap<>();
        for (Path f : files) {
            try {
                out.put(f, Files.getLastModifiedTime(f).toMillis() + "/" + Files.size(f));
            } catch (IOException e) {
                out.put(f, "missing");
            }
        }
        return out;
    }

    /** Rebuilds every listener's credentials and swaps them in, or none of them. Returns true when swapped. */
    synchronized boolean reload(String why) {
        if (closed) {
            return false;
        }
        List<ServeConfigLoader.Listener> next;
        if (configFile != null) {
            try {
                next = ServeConfigLoader.loadFile(configFile).listeners();
            } catch (ConfigException | java.io.UncheckedIOException e) {
                say("reload (" + why + ") failed: " + e.getMessage() + "; still serving the previous configuration");
                return false;
            }
        } else {
            next = live.stream().map(l -> new ServeConfigLoader.Listener(l.name, l.config)).toList();
        }
        Map<String, ServeConfig> byName = new LinkedHashMap<>();
        next.forEach(l -> byName.put(l.name(), l.config()));
        List<String> restart = new ArrayList<>();
        Map<ServeCommand.Live, ServerSettings> built = new LinkedHashMap<>();
        Map<ServeCommand.Live, ServeConfig> configs = new LinkedHashMap<>();
        for (ServeCommand.Live l : live) {
            ServeConfig n = byName.remove(l.name);
            if (n == null) {
                restart.add("listener " + l.name + " is no longer in the file: it keeps serving until a restart");
                continue;
            }
            List<String> fixed = new ArrayList<>();
            if (!n.listen().equals(l.config.listen())) fixed.add("listen " + l.config.listen() + " -> " + n.listen());
            if (!n.backend().equals(l.config.backend())) fixed.add("backend " + l.config.backend() + " -> " + n.backend());
            if (!n.limits().equals(l.config.limits())) fixed.add("limits");
            if (n.proxyProtocol() != l.config.proxyProtocol()) fixed.add("proxy-protocol");
            if (!fixed.isEmpty()) {
                restart.add("listener " + l.name + ": " + String.join(", ", fixed) + " changed: that needs a restart; "
                        + "keeping the running values");
            }
            try {
                built.put(l, command.settings(io, new ServeConfigLoader.Listener(l.name, n), tokens));
                configs.put(l, n);
            } catch (IOException | RuntimeException e) {
                say("reload (" + why + ") refused: " + e.getMessage() + "; every listener keeps its previous "
                        + "credentials");
                restart.forEach(this::say);
                return false;
            }
        }
        byName.keySet().forEach(n -> restart.add("listener " + n + " is new: it starts with the next restart"));
        restart.forEach(this::say);
        for (var e : built.entrySet()) {
            ServeCommand.Live l = e.getKey();
            l.proxy.swapHandshaker(new BcServerHandshaker(e.getValue(), l.keyUses));
            l.settings = e.getValue();
            l.current = configs.get(l);
            say("reloaded (" + why + "): " + (l.name.equals("main") ? "" : "listener " + l.name + ": ") + "key "
                    + e.getValue().credentials().key().uri() + ", certificate "
                    + ChainValidator.describe(e.getValue().credentials().leaf()) + ", valid until "
                    + e.getValue().credentials().leaf().getNotAfter().toInstant()
                    + (e.getValue().sniCredentials().isEmpty() ? ""
                            : ", SNI " + String.join(" ", e.getValue().sniCredentials().keySet())));
        }
        return true;
    }

    private void say(String line) {
        synchronized (io.err()) {
            io.err().println("hsmtls: " + Instant.now() + " " + line);
            io.err().flush();
        }
    }

    @Override
    public synchronized void close() {
        closed = true;
        if (poller != null) {
            poller.interrupt();
        }
        if (hupInstalled) {
            try {
                sun.misc.Signal.handle(new sun.misc.Signal("HUP"), (sun.misc.SignalHandler) previousHup);
            } catch (IllegalArgumentException ignored) {
                // could install it, so can restore it; nothing to do otherwise
            }
        }
    }
}
