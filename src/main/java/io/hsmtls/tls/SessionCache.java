package io.hsmtls.tls;

import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * TLS 1.2 session-ID cache (RFC 5246 §7.4.1.2): bounded (least recently stored goes first) and
 * expiring. A session resumes only under the SNI and the client-auth policy it was made under,
 * and under a policy that requires a client certificate only if the session had a verified one —
 * Bouncy Castle does not check either. Engine-neutral: {@code S} is the engine's session object.
 * TLS 1.3 tickets would be a second store beside this one (Bouncy Castle 1.84 has no server side).
 */
public final class SessionCache<S> {
    /**
     * One cached session.
     *
     * @param policy the client-auth policy key it was made under ({@link ServerSettings#policyKey()})
     */
    public record Entry<S>(S session, Optional<String> sni, String policy, Optional<ClientIdentity> client,
                           Instant created) {
    }

    private final int maxEntries;
    private final Duration lifetime;
    private final Clock clock;
    private final SecureRandom random = new SecureRandom();
    private final LinkedHashMap<String, Entry<S>> entries = new LinkedHashMap<>();

    public SessionCache(int maxEntries, Duration lifetime) {
        this(maxEntries, lifetime, Clock.systemUTC());
    }

    public SessionCache(int maxEntries, Duration lifetime, Clock clock) {
        if (maxEntries < 1) {
            throw new IllegalArgumentException("session cache maxEntries < 1: " + maxEntries);
        }
        this.maxEntries = maxEntries;
        this.lifetime = Objects.requireNonNull(lifetime);
        this.clock = clock;
    }

    /** A fresh random 32-byte session ID. */
    public byte[] newId() {
        byte[] id = new byte[32];
        random.nextBytes(id);
        return id;
    }

    public synchronized void put(byte[] id, S session, Optional<String> sni, String policy,
                                 Optional<ClientIdentity> client) {
        String k = HexFormat.of().formatHex(id);
        entries.remove(k);
        entries.put(k, new Entry<>(session, sni.map(SessionCache::lower), policy, client, clock.instant()));
        while (entries.size() > maxEntries) {
            Iterator<Map.Entry<String, Entry<S>>> it = entries.entrySet().iterator();
            it.next();
            it.remove();
        }
    }

    /**
     * The session to resume, or empty when unknown, expired, made under another SNI or policy, or
     * lacking the client certificate the current policy requires.
     */
    public synchronized Optional<Entry<S>> lookup(byte[] id, Optional<String> sni, String policy,
                                                  ClientAuthMode mode) {
        if (id == null || id.length == 0) {
            return Optional.empty();
        }
        String k = HexFormat.of().formatHex(id);
        Entry<S> e = entries.get(k);
        if (e == null) {
            return Optional.empty();
        }
        if (e.created().plus(lifetime).isBefore(clock.instant())) {
            entries.remove(k);
            return Optional.empty();
        }
        if (!e.sni().equals(sni.map(SessionCache::lower)) || !e.policy().equals(policy)
                || mode == ClientAuthMode.REQUIRED && e.client().isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(e);
    }

    public synchronized void remove(byte[] id) {
        entries.remove(HexFormat.of().formatHex(id));
    }

    public synchronized int size() {
        return entries.size();
    }

    private static String lower(String s) {
        return s.toLowerCase(java.util.Locale.ROOT);
    }
}
