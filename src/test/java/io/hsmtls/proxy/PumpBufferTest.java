package io.hsmtls.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import org.junit.jupiter.api.Test;

/** An idle direction waits with a small buffer; streaming data gets the large one. */
class PumpBufferTest {
    @Test
    void smallUntilFilled_largeWhileStreaming_smallAfterAShortRead() {
        byte[] small = new byte[Pump.SMALL];
        assertSame(small, Pump.nextBuffer(small, 10), "a short read keeps the small buffer");
        byte[] grown = Pump.nextBuffer(small, Pump.SMALL);
        assertEquals(4 * Pump.SMALL, grown.length, "a full small read grows the buffer");
        byte[] large = grown;
        for (int i = 0; i < 8 && large.length < Pump.LARGE; i++) {
            large = Pump.nextBuffer(large, large.length);
        }
        assertEquals(Pump.LARGE, large.length, "full reads grow it to the large buffer");
        assertSame(large, Pump.nextBuffer(large, Pump.LARGE), "full reads keep it");
        assertEquals(Pump.LARGE, Pump.nextBuffer(large, Pump.LARGE).length, "and never past it");
        assertSame(large, Pump.nextBuffer(large, 5000), "a medium read keeps it");
        assertEquals(Pump.SMALL, Pump.nextBuffer(large, 100).length, "a short read goes back to small");
    }
}
