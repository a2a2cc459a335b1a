package io.hsmtls.provision;

import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.x500.X500Name;

/**
 * Parses the {@code --subject} text ("CN=host.example,O=Example") into an X.500 name, once.
 * The text is read as RFC 4514 says: the first RDN written is the most specific, so it comes
 * last in the encoding. {@code CN=host,O=Example} encodes as O then CN, prints back the same way
 * in Java and the JDK's tools, and as "O = Example, CN = host" in openssl — like a CA would issue it.
 */
public final class DistinguishedNames {
    private DistinguishedNames() {
    }

    /** @throws IllegalArgumentException quoting the text, when it is empty or not a DN */
    public static X500Name parse(String text) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("subject is empty: give a distinguished name such as "
                    + "'CN=host.example,O=Example'");
        }
        try {
            X500Principal p = new X500Principal(text);
            X500Name name = X500Name.getInstance(p.getEncoded());
            if (name.getRDNs().length == 0) {
                throw new IllegalArgumentException("no attributes");
            }
            return name;
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("subject '" + text + "' is not a distinguished name ("
                    + e.getMessage() + "): write it as 'CN=host.example,O=Example,C=DE'", e);
        }
    }

    /** The RFC 4514 text of a name, as {@link #parse} reads it. */
    public static String format(X500Name name) {
        try {
            return new X500Principal(name.getEncoded()).getName();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
