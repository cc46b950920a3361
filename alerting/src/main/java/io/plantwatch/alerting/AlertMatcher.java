package io.plantwatch.alerting;

import com.fasterxml.jackson.databind.JsonNode;
import io.plantwatch.model.Alert;
import io.plantwatch.model.AlertKind;
import io.plantwatch.model.ConfigException;
import io.plantwatch.model.SensorGlob;
import io.plantwatch.model.SensorId;
import io.plantwatch.model.Severity;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Which alerts a route, a silence or a latching rule means: sensor-id globs (any may match) and
 * exact label values (every listed label must have one of its values). Empty matches everything.
 */
public record AlertMatcher(List<SensorGlob> sensors, Map<String, List<String>> labels) {

    public AlertMatcher {
        sensors = List.copyOf(sensors);
        labels = Map.copyOf(labels);
    }

    public boolean isEmpty() {
        return sensors.isEmpty() && labels.isEmpty();
    }

    public boolean matches(Alert a) {
        return matches(sensors, labels, a);
    }

    static boolean matches(List<SensorGlob> sensors, Map<String, List<String>> labels, Alert a) {
        if (!sensors.isEmpty() && sensors.stream().noneMatch(g -> g.matches(a.sensorId().id()))) {
            return false;
        }
        for (Map.Entry<String, List<String>> e : labels.entrySet()) {
            if (!e.getValue().contains(Route.label(a, e.getKey()))) {
                return false;
            }
        }
        return true;
    }

    /**
     * Reads {@code sensors} and {@code match} of {@code node}; a mistake is one line naming {@code
     * source}, {@code path} and the key.
     */
    static AlertMatcher parse(JsonNode node, String source, String path) {
        List<SensorGlob> sensors = new ArrayList<>();
        for (String glob : strings(node.get("sensors"), source, path, "sensors")) {
            try {
                sensors.add(new SensorGlob(glob));
            } catch (IllegalArgumentException e) {
                throw bad(source, path, "sensors", e.getMessage());
            }
        }
        Map<String, List<String>> labels = new LinkedHashMap<>();
        JsonNode match = node.get("match");
        if (match != null) {
            if (!match.isObject()) {
                throw bad(source, path, "match", "must be a map of label to values");
            }
            for (Iterator<String> it = match.fieldNames(); it.hasNext(); ) {
                String label = it.next();
                if (!Route.LABELS.contains(label)) {
                    throw bad(
                            source,
                            path,
                            "match." + label,
                            "is not a label; use one of " + Route.LABELS);
                }
                List<String> values = new ArrayList<>();
                for (String v : strings(match.get(label), source, path, "match." + label)) {
                    values.add(value(label, v, source, path));
                }
                labels.put(label, values);
            }
        }
        return new AlertMatcher(sensors, labels);
    }

    /**
     * A label value as alerts carry it. A value no alert can have would make the matcher match
     * nothing without a word (a silence muting nothing, a route never taken), so it is refused.
     * Severity and kind are enums; they are taken in any case ({@code critical}), as people write
     * them both ways.
     */
    private static String value(String label, String v, String source, String path) {
        String key = "match." + label;
        switch (label) {
            case "severity" -> {
                return constant(Severity.class, v, source, path, key, "a severity");
            }
            case "kind" -> {
                return constant(AlertKind.class, v, source, path, key, "an alert kind");
            }
            case "site", "area", "line", "machine", "sensor" -> {
                String[] levels = {"site", "area", "line", "machine", "sensor"};
                String[] id = {"s", "a", "l", "m", "x"};
                id[List.of(levels).indexOf(label)] = v;
                try {
                    new SensorId(id[0], id[1], id[2], id[3], id[4]);
                } catch (IllegalArgumentException e) {
                    throw bad(
                            source,
                            path,
                            key,
                            "'"
                                    + v
                                    + "' can match no alert ("
                                    + e.getMessage()
                                    + "); a label is one level of the sensor id"
                                    + (v.contains("/")
                                            ? ", use sensors: [...] for a whole id"
                                            : ""));
                }
                return v;
            }
            default -> {
                return v;
            }
        }
    }

    private static <E extends Enum<E>> String constant(
            Class<E> type, String v, String source, String path, String key, String what) {
        for (E e : type.getEnumConstants()) {
            if (e.name().equalsIgnoreCase(v.trim())) {
                return e.name();
            }
        }
        throw bad(
                source,
                path,
                key,
                "'"
                        + v
                        + "' is not "
                        + what
                        + "; use one of "
                        + Arrays.toString(type.getEnumConstants()));
    }

    static List<String> strings(JsonNode n, String source, String path, String key) {
        List<String> out = new ArrayList<>();
        if (n == null) {
            return out;
        }
        if (n.isArray()) {
            n.forEach(v -> out.add(v.asText()));
        } else if (n.isValueNode()) {
            out.add(n.asText());
        } else {
            throw bad(source, path, key, "must be a value or a list of values");
        }
        return out;
    }

    static ConfigException bad(String source, String path, String key, String why) {
        return new ConfigException(source + ": " + path + "." + key + " " + why);
    }
}
