/**
 * Native calls through the JDK's foreign-function API, reached by reflection because the project
 * compiles for Java 21 (where that API is a preview): the small shared helper behind the token's
 * direct PKCS#11 calls and the OpenSSL X25519 key exchange. Depends on nothing in the project.
 */
package io.hsmtls.foreign;
