package io.hsmtls.token;

import java.util.Arrays;
import java.util.HexFormat;

/**
 * A PKCS#11 {@code CKA_ID}: opaque bytes that pair a private key with its public key and
 * certificate. Immutable; prints as lower-case hex.
 */
public final class KeyId {
    private final byte[] bytes;

    private KeyId(byte[] bytes) {
        this.bytes = bytes.clone();
    }

    public static KeyId of(byte[] bytes) {
        if (bytes == null || bytes.length == 0) {
            throw new IllegalArgumentException("CKA_ID must not be empty");
        }
        return new KeyId(bytes);
    }

    /** Parses hex, with or without ':' separators ("a1b2", "a1:b2"). */
    public static KeyId ofHex(String hex) {
        String clean = hex.replace(":", "");
        try {
            return of(HexFormat.of().parseHex(clean));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("CKA_ID is not hex (" + hex + "): use pairs of 0-9a-f", e);
        }
    }

    public byte[] bytes() {
        return bytes.clone();
    }

    public int length() {
        return bytes.length;
    }

    public String hex() {
        return HexFormat.of().formatHex(bytes);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof KeyId other && Arrays.equals(bytes, other.bytes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
        return hex();
    }
}
