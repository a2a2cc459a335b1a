package io.hsmtls.token;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** RFC 7512 parsing and printing, against the RFC's own examples (section 7). */
class Pkcs11UriTest {

    @Test
    void rfc7512_emptyUri_matchesEverything() {
        Pkcs11Uri u = Pkcs11Uri.parse("pkcs11:");
        assertFalse(u.namesObject());
        assertEquals(Optional.empty(), u.token());
        assertEquals("pkcs11:", u.toString());
    }

    @Test
    void rfc7512_publicKeyByLabel() {
        Pkcs11Uri u = Pkcs11Uri.parse("pkcs11:object=my-pubkey;type=public");
        assertEquals(Optional.of("my-pubkey"), u.object());
        assertEquals(Optional.of(ObjectType.PUBLIC), u.type());
    }

    @Test
    void rfc7512_privateKeyWithPinSource() {
        Pkcs11Uri u = Pkcs11Uri.parse("pkcs11:object=my-key;type=private?pin-source=file:/etc/token");
        assertEquals(Optional.of("my-key"), u.object());
        assertEquals(Optional.of(ObjectType.PRIVATE), u.type());
        assertEquals(Optional.of("file:/etc/token"), u.pinSource());
        assertEquals(new PinSource.FromFile(java.nio.file.Path.of("/etc/token")), PinSource.of(u).orElseThrow());
    }

    @Test
    void rfc7512_fullCertificateUri_withEmptySerialAndPercentEncodedId() {
        Pkcs11Uri u = Pkcs11Uri.parse("pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;"
                + "manufacturer=Snake%20Oil,%20Inc.;model=1.0;object=my-certificate;type=cert;"
                + "id=%69%95%3E%5C%F4%BD%EC%91;serial=?pin-source=file:/etc/token_pin");
        assertEquals(Optional.of("The Software PKCS#11 Softtoken"), u.token());
        assertEquals(Optional.of("Snake Oil, Inc."), u.manufacturer());
        assertEquals(Optional.of("1.0"), u.model());
        assertEquals(Optional.of("my-certificate"), u.object());
        assertEquals(Optional.of(ObjectType.CERT), u.type());
        assertArrayEquals(HexFormat.of().parseHex("69953e5cf4bdec91"), u.id().orElseThrow().bytes());
        assertEquals(Optional.of(""), u.serial());
        assertEquals(Optional.of("file:/etc/token_pin"), u.pinSource());
    }

    @Test
    void rfc7512_moduleName() {
        Pkcs11Uri u = Pkcs11Uri.parse("pkcs11:object=my-sign-key;type=private?module-name=mypkcs11");
        assertEquals(Optional.of("mypkcs11"), u.moduleName());
        assertEquals(Optional.of("my-sign-key"), u.object());
    }

    @Test
    void rfc7512_modulePath() {
        Pkcs11Uri u = Pkcs11Uri.parse("pkcs11:object=my-sign-key;type=private?module-path=/mnt/libmypkcs11.so.1");
        assertEquals(Optional.of("/mnt/libmypkcs11.so.1"), u.modulePath());
    }

    @Test
    void rfc7512_pinValue_isKeptButNeverPrinted() {
        Pkcs11Uri u = Pkcs11Uri.parse("pkcs11:token=Software%20PKCS%2311%20softtoken;"
                + "manufacturer=Snake%20Oil,%20Inc.?pin-value=the-pin");
        assertEquals(Optional.of("Software PKCS#11 softtoken"), u.token());
        assertTrue(u.hasPinValue());
        try (Pin pin = u.pinValue().orElseThrow()) {
            assertEquals("the-pin", new String(pin.reveal()));
        }
        assertFalse(u.toString().contains("the-pin"), u.toString());
        assertFalse(u.toString().contains("pin-value"), u.toString());
    }

    @Test
    void rfc7512_slotDescription() {
        Pkcs11Uri u = Pkcs11Uri.parse("pkcs11:slot-description=Sun%20Metaslot");
        assertEquals(Optional.of("Sun Metaslot"), u.slotDescription());
    }

