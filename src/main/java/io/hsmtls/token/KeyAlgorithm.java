package io.hsmtls.token;

/** The family of a token key: what it can sign with and whether it can decrypt. */
public enum KeyAlgorithm {
    EC, RSA, ED25519
}
