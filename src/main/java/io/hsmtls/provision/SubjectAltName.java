package io.hsmtls.provision;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;
import org.bouncycastle.asn1.x509.GeneralName;

/**
 * One subjectAltName entry as the command line spells it: {@code dns:host.example},
 * {@code ip:192.0.2.1} or {@code ip:2001:db8::1}, {@code email:a@example.org},
 * {@code uri:https://example.org/}. Parsed and checked once, then carried as this value.
 */
public record SubjectAltName(Kind kind, String value) {

    /** The GeneralName choices hsmtls writes (RFC 5280 §4.2.1.6). */
    public enum Kind {
        DNS("dns", GeneralName.dNSName), IP("ip", GeneralName.iPAddress), EMAIL("email", GeneralName.rfc822Name),
        URI("uri", GeneralName.uniformResourceIdentifier);

        private final String prefix;
        private final int tag;

        Kind(String prefix, int tag) {
            this.prefix = prefix;
            this.tag = tag;
        }

        public String prefix() {
            return prefix;
        }
    }

    public SubjectAltName {
        if (kind == null || value == null || value.isEmpty()) {
            throw new IllegalArgumentException("subjectAltName needs a kind and a value");
        }
    }

    /**
     * Parses {@code kind:value}.
     *
     * @throws IllegalArgumentException naming the input and the accepted forms
     */
    public static SubjectAltName parse(String text) {
        int colon = text.indexOf(':');
        if (colon <= 0 || colon == text.length() - 1) {
            throw new IllegalArgumentException("subjectAltName '" + text
                    + "' is not KIND:VALUE: use dns:NAME, ip:ADDRESS, email:ADDRESS or uri:URI");
        }
        String k = text.substring(0, colon).toLowerCase(Locale.ROOT);
        String v = text.substring(colon + 1);
        for (Kind kind : Kind.values()) {
            if (kind.prefix.equals(k)) {
                check(kind, v, text);
                return new SubjectAltName(kind, v);
            }
        }
        throw new IllegalArgumentException("subjectAltName '" + text + "' has unknown kind '" + k
                + "': use dns:NAME, ip:ADDRESS, email:ADDRESS or uri:URI");
    }

    private static void check(Kind kind, String v, String text) {
        switch (kind) {
            case DNS -> {
                if (!v.matches("(\\*\\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,62})?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,62})?)*\\.?")) {
                    throw new IllegalArgumentException("subjectAltName '" + text
                            + "': not a DNS name (letters, digits, '-', dots; a leading '*.' for a wildcard)");
                }
            }
            case IP -> {
                // Literal addresses only: InetAddress.getByName would resolve a host name.
                boolean v4 = v.matches("\\d{1,3}(\\.\\d{1,3}){3}");
                boolean v6 = v.contains(":") && v.matches("[0-9A-Fa-f:.]+");
                if (!v4 && !v6 || !isValidIp(v)) {
                    throw new IllegalArgumentException("subjectAltName '" + text
                            + "': not a literal IPv4 or IPv6 address");
                }
            }
            case EMAIL -> {
                if (!v.matches("[^@\\s]+@[^@\\s]+")) {
                    throw new IllegalArgumentException("subjectAltName '" + text + "': not an e-mail address");
                }
            }
            case URI -> {
                try {
                    if (new URI(v).getScheme() == null) {
                        throw new URISyntaxException(v, "no scheme");
                    }
                } catch (URISyntaxException e) {
                    throw new IllegalArgumentException("subjectAltName '" + text + "': not an absolute URI ("
                            + e.getReason() + ")");
                }
            }
        }
    }

    private static boolean isValidIp(String v) {
        try {
            new GeneralName(GeneralName.iPAddress, v);
            if (!v.contains(":")) {
                for (String part : v.split("\\.")) {
                    if (Integer.parseInt(part) > 255) {
                        return false;
                    }
                }
            }
            return true;
        } catch (RuntimeException e) {
            return false;
        }
    }

    public GeneralName toGeneralName() {
        return new GeneralName(kind.tag, value);
    }

    /** The command-line form, e.g. {@code dns:host.example}. */
    @Override
    public String toString() {
        return kind.prefix + ":" + value;
    }
}
