package io.hsmtls.tls.client;

import io.hsmtls.token.SignatureScheme;

/** What the client answers a CertificateRequest with, and why. */
public sealed interface CertificateSelection {

    /** Human-readable reason, for the probe and the connection log. */
    String why();

    record Chosen(ClientCandidate candidate, SignatureScheme scheme, String why) implements CertificateSelection { }

    /** Continue without a certificate; the server decides whether that is enough. */
    record NoCertificate(String why) implements CertificateSelection { }
}
