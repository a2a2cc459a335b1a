package io.hsmtls.token;

import java.util.List;

/** No private key, or more than one, matched the URI's object/id on the token. */
public final class KeyNotFoundException extends TokenException {
    private final Pkcs11Uri uri;
    private final List<String> candidates;

    public KeyNotFoundException(Pkcs11Uri uri, List<String> candidates, boolean ambiguous) {
        super((ambiguous ? "several private keys match '" : "no private key matches '") + uri.withoutQuery() + "'"
                + (candidates.isEmpty() ? "; the token holds no private key (generate one with 'hsmtls key generate')"
                        : (ambiguous ? "; add object= or id= to pick one of: " : "; keys on the token: ")
                        + String.join(", ", candidates)));
        this.uri = uri;
        this.candidates = List.copyOf(candidates);
    }

    public Pkcs11Uri uri() {
        return uri;
    }

    public List<String> candidates() {
        return candidates;
    }
}
