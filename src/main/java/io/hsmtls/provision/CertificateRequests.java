package io.hsmtls.provision;

import io.hsmtls.token.TokenKey;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.PKCS10CertificationRequestBuilder;

/** PKCS#10 certification requests (RFC 2986) signed by the token key. */
public final class CertificateRequests {
    private CertificateRequests() {
    }

    /**
     * A CSR for the key's public key, with the SANs as a requested extension
     * (PKCS#9 extensionRequest), signed on the token.
     */
    public static PKCS10CertificationRequest create(TokenKey key, X500Name subject, List<SubjectAltName> sans,
                                                    boolean pss) {
        SignatureChoice choice = SignatureChoice.forKey(key.info(), pss);
        SubjectPublicKeyInfo spki = SubjectPublicKeyInfo.getInstance(key.info().publicKey().getEncoded());
        PKCS10CertificationRequestBuilder b = new PKCS10CertificationRequestBuilder(subject, spki);
        if (!sans.isEmpty()) {
            try {
                ExtensionsGenerator ext = new ExtensionsGenerator();
                ext.addExtension(Extension.subjectAlternativeName, false,
                        new GeneralNames(sans.stream().map(SubjectAltName::toGeneralName).toArray(GeneralName[]::new)));
                b.addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, ext.generate());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return b.build(new TokenContentSigner(key, choice));
    }

    public static String pem(PKCS10CertificationRequest csr) {
        try {
            return Pem.encode("CERTIFICATE REQUEST", csr.getEncoded());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
