package io.plantwatch.alerting;

import io.plantwatch.model.Alert;
import io.plantwatch.model.SensorGlob;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One node of the routing tree, as in Prometheus Alertmanager: an alert enters at the root and
 * descends into the first child whose matchers all hold (into every matching child while a child
 * says {@code continue}); where no child matches, the node it reached takes it. The root matches
 * everything, so its receiver is the default route.
 *
 * @param receiver the receiver's name; a child without one inherits its parent's
 * @param sensors sensor-id globs (site/area/line/machine/sensor, e.g. {@code
 *     dresden/press-shop/**}), any of which must match; empty matches every sensor
 * @param labels exact values per label ({@code severity}, {@code kind}, {@code rule}, or a level:
 *     {@code site}, {@code area}, {@code line}, {@code machine}, {@code sensor}); any listed value
 *     matches
 * @param continueMatching after this route matched, later siblings are tried too
 * @param groupWait how long a new group waits for more alerts before its first notification
 * @param groupInterval how long before a group's changes are notified again
 * @param repeatInterval how long before a still-open group is notified again
 */
public record Route(
        String receiver,
        List<SensorGlob> sensors,
        Map<String, List<String>> labels,
        boolean continueMatching,
        Duration groupWait,
        Duration groupInterval,
        Duration repeatInterval,
        List<Route> routes) {

    /** The labels a route can match on, besides sensor globs. */
    public static final List<String> LABELS =
            List.of("site", "area", "line", "machine", "sensor", "severity", "kind", "rule");

    public Route {
        sensors = List.copyOf(sensors);
        labels = Map.copyOf(labels);
        routes = List.copyOf(routes);
    }

    boolean matches(Alert a) {
        return AlertMatcher.matches(sensors, labels, a);
    }

    static String label(Alert a, String name) {
        return switch (name) {
            case "site" -> a.sensorId().site();
            case "area" -> a.sensorId().area();
            case "line" -> a.sensorId().line();
            case "machine" -> a.sensorId().machine();
            case "sensor" -> a.sensorId().sensor();
            case "severity" -> a.severity().name();
            case "kind" -> a.kind().name();
            case "rule" -> a.rule();
            default -> throw new IllegalArgumentException("no label " + name);
        };
    }

    /**
     * The routes that take {@code a}: leaves of the tree it reached, each with the settings it
     * inherited. Never empty for the root.
     */
    public List<Route> resolve(Alert a) {
        List<Route> out = new ArrayList<>();
        for (Route child : routes) {
            if (child.matches(a)) {
                out.addAll(child.resolve(a));
                if (!child.continueMatching()) {
                    break;
                }
            }
        }
        if (out.isEmpty()) {
            out.add(this);
        }
        return out;
    }
}
