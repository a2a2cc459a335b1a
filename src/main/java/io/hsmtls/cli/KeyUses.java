package io.hsmtls.cli;

import io.hsmtls.observe.AuditEvent;
import io.hsmtls.observe.AuditLog;
import io.hsmtls.tls.KeyUse;
import io.hsmtls.tls.KeyUseListener;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns the TLS layer's key-use reports into audit records and metrics: the one place that knows
 * both vocabularies, so neither {@code tls} nor {@code observe} imports the other.
 */
final class KeyUses {
    private KeyUses() {
    }

    /**
     * The audit record of one key use. The connection is {@code N}, or {@code LISTENER/N} when a
     * config file names several listeners (their connection numbers overlap).
     */
    static AuditEvent auditEvent(KeyUse u, String listener) {
        String connection = u.connectionId() == 0 ? null
                : listener == null ? String.valueOf(u.connectionId()) : listener + "/" + u.connectionId();
        return new AuditEvent(u.time(), u.key().withoutQuery().toString(), u.mechanism().name(), purpose(u.purpose()),
                connection, u.sni().orElse(null),
                u.peer().map(p -> p.getAddress().getHostAddress() + ":" + p.getPort()).orElse(null),
                u.certificateSha256().orElse(null), u.result(), u.latency().toNanos() / 1000);
    }

    static AuditEvent.Purpose purpose(KeyUse.Purpose p) {
        return switch (p) {
            case SERVER_SIGNATURE -> AuditEvent.Purpose.SERVER_SIGNATURE;
            case RSA_KEY_EXCHANGE_DECRYPT -> AuditEvent.Purpose.RSA_KEY_EXCHANGE_DECRYPT;
            case CLIENT_SIGNATURE -> AuditEvent.Purpose.CLIENT_SIGNATURE;
        };
    }

    /** A listener that writes each key use to the audit log (if any) and tells the others; null if there are none. */
    static KeyUseListener listener(AuditLog audit, String listenerName, List<KeyUseListener> others) {
        List<KeyUseListener> all = new ArrayList<>();
        if (audit != null) {
            all.add(u -> audit.record(auditEvent(u, listenerName)));
        }
        all.addAll(others);
        if (all.isEmpty()) {
            return null;
        }
        List<KeyUseListener> fixed = List.copyOf(all);
        return u -> fixed.forEach(l -> l.keyUsed(u));
    }
}
