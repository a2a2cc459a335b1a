package io.hsmtls.tls;

import io.hsmtls.token.CallTime;
import io.hsmtls.token.Mechanism;
import io.hsmtls.token.Pkcs11Uri;
import io.hsmtls.token.TokenWait;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * One handshake's account of its token use: time spent waiting for the token (queue plus call),
 * how many operations it made and, when a {@link KeyUseListener} is given, one {@link KeyUse} per
 * operation with what the connection knows at that moment (SNI, peer, client certificate). One
 * per handshake; only that handshake's thread writes it.
 */
public final class TokenTimer {
    private final KeyUseListener listener;
    private final boolean client;
    private final long connectionId;
    private final InetSocketAddress peer;
    private CpuGate.Pass pass = CpuGate.Pass.none();
    private String sni;
    private String certificateSha256;
    private long nanos;
    private CallTime calls = CallTime.ZERO;
    private int operations;

    /** Counts time and operations only. */
    public TokenTimer() {
        this(null, false, 0, null);
    }

    private TokenTimer(KeyUseListener listener, boolean client, long connectionId, InetSocketAddress peer) {
        this.listener = listener;
        this.client = client;
        this.connectionId = connectionId;
        this.peer = peer;
    }

    /** For a server handshake: signatures are server signatures; listener may be null. */
    public static TokenTimer server(KeyUseListener listener, long connectionId, InetSocketAddress peer) {
        return new TokenTimer(listener, false, connectionId, peer);
    }

    /** For a client handshake: signatures are client signatures; listener may be null. */
    public static TokenTimer client(KeyUseListener listener, long connectionId, InetSocketAddress peer, String sni) {
        TokenTimer t = new TokenTimer(listener, true, connectionId, peer);
        t.sni = sni;
        return t;
    }

    /** The handshake's place in the {@link CpuGate}, given up for the time of each token operation. */
    public TokenTimer gate(CpuGate.Pass pass) {
        this.pass = pass == null ? CpuGate.Pass.none() : pass;
        return this;
    }

    /**
     * Marks the start of a token operation and returns its start time for {@link #signed} or
     * {@link #decrypted}. The handshake leaves the CPU gate while the token works: with a slow
     * or remote token, holding the place would keep a CPU idle.
     */
    public long begin() {
        TokenWait.takeLastCall(); // a report left by a call made outside this timer is not this one's
        pass.leave();
        return System.nanoTime();
    }

    /** The server name, once the ClientHello told it. */
    public void sni(String name) {
        this.sni = name;
    }

    /** The SHA-256 of the client certificate, once known (verified on the server, chosen on the client). */
    public void certificate(String sha256) {
        this.certificateSha256 = sha256;
    }

    /** Records a signature made (or failed: {@code error} non-null) by the token since {@code startNanos}. */
    public void signed(long startNanos, Pkcs11Uri key, Mechanism mechanism, Throwable error) {
        record(startNanos, key, mechanism, client ? KeyUse.Purpose.CLIENT_SIGNATURE : KeyUse.Purpose.SERVER_SIGNATURE,
                KeyUse.resultOf(error));
    }

    /** Records an RSA key-exchange decryption; {@code result} is "ok" or {@link KeyUse#resultOf}. */
    public void decrypted(long startNanos, Pkcs11Uri key, Mechanism mechanism, String result) {
        record(startNanos, key, mechanism, KeyUse.Purpose.RSA_KEY_EXCHANGE_DECRYPT, result);
    }

    private void record(long startNanos, Pkcs11Uri key, Mechanism mechanism, KeyUse.Purpose purpose, String result) {
        long took = System.nanoTime() - startNanos;
        CallTime call = TokenWait.takeLastCall();
        pass.enter();
        nanos += took;
        calls = calls.plus(call != null ? call : new CallTime(took, took));
        operations++;
        if (listener != null) {
            listener.keyUsed(new KeyUse(Instant.now(), key, mechanism, purpose, connectionId, Optional.ofNullable(sni),
                    Optional.ofNullable(peer), Optional.ofNullable(certificateSha256), Duration.ofNanos(took), result));
        }
    }

    public Duration elapsed() {
        return Duration.ofNanos(nanos);
    }

    /**
     * The token calls as the threads that made them measured them: their time without a queue
     * before the token, and of that the time the token itself took (the thread was blocked, not
     * running the module's code or waiting for a CPU to run it). A network HSM's round trips are
     * blocked time; a local module's work and a busy machine's run queue are not. For a key that
     * does not report ({@link TokenWait#takeLastCall()}), all of the elapsed time is blocked.
     */
    public CallTime calls() {
        return calls;
    }

    public int operations() {
        return operations;
    }
}
