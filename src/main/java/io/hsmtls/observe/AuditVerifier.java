package io.hsmtls.observe;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Checks an audit log's hash chain and sequence numbers: finds the first edited, inserted or deleted line. */
public final class AuditVerifier {
    private static final Pattern PREV = Pattern.compile("\"prev\":\"([0-9a-f]{64})\"}$");
    private static final Pattern SEQ = Pattern.compile("^\\{\"seq\":(\\d+),");

    private AuditVerifier() {
    }

    /**
     * @param ok        true when every line chains to the one before
     * @param lines     lines checked
     * @param badLine   1-based number of the first line that breaks the chain, or 0
     * @param reason    why it breaks, or "ok"
     * @param lastHash  SHA-256 of the last line (the anchor to compare with a copy kept elsewhere)
     */
    public record Result(boolean ok, int lines, int badLine, String reason, String lastHash) { }

    public static Result verify(Path file) throws IOException {
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        String prev = AuditLog.GENESIS;
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            Matcher p = PREV.matcher(line);
            Matcher s = SEQ.matcher(line);
            if (!p.find() || !s.find()) {
                return new Result(false, lines.size(), i + 1, "line " + (i + 1) + " is not an audit record", prev);
            }
            long seq = Long.parseLong(s.group(1));
            if (seq != i + 1) {
                return new Result(false, lines.size(), i + 1, "line " + (i + 1) + " has seq " + seq + ", expected "
                        + (i + 1) + ": a line was deleted or inserted before it", prev);
            }
            if (!p.group(1).equals(prev)) {
                return new Result(false, lines.size(), i + 1, "line " + (i + 1)
                        + " does not chain to the line before it: that line (" + i + ") was edited, or a line was removed", prev);
            }
            prev = AuditLog.sha256(line);
        }
        return new Result(true, lines.size(), 0, "ok", prev);
    }
}
