package io.hsmtls.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class LoadSpecTest {
    private static ClientConfig client(String version) {
        return new ClientConfig(new InetSocketAddress("127.0.0.1", 1), version, Optional.empty(), Optional.empty(),
                List.of(Path.of("x.pem")), Optional.empty());
    }

    private static LoadSpec spec(Mode mode, String version, Duration duration, long count) {
        return new LoadSpec(mode, client(version), 4, duration, count, 0, Duration.ZERO, 1, 10, 1,
                Duration.ZERO, OptionalLong.empty(), Duration.ofSeconds(1));
    }

    @Test
    void everyRunIsBoundedByCountAndTime() {
        assertThrows(IllegalArgumentException.class, () -> spec(Mode.HANDSHAKE, "TLSv1.3", Duration.ofHours(1), 10));
        assertThrows(IllegalArgumentException.class, () -> spec(Mode.HANDSHAKE, "TLSv1.3", Duration.ofSeconds(1), 0));
        assertThrows(IllegalArgumentException.class,
                () -> spec(Mode.HANDSHAKE, "TLSv1.3", Duration.ofSeconds(1), LoadSpec.MAX_COUNT + 1));
        assertEquals(10, spec(Mode.HANDSHAKE, "TLSv1.3", Duration.ofSeconds(1), 10).maxCount());
    }

    @Test
    void roundTrip_onlyAfterFullHandshakes_andAtMostOneRecord() {
        assertEquals(64, spec(Mode.HANDSHAKE, "TLSv1.3", Duration.ofSeconds(1), 10).withRoundTrip(64).roundTripBytes());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> spec(Mode.BULK, "TLSv1.3", Duration.ofSeconds(1), 10).withRoundTrip(64));
        assertTrue(e.getMessage().contains("--mode handshake, not bulk"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> spec(Mode.HANDSHAKE, "TLSv1.3", Duration.ofSeconds(1), 10)
                .withRoundTrip(LoadSpec.MAX_ROUND_TRIP_BYTES + 1));
        assertTrue(e.getMessage().contains(": 16385"), e.getMessage());
    }

    @Test
    void resume_needsTls12_andSaysSo() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> spec(Mode.RESUME, "TLSv1.3", Duration.ofSeconds(1), 10));
        assertTrue(e.getMessage().contains("--tls 1.2"), e.getMessage());
    }

    @Test
    void versionsAreNormalised_andOthersRejected() {
        assertEquals("TLSv1.3", ClientConfig.normaliseVersion("1.3"));
        assertEquals("TLSv1.2", ClientConfig.normaliseVersion("TLSv1.2"));
        assertEquals("TLSv1.2", ClientConfig.normaliseVersion("tls1.2"));
        assertThrows(IllegalArgumentException.class, () -> ClientConfig.normaliseVersion("1.1"));
    }

    @Test
    void noTrustedCertificate_isRefused() {
        assertThrows(IllegalArgumentException.class, () -> new ClientConfig(new InetSocketAddress("127.0.0.1", 1),
                "TLSv1.3", Optional.empty(), Optional.empty(), List.of(), Optional.empty()));
    }
}
