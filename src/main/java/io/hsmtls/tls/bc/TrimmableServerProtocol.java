package io.hsmtls.tls.bc;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import org.bouncycastle.tls.ByteQueue;
import org.bouncycastle.tls.ContentType;
import org.bouncycastle.tls.TlsServerProtocol;

/**
 * Bouncy Castle's server protocol in non-blocking mode, with buffers that can be given back when
 * the connection goes quiet ({@link #trim()}).
 *
 * <p>Why: Bouncy Castle's queues grow to the largest burst they ever held (to the next power of two
 * above it) and never shrink. An event loop offers up to 64 KiB per read and writes up to 64 KiB
 * per backend read, so the raw-input, decrypted-plaintext and encrypted-output queues each end at
 * 128 KiB. Measured: 200 connections that had each moved 4 MB both ways and then sat idle held
 * 327 KiB of heap each, against 5 KiB for connections that never moved data (7 KiB trimmed). A proxy holds many
 * long-lived, mostly quiet connections, so that is what its memory is made of.
 *
 * <p>The output queue is reachable from a subclass and can shrink. The other two are not, so once
 * the handshake is done they are kept out of use: input is offered one whole record at a time,
 * which Bouncy Castle decrypts in place without queueing it (its own fast path, which also saves
 * two copies of every byte), a record cut by the end of a read waits here until it is whole, and
 * decrypted application data goes into a queue this class owns ({@link #processRecord}). The
 * handshake itself, alerts, key updates and every check on the records stay with Bouncy Castle.
 */
final class TrimmableServerProtocol extends TlsServerProtocol {
    private static final byte[] NONE = new byte[0];
    private static final int HEADER = 5;
    /** The largest record TLS 1.2 allows (2^14 + 2048 of ciphertext); Bouncy Castle checks the exact limit. */
    private static final int MAX_RECORD = HEADER + (1 << 14) + 2048;

    /** Decrypted application data waiting to be read; Bouncy Castle's own queue stays empty. */
    private final ByteQueue plaintext = new ByteQueue(0);
    /** Set once Bouncy Castle has accepted the handshake as complete and takes application data. */
    private boolean appData;
    /** The start of a record that a read cut off, waiting for its rest. */
    private byte[] partial = NONE;
    private int partialLength;

    @Override
    protected void completeHandshake() throws IOException {
        super.completeHandshake();
        appData = true;
    }

    @Override
    protected void processRecord(short protocol, byte[] buf, int off, int len) throws IOException {
        if (protocol == ContentType.application_data && appData) {
            plaintext.addData(buf, off, len);
        } else {
            // Before completion Bouncy Castle refuses application data (unexpected_message) itself.
            super.processRecord(protocol, buf, off, len);
        }
    }

    /**
     * After the handshake, hands Bouncy Castle whole records one at a time and keeps the start of a
     * cut-off record here. Before it (and for bytes that are not a record header Bouncy Castle
     * would accept, so that it raises the alert at once) the bytes go to Bouncy Castle as they are.
     */
    @Override
    public void offerInput(byte[] in, int off, int len) throws IOException {
        if (!appData || isClosed()) {
            super.offerInput(in, off, len);
            return;
        }
        int end = off + len;
        while (off < end && !isClosed()) {
            int held = inputBuffers.available();
            if (held > 0) {
                // The handshake's last read left Bouncy Castle the start of a record: finish that one there.
                int take = Math.min(end - off, bufferedRecordRest(held));
                super.offerInput(in, off, take);
                off += take;
            } else if (partialLength > 0) {
                off = fillPartial(in, off, end);
            } else if (end - off < HEADER) {
                keep(in, off, end - off, HEADER);
                off = end;
            } else {
                int length = recordLength(in, off);
                if (length < 0) {
                    super.offerInput(in, off, end - off);
                    return;
                }
                if (end - off < length) {
                    keep(in, off, end - off, length);
                    off = end;
                } else {
                    super.offerInput(in, off, length);
                    off += length;
                }
            }
        }
    }

    /** Adds to the cut-off record; offers it once whole. Where the input continues. */
    private int fillPartial(byte[] in, int off, int end) throws IOException {
        if (partialLength < HEADER) {
            int take = Math.min(end - off, HEADER - partialLength);
            keep(in, off, take, HEADER);
            off += take;
            if (partialLength < HEADER) {
                return off;
            }
        }
        int need = recordLength(partial, 0);
        if (need < 0) {
            // not a record Bouncy Castle would take: let it say so
            int n = partialLength;
            partialLength = 0;
            super.offerInput(partial, 0, n);
            super.offerInput(in, off, end - off);
            return end;
        }
        int take = Math.min(end - off, need - partialLength);
        keep(in, off, take, need);
        off += take;
        if (partialLength == need) {
            partialLength = 0;
            super.offerInput(partial, 0, need);
        }
        return off;
    }

    private void keep(byte[] in, int off, int n, int capacity) {
        if (partial.length < Math.max(capacity, partialLength + n)) {
            partial = Arrays.copyOf(partial, Math.max(capacity, partialLength + n));
        }
        System.arraycopy(in, off, partial, partialLength, n);
        partialLength += n;
    }

    /**
     * The whole length of the record whose header starts at {@code off} (five bytes there), or -1
     * when the header is not one Bouncy Castle would accept.
     */
    private static int recordLength(byte[] b, int off) {
        int type = b[off] & 0xff;
        int length = declaredLength(b, off);
        boolean known = type >= ContentType.change_cipher_spec && type <= ContentType.heartbeat;
        return known && length <= MAX_RECORD ? length : -1;
    }

    /** How many more bytes the record Bouncy Castle holds the start of needs ({@code held} > 0). */
    private int bufferedRecordRest(int held) {
        if (held < HEADER) {
            return HEADER - held;
        }
        byte[] header = new byte[HEADER];
        inputBuffers.peek(header);
        return Math.max(1, declaredLength(header, 0) - held);
    }

    /** Header plus the fragment length the header at {@code off} declares. */
    private static int declaredLength(byte[] b, int off) {
        return HEADER + ((b[off + 3] & 0xff) << 8 | (b[off + 4] & 0xff));
    }

    @Override
    public int applicationDataAvailable() {
        return plaintext.available(); // getAvailableInputBytes() answers through this
    }

    @Override
    public int readInput(ByteBuffer into, int max) {
        int n = Math.min(max, plaintext.available());
        if (n > 0) {
            plaintext.removeData(into, n, 0);
        }
        return n;
    }

    @Override
    public int readInput(byte[] into, int off, int max) {
        int n = Math.min(max, plaintext.available());
        if (n > 0) {
            plaintext.removeData(into, off, n, 0);
        }
        return n;
    }

    /**
     * Gives back what the queues hold beyond their content: an empty queue drops its array, one
     * with data keeps an array just big enough. Cheap (at most two small copies); meant for a
     * connection that has been quiet for a while, not for every read, since a queue that is trimmed
     * grows again with the next burst.
     */
    void trim() {
        outputBuffer.getBuffer().shrink();
        plaintext.shrink();
        if (partialLength == 0) {
            partial = NONE;
        }
    }
}
