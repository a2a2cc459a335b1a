package io.hsmtls.tls;

import java.security.InvalidAlgorithmParameterException;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertPath;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.CertificateParsingException;
import java.security.cert.PKIXParameters;
import java.security.cert.PKIXReason;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import javax.security.auth.x500.X500Principal;

/**
 * PKIX validation of a peer's chain (RFC 5280 §6) with the JDK's CertPathValidator: signatures,
 * validity, basic constraints and name chaining up to one of the given trust anchors; then the
 * leaf's key usage and extended key usage for the purpose (RFC 5280 §4.2.1.3, §4.2.1.12).
 * Revocation is not checked (no CRL/OCSP fetching from a proxy's handshake path).
 */
public final class ChainValidator {
    /** What the leaf certificate must be good for. */
    public enum Purpose {
        CLIENT_AUTH("1.3.6.1.5.5.7.3.2", "clientAuth"), SERVER_AUTH("1.3.6.1.5.5.7.3.1", "serverAuth");

        private final String oid;
        private final String display;

        Purpose(String oid, String display) {
            this.oid = oid;
            this.display = display;
        }

        public String oid() {
            return oid;
        }
    }

    private static final String ANY_EKU = "2.5.29.37.0";

    private final Set<TrustAnchor> anchors;
    private final List<X509Certificate> anchorCerts;
    private final Purpose purpose;
    private final Clock clock;

    public ChainValidator(List<X509Certificate> trustAnchors, Purpose purpose) {
        this(trustAnchors, purpose, Clock.systemUTC());
    }

    public ChainValidator(List<X509Certificate> trustAnchors, Purpose purpose, Clock clock) {
        if (trustAnchors.isEmpty()) {
            throw new IllegalArgumentException("no trust anchors: give at least one CA certificate");
        }
        this.anchorCerts = List.copyOf(trustAnchors);
        Set<TrustAnchor> a = new HashSet<>();
        for (X509Certificate c : anchorCerts) {
            a.add(new TrustAnchor(c, null));
        }
        this.anchors = Set.copyOf(a);
        this.purpose = purpose;
        this.clock = clock;
    }

    public Purpose purpose() {
        return purpose;
    }

    /** The trust anchors' subjects, in the order given: the CA names a CertificateRequest carries. */
    public List<X500Principal> caNames() {
        Set<X500Principal> names = new LinkedHashSet<>();
        for (X509Certificate c : anchorCerts) {
            names.add(c.getSubjectX500Principal());
        }
        return List.copyOf(names);
    }

    public List<X509Certificate> trustAnchors() {
        return anchorCerts;
    }

    /**
     * Validates a chain, leaf first, as a peer sent it (a trailing copy of the anchor is allowed).
     *
     * @throws CertificateRejectedException naming the certificate that failed and why
     */
    public void validate(List<X509Certificate> chain) throws CertificateRejectedException {
        if (chain.isEmpty()) {
            throw new CertificateRejectedException(CertificateRejectedException.Reason.EMPTY, null,
                    "peer certificate chain is empty: the peer sent no certificate", null);
        }
        List<X509Certificate> path = new ArrayList<>(chain);
        // A peer may append the root; PKIX wants the path without its anchor.
        while (path.size() > 1 && anchorCerts.contains(path.get(path.size() - 1))) {
            path.remove(path.size() - 1);
        }
        X509Certificate leaf = path.get(0);
        if (path.size() == 1 && anchorCerts.contains(leaf) && leaf.getBasicConstraints() < 0) {
            // A pinned end-entity certificate (e.g. a self-signed server certificate given as the
            // trust file, as curl --cacert and openssl -CAfile accept): trusted as itself, so only
            // its dates and usage remain to check.
            try {
                leaf.checkValidity(Date.from(clock.instant()));
            } catch (CertificateExpiredException e) {
                throw new CertificateRejectedException(CertificateRejectedException.Reason.EXPIRED, leaf,
                        purpose.display + " chain rejected: certificate 0 (" + describe(leaf) + ") expired on "
                                + leaf.getNotAfter().toInstant(), e);
            } catch (CertificateNotYetValidException e) {
                throw new CertificateRejectedException(CertificateRejectedException.Reason.NOT_YET_VALID, leaf,
                        purpose.display + " chain rejected: certificate 0 (" + describe(leaf) + ") not valid before "
                                + leaf.getNotBefore().toInstant(), e);
            }
            checkLeafUsage(leaf);
            return;
        }
        if (path.size() == 1 && anchorCerts.contains(leaf)) {
            throw new CertificateRejectedException(CertificateRejectedException.Reason.BAD_USAGE, leaf,
                    "certificate 0 (" + describe(leaf) + ") is a CA certificate and itself a trust anchor, not an end-entity certificate",
                    null);
        }
        try {
            CertificateFactory cf = CertificateFactory.getInstance("X.509");
            CertPath cp = cf.generateCertPath(path);
            PKIXParameters params = new PKIXParameters(anchors);
            params.setRevocationEnabled(false);
            params.setDate(Date.from(clock.instant()));
            CertPathValidator.getInstance("PKIX").validate(cp, params);
        } catch (CertPathValidatorException e) {
            int index = e.getIndex();
            X509Certificate bad = index >= 0 && index < path.size() ? path.get(index) : null;
            throw rejected(e, index, bad);
        } catch (CertificateException | NoSuchAlgorithmException | InvalidAlgorithmParameterException e) {
            throw new CertificateRejectedException(CertificateRejectedException.Reason.OTHER, leaf,
                    "chain validation of " + describe(leaf) + " could not run: " + e.getMessage(), e);
        }
        checkLeafUsage(leaf);
    }

