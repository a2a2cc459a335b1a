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
        byte[] large = Pump.nextBuffer(small, Pump.SMALL);
        assertEquals(Pump.LARGE, large.length, "a full small read switches to the large buffer");
        assertSame(large, Pump.nextBuffer(large, Pump.LARGE), "full reads keep it");
        assertSame(large, Pump.nextBuffer(large, 5000), "a medium read keeps it");
        assertEquals(Pump.SMALL, Pump.nextBuffer(large, 100).length, "a short read goes back to small");
    }
}
