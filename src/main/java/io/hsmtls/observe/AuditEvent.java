package io.hsmtls.observe;

import java.time.Instant;

/**
 * One use of a private key on a token, as the audit log records it. Never a secret: no PIN, no
 * data signed, no premaster; the key is named by its URI without query attributes.
 *
 * @param connectionId        the connection's id in the connection log, or null outside a connection
 * @param clientFingerprint   SHA-256 of the verified client certificate, or null
 * @param result              "ok" or the error (a CKR_ name or hsmtls reason)
 */
public record AuditEvent(Instant time, String keyUri, String mechanism, Purpose purpose, String connectionId,
                         String sni, String peer, String clientFingerprint, String result, long latencyMicros) {

    /** Why the key was used. */
    public enum Purpose {
        SERVER_SIGNATURE("server-signature"),
        RSA_KEY_EXCHANGE_DECRYPT("rsa-key-exchange-decrypt"),
        CLIENT_SIGNATURE("client-signature"),
        PROVISIONING_SIGNATURE("provisioning-signature"),
        SELF_TEST("self-test");

        private final String text;

        Purpose(String text) {
            this.text = text;
        }

        public String text() {
            return text;
        }
    }
}
