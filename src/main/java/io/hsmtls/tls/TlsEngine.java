package io.hsmtls.tls;

import io.hsmtls.token.CallTime;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;

/**
 * One server-side TLS connection driven by the caller's I/O (an event loop): bytes read from the
 * peer go in with {@link #offer}, bytes for the peer come out of {@link #readOutput}. Nothing here
 * touches a socket or blocks, except {@link #offer} while a handshake waits for the token (see
 * {@link #mayWaitOnToken()}). Not thread-safe: one thread at a time, with a happens-before edge
 * between threads (a hand-over through a queue).
 */
public interface TlsEngine {
    /**
     * Takes bytes read from the peer. During the handshake this may run the private-key operation
     * on the token. After a fatal alert the alert waits in the output.
     *
     * @throws IOException the connection failed (an alert was raised or received); see {@link #failure}
     */
    void offer(byte[] b, int off, int len) throws IOException;

    /** True until the handshake has completed. */
    boolean handshaking();

    /**
     * True while offering the next flight may wait on the token: the handshake has not yet made
     * its private-key operation and is not a resumption. A caller on an event loop offers such a
     * flight on another thread.
     */
    boolean mayWaitOnToken();

    /** The token calls so far as the threads that made them measured them ({@link TokenTimer#calls()}). */
    CallTime tokenCalls();

    /** The handshake's outcome; only once {@link #handshaking()} is false. */
    HandshakeInfo info();

    /** The failed handshake as the connection log reports it: the cause, or a timeout when {@code timedOut}. */
    HandshakeFailedException failure(Throwable cause, boolean timedOut, Duration timeout);

    /** Decrypted application data waiting to be read. */
    int plaintextAvailable();

    /** Moves up to {@code max} bytes of plaintext into {@code into} (which has room for them); the count. */
    int readPlaintext(ByteBuffer into, int max);

    /** Encrypts application data into the output. */
    void write(byte[] b, int off, int len) throws IOException;

    /** Bytes waiting to be sent to the peer. */
    int outputAvailable();

    /** Moves up to {@code max} bytes of output into {@code into} (which has room for them); the count. */
    int readOutput(ByteBuffer into, int max);

    /**
     * Gives back buffer memory beyond what is queued, for a connection that has gone quiet. Buffers
     * keep the size of the largest burst they held (a connection that once streamed would hold
     * ~330 KiB while idle, against ~5 KiB); the next burst grows them again, so not per read.
     */
    void trim();

    /** Puts close_notify into the output (once) and ends the connection. */
    void close();

    /** True once the connection has ended: close_notify either way, or a fatal alert. */
    boolean closed();
}
