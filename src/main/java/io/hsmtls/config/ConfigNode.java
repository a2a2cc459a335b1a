package io.hsmtls.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.exceptions.YamlEngineException;

/**
 * A position in a parsed YAML document. Getters never throw on bad values: they record a
 * {@link ConfigProblem} (path, value, what is expected) in the shared list and return empty, so a
 * validator can walk the whole file and report everything at once. Keys a validator never asked
 * for are reported as unknown by {@link #finish()}.
 */
public final class ConfigNode {
    private final String path;
    private final Map<String, Object> map;
    private final List<ConfigProblem> problems;
    private final Set<String> read = new TreeSet<>();
    private final List<ConfigNode> children = new ArrayList<>();

    private ConfigNode(String path, Map<String, Object> map, List<ConfigProblem> problems) {
        this.path = path;
        this.map = map;
        this.problems = problems;
    }

    /** Parses a YAML file whose top level is a mapping; syntax errors become a ConfigException. */
    public static ConfigNode load(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new ConfigException(file.toString(),
                    List.of(new ConfigProblem("(file)", "cannot read it: " + e.getClass().getSimpleName() + " " + e.getMessage())));
        }
        return parse(file.toString(), text);
    }

    public static ConfigNode parse(String name, String yaml) {
        Object root;
        try {
            root = new Load(LoadSettings.builder().setLabel(name).setAllowDuplicateKeys(false).build())
                    .loadFromString(yaml);
        } catch (YamlEngineException e) {
            throw new ConfigException(name, List.of(new ConfigProblem("(syntax)", e.getMessage().replace('\n', ' '))));
        }
        List<ConfigProblem> problems = new ArrayList<>();
        if (root == null) {
            return new ConfigNode("", new LinkedHashMap<>(), problems);
        }
        if (!(root instanceof Map<?, ?> m)) {
            throw new ConfigException(name, List.of(new ConfigProblem("(top)", "expected a mapping of settings")));
        }
        return new ConfigNode("", stringKeys(m), problems);
    }

    private static Map<String, Object> stringKeys(Map<?, ?> m) {
        Map<String, Object> out = new LinkedHashMap<>();
        m.forEach((k, v) -> out.put(String.valueOf(k), v));
        return out;
    }

    private String at(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    public String path() {
        return path;
    }

    public boolean has(String key) {
        return map.containsKey(key) && map.get(key) != null;
    }

    public void problem(String key, String message) {
        problems.add(new ConfigProblem(key == null ? (path.isEmpty() ? "(top)" : path) : at(key), message));
    }

    public List<ConfigProblem> problems() {
        return problems;
    }

    public Optional<String> string(String key) {
        read.add(key);
        Object v = map.get(key);
        if (v == null) {
            return Optional.empty();
        }
        if (v instanceof Map || v instanceof List) {
            problem(key, "expected a single value, got a " + (v instanceof Map ? "mapping" : "list"));
            return Optional.empty();
        }
        return Optional.of(String.valueOf(v));
    }

    public Optional<String> requiredString(String key) {
        Optional<String> v = string(key);
        if (v.isEmpty() && !map.containsKey(key)) {
            problem(key, "missing (required)");
        }
        return v;
    }

    /** A value converted by {@code parse}; an IllegalArgumentException from it becomes a problem naming the value. */
    public <T> Optional<T> value(String key, Function<String, T> parse) {
        return string(key).flatMap(s -> {
            try {
                return Optional.ofNullable(parse.apply(s));
            } catch (RuntimeException e) {
                problem(key, "'" + s + "': " + e.getMessage());
                return Optional.empty();
            }
        });
    }

    public Optional<Integer> integer(String key, int min, int max) {
        return value(key, s -> {
            int n;
            try {
                n = Integer.parseInt(s.trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("not a whole number");
            }
            if (n < min || n > max) {
                throw new IllegalArgumentException("out of range " + min + ".." + max);
            }
            return n;
        });
    }

    public Optional<Boolean> bool(String key) {
        return value(key, s -> switch (s.toLowerCase(Locale.ROOT)) {
            case "true", "yes", "on" -> true;
            case "false", "no", "off" -> false;
            default -> throw new IllegalArgumentException("expected true or false");
        });
    }

    public Optional<Duration> duration(String key) {
        return value(key, ConfigNode::parseDuration);
    }

    public Optional<Path> file(String key, boolean mustExist) {
        return value(key, s -> {
            Path p = Path.of(s);
            if (mustExist && !Files.isReadable(p)) {
                throw new IllegalArgumentException("file not found or not readable");
            }
            return p;
        });
    }

    /** A nested mapping, or empty (with a problem if the key holds something else). */
    public Optional<ConfigNode> child(String key) {
        read.add(key);
        Object v = map.get(key);
        if (v == null) {
            return Optional.empty();
        }
        if (!(v instanceof Map<?, ?> m)) {
            problem(key, "expected a mapping");
            return Optional.empty();
        }
        ConfigNode c = new ConfigNode(at(key), stringKeys(m), problems);
        children.add(c);
        return Optional.of(c);
    }

    /** A list of mappings. */
    public List<ConfigNode> children(String key) {
        read.add(key);
        Object v = map.get(key);
        if (v == null) {
            return List.of();
        }
        if (!(v instanceof List<?> list)) {
            problem(key, "expected a list");
            return List.of();
        }
        List<ConfigNode> out = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            if (list.get(i) instanceof Map<?, ?> m) {
                ConfigNode c = new ConfigNode(at(key) + "[" + i + "]", stringKeys(m), problems);
                children.add(c);
                out.add(c);
            } else {
                problems.add(new ConfigProblem(at(key) + "[" + i + "]", "expected a mapping"));
            }
        }
        return out;
    }

    /** A list of scalars (a single scalar counts as a list of one). */
    public List<String> strings(String key) {
        read.add(key);
        Object v = map.get(key);
        if (v == null) {
            return List.of();
        }
        if (v instanceof List<?> list) {
            return list.stream().map(String::valueOf).toList();
        }
        if (v instanceof Map) {
            problem(key, "expected a list of values");
            return List.of();
        }
        return List.of(String.valueOf(v));
    }

    /** Records every key of this node and its children that no getter asked for. */
    public void finish() {
        for (String key : map.keySet()) {
            if (!read.contains(key)) {
                problems.add(new ConfigProblem(at(key), "unknown setting" + suggestion(key)));
            }
        }
        for (ConfigNode c : children) {
            c.finish();
        }
    }

    private String suggestion(String key) {
        String best = null;
        int bestD = 3;
        for (String known : read) {
            int d = distance(key, known);
            if (d < bestD) {
                bestD = d;
                best = known;
            }
        }
        return best == null ? "" : " (did you mean '" + best + "'?)";
    }

    private static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) prev[j] = j;
        for (int i = 1; i <= a.length(); i++) {
            int[] cur = new int[b.length() + 1];
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1),
                        prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1));
            }
            prev = cur;
        }
        return prev[b.length()];
    }

    /** Throws a ConfigException listing every problem found so far, if any. */
    public void throwIfProblems(String file) {
        if (!problems.isEmpty()) {
            throw new ConfigException(file, problems);
        }
    }

    /** "250ms", "30s", "5m", "1h", or ISO-8601 "PT30S". */
    public static Duration parseDuration(String s) {
        String t = s.trim().toLowerCase(Locale.ROOT);
        try {
            if (t.startsWith("pt")) {
                return Duration.parse(t.toUpperCase(Locale.ROOT));
            }
            if (t.endsWith("ms")) return Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2).trim()));
            if (t.endsWith("s")) return Duration.ofSeconds(Long.parseLong(t.substring(0, t.length() - 1).trim()));
            if (t.endsWith("m")) return Duration.ofMinutes(Long.parseLong(t.substring(0, t.length() - 1).trim()));
            if (t.endsWith("h")) return Duration.ofHours(Long.parseLong(t.substring(0, t.length() - 1).trim()));
        } catch (RuntimeException e) {
            // fall through to the message below
        }
        throw new IllegalArgumentException("not a duration: use e.g. 500ms, 30s, 5m, 1h");
    }
}
