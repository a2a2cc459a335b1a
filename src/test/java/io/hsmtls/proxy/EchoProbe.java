package io.hsmtls.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.InputStream;
import java.io.OutputStream;
import java.util.function.BooleanSupplier;

/** Measures an established connection's responsiveness while something else goes on. */
final class EchoProbe {
    private EchoProbe() {
    }

    /** Echoes one byte every 10 ms until {@code done}; the longest round trip in nanoseconds. */
    static long worstRoundTrip(InputStream in, OutputStream out, BooleanSupplier done) throws Exception {
        long worst = 0;
        while (!done.getAsBoolean()) {
            long e0 = System.nanoTime();
            out.write(7);
            out.flush();
            assertEquals(7, in.read());
            worst = Math.max(worst, System.nanoTime() - e0);
            Thread.sleep(10);
        }
        return worst;
    }
}
