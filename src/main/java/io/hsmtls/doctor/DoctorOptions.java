package io.hsmtls.doctor;

import io.hsmtls.token.Pkcs11Uri;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * What to check.
 *
 * @param key          the private key's URI
 * @param chain        certificates from {@code --cert}, leaf first; empty = the certificate stored with the key
 * @param chainSource  where {@code chain} came from (a file name), for messages
 * @param speedTime    how long the sign-speed loop runs; zero = a single signature
 * @param speedMaxOps  the loop also stops after this many signatures (a fast token must not spin long)
 * @param expiryWarning a certificate expiring sooner than this is a warning
 * @param clock        "now", for validity checks
 */
public record DoctorOptions(Pkcs11Uri key, List<X509Certificate> chain, String chainSource, Duration speedTime,
                            int speedMaxOps, Duration expiryWarning, Clock clock) {
    public DoctorOptions {
        Objects.requireNonNull(key, "key");
        chain = List.copyOf(chain);
        Objects.requireNonNull(clock, "clock");
        if (speedTime.isNegative()) {
            throw new IllegalArgumentException("speed time < 0: " + speedTime);
        }
        if (speedMaxOps < 1) {
            throw new IllegalArgumentException("speedMaxOps < 1: " + speedMaxOps);
        }
    }

    /** Defaults: the token's certificate, a 2 s loop of at most 100 000 signatures, warn 30 days before expiry. */
    public static DoctorOptions of(Pkcs11Uri key) {
        return new DoctorOptions(key, List.of(), "", Duration.ofSeconds(2), 100_000, Duration.ofDays(30),
                Clock.systemUTC());
    }

    public DoctorOptions withChain(List<X509Certificate> certificates, String source) {
        return new DoctorOptions(key, certificates, source, speedTime, speedMaxOps, expiryWarning, clock);
    }

    public DoctorOptions withSpeedTime(Duration d) {
        return new DoctorOptions(key, chain, chainSource, d, speedMaxOps, expiryWarning, clock);
    }

    public DoctorOptions withClock(Clock c) {
        return new DoctorOptions(key, chain, chainSource, speedTime, speedMaxOps, expiryWarning, c);
    }
}
