package io.hsmtls.tls;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;

/**
 * A client certificate that passed chain validation: what the proxy may pass to the backend and log.
 *
 * @param subject     RFC 2253 subject DN
 * @param sans        subject alternative names as "DNS:x", "IP:x", "email:x", "URI:x"
 * @param sha256      SHA-256 fingerprint of the DER certificate, lower-case hex
 * @param certificate the leaf certificate
 */
public record ClientIdentity(String subject, List<String> sans, String sha256, X509Certificate certificate) {
    public ClientIdentity {
        sans = List.copyOf(sans);
    }

    public static ClientIdentity of(X509Certificate cert) {
        List<String> names = new ArrayList<>();
        try {
            Collection<List<?>> alt = cert.getSubjectAlternativeNames();
            if (alt != null) {
                for (List<?> e : alt) {
                    int type = (Integer) e.get(0);
                    String prefix = switch (type) {
                        case 1 -> "email:";
                        case 2 -> "DNS:";
                        case 6 -> "URI:";
                        case 7 -> "IP:";
                        default -> null;
                    };
                    if (prefix != null) {
                        names.add(prefix + e.get(1));
                    }
                }
            }
        } catch (CertificateParsingException e) {
            // A malformed SAN extension would have failed validation; report none rather than fail here.
        }
        return new ClientIdentity(cert.getSubjectX500Principal().getName(), names, fingerprint(cert), cert);
    }

    public static String fingerprint(X509Certificate cert) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(cert.getEncoded()));
        } catch (NoSuchAlgorithmException | CertificateEncodingException e) {
            throw new IllegalStateException("SHA-256 fingerprint of " + cert.getSubjectX500Principal() + ": " + e, e);
        }
    }

    @Override
    public String toString() {
        return "ClientIdentity[" + subject + ", sha256=" + sha256 + "]";
    }
}
