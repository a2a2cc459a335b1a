package io.hsmtls.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ConnectionRecordTest {
    @Test
    void tokenTimeHasThreeDecimalsRounded() {
        assertEquals("0.000", ConnectionRecord.millis3(Duration.ZERO));
        assertEquals("0.071", ConnectionRecord.millis3(Duration.ofNanos(70_600)));
        assertEquals("0.005", ConnectionRecord.millis3(Duration.ofNanos(5_000)));
        assertEquals("1.050", ConnectionRecord.millis3(Duration.ofNanos(1_050_000)));
        assertEquals("12345.679", ConnectionRecord.millis3(Duration.ofNanos(12_345_678_900L)));
    }

    @Test
    void lineCarriesTheFieldsInStableOrder() {
        ConnectionRecord r = new ConnectionRecord(7, new InetSocketAddress("127.0.0.1", 4000), Optional.empty(),
                Optional.of("a.example"), "closed \"x\"", 10, 20, Duration.ofMillis(3), Duration.ofNanos(71_000));
        String l = r.line();
        assertEquals("conn=7 peer=127.0.0.1:4000 sni=a.example in=10 out=20 duration_ms=3 token_ms=0.071 "
                + "outcome=\"closed 'x'\"", l);
        assertTrue(l.startsWith("conn=7 "));
    }
}
