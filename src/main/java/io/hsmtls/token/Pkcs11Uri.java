package io.hsmtls.token;

import java.io.ByteArrayOutputStream;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;

/**
 * A parsed RFC 7512 PKCS#11 URI. Parsing happens once, where a key reference enters the program;
 * everything downstream holds this value, never the string.
 *
 * <p>Path attributes select a token (token, manufacturer, serial, model, slot-id,
 * slot-description, slot-manufacturer, library-*) and an object (object, id, type). Query
 * attributes say how to reach it (module-path, module-name, pin-source, pin-value). Unknown and
 * repeated attributes are rejected rather than ignored: a URI that silently matched a different
 * key than its author meant is worse than an error. {@link #toString()} never shows pin-value.
 */
public final class Pkcs11Uri {
    private static final String SCHEME = "pkcs11:";
    private static final Set<String> PATH_ATTRS = Set.of("token", "manufacturer", "serial", "model",
            "library-manufacturer", "library-description", "library-version", "object", "type", "id",
            "slot-manufacturer", "slot-description", "slot-id");
    private static final Set<String> QUERY_ATTRS = Set.of("pin-source", "pin-value", "module-name", "module-path");
    /** Printing order for path attributes: token selection first, then the object. */
    private static final String[] PATH_ORDER = {"library-manufacturer", "library-description", "library-version",
            "slot-manufacturer", "slot-description", "slot-id", "manufacturer", "model", "serial", "token",
            "object", "id", "type"};
    private static final String[] QUERY_ORDER = {"module-name", "module-path", "pin-source"};

    /** Decoded path and query values, keyed by attribute name; "id" is kept in {@link #id}. */
    private final Map<String, String> path;
    private final Map<String, String> query;
    private final KeyId id;
    private final char[] pinValue;

    private Pkcs11Uri(Map<String, String> path, Map<String, String> query, KeyId id, char[] pinValue) {
        this.path = Map.copyOf(path);
        this.query = Map.copyOf(query);
        this.id = id;
        this.pinValue = pinValue;
    }

    /** The URI that matches every token and object: {@code pkcs11:}. */
    public static Pkcs11Uri any() {
        return new Pkcs11Uri(Map.of(), Map.of(), null, null);
    }

    /**
     * Parses an RFC 7512 URI.
     *
     * @throws InvalidUriException naming the URI (without its pin-value) and the offending part
     */
    public static Pkcs11Uri parse(String text) {
        Objects.requireNonNull(text, "uri");
        String shown = redact(text);
        if (!text.regionMatches(true, 0, SCHEME, 0, SCHEME.length())) {
            throw new InvalidUriException(shown, "it does not start with 'pkcs11:'");
        }
        String rest = text.substring(SCHEME.length());
        int q = rest.indexOf('?');
        String pathPart = q < 0 ? rest : rest.substring(0, q);
        String queryPart = q < 0 ? "" : rest.substring(q + 1);

        Map<String, String> path = new LinkedHashMap<>();
        KeyId id = null;
        if (!pathPart.isEmpty()) {
            for (String attr : pathPart.split(";", -1)) {
                String[] kv = splitAttr(attr, shown);
                String name = kv[0];
                if (!PATH_ATTRS.contains(name)) {
                    throw new InvalidUriException(shown, QUERY_ATTRS.contains(name)
                            ? "'" + name + "' is a query attribute: put it after '?'"
                            : "unknown path attribute '" + name + "' (known: " + String.join(", ", PATH_ORDER) + ")");
                }
                if (path.containsKey(name) || ("id".equals(name) && id != null)) {
                    throw new InvalidUriException(shown, "attribute '" + name + "' appears twice");
                }
                if ("id".equals(name)) {
                    byte[] bytes = percentDecode(kv[1], shown);
                    if (bytes.length == 0) {
                        throw new InvalidUriException(shown, "id is empty");
                    }
                    id = KeyId.of(bytes);
                    continue;
                }
                String value = utf8(percentDecode(kv[1], shown), shown);
                validatePathValue(name, value, shown);
                path.put(name, value);
            }
        }
        Map<String, String> query = new LinkedHashMap<>();
        char[] pin = null;
        if (q >= 0 && !queryPart.isEmpty()) {
            for (String attr : queryPart.split("&", -1)) {
                String[] kv = splitAttr(attr, shown);
                String name = kv[0];
                if (!QUERY_ATTRS.contains(name)) {
                    throw new InvalidUriException(shown, PATH_ATTRS.contains(name)
                            ? "'" + name + "' is a path attribute: put it before '?'"
                            : "unknown query attribute '" + name + "' (known: module-name, module-path, pin-source, pin-value)");
                }
                if (query.containsKey(name) || ("pin-value".equals(name) && pin != null)) {
                    throw new InvalidUriException(shown, "attribute '" + name + "' appears twice");
                }
                byte[] raw = percentDecode(kv[1], shown);
                if ("pin-value".equals(name)) {
                    java.nio.CharBuffer chars = StandardCharsets.UTF_8.decode(ByteBuffer.wrap(raw));
                    pin = Arrays.copyOfRange(chars.array(), chars.position(), chars.limit());
                    Arrays.fill(chars.array(), '\0');
                    Arrays.fill(raw, (byte) 0);
                    continue;
                }
                query.put(name, utf8(raw, shown));
            }
        }
        if (pin != null && query.containsKey("pin-source")) {
            throw new InvalidUriException(shown, "pin-source and pin-value conflict: give one");
        }
        return new Pkcs11Uri(path, query, id, pin);
    }

