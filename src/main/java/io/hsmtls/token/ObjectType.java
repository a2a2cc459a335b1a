package io.hsmtls.token;

import java.util.Locale;

/** The RFC 7512 {@code type} attribute: the PKCS#11 object class a URI names. */
public enum ObjectType {
    PUBLIC("public"), PRIVATE("private"), CERT("cert"), SECRET_KEY("secret-key"), DATA("data");

    private final String uriValue;

    ObjectType(String uriValue) {
        this.uriValue = uriValue;
    }

    public String uriValue() {
        return uriValue;
    }

    public static ObjectType fromUri(String value) {
        for (ObjectType t : values()) {
            if (t.uriValue.equals(value.toLowerCase(Locale.ROOT))) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown object type '" + value
                + "': use public, private, cert, secret-key or data");
    }
}
