package io.plantwatch.model;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/**
 * A service's settings resolved from four layers, each overriding the one before: defaults, a YAML
 * file, environment variables ({@code <envPrefix>} + the key in upper case with {@code .} and
 * {@code -} as {@code _}), and command-line flags. Every value remembers where it came from, so an
 * error names the key, the value and its source (secrets masked).
 *
 * <p>Keys under a pass-through prefix (e.g. {@code kafka.producer.}) are not checked: they go to a
 * client library unchanged; from the environment their underscores become dots, as in Kafka's own
 * images.
 */
public final class LayeredSettings {
    private final Map<String, String> values;
    private final Map<String, String> sources;

    /**
     * Top-level parts of the file its part reads itself, as written: a list, whose order matters,
     * does not become keys. Only from the file.
     */
    private final Map<String, JsonNode> sections = new LinkedHashMap<>();

    private Path file;

    private LayeredSettings(Map<String, String> values, Map<String, String> sources) {
        this.values = values;
        this.sources = sources;
    }

    /**
     * Resolves the layers.
     *
     * @param defaults the known keys with their defaults; a null default means none
     * @param passThrough prefixes of keys handed unchecked to a client library
     * @param envPrefix e.g. {@code PLANTWATCH_GATEWAY_}
     * @param file the YAML file, or null for none
     * @param env the environment, usually {@link System#getenv()}
     * @param flags settings from the command line by key
     * @throws ConfigException for an unknown key or a file that cannot be read
     */
    public static LayeredSettings load(
            Map<String, String> defaults,
            List<String> passThrough,
            String envPrefix,
            Path file,
            Map<String, String> env,
            Map<String, String> flags) {
        return load(defaults, passThrough, List.of(), envPrefix, file, env, flags);
    }

    /**
     * As {@link #load(Map, List, String, Path, Map, Map)}, with top-level {@code sections} of the
     * file kept as written for {@link #section}: not keys, not from the environment or flags (a
     * variable or flag naming one is refused).
     */
    public static LayeredSettings load(
            Map<String, String> defaults,
            List<String> passThrough,
            List<String> sections,
            String envPrefix,
            Path file,
            Map<String, String> env,
            Map<String, String> flags) {
        LayeredSettings s = new LayeredSettings(new LinkedHashMap<>(), new LinkedHashMap<>());
        for (String section : sections) {
            String envStart = envName(envPrefix, section);
            for (String name : new TreeMap<>(env).keySet()) {
                if (name.equals(envStart) || name.startsWith(envStart + "_")) {
                    throw new ConfigException(
                            "environment variable "
                                    + name
                                    + ": "
                                    + section
                                    + " is read from the settings file only");
                }
            }
            for (String key : flags.keySet()) {
                if (key.equals(section) || key.startsWith(section + ".")) {
                    throw new ConfigException(
                            "command line "
                                    + key
                                    + ": "
                                    + section
                                    + " is read from the settings file only");
                }
            }
        }
        defaults.forEach(
                (k, v) -> {
                    if (v != null) {
                        s.values.put(k, v);
                        s.sources.put(k, "default");
                    }
                });
        if (file != null) {
            s.file = file;
            JsonNode root = YamlFiles.readMapping(file);
            for (String section : sections) {
                JsonNode node = root.get(section);
                if (node != null && !node.isNull()) {
                    s.sections.put(section, node);
                }
            }
            readYaml(root, sections, file)
                    .forEach(
                            (k, v) -> {
                                if (isSecret(k) && v != null) {
                                    // A config file is read by many and copied about; a secret
                                    // comes from the environment or a file of its own.
                                    throw new ConfigException(
                                            file
                                                    + ": "
                                                    + k
                                                    + " must not be written in the file; set "
                                                    + envName(envPrefix, k)
                                                    + " or "
                                                    + k
                                                    + "-file (a file holding it)");
                                }
                                s.put(defaults, passThrough, k, v, file.toString());
                            });
        }
        Map<String, String> keyByEnvName = new TreeMap<>();
        defaults.keySet().forEach(k -> keyByEnvName.put(envName(envPrefix, k), k));
        for (Map.Entry<String, String> e : new TreeMap<>(env).entrySet()) {
            String name = e.getKey();
            if (!name.startsWith(envPrefix)) {
                continue;
            }
            String key = keyByEnvName.get(name);
            for (String prefix : passThrough) {
                String envStart = envName(envPrefix, prefix);
                if (key == null && name.startsWith(envStart)) {
                    key =
                            prefix
                                    + name.substring(envStart.length())
                                            .toLowerCase(Locale.ROOT)
                                            .replace('_', '.');
                }
            }
            if (key == null) {
                throw new ConfigException(
                        "unknown setting in environment variable "
                                + name
                                + "; known: "
                                + String.join(", ", keyByEnvName.keySet()));
            }
            s.put(defaults, passThrough, key, e.getValue(), "environment " + name);
        }
        flags.forEach((k, v) -> s.put(defaults, passThrough, k, v, "command line"));
        return s;
    }

