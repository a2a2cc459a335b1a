package io.hsmtls.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConfigNodeTest {
    @Test
    void everyProblemIsReportedAtOnce_withPathAndValue() {
        ConfigNode root = ConfigNode.parse("serve.yaml", """
                listeners:
                  - listen: 127.0.0.1:8443
                    idle-timeout: forever
                    max-connections: -3
                  - listn: 127.0.0.1:9443
                """);
        for (ConfigNode l : root.children("listeners")) {
            l.requiredString("listen");
            l.duration("idle-timeout");
            l.integer("max-connections", 1, 1_000_000);
        }
        root.finish();
        ConfigException e = assertThrows(ConfigException.class, () -> root.throwIfProblems("serve.yaml"));
        List<String> got = e.problems().stream().map(ConfigProblem::toString).toList();
        assertEquals(List.of(
                "listeners[0].idle-timeout: 'forever': not a duration: use e.g. 500ms, 30s, 5m, 1h",
                "listeners[0].max-connections: '-3': out of range 1..1000000",
                "listeners[1].listen: missing (required)",
                "listeners[1].listn: unknown setting (did you mean 'listen'?)"), got);
        assertTrue(e.getMessage().startsWith("4 problems in serve.yaml:"), e.getMessage());
    }

    @Test
    void durations() {
        assertEquals(Duration.ofMillis(250), ConfigNode.parseDuration("250ms"));
        assertEquals(Duration.ofMinutes(5), ConfigNode.parseDuration("5m"));
        assertEquals(Duration.ofSeconds(30), ConfigNode.parseDuration("PT30S"));
    }

    @Test
    void syntaxError_namesTheFile() {
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigNode.parse("bad.yaml", "a: [1, 2"));
        assertTrue(e.getMessage().contains("bad.yaml"), e.getMessage());
    }
}
