/** Engine-neutral TLS policy: profiles, client-auth modes, credentials checks, chain validation and handshake results. */
package io.hsmtls.tls;
