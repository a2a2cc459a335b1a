package io.hsmtls.token.iaik;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmtls.token.CkrClass;
import io.hsmtls.token.TokenOperationException;
import java.math.BigInteger;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** The small DER helpers and the naming of PKCS#11 return codes. */
class DerAndCkrTest {
    @Test
    void curveOids_encodeAsCkaEcParams() {
        assertArrayEquals(Der.P256, Der.oid("1.2.840.10045.3.1.7"));
        assertArrayEquals(Der.P384, Der.oid("1.3.132.0.34"));
        assertArrayEquals(Der.ED25519, Der.oid("1.3.101.112"));
        assertEquals("secp384r1", Der.curveName(Der.P384));
        assertEquals("ed25519", Der.curveName(Der.ED25519_NAME));
    }

    @Test
    void ecdsaRawToDer_keepsIntegersPositiveAndMinimal() {
        byte[] raw = new byte[64];
        raw[0] = (byte) 0x80; // r has its top bit set: needs a leading zero in DER
        raw[63] = 1;          // s = 1: leading zero bytes dropped
        byte[] der = Der.ecdsaRawToDer(raw);
        assertEquals("3026" + "022100" + "80" + "00".repeat(31) + "020101", HexFormat.of().formatHex(der));
        assertTrue(Der.looksLikeDerEcdsa(der, 32));
        assertFalse(Der.looksLikeDerEcdsa(raw, 32));
    }

    @Test
    void ecPoint_unwrapsDerOctetString_orTakesTheBarePoint() {
        byte[] point = new byte[65];
        point[0] = 4;
        byte[] wrapped = new byte[67];
        wrapped[0] = 4;
        wrapped[1] = 65;
        System.arraycopy(point, 0, wrapped, 2, 65);
        assertArrayEquals(point, Der.unwrapEcPoint(wrapped, 65));
        assertArrayEquals(point, Der.unwrapEcPoint(point, 65));
    }

    @Test
    void derInteger_longForm() {
        byte[] big = Der.integer(BigInteger.ONE.shiftLeft(2047));
        assertEquals(0x02, big[0]);
        assertEquals((byte) 0x82, big[1]);
        assertEquals(257, ((big[2] & 0xFF) << 8) | (big[3] & 0xFF));
    }

    @Test
    void returnCodes_areNamed_andClassified() {
        assertEquals("CKR_PIN_INCORRECT", Ckr.name(0xA0));
        assertEquals("CKR_DEVICE_ERROR", Ckr.name(0x30));
        assertTrue(Ckr.name(0x8000_0001L).startsWith("CKR_"), Ckr.name(0x8000_0001L));
        TokenOperationException e = Ckr.failure("C_Sign with key 'k' on token 't'",
                new iaik.pkcs.pkcs11.wrapper.PKCS11Exception(0x30));
        assertEquals("C_Sign with key 'k' on token 't' failed (CKR_DEVICE_ERROR): " + CkrClass.DEVICE.advice(),
                e.getMessage());
        assertEquals(CkrClass.DEVICE, e.ckrClass());
        assertEquals(CkrClass.TRANSIENT, Ckr.classOf(new org.xipki.pkcs11.wrapper.PKCS11Exception(0xB3)));
    }

    @Test
    void poolSize_followsTheTokenWithinBounds() {
        assertEquals(16, IaikToken.poolSize(0, 0), "CK_EFFECTIVELY_INFINITE");
        assertEquals(16, IaikToken.poolSize(0, -1), "CK_UNAVAILABLE_INFORMATION");
        assertEquals(3, IaikToken.poolSize(0, 4), "one session kept for the login");
        assertEquals(1, IaikToken.poolSize(0, 1));
        assertEquals(16, IaikToken.poolSize(0, 1000));
        assertEquals(40, IaikToken.poolSize(40, 4), "configured wins");
    }
}
