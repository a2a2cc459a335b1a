package io.hsmtls.token;

import java.util.List;

/** A key or certificate with the same label or CKA_ID is already on the token and overwrite was not asked for. */
public final class ObjectExistsException extends TokenException {
    private final String label;
    private final List<String> existing;

    public ObjectExistsException(String what, String label, List<String> existing) {
        super("cannot create " + what + " '" + label + "': the token already holds " + String.join(", ", existing)
                + "; choose another label, delete the old objects, or allow overwriting (--force)");
        this.label = label;
        this.existing = List.copyOf(existing);
    }

    public String label() {
        return label;
    }

    /** Descriptions of the objects in the way. */
    public List<String> existing() {
        return existing;
    }
}
