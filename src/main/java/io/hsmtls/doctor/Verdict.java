package io.hsmtls.doctor;

/**
 * The answer for one TLS use: can {@code hsmtls serve} do it with this key, token and certificate.
 *
 * @param reason for yes, how (scheme and mechanism); for no, the first thing in the way
 */
public record Verdict(TlsUse use, boolean yes, String reason) {

    /** "TLS 1.3: yes, ecdsa_secp256r1_sha256 with CKM_ECDSA". */
    public String line() {
        return use.display() + ": " + (yes ? "yes" : "no") + ", " + reason;
    }
}
