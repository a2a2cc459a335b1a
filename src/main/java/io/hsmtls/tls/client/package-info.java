/**
 * Engine-neutral client policy: which token certificate answers a CertificateRequest, whether the
 * server's name matches its certificate (RFC 6125), and the step-by-step report {@code hsmtls probe} prints.
 */
package io.hsmtls.tls.client;
