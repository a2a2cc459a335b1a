package io.hsmtls.token.iaik;

import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.spec.RSAPublicKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * The little DER the token layer needs, JDK only: EC curve OIDs as PKCS#11 CKA_EC_PARAMS, the
 * DigestInfo prefix of PKCS#1 v1.5 signatures (RFC 8017 §9.2 note 1), ECDSA r‖s to the X9.62
 * SEQUENCE TLS and X.509 expect, and public keys rebuilt from token attributes.
 */
final class Der {
    private static final HexFormat HEX = HexFormat.of();
    static final byte[] P256 = HEX.parseHex("06082a8648ce3d030107");
    static final byte[] P384 = HEX.parseHex("06052b81040022");
    static final byte[] P521 = HEX.parseHex("06052b81040023");
    static final byte[] ED25519 = HEX.parseHex("06032b6570");
    /** Some tokens name Edwards curves with a PrintableString instead of an OID. */
    static final byte[] ED25519_NAME = HEX.parseHex("130c656477617264733235353139");
    private static final byte[] EC_PUBLIC_KEY_OID = HEX.parseHex("06072a8648ce3d0201");

    private Der() {
    }

    /** A curve's CKA_EC_PARAMS (namedCurve OID) from its dotted OID. */
    static byte[] oid(String dotted) {
        String[] parts = dotted.split("\\.");
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.write(Integer.parseInt(parts[0]) * 40 + Integer.parseInt(parts[1]));
        for (int i = 2; i < parts.length; i++) {
            long v = Long.parseLong(parts[i]);
            byte[] tmp = new byte[10];
            int n = 0;
            do {
                tmp[n++] = (byte) (v & 0x7F);
                v >>>= 7;
            } while (v != 0);
            for (int j = n - 1; j >= 0; j--) {
                body.write(tmp[j] | (j > 0 ? 0x80 : 0));
            }
        }
        return tlv(0x06, body.toByteArray());
    }

    /** secp256r1 / secp384r1 / secp521r1 / ed25519 for known CKA_EC_PARAMS, else null. */
    static String curveName(byte[] ecParams) {
        if (ecParams == null) return null;
        if (Arrays.equals(ecParams, P256)) return "secp256r1";
        if (Arrays.equals(ecParams, P384)) return "secp384r1";
        if (Arrays.equals(ecParams, P521)) return "secp521r1";
        if (Arrays.equals(ecParams, ED25519) || Arrays.equals(ecParams, ED25519_NAME)) return "ed25519";
        return null;
    }

    static int curveBits(String curve) {
        return switch (curve) {
            case "secp256r1" -> 256;
            case "secp384r1" -> 384;
            case "secp521r1" -> 521;
            case "ed25519" -> 255;
            default -> 0;
        };
    }

    /** Bytes of one field element (r or s) on the curve. */
    static int fieldBytes(String curve) {
        return (curveBits(curve) + 7) / 8;
    }

    static byte[] tlv(int tag, byte[]... parts) {
        int len = 0;
        for (byte[] p : parts) len += p.length;
        ByteArrayOutputStream out = new ByteArrayOutputStream(len + 6);
        out.write(tag);
        if (len < 0x80) {
            out.write(len);
        } else if (len < 0x100) {
            out.write(0x81);
            out.write(len);
        } else if (len < 0x10000) {
            out.write(0x82);
            out.write(len >> 8);
            out.write(len);
        } else {
            out.write(0x83);
            out.write(len >> 16);
            out.write(len >> 8);
            out.write(len);
        }
        for (byte[] p : parts) out.writeBytes(p);
        return out.toByteArray();
    }

    static byte[] integer(BigInteger v) {
        return tlv(0x02, v.toByteArray());
    }

    /** PKCS#11 returns ECDSA signatures as r‖s (two equal halves); TLS and X.509 want SEQUENCE { r, s }. */
    static byte[] ecdsaRawToDer(byte[] raw) {
        if (raw.length == 0 || raw.length % 2 != 0) {
            throw new IllegalArgumentException("ECDSA signature from the token has odd length " + raw.length);
        }
        int half = raw.length / 2;
        BigInteger r = new BigInteger(1, Arrays.copyOfRange(raw, 0, half));
        BigInteger s = new BigInteger(1, Arrays.copyOfRange(raw, half, raw.length));
        return tlv(0x30, integer(r), integer(s));
    }

    /** True when {@code sig} already is a DER SEQUENCE of two INTEGERs (some tokens return X9.62). */
    static boolean looksLikeDerEcdsa(byte[] sig, int fieldBytes) {
        if (sig.length == 2 * fieldBytes || sig.length < 8 || sig[0] != 0x30) return false;
        try {
            int[] pos = {1};
            int len = readLength(sig, pos);
            return pos[0] + len == sig.length && sig[pos[0]] == 0x02;
        } catch (RuntimeException e) {
            return false;
        }
    }

    private static int readLength(byte[] b, int[] pos) {
        int first = b[pos[0]++] & 0xFF;
        if (first < 0x80) return first;
        int n = first & 0x7F;
        if (n == 0 || n > 3) throw new IllegalArgumentException("bad DER length");
        int len = 0;
        for (int i = 0; i < n; i++) len = (len << 8) | (b[pos[0]++] & 0xFF);
        return len;
    }

    /**
     * CKA_EC_POINT as the bare point. PKCS#11 says it is a DER OCTET STRING; some tokens give the
     * bare point. {@code pointBytes} is the bare length (65/97/133 uncompressed, 32 for Ed25519).
     */
    static byte[] unwrapEcPoint(byte[] value, int pointBytes) {
        if (value == null) return null;
        if (value.length == pointBytes) return value;
        if (value.length > 2 && value[0] == 0x04) {
            int[] pos = {1};
            try {
                int len = readLength(value, pos);
                if (pos[0] + len == value.length) {
                    return Arrays.copyOfRange(value, pos[0], value.length);
                }
            } catch (RuntimeException e) {
                // not DER: fall through
            }
        }
        return value;
    }

    /** DigestInfo prefix (RFC 8017 §9.2 note 1) for SHA-256/384/512. */
    static byte[] digestInfoPrefix(String hash) {
        return switch (hash) {
            case "SHA-256" -> HEX.parseHex("3031300d060960864801650304020105000420");
            case "SHA-384" -> HEX.parseHex("3041300d060960864801650304020205000430");
            case "SHA-512" -> HEX.parseHex("3051300d060960864801650304020305000440");
            default -> throw new IllegalArgumentException("no DigestInfo for " + hash);
        };
    }

    static PublicKey ecPublicKey(byte[] ecParams, byte[] point) throws GeneralSecurityException {
        byte[] algId = tlv(0x30, EC_PUBLIC_KEY_OID, ecParams);
        byte[] spki = tlv(0x30, algId, bitString(point));
        return KeyFactory.getInstance("EC").generatePublic(new X509EncodedKeySpec(spki));
    }

    static PublicKey ed25519PublicKey(byte[] point) throws GeneralSecurityException {
        byte[] spki = tlv(0x30, tlv(0x30, ED25519), bitString(point));
        return KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(spki));
    }

    static PublicKey rsaPublicKey(BigInteger modulus, BigInteger exponent) throws GeneralSecurityException {
        return KeyFactory.getInstance("RSA").generatePublic(new RSAPublicKeySpec(modulus, exponent));
    }

    private static byte[] bitString(byte[] content) {
        byte[] b = new byte[content.length + 1];
        System.arraycopy(content, 0, b, 1, content.length);
        return tlv(0x03, b);
    }
}
