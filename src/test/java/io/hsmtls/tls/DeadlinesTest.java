package io.hsmtls.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class DeadlinesTest {
    @Test
    void aDeadlineFiresOnceWithinATickOfItsTime() throws Exception {
        Deadlines d = new Deadlines("test-deadlines", Duration.ofMillis(20));
        CountDownLatch fired = new CountDownLatch(1);
        AtomicInteger runs = new AtomicInteger();
        long start = System.nanoTime();
        d.after(Duration.ofMillis(200), () -> {
            runs.incrementAndGet();
            fired.countDown();
        });
        assertTrue(fired.await(5, TimeUnit.SECONDS));
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertTrue(ms >= 200, "not before its time: " + ms + " ms");
        Thread.sleep(100);
        assertEquals(1, runs.get(), "once");
        assertEquals(0, d.pending());
    }

    @Test
    void aCancelledDeadlineNeverFiresAndLeavesNothingBehind() throws Exception {
        Deadlines d = new Deadlines("test-deadlines", Duration.ofMillis(20));
        AtomicInteger runs = new AtomicInteger();
        Deadlines.Entry e = d.after(Duration.ofMillis(100), runs::incrementAndGet);
        assertEquals(1, d.pending());
        assertTrue(e.cancel());
        assertFalse(e.cancel(), "only the first cancel counts");
        assertEquals(0, d.pending(), "a cancelled deadline is not kept");
        Thread.sleep(300);
        assertEquals(0, runs.get());
    }

    @Test
    void theSweeperWakesForADeadlineSetAfterItWentIdle() throws Exception {
        Deadlines d = new Deadlines("test-deadlines", Duration.ofMillis(20));
        CountDownLatch first = new CountDownLatch(1);
        d.after(Duration.ZERO, first::countDown);
        assertTrue(first.await(5, TimeUnit.SECONDS));
        Thread.sleep(200); // nothing set: the sweeper parks
        CountDownLatch second = new CountDownLatch(1);
        d.after(Duration.ofMillis(10), second::countDown);
        assertTrue(second.await(5, TimeUnit.SECONDS), "an idle sweeper is woken by the next deadline");
    }

    @Test
    void aFailingActionDoesNotStopTheOthers() throws Exception {
        Deadlines d = new Deadlines("test-deadlines", Duration.ofMillis(20));
        CountDownLatch ok = new CountDownLatch(1);
        d.after(Duration.ZERO, () -> {
            throw new IllegalStateException("boom");
        });
        d.after(Duration.ofMillis(50), ok::countDown);
        assertTrue(ok.await(5, TimeUnit.SECONDS));
    }
}
