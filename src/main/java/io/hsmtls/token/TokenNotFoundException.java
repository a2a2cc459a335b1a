package io.hsmtls.token;

import java.util.List;

/** No token, or more than one, matched the URI. The message lists the tokens that were found. */
public final class TokenNotFoundException extends TokenException {
    private final Pkcs11Uri uri;
    private final List<String> found;
    private final boolean ambiguous;

    public TokenNotFoundException(Pkcs11Uri uri, List<String> found, boolean ambiguous) {
        super((ambiguous ? "several tokens match '" : "no token matches '") + uri.withoutQuery() + "'; "
                + (found.isEmpty() ? "the module shows no token (is the card inserted, the token initialised?)"
                        : (ambiguous ? "matching: " : "found: ") + String.join(", ", found)
                        + (ambiguous ? "; add token=, serial= or slot-id= to pick one" : "")));
        this.uri = uri;
        this.found = List.copyOf(found);
        this.ambiguous = ambiguous;
    }

    public Pkcs11Uri uri() {
        return uri;
    }

    /** Descriptions of the tokens seen ("label (serial S, slot N)"). */
    public List<String> found() {
        return found;
    }

    public boolean ambiguous() {
        return ambiguous;
    }
}
