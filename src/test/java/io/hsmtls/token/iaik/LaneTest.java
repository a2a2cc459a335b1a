package io.hsmtls.token.iaik;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmtls.token.TokenUnavailableException;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The lane's admission and deadline logic, with plain tasks standing in for token calls. */
class LaneTest {
    private final CountDownLatch release = new CountDownLatch(1);
    private Lane lane;

    @AfterEach
    void tearDown() {
        release.countDown();
        if (lane != null) {
            lane.shutdown();
        }
    }

    private Object blockUntilReleased() throws InterruptedException {
        release.await(10, TimeUnit.SECONDS);
        return "done";
    }

    @Test
    void callRunsOnAPlatformThread_andReturnsTheResult() throws Exception {
        lane = new Lane("t", 2, 10);
        Thread caller = Thread.ofVirtual().unstarted(() -> { });
        String[] ran = new String[2];
        Thread vt = Thread.ofVirtual().start(() -> {
            ran[0] = lane.call(() -> {
                ran[1] = Thread.currentThread().isVirtual() ? "virtual" : "platform";
                return "ok";
            }, Duration.ofSeconds(1), Duration.ofSeconds(1), d -> { });
        });
        vt.join();
        assertEquals("ok", ran[0]);
        assertEquals("platform", ran[1], "JNI must not pin a virtual thread's carrier");
        assertTrue(caller.getState() == Thread.State.NEW);
    }

    @Test
    void tooManyPending_isRefusedAtOnce() throws Exception {
        lane = new Lane("t", 1, 2);
        CountDownLatch started = new CountDownLatch(1);
        Thread a = Thread.ofVirtual().start(() -> lane.call(() -> {
            started.countDown();
            return blockUntilReleased();
        }, Duration.ofSeconds(10), Duration.ofSeconds(10), d -> { }));
        started.await();
        Thread b = Thread.ofVirtual().start(() -> lane.call(this::blockUntilReleased, Duration.ofSeconds(10),
                Duration.ofSeconds(10), d -> { }));
        while (lane.pending() < 2) {
            Thread.sleep(5);
        }
        long t0 = System.nanoTime();
        TokenUnavailableException e = assertThrows(TokenUnavailableException.class,
                () -> lane.call(() -> "x", Duration.ofSeconds(10), Duration.ofSeconds(10), d -> { }));
        assertTrue(System.nanoTime() - t0 < TimeUnit.MILLISECONDS.toNanos(500), "refused without waiting");
        assertEquals(TokenUnavailableException.Reason.QUEUE_FULL, e.reason());
        assertTrue(e.getMessage().contains("2 operations already wait"), e.getMessage());
        release.countDown();
        a.join();
        b.join();
        assertEquals(0, lane.pending());
    }

    @Test
    void callPastItsDeadline_isReportedHung_andTheCallerMovesOn() {
        lane = new Lane("t", 1, 10);
        AtomicInteger hung = new AtomicInteger();
        long t0 = System.nanoTime();
        TokenUnavailableException e = assertThrows(TokenUnavailableException.class,
                () -> lane.call(this::blockUntilReleased, Duration.ofSeconds(5), Duration.ofMillis(200),
                        d -> hung.incrementAndGet()));
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertEquals(TokenUnavailableException.Reason.DEADLINE, e.reason());
        assertEquals(1, hung.get());
        assertTrue(ms >= 190 && ms < 3000, "returned after about the deadline: " + ms + " ms");
        assertTrue(e.getMessage().contains("treated as hung"), e.getMessage());
    }

    @Test
    void callThatNeverStarts_timesOutWithoutBlamingTheToken() throws Exception {
        lane = new Lane("t", 1, 10);
        CountDownLatch started = new CountDownLatch(1);
        Thread a = Thread.ofVirtual().start(() -> {
            try {
                lane.call(() -> {
                    started.countDown();
                    return blockUntilReleased();
                }, Duration.ofSeconds(10), Duration.ofSeconds(10), d -> { });
            } catch (RuntimeException ignored) {
                // released at tear-down
            }
        });
        started.await();
        AtomicInteger hung = new AtomicInteger();
        AtomicInteger ran = new AtomicInteger();
        TokenUnavailableException e = assertThrows(TokenUnavailableException.class,
                () -> lane.call(() -> ran.incrementAndGet(), Duration.ofMillis(100), Duration.ofMillis(100),
                        d -> hung.incrementAndGet()));
        assertEquals(TokenUnavailableException.Reason.DEADLINE, e.reason());
        assertTrue(e.getMessage().contains("without reaching the token"), e.getMessage());
        assertEquals(0, hung.get(), "the queued call was cancelled, not reported as a hung token");
        release.countDown();
        a.join();
        Thread.sleep(50);
        assertEquals(0, ran.get(), "a cancelled call never runs");
    }

    @Test
    void exceptionsFromTheTask_reachTheCallerUnchanged() {
        lane = new Lane("t", 1, 10);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> lane.call(() -> {
            throw new IllegalArgumentException("boom");
        }, Duration.ofSeconds(1), Duration.ofSeconds(1), d -> { }));
        assertEquals("boom", e.getMessage());
    }
}
