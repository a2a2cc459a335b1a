package io.hsmtls.config;

import io.hsmtls.tls.ClientAuthMode;
import io.hsmtls.tls.Profile;
import io.hsmtls.token.Pkcs11Uri;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Reads a {@code serve} configuration file: several listeners, each with its own key, certificate
 * chain, client-auth policy, profile, backend and limits. Every problem in the file is reported at
 * once, each with its path and value; nothing is half-applied. See {@code hsm-config/serve.example.yaml}.
 *
 * <pre>
 * audit-log: /var/log/hsmtls/audit.jsonl   # optional: one hash-chained JSON line per private-key use
 * metrics: 127.0.0.1:9464                  # optional: Prometheus text on /metrics, health on /healthz
 * defaults:            # optional: settings every listener inherits unless it sets them itself
 *   profile: compat
 *   limits: { idle-timeout: 5m }
 * listeners:
 *   - name: web
 *     listen: 127.0.0.1:8443
 *     backend: 127.0.0.1:8080
 *     key: "pkcs11:token=prod;object=web?module-path=…&amp;pin-source=file:/etc/hsmtls/pin"
 *     cert: /etc/hsmtls/web-chain.pem        # optional: else the certificate on the token
 *     client-auth: required                   # none | optional | required
 *     client-ca: /etc/hsmtls/clients.pem
 *     profile: modern                          # modern | compat | legacy-rsa
 *     limits: { max-connections: 10000, max-connections-per-source: 100, handshake-timeout: 10s,
 *               idle-timeout: 5m, connect-timeout: 5s, drain-timeout: 30s }
 *     proxy-protocol: false                    # PROXY v2 header with the client identity to the backend
 *     sni:                                     # further keys by server name; key above answers the rest
 *       - { server-name: api.example.org, key: "pkcs11:…;object=api", cert: /etc/hsmtls/api.pem }
 *     unknown-server-name: default             # default | reject (unrecognized_name)
 * </pre>
 */
public final class ServeConfigLoader {
    private ServeConfigLoader() {
    }

    /** A named listener as the file describes it. */
    public record Listener(String name, ServeConfig config) { }

    /**
     * The whole file: the listeners and the process-wide settings at the top level.
     *
     * @param auditLog {@code audit-log: FILE}: the hash-chained log of private-key uses
     * @param metrics  {@code metrics: HOST:PORT}: Prometheus text on /metrics and /healthz
     */
    public record ServeFile(List<Listener> listeners, Optional<Path> auditLog, Optional<HostPort> metrics) {
        public ServeFile {
            listeners = List.copyOf(listeners);
        }
    }

    public static List<Listener> load(Path file) {
        return loadFile(file).listeners();
    }

    public static List<Listener> parse(String name, String yaml) {
        return parseFile(name, yaml).listeners();
    }

    public static ServeFile loadFile(Path file) {
        return read(file.toString(), ConfigNode.load(file));
    }

    public static ServeFile parseFile(String name, String yaml) {
        return read(name, ConfigNode.parse(name, yaml));
    }

