package io.hsmtls.token;

/**
 * An object on the token as listings show it. {@code keyDescription} is e.g. "EC secp256r1" or
 * "RSA 2048"; {@code subject} is set for certificates.
 */
public record TokenObject(ObjectType type, String label, KeyId id, String keyDescription, String subject,
                          Boolean sensitive, Boolean extractable, Pkcs11Uri uri) {
}
