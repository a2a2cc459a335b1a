package io.hsmtls.token.iaik;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A slow token's latency is hidden only if the lane runs as many calls at once as it has sessions.
 * Calls that block (as a network HSM's do) stand in for token calls; a latch that opens only when
 * all of them are inside at the same moment proves the overlap without timing anything.
 */
class LaneConcurrencyTest {
    @Test
    void blockingCalls_runAsManyAtOnceAsTheLaneHasThreads_andNoMore() throws Exception {
        int threads = 16;
        Lane lane = new Lane("t", threads, 256);
        try {
            CountDownLatch together = new CountDownLatch(threads);
            AtomicInteger running = new AtomicInteger();
            AtomicInteger most = new AtomicInteger();
            AtomicInteger overlapped = new AtomicInteger();
            List<Thread> callers = new ArrayList<>();
            for (int i = 0; i < 2 * threads; i++) {
                callers.add(Thread.ofVirtual().start(() -> {
                    boolean ok = lane.call(() -> {
                        most.accumulateAndGet(running.incrementAndGet(), Math::max);
                        together.countDown();
                        try {
                            // Opens only once `threads` calls are inside the lane at the same time.
                            return together.await(20, TimeUnit.SECONDS);
                        } finally {
                            Thread.sleep(10);
                            running.decrementAndGet();
                        }
                    }, Duration.ofSeconds(30), Duration.ofSeconds(30), d -> { });
                    if (ok) {
                        overlapped.incrementAndGet();
                    }
                }));
            }
            for (Thread t : callers) {
                t.join(Duration.ofSeconds(60));
            }
            assertEquals(2 * threads, overlapped.get(), "calls did not overlap: the lane serialised them");
            assertEquals(threads, most.get(), "more calls ran at once than the lane has threads (sessions)");
            assertTrue(lane.pending() == 0 && lane.running() == 0);
        } finally {
            lane.shutdown();
        }
    }
}
