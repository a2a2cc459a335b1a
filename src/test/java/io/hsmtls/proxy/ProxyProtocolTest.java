package io.hsmtls.proxy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmtls.testing.SoftHsm;
import io.hsmtls.tls.ClientAuthMode;
import io.hsmtls.tls.ClientIdentity;
import io.hsmtls.tls.Profile;
import java.io.DataInputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The backend receives a PROXY v2 header with the client's address and verified certificate, then the data. */
class ProxyProtocolTest {
    @RegisterExtension
    static SoftHsm hsm = new SoftHsm();
    static ServeFixture f;

    @BeforeAll
    static void start() throws Exception {
        f = new ServeFixture(hsm);
    }

    @AfterAll
    static void stop() {
        if (f != null) {
            f.close();
        }
    }

    record Header(int verCmd, int family, byte[] src, byte[] dst, int srcPort, int dstPort, Map<Integer, byte[]> tlvs,
                  Map<Integer, byte[]> ssl, int sslClient, int sslVerify) { }

    /** An independent reader of the spec's layout (proxy-protocol.txt §2.2), not our writer. */
    static Header read(DataInputStream in) throws Exception {
        byte[] sig = new byte[12];
        in.readFully(sig);
        assertArrayEquals(new byte[] {13, 10, 13, 10, 0, 13, 10, 81, 85, 73, 84, 10}, sig);
        int verCmd = in.readUnsignedByte();
        int fam = in.readUnsignedByte();
        int len = in.readUnsignedShort();
        byte[] body = new byte[len];
        in.readFully(body);
        DataInputStream b = new DataInputStream(new java.io.ByteArrayInputStream(body));
        int alen = fam == 0x11 ? 4 : 16;
        byte[] src = new byte[alen];
        byte[] dst = new byte[alen];
        b.readFully(src);
        b.readFully(dst);
        int sp = b.readUnsignedShort();
        int dp = b.readUnsignedShort();
        Map<Integer, byte[]> tlvs = tlvs(b);
        Map<Integer, byte[]> ssl = new HashMap<>();
        int client = -1;
        int verify = -1;
        if (tlvs.containsKey(0x20)) {
            DataInputStream s = new DataInputStream(new java.io.ByteArrayInputStream(tlvs.get(0x20)));
            client = s.readUnsignedByte();
            verify = s.readInt();
            ssl = tlvs(s);
        }
        return new Header(verCmd, fam, src, dst, sp, dp, tlvs, ssl, client, verify);
    }

    static Map<Integer, byte[]> tlvs(DataInputStream b) throws Exception {
        Map<Integer, byte[]> m = new HashMap<>();
        while (b.available() > 0) {
            int t = b.readUnsignedByte();
            byte[] v = new byte[b.readUnsignedShort()];
            b.readFully(v);
            m.put(t, v);
        }
        return m;
    }

    static String str(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    @Test
    void verifiedClient_headerCarriesAddressSniVersionCnSubjectAndFingerprint_thenData() throws Exception {
        try (ServerSocket backend = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
            int port = f.proxy(f.settings("ec", Profile.COMPAT, ClientAuthMode.REQUIRED),
                    (InetSocketAddress) backend.getLocalSocketAddress(), ProxyLimits.defaults());
            f.proxies.get(f.proxies.size() - 1).withProxyProtocol(true);
            CompletableFuture<Object[]> seen = CompletableFuture.supplyAsync(() -> {
                try (Socket s = backend.accept()) {
                    DataInputStream in = new DataInputStream(s.getInputStream());
                    Header h = read(in);
                    byte[] data = new byte[4];
                    in.readFully(data);
                    s.getOutputStream().write("ok".getBytes(StandardCharsets.US_ASCII));
                    return new Object[] {h, str(data)};
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            }, Executors.newVirtualThreadPerTaskExecutor());
            int clientPort;
            try (SSLSocket s = (SSLSocket) f.jsse(f.alice).getSocketFactory().createSocket("localhost", port)) {
                clientPort = s.getLocalPort();
                s.getOutputStream().write("ping".getBytes(StandardCharsets.US_ASCII));
                s.getOutputStream().flush();
                byte[] ok = new byte[2];
                new DataInputStream(s.getInputStream()).readFully(ok);
                assertEquals("ok", str(ok));
            }
            Object[] r = seen.get(20, TimeUnit.SECONDS);
            Header h = (Header) r[0];
            assertEquals("ping", r[1]);
            assertEquals(0x21, h.verCmd());
            assertEquals(0x11, h.family());
            assertArrayEquals(new byte[] {127, 0, 0, 1}, h.src());
            assertEquals(clientPort, h.srcPort());
            assertEquals(port, h.dstPort());
            assertEquals(0x03, h.sslClient(), "SSL + certificate on this connection");
            assertEquals(0, h.sslVerify(), "client certificate verified");
            assertEquals("TLSv1.3", str(h.ssl().get(0x21)));
            assertEquals("alice", str(h.ssl().get(0x22)));
            assertTrue(str(h.ssl().get(0x23)).startsWith("TLS_AES_"));
            assertEquals(f.alice.certificate().getSubjectX500Principal().getName(), str(h.tlvs().get(0xE0)));
            assertEquals(ClientIdentity.fingerprint(f.alice.certificate()), str(h.tlvs().get(0xE1)));
        }
    }
}