    private static String[] splitAttr(String attr, String shown) {
        int eq = attr.indexOf('=');
        if (eq <= 0) {
            throw new InvalidUriException(shown, attr.isEmpty() ? "empty attribute (stray ';' or '&')"
                    : "attribute '" + attr + "' has no '=value'");
        }
        return new String[] {attr.substring(0, eq), attr.substring(eq + 1)};
    }

    private static void validatePathValue(String name, String value, String shown) {
        switch (name) {
            case "slot-id" -> {
                try {
                    if (Long.parseLong(value) < 0) {
                        throw new NumberFormatException();
                    }
                } catch (NumberFormatException e) {
                    throw new InvalidUriException(shown, "slot-id '" + value + "' is not a non-negative decimal number");
                }
            }
            case "type" -> {
                try {
                    ObjectType.fromUri(value);
                } catch (IllegalArgumentException e) {
                    throw new InvalidUriException(shown, e.getMessage());
                }
            }
            case "library-version" -> {
                if (!value.matches("\\d+(\\.\\d+)?")) {
                    throw new InvalidUriException(shown, "library-version '" + value + "' is not M or M.N");
                }
            }
            default -> { }
        }
    }

    private static byte[] percentDecode(String s, String shown) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '%') {
                if (i + 2 >= s.length()) {
                    throw new InvalidUriException(shown, "truncated percent-escape at '" + s.substring(i) + "'");
                }
                int hi = Character.digit(s.charAt(i + 1), 16);
                int lo = Character.digit(s.charAt(i + 2), 16);
                if (hi < 0 || lo < 0) {
                    throw new InvalidUriException(shown, "bad percent-escape '" + s.substring(i, i + 3) + "'");
                }
                out.write(hi << 4 | lo);
                i += 2;
            } else {
                byte[] b = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
                if (Character.isHighSurrogate(c) && i + 1 < s.length()) {
                    b = s.substring(i, i + 2).getBytes(StandardCharsets.UTF_8);
                    i++;
                }
                out.writeBytes(b);
            }
        }
        return out.toByteArray();
    }

    private static String utf8(byte[] bytes, String shown) {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new InvalidUriException(shown, "a value is not UTF-8 after percent-decoding");
        }
    }

    /** Replaces the value of any pin-value attribute so a bad URI can be quoted in an error. */
    static String redact(String text) {
        return text.replaceAll("(?i)(pin-value=)[^&]*", "$1***");
    }

    // ---- accessors ------------------------------------------------------------------------

    public Optional<String> token() { return attr("token"); }
    public Optional<String> manufacturer() { return attr("manufacturer"); }
    public Optional<String> serial() { return attr("serial"); }
    public Optional<String> model() { return attr("model"); }
    public Optional<String> slotDescription() { return attr("slot-description"); }
    public Optional<String> slotManufacturer() { return attr("slot-manufacturer"); }
    public Optional<String> libraryManufacturer() { return attr("library-manufacturer"); }
    public Optional<String> libraryDescription() { return attr("library-description"); }
    public Optional<String> libraryVersion() { return attr("library-version"); }
    public Optional<String> object() { return attr("object"); }
    public Optional<KeyId> id() { return Optional.ofNullable(id); }
    public Optional<ObjectType> type() { return attr("type").map(ObjectType::fromUri); }
    public Optional<String> modulePath() { return Optional.ofNullable(query.get("module-path")); }
    public Optional<String> moduleName() { return Optional.ofNullable(query.get("module-name")); }
    public Optional<String> pinSource() { return Optional.ofNullable(query.get("pin-source")); }

    public OptionalLong slotId() {
        String v = path.get("slot-id");
        return v == null ? OptionalLong.empty() : OptionalLong.of(Long.parseLong(v));
    }

    public boolean hasPinValue() {
        return pinValue != null;
    }

    /** A fresh {@link Pin} holding the URI's pin-value; the caller closes it. */
    public Optional<Pin> pinValue() {
        return pinValue == null ? Optional.empty() : Optional.of(Pin.of(pinValue.clone()));
    }

    private Optional<String> attr(String name) {
        return Optional.ofNullable(path.get(name));
    }

    /** True when the URI names an object (object label or id), not only a token. */
    public boolean namesObject() {
        return path.containsKey("object") || id != null;
    }

    // ---- derived URIs ---------------------------------------------------------------------

    public Pkcs11Uri withObject(String label) {
        return withPath("object", label);
    }

    public Pkcs11Uri withId(KeyId newId) {
        return new Pkcs11Uri(path, query, newId, pinValue == null ? null : pinValue.clone());
    }

    public Pkcs11Uri withType(ObjectType type) {
        return withPath("type", type == null ? null : type.uriValue());
    }

    public Pkcs11Uri withToken(String label) {
        return withPath("token", label);
    }

    public Pkcs11Uri withSerial(String serial) {
        return withPath("serial", serial);
    }

    /** The same URI with the object part (object, id, type) removed: it names only the token. */
    public Pkcs11Uri tokenOnly() {
        Map<String, String> p = new LinkedHashMap<>(path);
        p.remove("object");
        p.remove("type");
        return new Pkcs11Uri(p, query, null, pinValue == null ? null : pinValue.clone());
    }

    /** The same URI without query attributes (no module, no PIN): for logs, audit and listings. */
    public Pkcs11Uri withoutQuery() {
        return new Pkcs11Uri(path, Map.of(), id, null);
    }

    private Pkcs11Uri withPath(String name, String value) {
        Map<String, String> p = new LinkedHashMap<>(path);
        if (value == null) {
            p.remove(name);
        } else {
            p.put(name, value);
        }
        return new Pkcs11Uri(p, query, id, pinValue == null ? null : pinValue.clone());
    }

    // ---- printing -------------------------------------------------------------------------

    /** The canonical URI text, percent-encoded, without pin-value. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(SCHEME);
        String sep = "";
        for (String name : PATH_ORDER) {
            if ("id".equals(name)) {
                if (id != null) {
                    sb.append(sep).append("id=");
                    for (byte b : id.bytes()) {
                        sb.append('%').append(Character.toUpperCase(Character.forDigit((b >> 4) & 0xF, 16)))
                                .append(Character.toUpperCase(Character.forDigit(b & 0xF, 16)));
                    }
                    sep = ";";
                }
                continue;
            }
            String v = path.get(name);
            if (v != null) {
                sb.append(sep).append(name).append('=').append(encode(v, false));
                sep = ";";
            }
        }
        sep = "?";
        for (String name : QUERY_ORDER) {
            String v = query.get(name);
            if (v != null) {
                sb.append(sep).append(name).append('=').append(encode(v, true));
                sep = "&";
            }
        }
        return sb.toString();
    }

    private static String encode(String value, boolean query) {
        StringBuilder sb = new StringBuilder();
        for (byte b : value.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xFF;
            boolean plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || "-._~:[]@!$'()*+,=".indexOf(c) >= 0 || (query && "/?|".indexOf(c) >= 0);
            if (plain) {
                sb.append((char) c);
            } else {
                sb.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 0xF, 16)));
            }
        }
        return sb.toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Pkcs11Uri other && path.equals(other.path) && query.equals(other.query)
                && Objects.equals(id, other.id) && Arrays.equals(pinValue, other.pinValue);
    }

    @Override
    public int hashCode() {
        return Objects.hash(path, query, id);
    }
}
