package io.hsmtls.token.iaik;

import io.hsmtls.token.CallTime;
import io.hsmtls.token.TokenUnavailableException;
import io.hsmtls.token.TokenWait;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The platform threads that talk to one token. A JNI call pins a virtual thread's carrier, so
 * token calls run here and the calling (virtual) thread parks on a future. The lane has as many
 * threads as the token has pooled sessions; at most {@code maxPending} callers may wait, beyond
 * that a call is refused at once (so a handshake gets an alert, not a queue). A call that runs
 * past its deadline is reported as hung; the caller gets {@code DEADLINE} and moves on while the
 * stuck thread stays in the native call. A result that is already there when the caller looks is
 * returned even if it came late: the token answered, so it is not hung. Each call tells its caller
 * how long the thread that made it was blocked in the module ({@link TokenWait#called}).
 */
final class Lane {
    private final String token;
    private final ThreadPoolExecutor executor;
    private final int maxPending;
    private final AtomicInteger pending = new AtomicInteger();
    /** Calls running on a lane thread right now (a hung one stays counted until the module returns). */
    private final AtomicInteger running = new AtomicInteger();
    private final ThreadLocal<Boolean> onLane = ThreadLocal.withInitial(() -> false);

    Lane(String token, int threads, int maxPending) {
        this.token = token;
        this.maxPending = maxPending;
        AtomicInteger n = new AtomicInteger();
        this.executor = new ThreadPoolExecutor(threads, threads, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
                r -> {
                    Thread t = Thread.ofPlatform().daemon(true).name("hsmtls-token-" + token + "-" + n.incrementAndGet())
                            .unstarted(() -> {
                                onLane.set(true);
                                r.run();
                            });
                    return t;
                });
        executor.allowCoreThreadTimeOut(true);
    }

    int pending() {
        return pending.get();
    }

    int running() {
        return running.get();
    }

    /** Reports a call that ran past its deadline. */
    interface HungHandler {
        void hung(Duration deadline);
    }

    /**
     * Runs {@code task} on the lane and waits for it. The task may wait up to {@code queueWait}
     * to start; once started it has {@code deadline} to finish.
     */
    <T> T call(Callable<T> task, Duration queueWait, Duration deadline, HungHandler onHung) {
        if (onLane.get()) {
            return unchecked(task);
        }
        if (TokenWait.onCallingThreadNow()) {
            // The caller runs it and watches its own thread for a hang (TokenWait.onCallingThread).
            running.incrementAndGet();
            RunnableClock.Timing timing = RunnableClock.start();
            try {
                return unchecked(task);
            } finally {
                TokenWait.called(timing.stop());
                running.decrementAndGet();
            }
        }
        if (pending.incrementAndGet() > maxPending) {
            pending.decrementAndGet();
            throw new TokenUnavailableException(token, TokenUnavailableException.Reason.QUEUE_FULL, null,
                    maxPending + " operations already wait for the token: refused at once; raise maxPending or add capacity");
        }
        try {
            AtomicLong started = new AtomicLong();
            CallTime[] time = {null}; // written by the lane thread before the future completes, read after
            FutureTask<T> future = new FutureTask<>(() -> {
                started.set(System.nanoTime());
                running.incrementAndGet();
                RunnableClock.Timing timing = RunnableClock.start();
                try {
                    return task.call();
                } finally {
                    time[0] = timing.stop();
                    running.decrementAndGet();
                }
            });
            long submitted = System.nanoTime();
            try {
                executor.execute(future);
            } catch (RejectedExecutionException e) {
                throw new TokenUnavailableException(token, TokenUnavailableException.Reason.CLOSED, null, "the token was closed");
            }
            long poll = Math.max(1, Math.min(TimeUnit.MILLISECONDS.toNanos(100), deadline.toNanos() / 4));
            while (true) {
                long start = started.get();
                long end = start != 0 ? start + deadline.toNanos() : submitted + queueWait.toNanos() + deadline.toNanos();
                long now = System.nanoTime();
                long left = end - now;
                if (left <= 0) {
                    if (started.get() == 0 && future.cancel(false)) {
                        throw new TokenUnavailableException(token, TokenUnavailableException.Reason.DEADLINE, null,
                                "the operation waited " + (queueWait.plus(deadline)).toMillis()
                                        + " ms without reaching the token: the lane is saturated or stuck");
                    }
                    if (!future.isDone()) {
                        onHung.hung(deadline);
                        throw new TokenUnavailableException(token, TokenUnavailableException.Reason.DEADLINE, null,
                                "a token call took longer than " + deadline.toMillis()
                                        + " ms: the token is treated as hung and marked down");
                    }
                }
                try {
                    T result = future.get(Math.min(Math.max(left, 1), poll), TimeUnit.NANOSECONDS);
                    TokenWait.called(time[0]);
                    return result;
                } catch (TimeoutException e) {
                    // re-check the deadline
                } catch (ExecutionException e) {
                    TokenWait.called(time[0]);
                    Throwable c = e.getCause();
                    if (c instanceof RuntimeException re) {
                        throw re;
                    }
                    if (c instanceof Error err) {
                        throw err;
                    }
                    throw new IllegalStateException(c);
                } catch (CancellationException e) {
                    throw new TokenUnavailableException(token, TokenUnavailableException.Reason.CLOSED, null,
                            "the operation was cancelled");
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new TokenUnavailableException(token, TokenUnavailableException.Reason.CLOSED, null,
                            "interrupted while waiting for the token");
                }
            }
        } finally {
            pending.decrementAndGet();
        }
    }

    private static <T> T unchecked(Callable<T> task) {
        try {
            return task.call();
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    void shutdown() {
        executor.shutdown();
    }
}
