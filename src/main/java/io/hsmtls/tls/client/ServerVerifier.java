package io.hsmtls.tls.client;

import io.hsmtls.tls.CertificateRejectedException;
import io.hsmtls.tls.ChainValidator;
import java.security.KeyStore;
import java.security.KeyStoreException;
import java.security.NoSuchAlgorithmException;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/**
 * Decides whether the server is who the client asked for: the chain validates (PKIX to the trust
 * anchors, validity, key usage, EKU serverAuth — {@link ChainValidator}) and the expected name
 * matches the leaf's subject alternative names ({@link HostNames}, RFC 6125).
 */
public final class ServerVerifier {
    private final ChainValidator validator;
    private final String trustDescription;

    public ServerVerifier(ChainValidator validator, String trustDescription) {
        this.validator = Objects.requireNonNull(validator, "validator");
        this.trustDescription = trustDescription;
    }

    /** Trusts the given CA certificates (the {@code --trust} file). */
    public static ServerVerifier trusting(List<X509Certificate> anchors, String source) {
        return new ServerVerifier(new ChainValidator(anchors, ChainValidator.Purpose.SERVER_AUTH), source);
    }

    /** Trusts the JDK's default trust store (cacerts), as a browser-like client would. */
    public static ServerVerifier jdkDefault() {
        try {
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init((KeyStore) null);
            for (TrustManager tm : tmf.getTrustManagers()) {
                if (tm instanceof X509TrustManager x) {
                    return trusting(Arrays.asList(x.getAcceptedIssuers()), "the JDK default trust store");
                }
            }
            throw new IllegalStateException("the JDK default trust store has no X.509 trust manager: give --trust ca.pem");
        } catch (NoSuchAlgorithmException | KeyStoreException e) {
            throw new IllegalStateException("cannot load the JDK default trust store (" + e.getMessage()
                    + "): give --trust ca.pem", e);
        }
    }

    /** Where the anchors came from, for the report. */
    public String trustDescription() {
        return trustDescription;
    }

    /**
     * @param chain      leaf first, as the server sent it
     * @param serverName the name the client expects, or null to skip the name check (never by default)
     * @return the SAN that matched, or a note that no name was checked
     */
    public String verify(List<X509Certificate> chain, String serverName) throws ServerCertificateException {
        try {
            validator.validate(chain);
        } catch (CertificateRejectedException e) {
            String where = "";
            if (e.reason() == CertificateRejectedException.Reason.UNKNOWN_CA && e.certificate().isEmpty()) {
                // PKIX names no certificate when no anchor is found: say where the chain stops.
                X509Certificate top = chain.get(chain.size() - 1);
                where = " [the chain sent ends at " + ChainValidator.describe(top) + ", issued by "
                        + top.getIssuerX500Principal().getName() + "]";
            }
            throw new ServerCertificateException(ServerCertificateException.Kind.of(e.reason()),
                    "server certificate rejected: " + e.getMessage() + where + hint(e.reason()), e);
        }
        if (serverName == null) {
            return "no server name to check";
        }
        HostNames.Result r = HostNames.check(serverName, chain.get(0));
        if (!r.matched()) {
            throw new ServerCertificateException(ServerCertificateException.Kind.HOST_MISMATCH,
                    "server certificate rejected: " + r.describe(chain.get(0)), null);
        }
        return r.describe(chain.get(0));
    }

    private String hint(CertificateRejectedException.Reason reason) {
        return switch (reason) {
            case UNKNOWN_CA -> " (trusting " + trustDescription + "): pass the server's CA with --trust ca.pem";
            case EXPIRED, NOT_YET_VALID -> ": the server must renew its certificate (or check this machine's clock)";
            default -> "";
        };
    }
}
