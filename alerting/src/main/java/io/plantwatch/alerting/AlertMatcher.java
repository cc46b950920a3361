package io.plantwatch.alerting;

import com.fasterxml.jackson.databind.JsonNode;
import io.plantwatch.model.Alert;
import io.plantwatch.model.ConfigException;
import io.plantwatch.model.SensorGlob;
import java.util.ArrayList;
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
                labels.put(label, strings(match.get(label), source, path, "match." + label));
            }
        }
        return new AlertMatcher(sensors, labels);
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
