package io.plantwatch.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The MQTT namespace: a prefix (default {@code plant}) and a template of topic levels below it
 * (default {@code {site}/{area}/{line}/{machine}/{sensor}}). Placeholders may come in any order and
 * literal levels may sit between them; a placeholder the template omits takes the value {@value
 * #ABSENT_LEVEL}. Immutable and thread-safe.
 */
public final class TopicTemplate {

    public static final String DEFAULT_PREFIX = "plant";
    public static final String DEFAULT_TEMPLATE = "{site}/{area}/{line}/{machine}/{sensor}";
    public static final String ABSENT_LEVEL = "default";

    private static final Set<String> PLACEHOLDERS =
            Set.of("site", "area", "line", "machine", "sensor");
    private static final TopicTemplate DEFAULT =
            new TopicTemplate(DEFAULT_PREFIX, DEFAULT_TEMPLATE);

    private final String prefix;
    private final String template;
    private final String[] prefixLevels;

    /** Per level below the prefix: a placeholder name, or null for a literal. */
    private final String[] placeholders;

    private final String[] literals;

    /**
     * @throws IllegalArgumentException naming what is wrong with the template
     */
    public TopicTemplate(String prefix, String template) {
        this.prefix = Objects.requireNonNull(prefix, "prefix");
        this.template = Objects.requireNonNull(template, "template");
        this.prefixLevels = prefix.isEmpty() ? new String[0] : prefix.split("/", -1);
        for (String level : prefixLevels) {
            String problem = SensorId.levelProblem("prefix level", level);
            if (problem != null) {
                throw new IllegalArgumentException("topic prefix '" + prefix + "': " + problem);
            }
        }
        String[] levels = template.split("/", -1);
        placeholders = new String[levels.length];
        literals = new String[levels.length];
        List<String> seen = new ArrayList<>();
        for (int i = 0; i < levels.length; i++) {
            String level = levels[i];
            if (level.startsWith("{") && level.endsWith("}")) {
                String name = level.substring(1, level.length() - 1);
                if (!PLACEHOLDERS.contains(name)) {
                    throw new IllegalArgumentException(
                            "topic template '"
                                    + template
                                    + "': unknown placeholder {"
                                    + name
                                    + "}, use {site}, {area}, {line}, {machine} or {sensor}");
                }
                if (seen.contains(name)) {
                    throw new IllegalArgumentException(
                            "topic template '" + template + "': {" + name + "} appears twice");
                }
                seen.add(name);
                placeholders[i] = name;
            } else {
                String problem = SensorId.levelProblem("literal level", level);
                if (problem != null) {
                    throw new IllegalArgumentException(
                            "topic template '" + template + "': " + problem);
                }
                literals[i] = level;
            }
        }
        if (!seen.contains("sensor")) {
            throw new IllegalArgumentException(
                    "topic template '" + template + "' must contain {sensor}");
        }
    }

    public static TopicTemplate defaults() {
        return DEFAULT;
    }

    public String prefix() {
        return prefix;
    }

    public String template() {
        return template;
    }

    /** The MQTT subscription filter that matches every topic of this namespace. */
    public String subscriptionFilter() {
        return prefix.isEmpty() ? "#" : prefix + "/#";
    }

    /** The topic a sensor publishes on. */
    public String topicFor(SensorId id) {
        StringBuilder b = new StringBuilder(64);
        if (!prefix.isEmpty()) {
            b.append(prefix).append('/');
        }
        for (int i = 0; i < placeholders.length; i++) {
            if (i > 0) {
                b.append('/');
            }
            b.append(placeholders[i] == null ? literals[i] : part(id, placeholders[i]));
        }
        return b.toString();
    }

    /** The sensor a topic belongs to, or why the topic is outside the namespace. */
    public Parsed<SensorId> parse(String topic) {
        if (topic == null) {
            return Parsed.rejected(RejectReason.TOPIC_MISMATCH, "no topic");
        }
        String[] levels = topic.split("/", -1);
        int expected = prefixLevels.length + placeholders.length;
        if (levels.length != expected) {
            return mismatch(topic, "has " + levels.length + " levels, expected " + expected);
        }
        for (int i = 0; i < prefixLevels.length; i++) {
            if (!prefixLevels[i].equals(levels[i])) {
                return mismatch(topic, "does not start with '" + prefix + "/'");
            }
        }
        String site = ABSENT_LEVEL;
        String area = ABSENT_LEVEL;
        String line = ABSENT_LEVEL;
        String machine = ABSENT_LEVEL;
        String sensor = null;
        for (int i = 0; i < placeholders.length; i++) {
            String level = levels[prefixLevels.length + i];
            if (placeholders[i] == null) {
                if (!literals[i].equals(level)) {
                    return mismatch(topic, "level " + (i + 1) + " is not '" + literals[i] + "'");
                }
                continue;
            }
            String problem = SensorId.levelProblem(placeholders[i], level);
            if (problem != null) {
                return mismatch(topic, problem);
            }
            switch (placeholders[i]) {
                case "site" -> site = level;
                case "area" -> area = level;
                case "line" -> line = level;
                case "machine" -> machine = level;
                default -> sensor = level;
            }
        }
        return Parsed.ok(new SensorId(site, area, line, machine, sensor));
    }

    private Parsed<SensorId> mismatch(String topic, String why) {
        return Parsed.rejected(
                RejectReason.TOPIC_MISMATCH,
                "topic '"
                        + SensorId.printable(topic)
                        + "' "
                        + why
                        + " (namespace "
                        + (prefix.isEmpty() ? "" : prefix + "/")
                        + template
                        + ")");
    }

    private static String part(SensorId id, String placeholder) {
        return switch (placeholder) {
            case "site" -> id.site();
            case "area" -> id.area();
            case "line" -> id.line();
            case "machine" -> id.machine();
            default -> id.sensor();
        };
    }

    @Override
    public String toString() {
        return (prefix.isEmpty() ? "" : prefix + "/") + template;
    }
}
