package io.plantwatch.alerting;

import com.fasterxml.jackson.databind.JsonNode;
import io.plantwatch.model.Alert;
import io.plantwatch.model.ConfigException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One {@code inhibit:} rule of config/alerting.yaml, as Alertmanager's {@code inhibit_rules}: while
 * an alert matching {@code source} fires (its condition holds: open, acknowledged, shelved or
 * silenced, not latched), alerts matching {@code target} with the same values of the {@code equal}
 * labels are not told. A plant's use: a CRITICAL alert on a machine holds back its WARNINGs, so the
 * person called to it reads one page, not five.
 *
 * <p>A level of the sensor id in {@code equal} means the whole id down to that level: two machines
 * of one name on two lines are two machines. An alert matching both sides of a rule is held back
 * only by sources that do not match its target side, as Alertmanager does, so alerts of one kind
 * never hold each other back and nobody is told of either.
 */
public record Inhibition(AlertMatcher source, AlertMatcher target, List<String> equal) {
    private static final List<String> LEVELS = List.of("site", "area", "line", "machine", "sensor");

    public Inhibition {
        equal = List.copyOf(equal);
    }

    /** The values of {@code equal} for {@code a}, a level standing for the id down to it. */
    String key(Alert a) {
        StringBuilder k = new StringBuilder();
        for (String label : equal) {
            int level = LEVELS.indexOf(label);
            if (level >= 0) {
                String[] parts = a.sensorId().id().split("/", -1);
                k.append(String.join("/", java.util.Arrays.copyOf(parts, level + 1)));
            } else {
                k.append(Route.label(a, label));
            }
            k.append('\u0000');
        }
        return k.toString();
    }

    /**
     * Counts one firing alert in (or, {@code delta} -1, out of) {@code holding}, this rule's index
     * of the keys under which firing sources hold back its targets: {@code [0]} every source,
     * {@code [1]} those that do not match the target side (the only ones that hold back a target
     * which is a source too). Kept as alerts change, so a check is a lookup.
     */
    void count(Alert firing, int delta, List<Map<String, Integer>> holding) {
        if (!source.matches(firing)) {
            return;
        }
        String k = key(firing);
        holding.get(0).merge(k, delta, Inhibition::sum);
        if (!target.matches(firing)) {
            holding.get(1).merge(k, delta, Inhibition::sum);
        }
    }

    /** A count that reaches 0 leaves the index; one below (a change never counted in) too. */
    private static Integer sum(Integer x, Integer y) {
        int n = x + y;
        return n <= 0 ? null : n;
    }

    /** An empty index for {@link #count}. */
    static List<Map<String, Integer>> emptyIndex() {
        return List.of(new HashMap<>(), new HashMap<>());
    }

    /** Whether {@code a} is held back by this rule; an alert never holds itself back. */
    boolean holdsBack(Alert a, List<Map<String, Integer>> holding) {
        if (!target.matches(a)) {
            return false;
        }
        String k = key(a);
        return (source.matches(a) ? holding.get(1) : holding.get(0)).containsKey(k);
    }

    /** Reads the {@code inhibit:} list; each mistake is one line naming the rule and the key. */
    static List<Inhibition> parse(JsonNode list, String source) {
        List<Inhibition> out = new ArrayList<>();
        if (list == null || list.isMissingNode() || list.isNull()) {
            return out;
        }
        if (!list.isArray()) {
            throw new ConfigException(source + ": inhibit must be a list");
        }
        for (int i = 0; i < list.size(); i++) {
            String path = "inhibit[" + i + "]";
            JsonNode rule = list.get(i);
            if (!rule.isObject()) {
                throw new ConfigException(
                        source + ": " + path + " must be a map of source, target and equal");
            }
            for (var it = rule.fieldNames(); it.hasNext(); ) {
                String key = it.next();
                if (!Set.of("source", "target", "equal").contains(key)) {
                    throw AlertMatcher.bad(
                            source, path, key, "is not an inhibit key; use source, target, equal");
                }
            }
            AlertMatcher from = side(rule, "source", source, path);
            AlertMatcher to = side(rule, "target", source, path);
            JsonNode equalNode = rule.get("equal");
            List<String> equal =
                    equalNode == null || equalNode.isNull()
                            ? List.of()
                            : AlertMatcher.strings(equalNode, source, path, "equal");
            for (String label : equal) {
                if (!Route.LABELS.contains(label)) {
                    throw AlertMatcher.bad(
                            source,
                            path,
                            "equal",
                            "'" + label + "' is not a label; use some of " + Route.LABELS);
                }
            }
            if (equal.isEmpty()) {
                // One open alert anywhere in the plant would hold back every target: far more
                // often a forgotten line than a wish.
                throw AlertMatcher.bad(
                        source,
                        path,
                        "equal",
                        "is missing; name the labels source and target share (say [machine])");
            }
            out.add(new Inhibition(from, to, equal));
        }
        return out;
    }

    private static AlertMatcher side(JsonNode rule, String side, String source, String path) {
        JsonNode n = rule.get(side);
        if (n == null || !n.isObject()) {
            throw AlertMatcher.bad(
                    source, path, side, "is missing; it takes sensors and match, as a route");
        }
        for (var it = n.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (!key.equals("sensors") && !key.equals("match")) {
                throw AlertMatcher.bad(
                        source, path + "." + side, key, "is not a matcher key; use sensors, match");
            }
        }
        return AlertMatcher.parse(n, source, path + "." + side);
    }
}