    private void put(
            Map<String, String> defaults,
            List<String> passThrough,
            String key,
            String value,
            String source) {
        String secret = key.endsWith("-file") ? key.substring(0, key.length() - 5) : null;
        if (secret != null
                && !defaults.containsKey(key)
                && isSecret(secret)
                && passThrough.stream().anyMatch(key::startsWith)) {
            // A client library's secret setting (a JAAS login, a key password) from a file, as
            // mounted secrets come: the file's content, trailing line break removed.
            try {
                String content =
                        value == null
                                ? null
                                : java.nio.file.Files.readString(java.nio.file.Path.of(value))
                                        .strip();
                put(defaults, passThrough, secret, content, source + " (" + key + ")");
            } catch (java.io.IOException e) {
                throw new ConfigException(
                        key + " from " + source + " names a file that cannot be read: " + value);
            }
            return;
        }
        if (!defaults.containsKey(key) && passThrough.stream().noneMatch(key::startsWith)) {
            throw new ConfigException(
                    "unknown setting '" + key + "' in " + source + "; known: " + defaults.keySet());
        }
        if (value == null) {
            values.remove(key);
        } else {
            values.put(key, value);
        }
        sources.put(key, source);
    }

    /** The environment variable that sets {@code key}. */
    public static String envName(String envPrefix, String key) {
        return envPrefix + key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
    }

    private static Map<String, String> readYaml(JsonNode root, List<String> sections, Path file) {
        Map<String, String> flat = new LinkedHashMap<>();
        com.fasterxml.jackson.databind.node.ObjectNode keys =
                ((com.fasterxml.jackson.databind.node.ObjectNode) root).deepCopy();
        keys.remove(sections);
        flatten("", keys, flat, file);
        return flat;
    }

