/** What hsmtls tells operators: the hash-chained audit log of key uses, connection logs and metrics. */
package io.hsmtls.observe;
