package io.hsmtls.observe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

class LineLogTest {
    @Test
    void everyLineFromManyThreadsIsPrintedOnceAndInOrderPerThread() throws Exception {
        StringWriter sink = new StringWriter();
        LineLog log = new LineLog(new PrintWriter(sink), "test-log");
        int threads = 8;
        int each = 2_000;
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int id = t;
            ts.add(Thread.ofVirtual().start(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int i = 0; i < each; i++) {
                    log.append("t" + id + " " + i);
                }
            }));
        }
        go.countDown();
        for (Thread t : ts) {
            t.join();
        }
        log.close();
        String[] lines = sink.toString().split("\\R");
        assertEquals(threads * each, lines.length);
        int[] next = new int[threads];
        for (String l : lines) {
            String[] p = l.split(" ");
            int t = Integer.parseInt(p[0].substring(1));
            assertEquals(next[t]++, Integer.parseInt(p[1]), "thread " + t + " out of order: " + l);
        }
    }

    @Test
    void flushWaitsForLinesHandedOverAndCloseKeepsLaterLines() {
        StringWriter sink = new StringWriter();
        LineLog log = new LineLog(new PrintWriter(sink), "test-log");
        log.append("one");
        log.flush(5_000);
        assertEquals("one", sink.toString().strip());
        log.close();
        log.append("after close");
        assertTrue(sink.toString().contains("after close"), sink.toString());
        log.close(); // twice is harmless
    }
}