    private CertificateRejectedException rejected(CertPathValidatorException e, int index, X509Certificate bad) {
        String who = bad == null ? "the chain" : "certificate " + index + " (" + describe(bad) + ")";
        Throwable cause = e.getCause();
        CertificateRejectedException.Reason reason;
        String why;
        if (cause instanceof CertificateExpiredException || e.getReason() == java.security.cert.CertPathValidatorException.BasicReason.EXPIRED) {
            reason = CertificateRejectedException.Reason.EXPIRED;
            why = "expired on " + (bad == null ? "?" : bad.getNotAfter().toInstant());
        } else if (cause instanceof CertificateNotYetValidException
                || e.getReason() == java.security.cert.CertPathValidatorException.BasicReason.NOT_YET_VALID) {
            reason = CertificateRejectedException.Reason.NOT_YET_VALID;
            why = "not valid before " + (bad == null ? "?" : bad.getNotBefore().toInstant());
        } else if (e.getReason() == PKIXReason.NO_TRUST_ANCHOR) {
            reason = CertificateRejectedException.Reason.UNKNOWN_CA;
            X509Certificate last = bad;
            why = "no trusted CA issued it"
                    + (last == null ? "" : " (issuer " + last.getIssuerX500Principal().getName() + ")")
                    + "; trusted: " + caNames().stream().map(X500Principal::getName).toList();
        } else if (e.getReason() == java.security.cert.CertPathValidatorException.BasicReason.INVALID_SIGNATURE) {
            reason = CertificateRejectedException.Reason.BAD_SIGNATURE;
            why = "signature does not verify with its issuer's key";
        } else if (e.getReason() == PKIXReason.NOT_CA_CERT || e.getReason() == PKIXReason.INVALID_KEY_USAGE
                || e.getReason() == PKIXReason.PATH_TOO_LONG) {
            reason = CertificateRejectedException.Reason.BAD_USAGE;
            why = e.getMessage();
        } else {
            reason = CertificateRejectedException.Reason.OTHER;
            why = e.getMessage();
        }
        return new CertificateRejectedException(reason, bad, purpose.display + " chain rejected: " + who + " " + why,
                e);
    }

    private void checkLeafUsage(X509Certificate leaf) throws CertificateRejectedException {
        try {
            List<String> eku = leaf.getExtendedKeyUsage();
            if (eku != null && !eku.contains(purpose.oid) && !eku.contains(ANY_EKU)) {
                throw new CertificateRejectedException(CertificateRejectedException.Reason.BAD_USAGE, leaf,
                        purpose.display + " chain rejected: certificate 0 (" + describe(leaf)
                                + ") extended key usage " + eku + " lacks " + purpose.display + " (" + purpose.oid
                                + ")", null);
            }
        } catch (CertificateParsingException e) {
            throw new CertificateRejectedException(CertificateRejectedException.Reason.MALFORMED, leaf,
                    purpose.display + " chain rejected: certificate 0 (" + describe(leaf)
                            + ") has a malformed extended key usage extension", e);
        }
        boolean[] ku = leaf.getKeyUsage();
        // digitalSignature (0) for signing handshakes; keyEncipherment (2) for a TLS 1.2 RSA key-exchange server.
        if (ku != null && !ku[0] && !(purpose == Purpose.SERVER_AUTH && ku.length > 2 && ku[2])) {
            throw new CertificateRejectedException(CertificateRejectedException.Reason.BAD_USAGE, leaf,
                    purpose.display + " chain rejected: certificate 0 (" + describe(leaf)
                            + ") key usage lacks digitalSignature", null);
        }
    }

    /** "CN=x, serial 1a2b" for messages. */
    public static String describe(X509Certificate c) {
        return c.getSubjectX500Principal().getName() + ", serial " + c.getSerialNumber().toString(16);
    }
}
