/**
 * The token seam: value types that name keys on a PKCS#11 token ({@link io.hsmtls.token.Pkcs11Uri}),
 * secrets ({@link io.hsmtls.token.Pin}), and the narrow interfaces the rest of hsmtls uses to have a
 * token sign or decrypt ({@link io.hsmtls.token.TokenKey}). JDK only: the PKCS#11 wrapper lives in
 * {@code token.iaik}.
 */
package io.hsmtls.token;
