package io.hsmtls.tls.bc;

import io.hsmtls.tls.CipherSuite;
import io.hsmtls.tls.ServerCredentials;
import io.hsmtls.tls.ServerSettings;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import org.bouncycastle.tls.Certificate;
import org.bouncycastle.tls.CertificateEntry;
import org.bouncycastle.tls.TlsUtils;
import org.bouncycastle.tls.crypto.TlsCertificate;
import org.bouncycastle.tls.crypto.impl.jcajce.JcaTlsCrypto;

/**
 * What every handshake of a listener would otherwise rebuild: the Certificate messages (TLS 1.2
 * and 1.3 shapes) of each credentials and the cipher suites offered. Parsing the chain into Bouncy
 * Castle's certificate objects was about 8 % of a TLS 1.3 server handshake's CPU in a profile of
 * {@code serve} (ASN.1 decoding of the same DER every time), the suite list another 1 %; the
 * session cache's policy key hashed the client CAs on every handshake. Built
 * once per handshaker, so a reload (new chain) gets a new one; Bouncy Castle only reads these
 * objects, so connections share them.
 */
final class PreparedServer {
    private final Map<ServerCredentials, Certificate[]> messages = new IdentityHashMap<>();
    private final int[] suites;
    /** {@link ServerSettings#policyKey()}: hashes every client CA, so once here rather than twice a handshake. */
    private final String policyKey;

    PreparedServer(JcaTlsCrypto crypto, ServerSettings settings) {
        LinkedHashSet<CipherSuite> offered = new LinkedHashSet<>();
        for (ServerCredentials c : settings.allCredentials()) {
            offered.addAll(settings.profile().suites(c.algorithm()));
        }
        policyKey = settings.policyKey();
        suites = TlsUtils.getSupportedCipherSuites(crypto, offered.stream().mapToInt(CipherSuite::code).toArray());
        messages.put(settings.credentials(), build(crypto, settings.credentials().chain()));
        for (ServerCredentials c : settings.sniCredentials().values()) {
            messages.put(c, build(crypto, c.chain()));
        }
    }

    /** The suites to offer before the ClientHello picks credentials (a copy: BC may keep it). */
    int[] suites() {
        return suites.clone();
    }

    String policyKey() {
        return policyKey;
    }

    /** The Certificate message for {@code credentials}, in the shape of the negotiated version. */
    Certificate certificate(ServerCredentials credentials, boolean tls13) {
        Certificate[] m = messages.get(credentials);
        if (m == null) {
            throw new IllegalArgumentException("credentials for " + credentials.key().uri()
                    + " are not among this listener's; build the handshaker with them");
        }
        return tls13 ? m[1] : m[0];
    }

    private static Certificate[] build(JcaTlsCrypto crypto, List<X509Certificate> chain) {
        TlsCertificate[] certs = new TlsCertificate[chain.size()];
        CertificateEntry[] entries = new CertificateEntry[chain.size()];
        for (int i = 0; i < certs.length; i++) {
            try {
                certs[i] = crypto.createCertificate(chain.get(i).getEncoded());
            } catch (CertificateEncodingException | java.io.IOException e) {
                throw new IllegalArgumentException("certificate " + chain.get(i).getSubjectX500Principal()
                        + " cannot be encoded for TLS: " + e.getMessage(), e);
            }
            entries[i] = new CertificateEntry(certs[i], null);
        }
        return new Certificate[] {new Certificate(certs), new Certificate(TlsUtils.EMPTY_BYTES, entries)};
    }
}
