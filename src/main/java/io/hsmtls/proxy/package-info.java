/** The TLS-terminating proxy: event loops (or a thread per connection with a full-duplex pump) to the backend, limits, drain and connection log. */
package io.hsmtls.proxy;
