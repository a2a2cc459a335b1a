/** The TLS-terminating proxy: acceptor, full-duplex pump to the backend, limits, drain and connection log. */
package io.hsmtls.proxy;