    private static void flatten(String prefix, JsonNode node, Map<String, String> out, Path file) {
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String key = prefix + e.getKey();
            JsonNode v = e.getValue();
            if (v.isObject()) {
                flatten(key + ".", v, out, file);
            } else if (v.isArray()) {
                throw new ConfigException(file + ": '" + key + "' must be a single value");
            } else {
                out.put(key, v.isNull() ? null : v.asText());
            }
        }
    }

    /** The value, or null when unset. */
    public String get(String key) {
        return values.get(key);
    }

    public boolean has(String key) {
        return values.containsKey(key);
    }

    /** The value, which must be set and not blank. */
    public String required(String key, String what) {
        String v = values.get(key);
        if (v == null || v.isBlank()) {
            throw bad(key, "is required (" + what + ")");
        }
        return v;
    }

    public int intValue(String key, int min, int max) {
        String raw = values.get(key);
        try {
            int v = Integer.parseInt(raw.strip());
            if (v < min || v > max) {
                throw bad(key, "must be between " + min + " and " + max);
            }
            return v;
        } catch (NumberFormatException | NullPointerException e) {
            throw bad(key, "is not a whole number");
        }
    }

    public double doubleValue(String key) {
        String raw = values.get(key);
        try {
            double v = Double.parseDouble(raw.strip());
            if (!Double.isFinite(v)) {
                throw bad(key, "must be a finite number");
            }
            return v;
        } catch (NumberFormatException | NullPointerException e) {
            throw bad(key, "is not a number");
        }
    }

    public boolean booleanValue(String key) {
        String raw = String.valueOf(values.get(key)).strip().toLowerCase(Locale.ROOT);
        switch (raw) {
            case "true":
            case "yes":
            case "on":
                return true;
            case "false":
            case "no":
            case "off":
                return false;
            default:
                throw bad(key, "must be true or false");
        }
    }

    public Duration duration(String key) {
        String raw = values.get(key);
        if (raw == null) {
            throw bad(key, "is required");
        }
        try {
            return Durations.parse(raw);
        } catch (Durations.Negative e) {
            throw bad(key, "must not be negative");
        } catch (IllegalArgumentException e) {
            throw bad(key, "is not a duration like 500ms, 30s, 5m, 1h or PT30S");
        }
    }

    /** One of {@code allowed}, compared without case; returned in upper case. */
    public String oneOf(String key, String... allowed) {
        String raw = String.valueOf(values.get(key)).strip().toUpperCase(Locale.ROOT);
        for (String a : allowed) {
            if (a.equalsIgnoreCase(raw)) {
                return a;
            }
        }
        throw bad(key, "must be one of " + String.join(", ", allowed));
    }

    /** Every key under {@code prefix}, the prefix removed: client settings passed through. */
    public Properties withPrefix(String prefix) {
        Properties p = new Properties();
        values.forEach(
                (k, v) -> {
                    if (k.startsWith(prefix)) {
                        p.setProperty(k.substring(prefix.length()), v);
                    }
                });
        return p;
    }

    /** An error naming the key, its value (unless secret) and where it came from. */
    public ConfigException bad(String key, String why) {
        String source = sources.getOrDefault(key, "default");
        String shown = isSecret(key) ? "" : " ('" + values.get(key) + "')";
        return new ConfigException(key + shown + " from " + source + " " + why);
    }

    /**
     * Whether a setting named {@code key} holds a secret: a password or passphrase, a token, a JAAS
     * login, a private key (Kafka's {@code ssl.keystore.key}, an OAuth assertion's key), a routing
     * or API key, credentials.
     */
    public static boolean isSecret(String key) {
        String k = key.toLowerCase(Locale.ROOT);
        return !k.endsWith("-file")
                && (k.contains("password")
                        || k.contains("passphrase")
                        || k.contains("jaas")
                        || k.contains("secret")
                        || k.contains("token")
                        || k.contains("credential")
                        || k.contains("private")
                        || k.contains("user.info")
                        || k.endsWith("key"));
    }

    /**
     * Those of {@code keys} set otherwise than in {@code before}, each as {@code key (old -> new)}:
     * what a running part refuses to take from a changed file. Not for secrets, whose values it
     * shows.
     */
    public List<String> changesOf(LayeredSettings before, List<String> keys) {
        return keys.stream()
                .filter(k -> !java.util.Objects.equals(values.get(k), before.values.get(k)))
                .map(k -> k + " (" + before.values.get(k) + " -> " + values.get(k) + ")")
                .toList();
    }

    /**
     * Refuses a change of {@code file} that sets any of {@code keys} otherwise than {@code before}:
     * what {@code part} takes only at a start.
     *
     * @throws ConfigException naming the file and each such key with its old and new value
     */
    public void refuseChangesOf(LayeredSettings before, List<String> keys, Path file, String part) {
        refuseChanges(changesOf(before, keys), file, part);
    }

    /**
     * Refuses a change of {@code file} when {@code changed} (each "key (old -> new)") is not empty:
     * what {@code part} takes only at a start.
     *
     * @throws ConfigException naming the file and each change
     */
    public static void refuseChanges(List<String> changed, Path file, String part) {
        if (!changed.isEmpty()) {
            throw new ConfigException(
                    file
                            + ": "
                            + String.join(", ", changed)
                            + " changed; "
                            + part
                            + " takes "
                            + (changed.size() == 1 ? "it" : "them")
                            + " only at a start");
        }
    }

    /**
     * Whether every setting, secrets read from files included, is as in {@code other}: a file
     * changed only in its comments, or in a key its part sets itself.
     */
    public boolean sameAs(LayeredSettings other) {
        return values.equals(other.values) && sections.equals(other.sections);
    }

    /** A section of the file as written (see the loader); null when the file has none. */
    public JsonNode section(String name) {
        return sections.get(name);
    }

    /** A mistake in a section: {@code <file>: <where> <why>}. */
    public ConfigException badSection(String where, String why) {
        return new ConfigException(file + ": " + where + " " + why);
    }

    /** Every setting as set, secrets included: for the service's own typed getters only. */
    public Map<String, String> describeUnmasked() {
        return java.util.Collections.unmodifiableMap(values);
    }

    /** Every setting, secrets masked: for start-up logs and {@code --print-config}. */
    public Map<String, String> describe() {
        Map<String, String> shown = new TreeMap<>();
        values.forEach((k, v) -> shown.put(k, isSecret(k) ? "****" : v));
        return shown;
    }
}
