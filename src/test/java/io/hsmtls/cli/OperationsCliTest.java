package io.hsmtls.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmtls.observe.AuditEvent;
import io.hsmtls.observe.AuditLog;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code hsmtls config check} and {@code hsmtls audit verify}, run in-process. */
class OperationsCliTest {
    @TempDir
    Path dir;

    private record Run(int code, String out, String err) { }

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(out), new PrintWriter(err), args);
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void configCheck_goodFile_listsListeners() throws Exception {
        Path f = Files.writeString(dir.resolve("serve.yaml"), """
                listeners:
                  - name: web
                    listen: 127.0.0.1:8443
                    backend: 127.0.0.1:8080
                    key: "pkcs11:token=demo;object=server"
                """);
        Run r = run("config", "check", f.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("ok, 1 listener"), r.out());
        assertTrue(r.out().contains("web: 127.0.0.1:8443 -> 127.0.0.1:8080, key pkcs11:token=demo;object=server, profile compat"),
                r.out());
    }

    @Test
    void configCheck_showsAuditLogAndMetrics() throws Exception {
        Path f = Files.writeString(dir.resolve("ops.yaml"), """
                audit-log: /var/log/hsmtls/audit.jsonl
                metrics: 127.0.0.1:9464
                listeners:
                  - listen: 127.0.0.1:8443
                    backend: 127.0.0.1:8080
                    key: "pkcs11:token=demo;object=server"
                """);
        Run r = run("config", "check", f.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("  audit log: /var/log/hsmtls/audit.jsonl\n"), r.out());
        assertTrue(r.out().contains("  metrics: http://127.0.0.1:9464/metrics\n"), r.out());
        Run j = run("config", "check", "--json", f.toString());
        assertTrue(j.out().replace(" ", "").contains("\"metrics\":\"127.0.0.1:9464\""), j.out());
    }

    @Test
    void configCheck_badFile_listsEveryProblemWithFileAndPath_exit1() throws Exception {
        Path f = Files.writeString(dir.resolve("bad.yaml"), """
                listeners:
                  - listen: 127.0.0.1:99999
                    key: "pkcs11:token=demo;object=server"
                    profil: modern
                """);
        Run r = run("config", "check", f.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("3 problems in " + f), r.err());
        assertTrue(r.err().contains(f + ": listeners[0].listen: '127.0.0.1:99999': port 99999 is out of range"), r.err());
        assertTrue(r.err().contains(f + ": listeners[0].backend: missing (required)"), r.err());
        assertTrue(r.err().contains(f + ": listeners[0].profil: unknown setting (did you mean 'profile'?)"), r.err());
    }

    @Test
    void configCheck_json_reportsProblems() throws Exception {
        Path f = Files.writeString(dir.resolve("bad.yaml"), "listeners: []\n");
        Run r = run("config", "check", "--json", f.toString());
        assertEquals(1, r.code());
        assertTrue(r.out().contains("\"ok\": false") || r.out().contains("\"ok\":false"), r.out());
        assertTrue(r.out().contains("listeners"), r.out());
    }

    @Test
    void auditVerify_intactThenEdited() throws Exception {
        Path log = dir.resolve("audit.jsonl");
        try (AuditLog a = AuditLog.open(log)) {
            for (int i = 0; i < 3; i++) {
                a.record(new AuditEvent(Instant.now(), "pkcs11:token=t;object=k", "CKM_ECDSA",
                        AuditEvent.Purpose.SERVER_SIGNATURE, "c" + i, null, "127.0.0.1:1", null, "ok", 90));
            }
        }
        Run ok = run("audit", "verify", log.toString());
        assertEquals(0, ok.code(), ok.err());
        assertTrue(ok.out().contains("ok, 3 records, chain intact"), ok.out());

        List<String> lines = new ArrayList<>(Files.readAllLines(log));
        lines.set(0, lines.get(0).replace("\"latency_us\":90", "\"latency_us\":91"));
        Files.write(log, lines);
        Run bad = run("audit", "verify", log.toString());
        assertEquals(1, bad.code());
        assertTrue(bad.out().contains("BROKEN at line 2 does not chain"), bad.out());
    }
}
