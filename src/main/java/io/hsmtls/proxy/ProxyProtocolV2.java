package io.hsmtls.proxy;

import io.hsmtls.tls.ClientIdentity;
import io.hsmtls.tls.HandshakeInfo;
import java.io.ByteArrayOutputStream;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;

/**
 * The PROXY protocol version 2 header (HAProxy's proxy-protocol.txt §2.2) that tells the backend
 * who the client is: addresses and ports, then TLVs — PP2_TYPE_AUTHORITY (the SNI) and
 * PP2_TYPE_SSL with the version, cipher and the verified client certificate's CN — plus two
 * custom TLVs in the 0xE0–0xEF range for what the standard set lacks: 0xE0 the client
 * certificate's full subject DN (RFC 2253) and 0xE1 its SHA-256 fingerprint (hex).
 */
public final class ProxyProtocolV2 {
    static final byte[] SIGNATURE = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
    public static final int PP2_TYPE_AUTHORITY = 0x02;
    public static final int PP2_TYPE_SSL = 0x20;
    public static final int PP2_SUBTYPE_SSL_VERSION = 0x21;
    public static final int PP2_SUBTYPE_SSL_CN = 0x22;
    public static final int PP2_SUBTYPE_SSL_CIPHER = 0x23;
    public static final int TLV_CLIENT_SUBJECT = 0xE0;
    public static final int TLV_CLIENT_SHA256 = 0xE1;
    static final int PP2_CLIENT_SSL = 0x01;
    static final int PP2_CLIENT_CERT_CONN = 0x02;
    static final int PP2_CLIENT_CERT_SESS = 0x04;

    private ProxyProtocolV2() {
    }

    /** The header for a connection from {@code source} to our {@code destination} after {@code tls}. */
    public static byte[] header(InetSocketAddress source, InetSocketAddress destination, HandshakeInfo tls) {
        InetAddress src = source.getAddress();
        InetAddress dst = destination.getAddress();
        boolean v4 = src instanceof Inet4Address && dst instanceof Inet4Address;
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        byte[] s = v4 ? src.getAddress() : v6(src);
        byte[] d = v4 ? dst.getAddress() : v6(dst);
        body.writeBytes(s);
        body.writeBytes(d);
        u16(body, source.getPort());
        u16(body, destination.getPort());
        tls.sni().ifPresent(n -> tlv(body, PP2_TYPE_AUTHORITY, n.getBytes(StandardCharsets.US_ASCII)));

        Optional<ClientIdentity> client = tls.client();
        ByteArrayOutputStream ssl = new ByteArrayOutputStream();
        ssl.write(PP2_CLIENT_SSL | (client.isPresent() ? PP2_CLIENT_CERT_CONN : 0)
                | (client.isPresent() && tls.resumed() ? PP2_CLIENT_CERT_SESS : 0));
        // verify: zero only when the client presented a certificate and it verified.
        ssl.writeBytes(new byte[] {0, 0, 0, (byte) (client.isPresent() ? 0 : 1)});
        tlv(ssl, PP2_SUBTYPE_SSL_VERSION, tls.version().display().getBytes(StandardCharsets.US_ASCII));
        client.flatMap(c -> commonName(c.subject()))
                .ifPresent(cn -> tlv(ssl, PP2_SUBTYPE_SSL_CN, cn.getBytes(StandardCharsets.UTF_8)));
        tlv(ssl, PP2_SUBTYPE_SSL_CIPHER, tls.cipherSuite().getBytes(StandardCharsets.US_ASCII));
        tlv(body, PP2_TYPE_SSL, ssl.toByteArray());
        client.ifPresent(c -> {
            tlv(body, TLV_CLIENT_SUBJECT, c.subject().getBytes(StandardCharsets.UTF_8));
            tlv(body, TLV_CLIENT_SHA256, c.sha256().getBytes(StandardCharsets.US_ASCII));
        });

        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(SIGNATURE);
        out.write(0x21); // version 2, PROXY command
        out.write(v4 ? 0x11 : 0x21); // TCP over IPv4 / IPv6
        u16(out, body.size());
        out.writeBytes(body.toByteArray());
        return out.toByteArray();
    }

    private static byte[] v6(InetAddress a) {
        byte[] b = a.getAddress();
        if (b.length == 16) {
            return b;
        }
        byte[] mapped = new byte[16];
        mapped[10] = (byte) 0xff;
        mapped[11] = (byte) 0xff;
        System.arraycopy(b, 0, mapped, 12, 4);
        return mapped;
    }

    private static void u16(ByteArrayOutputStream o, int v) {
        o.write((v >>> 8) & 0xff);
        o.write(v & 0xff);
    }

    private static void tlv(ByteArrayOutputStream o, int type, byte[] value) {
        o.write(type);
        u16(o, value.length);
        o.writeBytes(value);
    }

    static Optional<String> commonName(String dn) {
        try {
            for (Rdn r : new LdapName(dn).getRdns()) {
                if (r.getType().equalsIgnoreCase("CN")) {
                    return Optional.of(String.valueOf(r.getValue()));
                }
            }
        } catch (InvalidNameException e) {
            return Optional.empty();
        }
        return Optional.empty();
    }
}
