package io.hsmtls.token;

/** The token, or the key's CKA_ALLOWED_MECHANISMS / usage flags, does not allow a mechanism. */
public final class MechanismUnsupportedException extends TokenException {
    private final Mechanism mechanism;
    private final String key;

    public MechanismUnsupportedException(Mechanism mechanism, String key, String reason) {
        super(mechanism + " not available for key '" + key + "': " + reason);
        this.mechanism = mechanism;
        this.key = key;
    }

    public Mechanism mechanism() {
        return mechanism;
    }

    public String key() {
        return key;
    }
}
