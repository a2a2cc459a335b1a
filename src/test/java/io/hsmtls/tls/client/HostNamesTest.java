package io.hsmtls.tls.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmtls.testing.TestPki;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class HostNamesTest {
    static final TestPki.Ca CA = TestPki.ca("CN=Names Root");
    static final KeyPair KP = TestPki.ecKeyPair();

    @ParameterizedTest(name = "{0} vs {1} -> {2}")
    @CsvSource({
            "www.example.com, www.example.com, true",
            "WWW.Example.COM, www.example.com, true",
            "www.example.com., www.example.com, true",
            "*.example.com, a.example.com, true",
            "*.example.com, a.b.example.com, false",
            "*.example.com, example.com, false",
            "*.com, example.com, false",
            "a*.example.com, ab.example.com, false",
            "www.*.com, www.example.com, false",
            "*.example.com, xn--bcher-kva.example.com, false",
            "www.example.com, www.example.org, false"})
    void dnsPatterns(String pattern, String host, boolean expected) {
        assertEquals(expected, HostNames.matchesDns(pattern, host));
    }

    @Test
    void noSan_cnNotUsed() {
        X509Certificate c = CA.leaf("CN=localhost").publicKey(KP.getPublic()).sign();
        HostNames.Result r = HostNames.check("localhost", c);
        assertFalse(r.matched());
        assertTrue(r.describe(c).contains("no DNS or IP subject alternative names (the CN is not used"),
                r.describe(c));
    }

    @Test
    void ipLiteral_matchesOnlyIpSans() {
        X509Certificate c = CA.leaf("CN=x").publicKey(KP.getPublic()).dns("127.0.0.1").ip("10.0.0.1").sign();
        assertFalse(HostNames.check("127.0.0.1", c).matched(), "an IP must not match a dNSName SAN");
        assertTrue(HostNames.check("10.0.0.1", c).matched());
        assertFalse(HostNames.check("10.0.0.2", c).matched());
    }

    @Test
    void ipv6Literal_comparedAsAddress() {
        X509Certificate c = CA.leaf("CN=x").publicKey(KP.getPublic()).ip("::1").sign();
        assertTrue(HostNames.check("0:0:0:0:0:0:0:1", c).matched());
        assertTrue(HostNames.check("[::1]", c).matched());
    }

    @Test
    void dnsName_doesNotMatchIpSan() {
        X509Certificate c = CA.leaf("CN=x").publicKey(KP.getPublic()).ip("127.0.0.1").sign();
        HostNames.Result r = HostNames.check("localhost", c);
        assertFalse(r.matched());
        assertTrue(r.describe(c).contains("it names IP:127.0.0.1"), r.describe(c));
    }

    @Test
    void badIpv4_notLookedUp() {
        assertFalse(HostNames.ipBytes("999.1.1.1").isPresent());
    }
}
