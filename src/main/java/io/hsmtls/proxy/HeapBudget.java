package io.hsmtls.proxy;

import java.util.Locale;
import java.util.Optional;

/**
 * What a proxied connection needs of the heap while data streams through it, and whether a
 * connection limit fits under the JVM's heap cap. Measured (README, Operations): 300 connections
 * each sending and receiving 64 MB at full speed through {@code serve} held 290–370 KiB of live
 * heap each after a full GC — the two pump buffers (up to 64 KiB each), the TLS side's read and
 * batched-write buffers (65 KiB each) and Bouncy Castle's record and application-data buffers; on
 * the event loops 200 such connections held 323–415 KiB each (Bouncy Castle's input, output and
 * plaintext queues grew to a read's 64 KiB each, and what a socket did not take is queued; the
 * input queue is now out of use after the handshake: 215 KiB each, against 327 KiB before, in
 * one comparison). The constant covers both front ends. An idle
 * connection holds ~5–16 KiB, and on the event loops one that streamed gives its buffers back after
 * a quiet second (7 KiB), so the limit matters only when many stream at once; then a heap
 * too small for them ends in {@code OutOfMemoryError}, which takes connections down with it.
 */
public final class HeapBudget {
    /** Live heap of one connection streaming at full speed both ways, rounded up from the measurement. */
    public static final long STREAMING_CONNECTION_BYTES = 384L * 1024;
    private static final long GIB = 1L << 30;
    /** What a suggested heap adds for the rest of the process (token layer, caches, code). */
    private static final long HEADROOM = 256L << 20;

    private HeapBudget() {
    }

    /**
     * A warning when {@code maxConnections} connections streaming at once would not fit in
     * {@code maxHeapBytes}; empty when they would.
     */
    public static Optional<String> check(long maxConnections, long maxHeapBytes) {
        long need = maxConnections * STREAMING_CONNECTION_BYTES;
        if (need <= maxHeapBytes) {
            return Optional.empty();
        }
        return Optional.of("max connections " + maxConnections + " would need about " + gib(need)
                + " of heap if all streamed at once (" + STREAMING_CONNECTION_BYTES / 1024
                + " KiB each), and this JVM may use " + gib(maxHeapBytes) + ": give it more (HSMTLS_JAVA_OPTS=-Xmx"
                + Math.ceilDiv(need + HEADROOM, GIB) + "g) or lower max connections");
    }

    private static String gib(long bytes) {
        return String.format(Locale.ROOT, "%.1f GiB", bytes / (double) GIB);
    }
}
