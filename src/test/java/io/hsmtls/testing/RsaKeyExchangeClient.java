package io.hsmtls.testing;

import org.bouncycastle.tls.CipherSuite;
import org.bouncycastle.tls.DefaultTlsClient;
import org.bouncycastle.tls.ProtocolVersion;
import org.bouncycastle.tls.ServerOnlyTlsAuthentication;
import org.bouncycastle.tls.TlsAuthentication;
import org.bouncycastle.tls.TlsServerCertificate;
import org.bouncycastle.tls.crypto.TlsCrypto;

/**
 * A Bouncy Castle TLS 1.2 client that does only the RSA key exchange
 * ({@code TLS_RSA_WITH_AES_128_GCM_SHA256}) and trusts any server certificate: tests give it a
 * crypto whose premaster (or its encryption) they control, to probe the server's decryptor.
 */
public final class RsaKeyExchangeClient {
    private RsaKeyExchangeClient() {
    }

    public static DefaultTlsClient of(TlsCrypto crypto) {
        return new DefaultTlsClient(crypto) {
            @Override
            protected ProtocolVersion[] getSupportedVersions() {
                return ProtocolVersion.TLSv12.only();
            }

            @Override
            protected int[] getSupportedCipherSuites() {
                return new int[] {CipherSuite.TLS_RSA_WITH_AES_128_GCM_SHA256};
            }

            @Override
            public TlsAuthentication getAuthentication() {
                return new ServerOnlyTlsAuthentication() {
                    @Override
                    public void notifyServerCertificate(TlsServerCertificate c) {
                        // trust: these tests are about the server's premaster handling
                    }
                };
            }
        };
    }
}