    @Test
    void rfc7512_libraryAttributes() {
        Pkcs11Uri u = Pkcs11Uri.parse("pkcs11:library-manufacturer=Snake%20Oil,%20Inc.;"
                + "library-description=Soft%20Token%20Library;library-version=1.23");
        assertEquals(Optional.of("Snake Oil, Inc."), u.libraryManufacturer());
        assertEquals(Optional.of("Soft Token Library"), u.libraryDescription());
        assertEquals(Optional.of("1.23"), u.libraryVersion());
    }

    @Test
    void rfc7512_percentInTokenName_andMixedCaseHexId() {
        Pkcs11Uri u = Pkcs11Uri.parse("pkcs11:token=My%20token%25%20created%20by%20Joe;library-version=3;"
                + "id=%01%02%03%Ba%dd%Ca%fe%04%05%06");
        assertEquals(Optional.of("My token% created by Joe"), u.token());
        assertEquals(Optional.of("3"), u.libraryVersion());
        assertArrayEquals(HexFormat.of().parseHex("010203baddcafe040506"), u.id().orElseThrow().bytes());
    }

    @Test
    void rfc7512_escapedSemicolonInValue() {
        Pkcs11Uri u = Pkcs11Uri.parse("pkcs11:token=A%20name%20with%20a%20substring%20%25%3B;"
                + "object=my-certificate;type=cert");
        assertEquals(Optional.of("A name with a substring %;"), u.token());
        assertEquals(Optional.of(ObjectType.CERT), u.type());
    }

    @Test
    void rfc7512_utf8InValue() {
        Pkcs11Uri u = Pkcs11Uri.parse("pkcs11:token=Name%20with%20a%20small%20A%20with%20acute:%20%C3%A1;"
                + "object=my-certificate;type=cert");
        assertEquals(Optional.of("Name with a small A with acute: \u00e1"), u.token());
    }

    @Test
    void rfc7512_vendorAttributes_areRejectedOnPurpose() {
        InvalidUriException e = assertThrows(InvalidUriException.class, () -> Pkcs11Uri.parse(
                "pkcs11:token=my-token;object=my-certificate;type=cert;vendor-aaa=value-a"
                        + "?pin-source=file:/etc/token_pin&vendor-bbb=value-b"));
        assertTrue(e.getMessage().contains("unknown path attribute 'vendor-aaa'"), e.getMessage());
        assertTrue(e.getMessage().contains("pkcs11:token=my-token"), "quotes the URI: " + e.getMessage());
    }

    @Test
    void unknownQueryAttribute_isRejected() {
        InvalidUriException e = assertThrows(InvalidUriException.class,
                () -> Pkcs11Uri.parse("pkcs11:token=t?vendor-bbb=value-b"));
        assertTrue(e.getMessage().contains("unknown query attribute 'vendor-bbb'"), e.getMessage());
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {
            "pkcs11:object=my-pubkey;type=public",
            "pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;manufacturer=Snake%20Oil,%20Inc.;model=1.0;"
                    + "object=my-certificate;type=cert;id=%69%95%3E%5C%F4%BD%EC%91;serial=?pin-source=file:/etc/token_pin",
            "pkcs11:object=my-sign-key;type=private?module-path=/mnt/libmypkcs11.so.1",
            "pkcs11:token=My%20token%25%20created%20by%20Joe;library-version=3;id=%01%02%03%Ba%dd%Ca%fe%04%05%06",
            "pkcs11:token=A%20name%20with%20a%20substring%20%25%3B;object=my-certificate;type=cert",
            "pkcs11:token=Name%20with%20a%20small%20A%20with%20acute:%20%C3%A1;object=my-certificate;type=cert",
            "pkcs11:slot-id=3;slot-manufacturer=x%2Fy;slot-description=Sun%20Metaslot?module-name=softhsm2",
    })
    void printing_roundTrips(String text) {
        Pkcs11Uri u = Pkcs11Uri.parse(text);
        Pkcs11Uri again = Pkcs11Uri.parse(u.toString());
        assertEquals(u, again);
        assertEquals(u.toString(), again.toString());
    }

