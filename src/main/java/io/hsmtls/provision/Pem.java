package io.hsmtls.provision;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/** PEM (RFC 7468) in and out: certificates, requests and public keys. */
public final class Pem {
    private Pem() {
    }

    /** {@code -----BEGIN LABEL-----}, base64 in 64-column lines, {@code -----END LABEL-----}, newline. */
    public static String encode(String label, byte[] der) {
        String body = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der);
        return "-----BEGIN " + label + "-----\n" + body + "\n-----END " + label + "-----\n";
    }

    public static String certificate(X509Certificate cert) {
        try {
            return encode("CERTIFICATE", cert.getEncoded());
        } catch (java.security.cert.CertificateEncodingException e) {
            throw new ProvisionException("cannot encode certificate " + cert.getSubjectX500Principal() + ": "
                    + e.getMessage(), e);
        }
    }

    public static String publicKey(PublicKey key) {
        return encode("PUBLIC KEY", key.getEncoded());
    }

    /**
     * Every certificate in a PEM (or DER) file, in file order.
     *
     * @throws ProvisionException when the file holds no certificate or a broken one
     */
    public static List<X509Certificate> readCertificates(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        List<X509Certificate> out = new ArrayList<>();
        try {
            CertificateFactory cf = CertificateFactory.getInstance("X.509");
            for (var c : cf.generateCertificates(new ByteArrayInputStream(bytes))) {
                out.add((X509Certificate) c);
            }
        } catch (CertificateException e) {
            throw new ProvisionException("cannot read certificates from " + file + " (" + e.getMessage()
                    + "): give a PEM file of certificates, leaf first", e);
        }
        if (out.isEmpty()) {
            throw new ProvisionException("no certificate in " + file
                    + ": give a PEM file with -----BEGIN CERTIFICATE----- blocks, leaf first");
        }
        return out;
    }
}