    private static ServeFile read(String file, ConfigNode root) {
        Optional<Path> auditLog = root.file("audit-log", false);
        Optional<HostPort> metrics = root.string("metrics").flatMap(s -> hostPort(root, "metrics", s));
        ConfigNode defaults = root.child("defaults").orElse(null);
        Optional<Profile> defProfile = defaults == null ? Optional.empty() : profile(defaults);
        Optional<ClientAuthMode> defAuth = defaults == null ? Optional.empty() : clientAuth(defaults);
        Optional<Path> defCa = defaults == null ? Optional.empty() : defaults.file("client-ca", true);
        ProxyLimitsConfig defLimits = defaults == null ? ProxyLimitsConfig.defaults()
                : limits(defaults, ProxyLimitsConfig.defaults());

        List<ConfigNode> nodes = root.children("listeners");
        if (nodes.isEmpty()) {
            root.problem("listeners", (root.has("listeners") ? "empty" : "missing (required)")
                    + ": give a list of listeners, each with listen, backend and key");
        }
        List<Listener> out = new ArrayList<>();
        Map<String, String> seenListen = new HashMap<>();
        Map<String, String> seenName = new HashMap<>();
        for (int i = 0; i < nodes.size(); i++) {
            ConfigNode l = nodes.get(i);
            String name = l.string("name").orElse("listener-" + (i + 1));
            Optional<HostPort> listen = l.requiredString("listen").flatMap(s -> hostPort(l, "listen", s));
            Optional<HostPort> backend = l.requiredString("backend").flatMap(s -> hostPort(l, "backend", s));
            Optional<Pkcs11Uri> key = l.requiredString("key").flatMap(v -> keyUri(l, v));
            Optional<Path> cert = l.file("cert", true);
            Optional<Path> ca = l.file("client-ca", true).or(() -> defCa);
            ClientAuthMode auth = clientAuth(l).or(() -> defAuth).orElse(ClientAuthMode.NONE);
            Profile profile = profile(l).or(() -> defProfile).orElse(Profile.COMPAT);
            ProxyLimitsConfig limits = limits(l, defLimits);
            boolean proxyProtocol = l.bool("proxy-protocol").orElse(false);
            boolean rejectUnknownSni = l.value("unknown-server-name", v -> switch (v) {
                case "default" -> false;
                case "reject" -> true;
                default -> throw new IllegalArgumentException("use default (answer with the listener's key) or reject "
                        + "(unrecognized_name alert)");
            }).orElse(false);
            List<ServeConfig.Sni> sni = new ArrayList<>();
            Map<String, String> seenSni = new HashMap<>();
            for (ConfigNode s : l.children("sni")) {
                Optional<String> serverName = s.requiredString("server-name").filter(n -> {
                    if (!n.matches("(?i)[a-z0-9*]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")) {
                        s.problem("server-name", "'" + n + "' is not a DNS name");
                        return false;
                    }
                    String prev = seenSni.putIfAbsent(n.toLowerCase(java.util.Locale.ROOT), s.path());
                    if (prev != null) {
                        s.problem("server-name", "'" + n + "' is also the server name of " + prev);
                        return false;
                    }
                    return true;
                });
                Optional<Pkcs11Uri> sniKey = s.requiredString("key").flatMap(v -> keyUri(s, v));
                Optional<Path> sniCert = s.file("cert", true);
                if (serverName.isPresent() && sniKey.isPresent()) {
                    sni.add(new ServeConfig.Sni(serverName.get(), sniKey.get(), sniCert));
                }
            }
            if (auth != ClientAuthMode.NONE && ca.isEmpty() && !l.has("client-ca")) {
                l.problem("client-auth", "'" + auth.cliName() + "' needs client-ca: the CA certificates client "
                        + "certificates must chain to");
            }
            listen.ifPresent(hp -> {
                String prev = seenListen.putIfAbsent(hp.toString(), l.path());
                if (prev != null && hp.port() != 0) {
                    l.problem("listen", "'" + hp + "' is also the address of " + prev);
                }
            });
            String prevName = seenName.putIfAbsent(name, l.path());
            if (prevName != null) {
                l.problem("name", "'" + name + "' is also the name of " + prevName);
            }
            if (listen.isPresent() && backend.isPresent() && key.isPresent()
                    && (auth == ClientAuthMode.NONE || ca.isPresent())) {
                out.add(new Listener(name, new ServeConfig(listen.get(), backend.get(), key.get(), cert, ca, auth,
                        profile, limits, proxyProtocol, sni, rejectUnknownSni)));
            }
        }
        root.finish();
        root.throwIfProblems(file);
        return new ServeFile(out, auditLog, metrics);
    }

    private static Optional<Pkcs11Uri> keyUri(ConfigNode n, String text) {
        try {
            Pkcs11Uri uri = Pkcs11Uri.parse(text);
            if (uri.hasPinValue()) {
                n.problem("key", "pin-value in a URI puts the PIN in the file's text: use pin-source=file:…");
                return Optional.empty();
            }
            if (!uri.namesObject()) {
                n.problem("key", "'" + uri + "' names no key: add object=LABEL or id=…");
                return Optional.empty();
            }
            return Optional.of(uri);
        } catch (RuntimeException e) {
            n.problem("key", e.getMessage());
            return Optional.empty();
        }
    }

    private static Optional<HostPort> hostPort(ConfigNode n, String key, String s) {
        try {
            return Optional.of(HostPort.parse(s));
        } catch (IllegalArgumentException e) {
            n.problem(key, e.getMessage());
            return Optional.empty();
        }
    }

    private static Optional<Profile> profile(ConfigNode n) {
        return n.value("profile", Profile::fromCliName);
    }

    private static Optional<ClientAuthMode> clientAuth(ConfigNode n) {
        return n.value("client-auth", ClientAuthMode::fromCliName);
    }

    private static ProxyLimitsConfig limits(ConfigNode n, ProxyLimitsConfig base) {
        Optional<ConfigNode> c = n.child("limits");
        if (c.isEmpty()) {
            return base;
        }
        ConfigNode l = c.get();
        int max = l.integer("max-connections", 1, 10_000_000).orElse(base.maxConnections());
        // Unset per-source follows max-connections (no extra limit) unless the base set one of its own.
        int perSource = l.integer("max-connections-per-source", 1, 10_000_000)
                .orElse(base.maxConnectionsPerSource() == base.maxConnections() ? max
                        : Math.min(max, base.maxConnectionsPerSource()));
        if (perSource > max) {
            l.problem("max-connections-per-source", "'" + perSource + "' is more than max-connections (" + max
                    + "): it could never apply; lower it or raise max-connections");
            perSource = max;
        }
        Duration hs = positive(l, "handshake-timeout").orElse(base.handshakeTimeout());
        Duration idle = positive(l, "idle-timeout").orElse(base.idleTimeout());
        Duration connect = positive(l, "connect-timeout").orElse(base.connectTimeout());
        Duration drain = l.duration("drain-timeout").orElse(base.drainTimeout());
        return new ProxyLimitsConfig(max, hs, idle, connect, drain, perSource);
    }

    private static Optional<Duration> positive(ConfigNode n, String key) {
        return n.duration(key).filter(d -> {
            if (d.isZero() || d.isNegative()) {
                n.problem(key, "'" + d + "': must be more than zero");
                return false;
            }
            return true;
        });
    }
}