    @Test
    void printing_isCanonical_tokenFirstThenObjectThenQuery() {
        Pkcs11Uri u = Pkcs11Uri.parse("pkcs11:type=private;object=web%20key;token=t1?module-path=/usr/lib/x.so");
        assertEquals("pkcs11:token=t1;object=web%20key;type=private?module-path=/usr/lib/x.so", u.toString());
    }

    @Test
    void id_percentDecodesToBytes_andPrintsEncoded() {
        Pkcs11Uri u = Pkcs11Uri.parse("pkcs11:id=%00%ff%10");
        assertArrayEquals(new byte[] {0, (byte) 0xff, 0x10}, u.id().orElseThrow().bytes());
        assertEquals("pkcs11:id=%00%FF%10", u.toString());
        // Unreserved characters in an id are bytes too.
        assertArrayEquals("ab".getBytes(StandardCharsets.US_ASCII), Pkcs11Uri.parse("pkcs11:id=ab").id().orElseThrow().bytes());
    }

    @Test
    void duplicateAttribute_isRejected() {
        InvalidUriException e = assertThrows(InvalidUriException.class,
                () -> Pkcs11Uri.parse("pkcs11:token=a;token=b"));
        assertTrue(e.getMessage().contains("'token' appears twice"), e.getMessage());
        assertThrows(InvalidUriException.class, () -> Pkcs11Uri.parse("pkcs11:id=%01;id=%02"));
        assertThrows(InvalidUriException.class, () -> Pkcs11Uri.parse("pkcs11:?module-name=a&module-name=b"));
    }

    @Test
    void conflictingPinSourceAndPinValue_areRejected_withoutShowingThePin() {
        InvalidUriException e = assertThrows(InvalidUriException.class,
                () -> Pkcs11Uri.parse("pkcs11:token=t?pin-value=secret123&pin-source=file:/x"));
        assertTrue(e.getMessage().contains("conflict"), e.getMessage());
        assertFalse(e.getMessage().contains("secret123"), e.getMessage());
    }

    @Test
    void queryAttributeInPath_andPathAttributeInQuery_areRejected() {
        InvalidUriException e = assertThrows(InvalidUriException.class,
                () -> Pkcs11Uri.parse("pkcs11:token=t;module-path=/x.so"));
        assertTrue(e.getMessage().contains("is a query attribute"), e.getMessage());
        e = assertThrows(InvalidUriException.class, () -> Pkcs11Uri.parse("pkcs11:?token=t"));
        assertTrue(e.getMessage().contains("is a path attribute"), e.getMessage());
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"pk11:token=x", "pkcs11:token", "pkcs11:token=a;;object=b", "pkcs11:id=%zz",
            "pkcs11:id=%4", "pkcs11:slot-id=-1", "pkcs11:slot-id=abc", "pkcs11:type=secret",
            "pkcs11:library-version=1.x", "pkcs11:token=%C3%28"})
    void malformed_isRejected_quotingTheUri(String text) {
        InvalidUriException e = assertThrows(InvalidUriException.class, () -> Pkcs11Uri.parse(text));
        assertTrue(e.getMessage().startsWith("invalid PKCS#11 URI '" + text + "': "), e.getMessage());
    }

    @Test
    void malformedUriWithPinValue_redactsThePin() {
        InvalidUriException e = assertThrows(InvalidUriException.class,
                () -> Pkcs11Uri.parse("pkcs11:bogus=1?pin-value=hunter2"));
        assertFalse(e.getMessage().contains("hunter2"), e.getMessage());
        assertFalse(e.uri().contains("hunter2"));
    }

    @Test
    void derivedUris_keepPartsApart() {
        Pkcs11Uri u = Pkcs11Uri.parse("pkcs11:token=t;object=k;id=%01;type=private?module-name=m&pin-value=p");
        assertEquals("pkcs11:token=t", u.tokenOnly().withoutQuery().toString());
        assertEquals("pkcs11:token=t;object=k;id=%01;type=private", u.withoutQuery().toString());
        assertFalse(u.withoutQuery().hasPinValue());
        assertEquals("pkcs11:token=t;object=other;id=%02;type=cert?module-name=m",
                u.withObject("other").withId(KeyId.ofHex("02")).withType(ObjectType.CERT).toString());
    }
}
