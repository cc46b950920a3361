package io.plantwatch.alerting;

import com.fasterxml.jackson.databind.JsonNode;
import io.plantwatch.model.ConfigException;
import io.plantwatch.model.Durations;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * Reads the {@code route:} tree of config/alerting.yaml. Every mistake is one error naming the
 * file, the route's path in the tree and the key, so a bad tree fails at start, not at 3 a.m.
 *
 * <pre>
 * route:
 *   receiver: shift-lead            # the default route
 *   group-wait: 30s
 *   routes:
 *     - match: {severity: [CRITICAL]}
 *       receiver: pager
 *       continue: true
 *     - sensors: ["dresden/press-shop/**"]
 *       receiver: press-shop-andon
 * </pre>
 */
public final class Routing {
    private static final Set<String> KEYS =
            Set.of(
                    "receiver",
                    "sensors",
                    "match",
                    "continue",
                    "group-wait",
                    "group-interval",
                    "repeat-interval",
                    "routes");

    private Routing() {}

    /**
     * @param node the {@code route:} node
     * @param receivers the receiver names that exist
     * @param source the file, for errors
     */
    public static Route parse(JsonNode node, Set<String> receivers, String source) {
        if (node == null || !node.isObject()) {
            throw new ConfigException(
                    source + ": route: is missing; it names the default receiver");
        }
        Route root =
                parse(
                        node,
                        "route",
                        null,
                        Duration.ofSeconds(30),
                        Duration.ofMinutes(5),
                        Duration.ofHours(4),
                        receivers,
                        source);
        if (root.receiver() == null) {
            throw new ConfigException(
                    source + ": route.receiver is missing; the root names the default receiver");
        }
        if (!root.sensors().isEmpty() || !root.labels().isEmpty()) {
            throw new ConfigException(
                    source + ": route: the root matches every alert; put matchers on its routes");
        }
        return root;
    }

    private static Route parse(
            JsonNode node,
            String path,
            String inheritedReceiver,
            Duration inheritedWait,
            Duration inheritedInterval,
            Duration inheritedRepeat,
            Set<String> receivers,
            String source) {
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (!KEYS.contains(key)) {
                throw bad(source, path, key, "is not a route setting; use one of " + KEYS);
            }
        }
        String receiver = inheritedReceiver;
        if (node.has("receiver")) {
            receiver = node.get("receiver").asText();
            if (!receivers.contains(receiver)) {
                throw bad(
                        source,
                        path,
                        "receiver",
                        "names '" + receiver + "', which is not among the receivers " + receivers);
            }
        }
        AlertMatcher matcher = AlertMatcher.parse(node, source, path);
        Duration wait =
                duration(
                        node,
                        "group-wait",
                        inheritedWait,
                        Duration.ZERO,
                        "0 (a new group is notified at once) or more",
                        source,
                        path);
        Duration interval =
                duration(
                        node,
                        "group-interval",
                        inheritedInterval,
                        MIN_GROUP_INTERVAL,
                        "1ms or more",
                        source,
                        path);
        Duration repeat =
                duration(
                        node,
                        "repeat-interval",
                        inheritedRepeat,
                        MIN_REPEAT_INTERVAL,
                        "1m or more",
                        source,
                        path);
        List<Route> children = new ArrayList<>();
        JsonNode routes = node.get("routes");
        if (routes != null) {
            if (!routes.isArray()) {
                throw bad(source, path, "routes", "must be a list of routes");
            }
            for (int i = 0; i < routes.size(); i++) {
                children.add(
                        parse(
                                routes.get(i),
                                path + ".routes[" + i + "]",
                                receiver,
                                wait,
                                interval,
                                repeat,
                                receivers,
                                source));
            }
        }
        if (!path.equals("route") && matcher.isEmpty()) {
            throw bad(
                    source,
                    path,
                    "match",
                    "is missing: a route without matchers hides its siblings");
        }
        return new Route(
                receiver,
                matcher.sensors(),
                matcher.labels(),
                node.path("continue").asBoolean(false),
                wait,
                interval,
                repeat,
                children);
    }

    /** A group's changes wait at least this long after its last notification. */
    static final Duration MIN_GROUP_INTERVAL = Duration.ofMillis(1);

    /**
     * Reminders of open alerts come at most once a minute: at 0 the dispatcher re-sent every open
     * group on every tick, and reminders count against the flood limit, so they would crowd out
     * notifications of new alerts.
     */
    static final Duration MIN_REPEAT_INTERVAL = Duration.ofMinutes(1);

    /**
     * {@code node.key}, at least {@code least} ({@code allowed} says so in the error); {@code
     * inherited} when absent.
     */
    private static Duration duration(
            JsonNode node,
            String key,
            Duration inherited,
            Duration least,
            String allowed,
            String source,
            String path) {
        if (!node.has(key)) {
            return inherited;
        }
        String text = node.get(key).asText();
        Duration d;
        try {
            d = Durations.parse(text);
        } catch (IllegalArgumentException e) {
            throw bad(source, path, key, e.getMessage());
        }
        if (d.compareTo(least) < 0) {
            throw bad(source, path, key, text + " is out of range; allowed: " + allowed);
        }
        return d;
    }

    private static ConfigException bad(String source, String path, String key, String why) {
        return AlertMatcher.bad(source, path, key, why);
    }
}
