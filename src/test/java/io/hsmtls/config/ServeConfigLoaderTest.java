package io.hsmtls.config;

import static org.junit.jupiter.api.Assertions.assertTrue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.hsmtls.tls.ClientAuthMode;
import io.hsmtls.tls.Profile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ServeConfigLoaderTest {
    @TempDir
    Path dir;

    @Test
    void twoListeners_withDefaultsAndOverrides() throws Exception {
        Path ca = Files.writeString(dir.resolve("ca.pem"), "x");
        List<ServeConfigLoader.Listener> ls = ServeConfigLoader.parse("serve.yaml", """
                defaults:
                  profile: modern
                  limits: { idle-timeout: 2m }
                listeners:
                  - name: web
                    listen: 127.0.0.1:8443
                    backend: 127.0.0.1:8080
                    key: "pkcs11:token=t;object=web"
                  - name: api
                    listen: 127.0.0.1:9443
                    backend: 127.0.0.1:9080
                    key: "pkcs11:token=t;object=api"
                    client-auth: required
                    client-ca: %s
                    profile: legacy-rsa
                    limits: { max-connections: 50 }
                """.formatted(ca));
        assertEquals(2, ls.size());
        ServeConfig web = ls.get(0).config();
        assertEquals(Profile.MODERN, web.profile());
        assertEquals(Duration.ofMinutes(2), web.limits().idleTimeout());
        ServeConfig api = ls.get(1).config();
        assertEquals("api", ls.get(1).name());
        assertEquals(ClientAuthMode.REQUIRED, api.clientAuth());
        assertEquals(Profile.LEGACY_RSA, api.profile());
        assertEquals(50, api.limits().maxConnections());
        assertEquals(Duration.ofMinutes(2), api.limits().idleTimeout());
    }

    @Test
    void everyProblem_namesFilePathAndValue() {
        ConfigException e = assertThrows(ConfigException.class, () -> ServeConfigLoader.parse("serve.yaml", """
                listeners:
                  - listen: 127.0.0.1:8443
                    backend: localhost
                    key: "pkcs11:token=t;colour=blue"
                    client-auth: required
                  - listen: 127.0.0.1:8443
                    backend: 127.0.0.1:1
                    key: "pkcs11:token=t;object=k?pin-value=1234"
                    profile: ancient
                    limits: { idle-timeout: 0s }
                """));
        List<String> got = e.problems().stream().map(ConfigProblem::toString).toList();
        assertEquals(List.of(
                "listeners[0].backend: 'localhost' is not HOST:PORT (e.g. 127.0.0.1:8443 or [::1]:8443)",
                "listeners[0].key: invalid PKCS#11 URI 'pkcs11:token=t;colour=blue': unknown path attribute 'colour' "
                        + "(known: library-manufacturer, library-description, library-version, slot-manufacturer, "
                        + "slot-description, slot-id, manufacturer, model, serial, token, object, id, type)",
                "listeners[0].client-auth: 'required' needs client-ca: the CA certificates client certificates must chain to",
                "listeners[1].key: pin-value in a URI puts the PIN in the file's text: use pin-source=file:…",
                "listeners[1].profile: 'ancient': " + assertThrows(IllegalArgumentException.class,
                        () -> Profile.fromCliName("ancient")).getMessage(),
                "listeners[1].limits.idle-timeout: 'PT0S': must be more than zero",
                "listeners[1].listen: '127.0.0.1:8443' is also the address of listeners[0]"), got);
        assertEquals(true, e.getMessage().startsWith("7 problems in serve.yaml:"), e.getMessage());
    }

    @Test
    void missingListeners_isAProblem() {
        ConfigException e = assertThrows(ConfigException.class, () -> ServeConfigLoader.parse("s.yaml", "listeners: []"));
        assertEquals(List.of("listeners: empty: give a list of listeners, each with listen, backend and key"),
                e.problems().stream().map(ConfigProblem::toString).toList());
    }

    @Test
    void auditLogAndMetrics_atTopLevel() {
        ServeConfigLoader.ServeFile f = ServeConfigLoader.parseFile("s.yaml", """
                audit-log: /var/log/hsmtls/audit.jsonl
                metrics: 127.0.0.1:9464
                listeners:
                  - listen: 127.0.0.1:8443
                    backend: 127.0.0.1:8080
                    key: "pkcs11:token=t;object=web"
                """);
        assertEquals(java.util.Optional.of(Path.of("/var/log/hsmtls/audit.jsonl")), f.auditLog());
        assertEquals(java.util.Optional.of(new HostPort("127.0.0.1", 9464)), f.metrics());
        assertEquals(1, f.listeners().size());
        ServeConfigLoader.ServeFile none = ServeConfigLoader.parseFile("s.yaml", """
                listeners:
                  - listen: 127.0.0.1:8443
                    backend: 127.0.0.1:8080
                    key: "pkcs11:token=t;object=web"
                """);
        assertEquals(java.util.Optional.empty(), none.auditLog());
        assertEquals(java.util.Optional.empty(), none.metrics());
    }

    @Test
    void badMetricsAddress_isAProblem() {
        ConfigException e = assertThrows(ConfigException.class, () -> ServeConfigLoader.parse("s.yaml", """
                metrics: 9464
                listeners:
                  - listen: 127.0.0.1:8443
                    backend: 127.0.0.1:8080
                    key: "pkcs11:token=t;object=web"
                """));
        assertEquals(List.of("metrics: '9464' is not HOST:PORT (e.g. 127.0.0.1:8443 or [::1]:8443)"),
                e.problems().stream().map(ConfigProblem::toString).toList());
    }

    @Test
    void maxConnectionsPerSource_readInheritedAndChecked() {
        List<ServeConfigLoader.Listener> ls = ServeConfigLoader.parse("serve.yaml", """
                defaults:
                  limits: { max-connections-per-source: 20 }
                listeners:
                  - listen: 127.0.0.1:8443
                    backend: 127.0.0.1:8080
                    key: "pkcs11:token=t;object=web"
                  - listen: 127.0.0.1:9443
                    backend: 127.0.0.1:9080
                    key: "pkcs11:token=t;object=api"
                    limits: { max-connections: 10 }
                  - listen: 127.0.0.1:9444
                    backend: 127.0.0.1:9080
                    key: "pkcs11:token=t;object=api"
                """);
        assertEquals(20, ls.get(0).config().limits().maxConnectionsPerSource());
        assertEquals(10, ls.get(1).config().limits().maxConnectionsPerSource(), "never above max-connections");
        ConfigException e = assertThrows(ConfigException.class, () -> ServeConfigLoader.parse("serve.yaml", """
                listeners:
                  - listen: 127.0.0.1:8443
                    backend: 127.0.0.1:8080
                    key: "pkcs11:token=t;object=web"
                    limits: { max-connections: 100, max-connections-per-source: 500 }
                  - listen: 127.0.0.1:8444
                    backend: 127.0.0.1:8080
                    key: "pkcs11:token=t;object=web"
                    limits: { max-connections-per-source: 0 }
                """));
        assertEquals(2, e.problems().size(), e.getMessage());
        assertEquals("listeners[0].limits.max-connections-per-source: '500' is more than max-connections (100): it "
                + "could never apply; lower it or raise max-connections", e.problems().get(0).toString());
        assertTrue(e.problems().get(1).toString().startsWith("listeners[1].limits.max-connections-per-source:"),
                e.problems().get(1).toString());
        ServeConfig noLimit = ServeConfigLoader.parse("s.yaml", """
                listeners:
                  - { listen: 127.0.0.1:8443, backend: 127.0.0.1:8080, key: "pkcs11:token=t;object=web" }
                """).get(0).config();
        assertEquals(noLimit.limits().maxConnections(), noLimit.limits().maxConnectionsPerSource());
    }
}
