package io.hsmtls.tls.client;

import java.net.IDN;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Server identity check after RFC 6125 §6: a DNS name is compared with the certificate's dNSName
 * SANs, an IP literal with its iPAddress SANs, and the subject CN is never consulted (RFC 6125
 * §6.4.4 allows the fallback only without SANs; browsers and hsmtls drop it, so a certificate
 * without SANs names nobody). A wildcard is accepted only as the whole left-most label and never
 * matches more than one label or a name with fewer than three labels ("*.com").
 */
public final class HostNames {
    private static final Pattern IPV4 = Pattern.compile("^\\d{1,3}(\\.\\d{1,3}){3}$");
    private static final int SAN_DNS = 2;
    private static final int SAN_IP = 7;

    private HostNames() {
    }

    /** The outcome: a match names the SAN that matched; a mismatch lists what the certificate does name. */
    public record Result(boolean matched, String name, String matchedSan, List<String> sans) {
        public Result {
            sans = List.copyOf(sans);
        }

        /** "certificate CN=x names DNS:a, IP:b, not 'host'" style text for a mismatch; the SAN for a match. */
        public String describe(X509Certificate cert) {
            if (matched) {
                return "'" + name + "' matches SAN " + matchedSan;
            }
            String subject = cert.getSubjectX500Principal().getName();
            return "host name '" + name + "' does not match the server certificate (" + subject + "): "
                    + (sans.isEmpty() ? "it has no DNS or IP subject alternative names (the CN is not used, RFC 6125)"
                            : "it names " + String.join(", ", sans))
                    + "; connect with a name it lists, or pass --server-name NAME";
        }
    }

    /** True when {@code name} is an IPv4 or bracket-less IPv6 literal. */
    public static boolean isIpLiteral(String name) {
        return IPV4.matcher(name).matches() || name.indexOf(':') >= 0;
    }

    public static Result check(String name, X509Certificate cert) {
        String host = name.startsWith("[") && name.endsWith("]") ? name.substring(1, name.length() - 1) : name;
        List<String> listed = new ArrayList<>();
        Collection<List<?>> sans;
        try {
            sans = cert.getSubjectAlternativeNames();
        } catch (CertificateParsingException e) {
            sans = null;
        }
        if (sans == null) {
            sans = List.of();
        }
        boolean ip = isIpLiteral(host);
        Optional<byte[]> hostAddress = ip ? ipBytes(host) : Optional.empty();
        String asciiHost = ip ? host : toAscii(host);
        String matched = null;
        for (List<?> san : sans) {
            int type = (Integer) san.get(0);
            Object value = san.get(1);
            if (type == SAN_DNS && value instanceof String dns) {
                listed.add("DNS:" + dns);
                if (!ip && matched == null && matchesDns(dns, asciiHost)) {
                    matched = "DNS:" + dns;
                }
            } else if (type == SAN_IP && value instanceof String addr) {
                listed.add("IP:" + addr);
                if (ip && matched == null && hostAddress.isPresent()) {
                    Optional<byte[]> sanBytes = ipBytes(addr);
                    if (sanBytes.isPresent() && Arrays.equals(sanBytes.get(), hostAddress.get())) {
                        matched = "IP:" + addr;
                    }
                }
            }
        }
        return new Result(matched != null, name, matched, listed);
    }

    /**
     * RFC 6125 §6.4.3 DNS matching: case-insensitive, a trailing dot ignored, a wildcard only as the
     * whole left-most label of a pattern with at least three labels, matching exactly one label.
     */
    public static boolean matchesDns(String pattern, String host) {
        String p = normalise(pattern);
        String h = normalise(host);
        if (p.isEmpty() || h.isEmpty()) {
            return false;
        }
        if (!p.contains("*")) {
            return p.equals(h);
        }
        if (!p.startsWith("*.") || p.indexOf('*', 1) >= 0) {
            return false; // partial ("f*o.example") or non-left-most wildcards: refused
        }
        String suffix = p.substring(1); // ".example.com"
        if (suffix.chars().filter(c -> c == '.').count() < 2) {
            return false; // "*.com" would name a whole top-level domain
        }
        if (!h.endsWith(suffix)) {
            return false;
        }
        String first = h.substring(0, h.length() - suffix.length());
        return !first.isEmpty() && first.indexOf('.') < 0 && !first.startsWith("xn--");
    }

    private static String normalise(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        return n.endsWith(".") ? n.substring(0, n.length() - 1) : n;
    }

    private static String toAscii(String host) {
        try {
            return IDN.toASCII(host, IDN.ALLOW_UNASSIGNED);
        } catch (IllegalArgumentException e) {
            return host;
        }
    }

    /** Parses an IP literal without any DNS lookup (InetAddress does none for literals). */
    static Optional<byte[]> ipBytes(String literal) {
        if (IPV4.matcher(literal).matches()) {
            String[] parts = literal.split("\\.");
            byte[] b = new byte[4];
            for (int i = 0; i < 4; i++) {
                int v = Integer.parseInt(parts[i]);
                if (v > 255) {
                    return Optional.empty();
                }
                b[i] = (byte) v;
            }
            return Optional.of(b);
        }
        if (literal.indexOf(':') < 0) {
            return Optional.empty();
        }
        try {
            // With a ':' InetAddress parses an IPv6 literal and never asks DNS.
            return Optional.of(InetAddress.getByName(literal).getAddress());
        } catch (UnknownHostException e) {
            return Optional.empty();
        }
    }
}
