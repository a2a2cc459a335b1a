package io.hsmtls.observe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AuditLogTest {
    @TempDir
    Path dir;

    private static AuditEvent event(int i) {
        return new AuditEvent(Instant.parse("2026-11-27T10:00:00Z").plusSeconds(i), "pkcs11:token=t;object=k",
                "CKM_ECDSA", AuditEvent.Purpose.SERVER_SIGNATURE, "c" + i, "example.org", "127.0.0.1:5000",
                null, "ok", 80);
    }

    private Path writeFive() {
        Path f = dir.resolve("audit.jsonl");
        try (AuditLog log = AuditLog.open(f)) {
            for (int i = 1; i <= 3; i++) log.record(event(i));
        }
        try (AuditLog log = AuditLog.open(f)) { // reopening continues the chain
            for (int i = 4; i <= 5; i++) log.record(event(i));
        }
        return f;
    }

    @Test
    void intactLog_verifies_acrossReopen() throws Exception {
        Path f = writeFive();
        AuditVerifier.Result r = AuditVerifier.verify(f);
        assertTrue(r.ok(), r.reason());
        assertEquals(5, r.lines());
        assertEquals(AuditLog.sha256(Files.readAllLines(f).get(4)), r.lastHash());
    }

    @Test
    void editedLine_isCaughtAtTheNextLine() throws Exception {
        Path f = writeFive();
        List<String> lines = new ArrayList<>(Files.readAllLines(f));
        lines.set(1, lines.get(1).replace("\"result\":\"ok\"", "\"result\":\"CKR_DEVICE_ERROR\""));
        Files.write(f, lines);
        AuditVerifier.Result r = AuditVerifier.verify(f);
        assertFalse(r.ok());
        assertEquals(3, r.badLine(), r.reason());
        assertTrue(r.reason().contains("line (2) was edited"), r.reason());
    }

    @Test
    void deletedLine_isCaught() throws Exception {
        Path f = writeFive();
        List<String> lines = new ArrayList<>(Files.readAllLines(f));
        lines.remove(2);
        Files.write(f, lines);
        AuditVerifier.Result r = AuditVerifier.verify(f);
        assertFalse(r.ok());
        assertEquals(3, r.badLine());
        assertTrue(r.reason().contains("deleted or inserted"), r.reason());
    }

    @Test
    void auditLine_holdsNoSecretFields() throws Exception {
        Path f = writeFive();
        String first = Files.readAllLines(f).get(0);
        assertTrue(first.startsWith("{\"seq\":1,\"time\":\"2026-11-27T10:00:01Z\",\"key\":\"pkcs11:token=t;object=k\""), first);
        assertFalse(first.toLowerCase().contains("pin"), first);
    }

    @Test
    void concurrentRecords_shareFsyncs_andStillChainInOrder() throws Exception {
        Path f = dir.resolve("concurrent.jsonl");
        int threads = 16;
        int each = 25;
        long sequential;
        try (AuditLog log = AuditLog.open(dir.resolve("sequential.jsonl"))) {
            long t0 = System.nanoTime();
            for (int i = 0; i < 50; i++) {
                log.record(event(i));
            }
            sequential = (System.nanoTime() - t0) / 50;
        }
        long concurrent;
        try (AuditLog log = AuditLog.open(f)) {
            List<Thread> ts = new ArrayList<>();
            java.util.concurrent.ConcurrentLinkedQueue<Throwable> errors = new java.util.concurrent.ConcurrentLinkedQueue<>();
            long t0 = System.nanoTime();
            for (int t = 0; t < threads; t++) {
                int base = t * each;
                ts.add(Thread.ofVirtual().start(() -> {
                    try {
                        for (int i = 0; i < each; i++) {
                            log.record(event(base + i));
                        }
                    } catch (Throwable e) {
                        errors.add(e);
                    }
                }));
            }
            for (Thread t : ts) {
                t.join();
            }
            concurrent = (System.nanoTime() - t0) / (threads * each);
            assertEquals(List.of(), List.copyOf(errors));
        }
        AuditVerifier.Result r = AuditVerifier.verify(f);
        assertTrue(r.ok(), r.reason());
        assertEquals(threads * each, r.lines());
        System.out.println("audit line cost: sequential " + sequential / 1000 + " us, with " + threads
                + " writers " + concurrent / 1000 + " us");
    }
}
