/**
 * Provisioning on a token: key generation, PKCS#10 requests and self-signed certificates signed
 * by the token key through Bouncy Castle's PKIX builders, and importing a certificate beside its key.
 */
package io.hsmtls.provision;
