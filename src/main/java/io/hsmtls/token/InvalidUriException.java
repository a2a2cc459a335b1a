package io.hsmtls.token;

/** A PKCS#11 URI that cannot be parsed; the message quotes it (pin-value redacted) and says why. */
public final class InvalidUriException extends TokenException {
    private final String uri;

    public InvalidUriException(String uri, String reason) {
        super("invalid PKCS#11 URI '" + uri + "': " + reason);
        this.uri = uri;
    }

    /** The offending URI, with any pin-value redacted. */
    public String uri() {
        return uri;
    }
}
