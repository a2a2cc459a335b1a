/**
 * The Bouncy Castle client engine: a {@code TlsClient} that validates the server, answers a
 * CertificateRequest with a token key, and reports every step to a {@link io.hsmtls.tls.client.HandshakeRecorder}.
 */
package io.hsmtls.tls.bc.client;
