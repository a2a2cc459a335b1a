package io.hsmtls.cli;

import io.hsmtls.config.ConfigException;
import io.hsmtls.config.ConfigProblem;
import io.hsmtls.config.ServeConfig;
import io.hsmtls.config.ServeConfigLoader;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code hsmtls config check FILE}: validates a serve configuration and reports every problem at once. */
@Command(name = "config", description = "Configuration files.", subcommands = ConfigCommand.Check.class)
final class ConfigCommand {

    @Command(name = "check", description = {"Validate a serve configuration file and list every problem in it,",
            "with its path and value. Touches no token and opens no port."})
    static final class Check implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "FILE", description = "the YAML configuration (see hsm-config/serve.example.yaml)")
        Path file;

        @Mixin
        JsonOption json;

        @Override
        public Integer call() {
            Io io = Io.of(spec);
            try {
                ServeConfigLoader.ServeFile serveFile = ServeConfigLoader.loadFile(file);
                List<ServeConfigLoader.Listener> listeners = serveFile.listeners();
                if (json.enabled()) {
                    Map<String, Object> doc = new LinkedHashMap<>();
                    doc.put("file", file.toString());
                    doc.put("ok", true);
                    doc.put("audit_log", serveFile.auditLog().map(Object::toString).orElse(null));
                    doc.put("metrics", serveFile.metrics().map(Object::toString).orElse(null));
                    doc.put("listeners", listeners.stream().map(l -> describe(l)).toList());
                    io.out().println(Json.write(doc));
                } else {
                    io.out().println(file + ": ok, " + listeners.size() + (listeners.size() == 1 ? " listener" : " listeners"));
                    for (ServeConfigLoader.Listener l : listeners) {
                        ServeConfig c = l.config();
                        io.out().println("  " + l.name() + ": " + c.listen() + " -> " + c.backend() + ", key "
                                + c.key().withoutQuery() + ", profile " + c.profile().cliName() + ", client-auth "
                                + c.clientAuth().cliName());
                    }
                    serveFile.auditLog().ifPresent(a -> io.out().println("  audit log: " + a));
                    serveFile.metrics().ifPresent(m -> io.out().println("  metrics: http://" + m + "/metrics"));
                }
                return Main.OK;
            } catch (ConfigException e) {
                if (json.enabled()) {
                    Map<String, Object> doc = new LinkedHashMap<>();
                    doc.put("file", e.file());
                    doc.put("ok", false);
                    doc.put("problems", e.problems().stream().map(ConfigCommand::problem).toList());
                    io.out().println(Json.write(doc));
                    return Main.FAILED;
                }
                throw e;
            }
        }

        private static Map<String, Object> describe(ServeConfigLoader.Listener l) {
            ServeConfig c = l.config();
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", l.name());
            m.put("listen", c.listen().toString());
            m.put("backend", c.backend().toString());
            m.put("key", c.key().withoutQuery().toString());
            m.put("profile", c.profile().cliName());
            m.put("client_auth", c.clientAuth().cliName());
            return m;
        }
    }

    private static Map<String, Object> problem(ConfigProblem p) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("path", p.path());
        m.put("problem", p.message());
        return m;
    }
}
