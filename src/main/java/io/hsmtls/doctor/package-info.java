/** {@code hsmtls doctor}'s checks: can this token, key and certificate serve TLS, and which versions, and why not. */
package io.hsmtls.doctor;
