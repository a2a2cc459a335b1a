/** Bouncy Castle TLS adapters: the token-backed signer and decryptor, and the server built on TlsServerProtocol. */
package io.hsmtls.tls.bc;
