package io.hsmtls.token.iaik;

import io.hsmtls.foreign.Foreign;
import io.hsmtls.token.TokenUnavailableException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.xipki.pkcs11.wrapper.Session;

/**
 * A bounded pool of raw PKCS#11 sessions on one token, opened lazily and kept open (PKCS#11
 * sessions are cheap to keep and some tokens are slow to open). A session that failed in the
 * middle of an operation is closed rather than returned: its state is unknown. The pool never
 * holds the session that carries the login (see {@link IaikToken}), so closing every pooled
 * session never logs the token out.
 */
final class SessionPool {
    /** A session lent out by the pool; {@code dirty} is set while an operation is active on it. */
    static final class Lease {
        final Session session;
        final long handle;
        boolean dirty;
        /** This session's native buffer for {@link DirectCalls}, made on its first direct call. */
        Foreign.Scratch scratch;

        Lease(Session session) {
            this.session = session;
            this.handle = session.getSessionHandle();
        }
    }

    interface Opener {
        Session open() throws org.xipki.pkcs11.wrapper.PKCS11Exception;
    }

    private final String token;
    private final int size;
    private final Semaphore permits;
    private final ConcurrentLinkedDeque<Lease> idle = new ConcurrentLinkedDeque<>();
    private final AtomicInteger open = new AtomicInteger();
    private final AtomicInteger inUse = new AtomicInteger();
    private final Opener opener;
    private volatile boolean closed;
    /** Set after the module was re-initialised: the handles are gone and a number may now name someone else's session. */
    private volatile boolean abandoned;

    SessionPool(String token, int size, Opener opener) {
        this.token = token;
        this.size = size;
        this.permits = new Semaphore(size, true);
        this.opener = opener;
    }

    int size() {
        return size;
    }

    Lease acquire(Duration timeout) throws org.xipki.pkcs11.wrapper.PKCS11Exception {
        if (closed) {
            throw abandoned
                    ? new TokenUnavailableException(token, TokenUnavailableException.Reason.DOWN, null,
                            "the token was re-initialised while this operation waited; try again")
                    : new TokenUnavailableException(token, TokenUnavailableException.Reason.CLOSED, null,
                            "the token was closed");
        }
        try {
            if (!permits.tryAcquire(timeout.toNanos(), TimeUnit.NANOSECONDS)) {
                throw new TokenUnavailableException(token, TokenUnavailableException.Reason.DEADLINE, null,
                        "no free session within " + timeout.toMillis() + " ms (all " + size
                                + " in use): raise the session pool size or lower the load");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TokenUnavailableException(token, TokenUnavailableException.Reason.CLOSED, null,
                    "interrupted while waiting for a session");
        }
        Lease l = idle.pollFirst();
        if (l == null) {
            try {
                l = new Lease(opener.open());
                open.incrementAndGet();
            } catch (org.xipki.pkcs11.wrapper.PKCS11Exception | RuntimeException e) {
                permits.release();
                throw e;
            }
        }
        l.dirty = false;
        inUse.incrementAndGet();
        return l;
    }

    void release(Lease l) {
        inUse.decrementAndGet();
        if (closed || l.dirty) {
            close(l);
        } else {
            idle.addFirst(l);
        }
        permits.release();
    }

    /** Closes a session whose state is unknown (failed mid-operation, or stale). */
    void discard(Lease l) {
        inUse.decrementAndGet();
        close(l);
        permits.release();
    }

    /** Closes the idle sessions now; sessions in use close when they come back. */
    void closeAll() {
        closed = true;
        Lease l;
        while ((l = idle.pollFirst()) != null) {
            close(l);
        }
    }

    /** After C_Finalize: forget every session, never closing a handle (its number may be reused). */
    void abandon() {
        abandoned = true;
        closed = true;
        while (idle.pollFirst() != null) {
            open.decrementAndGet();
        }
    }

    private void close(Lease l) {
        open.decrementAndGet();
        if (abandoned) {
            return;
        }
        try {
            l.session.closeSession();
        } catch (org.xipki.pkcs11.wrapper.PKCS11Exception | RuntimeException e) {
            // A session we give up on; a close error (e.g. CKR_SESSION_HANDLE_INVALID) changes nothing.
        }
    }

    List<Long> idleHandles() {
        return idle.stream().map(l -> l.handle).toList();
    }

    int open() {
        return open.get();
    }

    int inUse() {
        return inUse.get();
    }
}
