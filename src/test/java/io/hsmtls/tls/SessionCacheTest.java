package io.hsmtls.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The TLS 1.2 session cache's refusal rules, bound and expiry. */
class SessionCacheTest {
    static final String POLICY = "optional:abc";

    @Test
    void sameSniAndPolicy_resumes_caseInsensitiveSni() {
        SessionCache<String> c = new SessionCache<>(10, Duration.ofMinutes(5));
        byte[] id = c.newId();
        c.put(id, "s1", Optional.of("Example.com"), POLICY, Optional.empty());
        assertEquals("s1", c.lookup(id, Optional.of("example.com"), POLICY, ClientAuthMode.OPTIONAL).orElseThrow().session());
    }

    @Test
    void otherSni_orNoSni_refused() {
        SessionCache<String> c = new SessionCache<>(10, Duration.ofMinutes(5));
        byte[] id = c.newId();
        c.put(id, "s1", Optional.of("a.example"), POLICY, Optional.empty());
        assertTrue(c.lookup(id, Optional.of("b.example"), POLICY, ClientAuthMode.OPTIONAL).isEmpty());
        assertTrue(c.lookup(id, Optional.empty(), POLICY, ClientAuthMode.OPTIONAL).isEmpty());
    }

    @Test
    void otherPolicy_orRequiredWithoutClientCert_refused() {
        SessionCache<String> c = new SessionCache<>(10, Duration.ofMinutes(5));
        byte[] id = c.newId();
        c.put(id, "s1", Optional.empty(), "required:abc", Optional.empty());
        assertTrue(c.lookup(id, Optional.empty(), POLICY, ClientAuthMode.OPTIONAL).isEmpty(), "policy changed");
        assertTrue(c.lookup(id, Optional.empty(), "required:abc", ClientAuthMode.REQUIRED).isEmpty(),
                "required, but the session had no verified client");
    }

    @Test
    void expired_andEvictedOldest_refused() {
        Instant[] now = {Instant.parse("2026-01-01T00:00:00Z")};
        Clock clock = new Clock() {
            public ZoneOffset getZone() { return ZoneOffset.UTC; }
            public Clock withZone(java.time.ZoneId z) { return this; }
            public Instant instant() { return now[0]; }
        };
        SessionCache<String> c = new SessionCache<>(2, Duration.ofMinutes(5), clock);
        byte[] a = c.newId();
        byte[] b = c.newId();
        byte[] d = c.newId();
        c.put(a, "a", Optional.empty(), POLICY, Optional.empty());
        c.put(b, "b", Optional.empty(), POLICY, Optional.empty());
        c.put(d, "d", Optional.empty(), POLICY, Optional.empty());
        assertEquals(2, c.size());
        assertTrue(c.lookup(a, Optional.empty(), POLICY, ClientAuthMode.NONE).isEmpty(), "oldest evicted");
        now[0] = now[0].plus(Duration.ofMinutes(6));
        assertTrue(c.lookup(b, Optional.empty(), POLICY, ClientAuthMode.NONE).isEmpty(), "expired");
    }
}
