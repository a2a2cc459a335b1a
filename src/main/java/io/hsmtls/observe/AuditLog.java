package io.hsmtls.observe;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.nio.channels.FileChannel;

/**
 * The audit log: one JSON line per private-key use, hash-chained. Each line carries {@code seq}
 * and {@code prev}, the SHA-256 of the previous line's bytes (64 zeros for the first), so editing
 * or deleting a line breaks the chain at the next one ({@link AuditVerifier}). Deleting lines from
 * the end is visible only against an anchor: the last hash, which {@code audit verify} prints.
 *
 * <p>Opening an existing file continues its chain. {@link #record} returns only once its line is
 * on disk ({@code fsync}): an audit record that was not written must not be claimed. Concurrent
 * callers share one {@code fsync} (group commit): lines are appended in order under one lock,
 * and whoever syncs next makes every line appended so far durable. One fsync costs 1–2 ms on the
 * build machine's disk; one per line under a single lock capped an audited server at a few hundred
 * handshakes a second, whatever the token could do.
 */
public final class AuditLog implements AutoCloseable {
    static final String GENESIS = "0".repeat(64);

    private final Path file;
    private final FileChannel channel;
    /** Guards appending: seq, prev and the file position. */
    private final java.util.concurrent.locks.ReentrantLock append = new java.util.concurrent.locks.ReentrantLock();
    /** Held while one caller forces the file for everyone waiting. */
    private final java.util.concurrent.locks.ReentrantLock sync = new java.util.concurrent.locks.ReentrantLock();
    private String prev;
    private long seq;
    /** Lines up to this seq are known to be on disk. */
    private volatile long durable;

    private AuditLog(Path file, FileChannel channel, String prev, long seq) {
        this.file = file;
        this.channel = channel;
        this.prev = prev;
        this.seq = seq;
    }

    public static AuditLog open(Path file) {
        try {
            String prev = GENESIS;
            long seq = 0;
            if (Files.exists(file) && Files.size(file) > 0) {
                List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
                String last = lines.get(lines.size() - 1);
                prev = sha256(last);
                seq = lines.size();
            }
            FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.APPEND);
            return new AuditLog(file, ch, prev, seq);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open audit log " + file + ": " + e.getMessage(), e);
        }
    }

    public Path file() {
        return file;
    }

    /** Appends the record and returns once it is on disk. */
    public void record(AuditEvent e) {
        long mine;
        append.lock();
        try {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("seq", seq + 1);
            m.put("time", e.time().toString());
            m.put("key", e.keyUri());
            m.put("mechanism", e.mechanism());
            m.put("purpose", e.purpose().text());
            m.put("connection", e.connectionId());
            m.put("sni", e.sni());
            m.put("peer", e.peer());
            m.put("client_cert_sha256", e.clientFingerprint());
            m.put("result", e.result());
            m.put("latency_us", e.latencyMicros());
            m.put("prev", prev);
            String line = Json.write(m);
            try {
                java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.UTF_8));
                while (b.hasRemaining()) {
                    channel.write(b);
                }
            } catch (IOException ex) {
                throw new UncheckedIOException("cannot write audit log " + file + ": " + ex.getMessage(), ex);
            }
            prev = sha256(line);
            seq++;
            mine = seq;
        } finally {
            append.unlock();
        }
        syncUpTo(mine);
    }

    /** Makes lines up to {@code target} durable, sharing one fsync with whoever else is waiting. */
    private void syncUpTo(long target) {
        if (durable >= target) {
            return;
        }
        sync.lock();
        try {
            if (durable >= target) {
                return; // someone else's fsync covered our line while we waited
            }
            long upTo;
            append.lock();
            try {
                upTo = seq;
            } finally {
                append.unlock();
            }
            channel.force(false);
            durable = upTo;
        } catch (IOException ex) {
            throw new UncheckedIOException("cannot sync audit log " + file + ": " + ex.getMessage(), ex);
        } finally {
            sync.unlock();
        }
    }

    /** The hash of the last line written: an anchor to keep elsewhere. */
    public String lastHash() {
        append.lock();
        try {
            return prev;
        } finally {
            append.unlock();
        }
    }

    static String sha256(String line) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(line.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        append.lock();
        try {
            channel.close();
        } catch (IOException e) {
            // nothing left to do: every record() returned only after its line was forced
        } finally {
            append.unlock();
        }
    }
}
