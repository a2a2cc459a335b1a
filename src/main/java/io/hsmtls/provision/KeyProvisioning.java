package io.hsmtls.provision;

import io.hsmtls.token.KeyId;
import io.hsmtls.token.KeyType;
import io.hsmtls.token.Pkcs11Uri;
import io.hsmtls.token.Token;
import io.hsmtls.token.TokenKey;
import io.hsmtls.token.TokenObject;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/** Generating and deleting key pairs on a token, with the checks that keep users from losing keys. */
public final class KeyProvisioning {
    private KeyProvisioning() {
    }

    /**
     * Generates a key pair labelled with the URI's {@code object}. Refuses, before touching the
     * token, when objects with that label or CKA_ID exist, unless {@code force}: replacing a key
     * destroys it, and the certificates issued for it become useless.
     *
     * @param uri names the token and, with {@code object=}, the new key's label; {@code id=} or {@code id} sets CKA_ID
     */
    public static TokenKey generate(Token token, Pkcs11Uri uri, KeyType type, Optional<KeyId> id, boolean force) {
        String label = uri.object().orElseThrow(() -> new IllegalArgumentException("key URI '" + uri.withoutQuery()
                + "' names no object: add ;object=NAME, the new key's label"));
        Optional<KeyId> keyId = id.isPresent() ? id : uri.id();
        if (id.isPresent() && uri.id().isPresent() && !id.equals(uri.id())) {
            throw new IllegalArgumentException("--id " + id.get().hex() + " and the URI's id=" + uri.id().get().hex()
                    + " differ: give one");
        }
        List<TokenObject> clash = token.objects().stream()
                .filter(o -> label.equals(o.label()) || keyId.isPresent() && keyId.get().equals(o.id()))
                .toList();
        if (!clash.isEmpty() && !force) {
            throw new ProvisionException("key '" + label + "' not generated on token '" + token.info().label()
                    + "': objects with that label" + (keyId.isPresent() ? " or id " + keyId.get().hex() : "")
                    + " exist (" + describe(clash) + "); choose another object= name, or add --force to replace "
                    + "them (the old key is destroyed for good)");
        }
        return token.generateKeyPair(type, label, keyId, force);
    }

    /** The objects sharing the key's CKA_ID (private and public key, certificate), as a URI that deletes them. */
    public static Pkcs11Uri pairUri(TokenKey key) {
        return key.uri().withoutQuery().tokenOnly().withId(key.info().id());
    }

    /** Deletes the key's private and public key and its certificate (all objects with its CKA_ID). */
    public static List<TokenObject> delete(Token token, TokenKey key) {
        if (key.info().id() == null) {
            throw new ProvisionException("key " + key.info().describe() + " has no CKA_ID, so its public key and "
                    + "certificate cannot be told apart from others: delete its objects with pkcs11-tool");
        }
        return token.delete(pairUri(key));
    }

    static String describe(List<TokenObject> objects) {
        return objects.stream().map(o -> o.type().uriValue() + " '" + (o.label() == null ? "" : o.label())
                + "' id " + (o.id() == null ? "-" : o.id().hex())).collect(Collectors.joining(", "));
    }
}
