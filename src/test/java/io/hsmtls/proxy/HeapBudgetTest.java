package io.hsmtls.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;

class HeapBudgetTest {
    private static final long GIB = 1L << 30;

    @Test
    void limitThatFits_noWarning() {
        assertEquals(Optional.empty(), HeapBudget.check(10_000, 4 * GIB));
        assertEquals(Optional.empty(), HeapBudget.check(1_000, 512L << 20));
    }

    @Test
    void limitThatDoesNotFit_warnsWithTheFiguresAndAHeapThatWould() {
        String w = HeapBudget.check(10_000, 2 * GIB).orElseThrow();
        assertEquals("max connections 10000 would need about 3.7 GiB of heap if all streamed at once (384 KiB "
                + "each), and this JVM may use 2.0 GiB: give it more (HSMTLS_JAVA_OPTS=-Xmx4g) or lower max "
                + "connections", w);
        long suggested = Long.parseLong(w.replaceAll(".*-Xmx(\\d+)g.*", "$1")) * GIB;
        assertTrue(HeapBudget.check(10_000, suggested).isEmpty(), "the suggested heap is enough: " + w);
    }
}
