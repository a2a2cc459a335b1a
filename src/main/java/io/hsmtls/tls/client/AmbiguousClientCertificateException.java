package io.hsmtls.tls.client;

import java.util.List;

/** Several token certificates suit the server's CertificateRequest and the key URI did not pick one. */
public final class AmbiguousClientCertificateException extends RuntimeException {
    private final List<String> candidates;

    public AmbiguousClientCertificateException(List<String> candidates) {
        super("several client certificates on the token suit the server's CertificateRequest ("
                + String.join("; ", candidates) + "): add object= or id= to --key to pick one");
        this.candidates = List.copyOf(candidates);
    }

    public List<String> candidates() {
        return candidates;
    }
}
