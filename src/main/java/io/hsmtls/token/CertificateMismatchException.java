package io.hsmtls.token;

/**
 * A certificate whose public key is not the token key's: storing or serving it would give a
 * certificate the key cannot prove possession of, so it is refused.
 */
public final class CertificateMismatchException extends TokenException {
    private final String key;
    private final String subject;

    public CertificateMismatchException(String key, String subject, String reason) {
        super("certificate '" + subject + "' does not belong to key " + key + ": " + reason
                + "; use the certificate issued for this key (or a CSR made with it)");
        this.key = key;
        this.subject = subject;
    }

    /** The key's description ("label (id …, EC secp256r1)"). */
    public String key() {
        return key;
    }

    /** The certificate's subject DN. */
    public String subject() {
        return subject;
    }
}
