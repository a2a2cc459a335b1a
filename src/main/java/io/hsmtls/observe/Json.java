package io.hsmtls.observe;

import java.util.Collection;
import java.util.Map;

/**
 * A minimal JSON writer: maps (insertion order kept), collections, strings, numbers, booleans,
 * null, and anything else by {@code toString()} as a string. {@link #write} gives one compact line
 * (audit records), {@link #pretty} a two-space-indented document ({@code --json} listings).
 */
public final class Json {
    private Json() {
    }

    /** One line, no spaces: the audit log's form, whose bytes the hash chain covers. */
    public static String write(Object value) {
        StringBuilder sb = new StringBuilder();
        write(sb, value, -1);
        return sb.toString();
    }

    /** Indented, for people and {@code jq}. */
    public static String pretty(Object value) {
        StringBuilder sb = new StringBuilder();
        write(sb, value, 0);
        return sb.toString();
    }

    /** depth < 0: compact. */
    private static void write(StringBuilder sb, Object v, int depth) {
        if (v == null) {
            sb.append("null");
        } else if (v instanceof Boolean || v instanceof Integer || v instanceof Long || v instanceof Short) {
            sb.append(v);
        } else if (v instanceof Number n) {
            double d = n.doubleValue();
            sb.append(Double.isFinite(d) ? n.toString() : "null");
        } else if (v instanceof Map<?, ?> m) {
            container(sb, '{', '}', m.entrySet(), depth, (e, d) -> {
                quote(sb, String.valueOf(e.getKey()));
                sb.append(d < 0 ? ":" : ": ");
                write(sb, e.getValue(), d);
            });
        } else if (v instanceof Collection<?> c) {
            container(sb, '[', ']', c, depth, (o, d) -> write(sb, o, d));
        } else {
            quote(sb, v.toString());
        }
    }

    private static <T> void container(StringBuilder sb, char open, char close, Collection<T> items, int depth,
                                      java.util.function.BiConsumer<T, Integer> item) {
        if (items.isEmpty()) {
            sb.append(open).append(close);
            return;
        }
        boolean compact = depth < 0;
        sb.append(open);
        if (!compact) sb.append('\n');
        int i = 0;
        for (T t : items) {
            if (!compact) sb.append("  ".repeat(depth + 1));
            item.accept(t, compact ? -1 : depth + 1);
            if (++i < items.size()) sb.append(',');
            if (!compact) sb.append('\n');
        }
        if (!compact) sb.append("  ".repeat(depth));
        sb.append(close);
    }

    public static void quote(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }
}
