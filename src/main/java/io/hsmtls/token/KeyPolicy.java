package io.hsmtls.token;

import java.util.Set;

/**
 * Extra restrictions put on a private key when it is generated, beyond what its {@link KeyType}
 * needs. Smart cards carry such keys (PIV's signature slot needs a PIN per signature), and tests
 * need them to prove hsmtls copes.
 *
 * @param alwaysAuthenticate set CKA_ALWAYS_AUTHENTICATE: every signature needs a context-specific login
 * @param allowedMechanisms  set CKA_ALLOWED_MECHANISMS to exactly these; empty = attribute not set
 */
public record KeyPolicy(boolean alwaysAuthenticate, Set<Mechanism> allowedMechanisms) {
    public KeyPolicy {
        allowedMechanisms = Set.copyOf(allowedMechanisms);
    }

    /** No extra restriction: what {@code hsmtls key generate} makes. */
    public static KeyPolicy standard() {
        return new KeyPolicy(false, Set.of());
    }

    public KeyPolicy withAlwaysAuthenticate(boolean on) {
        return new KeyPolicy(on, allowedMechanisms);
    }

    public KeyPolicy withAllowedMechanisms(Set<Mechanism> mechanisms) {
        return new KeyPolicy(alwaysAuthenticate, mechanisms);
    }
}
