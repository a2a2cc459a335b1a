package io.hsmtls.token.iaik;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@link RunnableClock} tells a thread that waits (a slow token) from one that computes, however
 * busy the machine: the run queue is not counted as waiting.
 */
class RunnableClockTest {

    @Test
    void sleepingCountsAsBlocked_computingDoesNot_evenWithEveryCpuBusy() throws Exception {
        long slept = blocked(() -> sleep(20));
        assertTrue(slept >= TimeUnit.MILLISECONDS.toNanos(18), "a 20 ms sleep was blocked for " + slept / 1000 + " µs");

        // Twice as many spinning threads as CPUs: the measured thread spends much of its time in the run queue.
        int spinners = 2 * Runtime.getRuntime().availableProcessors();
        List<Thread> busy = new ArrayList<>();
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        for (int i = 0; i < spinners; i++) {
            busy.add(Thread.ofPlatform().daemon(true).start(() -> spinUntil(until)));
        }
        try {
            long worst = 0;
            long wallTotal = 0;
            long blockedTotal = 0;
            for (int i = 0; i < 20; i++) {
                long wall0 = System.nanoTime();
                long b = blocked(() -> spinFor(TimeUnit.MILLISECONDS.toNanos(2)));
                wallTotal += System.nanoTime() - wall0;
                blockedTotal += b;
                worst = Math.max(worst, b);
            }
            // The run queue is not blocked time; some ~10 % of a stretched call is (irq time?), so the bar is a quarter.
            assertTrue(blockedTotal < wallTotal / 4, "computing under load counted " + blockedTotal / 1000
                    + " µs of " + wallTotal / 1000 + " µs as blocked (worst call " + worst / 1000 + " µs)");
        } finally {
            busy.forEach(Thread::interrupt);
        }
    }

    @Test
    void aCallAfterAShortOneIsNotMeasured_soFastTokensPayNoClockReads() {
        RunnableClock.start().stop(); // the thread's first may be slow (it opens its schedstat file)
        RunnableClock.start().stop(); // short: the next call is not measured
        RunnableClock.Timing t = RunnableClock.start();
        sleep(5);
        var unmeasured = t.stop();
        assertTrue(unmeasured.nanos() >= TimeUnit.MILLISECONDS.toNanos(4), unmeasured.toString());
        assertTrue(unmeasured.blockedNanos() == 0, "not measured, so not blocked: " + unmeasured);
        t = RunnableClock.start(); // after a long one: measured
        sleep(5);
        assertTrue(t.stop().blockedNanos() >= TimeUnit.MILLISECONDS.toNanos(4));
    }

    @Test
    void aRunOfAlikeLongCalls_isMeasuredOneInEight_theOthersCarryTheMeasuredShare() {
        RunnableClock.start().stop(); // the thread's first may be slow (it opens its schedstat file)
        RunnableClock.Timing t = RunnableClock.start();
        t.stop(); // a short call: the run of long calls starts after it
        long before = t.measured;
        int calls = 1 + 2 * RunnableClock.MEASURE_EVERY;
        for (int i = 0; i < calls; i++) {
            t = RunnableClock.start();
            sleep(2);
            var c = t.stop();
            if (i > 0) { // the first long call after a short one is neither measured nor given a share
                assertTrue(c.blockedNanos() >= c.nanos() / 2, "call " + i + ": a sleep is blocked time: " + c);
            }
        }
        long measured = t.measured - before;
        // 2 in a steady run (the second call and the tenth); a sleep stretched past twice the
        // sample by a busy machine adds one. Measuring each call would be 16.
        assertTrue(measured >= 2 && measured <= 6, measured + " of " + calls + " long calls measured");
    }

    @Test
    void aLongCallWhoseWallTimeDoubles_isFollowedByAMeasuredOne() {
        RunnableClock.start().stop(); // the thread's first may be slow (it opens its schedstat file)
        RunnableClock.Timing t = RunnableClock.start();
        t.stop();
        for (int i = 0; i < 3; i++) { // a run of 2 ms calls, its second one measured
            t = RunnableClock.start();
            sleep(2);
            t.stop();
        }
        t = RunnableClock.start();
        sleep(40);
        t.stop();
        long before = t.measured;
        t = RunnableClock.start();
        sleep(2);
        var c = t.stop();
        assertTrue(t.measured == before + 1, "the call after a 40 ms one in a run of 2 ms ones is measured");
        assertTrue(c.blockedNanos() >= TimeUnit.MILLISECONDS.toNanos(1), c.toString());
    }

    private static long blocked(Runnable work) {
        RunnableClock.start().stop(); // the thread's first may be slow (it opens its schedstat file)
        RunnableClock.start().stop(); // a short call ends any run of long calls
        RunnableClock.Timing before = RunnableClock.start();
        sleep(1);
        before.stop(); // a long call starts one, so the next call is measured
        RunnableClock.Timing t = RunnableClock.start();
        work.run();
        return t.stop().blockedNanos();
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Spins until this thread has used {@code cpuNanos} of CPU (not wall time: the run queue must not shorten it). */
    private static void spinFor(long cpuNanos) {
        java.lang.management.ThreadMXBean t = java.lang.management.ManagementFactory.getThreadMXBean();
        long end = t.getCurrentThreadCpuTime() + cpuNanos;
        long x = 0;
        while (t.getCurrentThreadCpuTime() < end) {
            for (int i = 0; i < 1000; i++) {
                x += i * 31L ^ x;
            }
        }
        if (x == 42) {
            System.out.print("");
        }
    }

    private static void spinUntil(long deadline) {
        long x = 0;
        while (System.nanoTime() < deadline && !Thread.currentThread().isInterrupted()) {
            x += System.nanoTime() ^ x;
        }
        if (x == 42) {
            System.out.print("");
        }
    }
}
