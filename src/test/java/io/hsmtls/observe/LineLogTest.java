package io.hsmtls.observe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.Writer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
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

    /**
     * The connection log's writer flushes at every println (Main's stderr has autoflush on);
     * a batch of lines must still reach the stream as one write and one flush, not one each.
     */
    @Test
    void aBatchOfLinesIsOneWriteAndOneFlush_evenOnAnAutoflushingWriter() {
        AtomicInteger writes = new AtomicInteger();
        AtomicInteger flushes = new AtomicInteger();
        StringWriter sink = new StringWriter();
        Writer counting = new Writer() {
            @Override
            public void write(char[] cbuf, int off, int len) {
                writes.incrementAndGet();
                sink.write(cbuf, off, len);
            }

            @Override
            public void flush() {
                flushes.incrementAndGet();
            }

            @Override
            public void close() {
            }
        };
        LineLog log = new LineLog(new PrintWriter(counting, true), "test-log");
        // Queued faster than the writer's 50 ms round: one drain takes them all (a slow machine
        // may split them over two).
        for (int i = 0; i < 200; i++) {
            log.append("connection " + i);
        }
        log.flush(5_000);
        String[] lines = sink.toString().split("\\R");
        assertEquals(200, lines.length);
        assertEquals("connection 199", lines[199]);
        assertTrue(writes.get() <= 4 && flushes.get() <= 2,
                "200 lines took " + writes.get() + " writes and " + flushes.get() + " flushes");
        log.close();
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
