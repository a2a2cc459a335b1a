package io.hsmtls.cli;

import io.hsmtls.observe.AuditVerifier;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code hsmtls audit verify FILE}: checks the audit log's hash chain. */
@Command(name = "audit", description = "The audit log of private-key uses.", subcommands = AuditCommand.Verify.class)
final class AuditCommand {

    @Command(name = "verify", description = {"Check an audit log's hash chain: finds an edited, inserted or deleted line.",
            "Prints the last line's hash: keep it elsewhere to detect lines cut from the end."})
    static final class Verify implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "FILE", description = "the audit log (JSON lines)")
        Path file;

        @Mixin
        JsonOption json;

        @Override
        public Integer call() throws IOException {
            Io io = Io.of(spec);
            AuditVerifier.Result r = AuditVerifier.verify(file);
            if (json.enabled()) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("file", file.toString());
                m.put("ok", r.ok());
                m.put("lines", r.lines());
                m.put("bad_line", r.ok() ? null : r.badLine());
                m.put("reason", r.reason());
                m.put("last_hash", r.lastHash());
                io.out().println(Json.write(m));
            } else if (r.ok()) {
                io.out().println(file + ": ok, " + r.lines() + " records, chain intact; last hash " + r.lastHash());
            } else {
                io.out().println(file + ": BROKEN at " + r.reason());
            }
            return r.ok() ? Main.OK : Main.FAILED;
        }
    }
}
