package io.hsmtls.provision;

import org.bouncycastle.asn1.x500.X500Name;

/** Parses the {@code --subject} text ("CN=host.example,O=Example") into an X.500 name, once. */
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
            X500Name name = new X500Name(text);
            if (name.getRDNs().length == 0) {
                throw new IllegalArgumentException("no attributes");
            }
            return name;
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("subject '" + text + "' is not a distinguished name ("
                    + e.getMessage() + "): write it as 'CN=host.example,O=Example,C=DE'", e);
        }
    }
}
