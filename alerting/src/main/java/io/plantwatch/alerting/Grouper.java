package io.plantwatch.alerting;

import io.plantwatch.model.Alert;
import io.plantwatch.model.AlertState;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Turns a stream of alert events into few notifications, as Alertmanager does: alerts are grouped
 * per receiver and machine; a new group waits {@code group-wait} for the rest of a burst; changes
 * to a group that was notified wait {@code group-interval}; a group with alerts still open is
 * notified again every {@code repeat-interval}, leaving out the ones the dispatcher says are muted
 * (silenced or acknowledged); a resolved alert is notified once, then leaves its group. Time is
 * passed in, so the behaviour is exact and testable; the dispatcher calls {@link #due(long,
 * java.util.function.Predicate, java.util.function.Consumer)} at each round of the service.
 */
public final class Grouper {
    private final Map<String, Group> groups = new LinkedHashMap<>();
    // A group whose last alert resolved is gone; a notification of it its receiver did not take
    // brings it back, on the route it had. Receivers times machines, so it stays small.
    private final Map<String, Route> routeOfGroup = new HashMap<>();

    private static final class Group {
        final String key;
        final String receiver;
        final Route route;
        final Map<String, Alert> alerts = new LinkedHashMap<>();
        long nextFlush;
        long lastFlush = -1;
        boolean changed;

        Group(String key, String receiver, Route route) {
            this.key = key;
            this.receiver = receiver;
            this.route = route;
        }
    }

    /** Applies one alert event to every route that takes it. */
    public void accept(Alert a, List<Route> routes, long now) {
        for (Route route : routes) {
            String key = groupKey(route.receiver(), a);
            Group g = groups.computeIfAbsent(key, k -> new Group(k, route.receiver(), route));
            routeOfGroup.putIfAbsent(key, route);
            Alert before = g.alerts.put(a.alertId(), a);
            if (before != null && before.state() == a.state()) {
                continue; // the same state again: nothing new to tell
            }
            if (g.lastFlush < 0) {
                if (!g.changed) {
                    g.nextFlush = now + millis(route.groupWait());
                }
            } else if (!g.changed) {
                g.nextFlush = Math.max(now, g.lastFlush + millis(route.groupInterval()));
            }
            g.changed = true;
        }
    }

    /**
     * A notification its receiver did not take (it refused it, gave up retrying, or failed): its
     * alerts still owed to the receiver go back into their group, due again a {@code
     * group-interval} from {@code now}, or a {@code repeat-interval} after a refusal, which no
     * retry soon would change. So a resolution that was flushed out of its group is told once the
     * receiver answers again, as Alertmanager keeps resolved alerts in a group until a flush of it
     * succeeds.
     *
     * @param owed whether the receiver still waits for this alert state: not when a later state
     *     replaced it, a later notification carried it, or it was shelved since
     */
    public void undelivered(Notification n, long now, java.util.function.Predicate<Alert> owed) {
        Route route = routeOfGroup.get(n.groupKey());
        if (route == null) {
            return; // never a group of this grouper's
        }
        Group g = groups.computeIfAbsent(n.groupKey(), k -> new Group(k, n.receiver(), route));
        boolean back = false;
        for (Alert a : n.alerts()) {
            Alert held = g.alerts.get(a.alertId());
            if (owed.test(a) && (held == null || held.state() == a.state())) {
                g.alerts.put(a.alertId(), a);
                back = true;
            }
        }
        if (!back) {
            if (g.alerts.isEmpty()) {
                groups.remove(g.key);
            }
            return;
        }
        long retry = now + millis(route.groupInterval());
        if (g.lastFlush < 0) {
            g.lastFlush = now;
        }
        if (!g.changed || retry < g.nextFlush) {
            g.nextFlush = retry;
        }
        g.changed = true;
    }

    /**
     * Takes an alert out of every group (shelved, silenced before it was told, flapping, closed by
     * hand unheard): nothing more is said of it until it is back.
     */
    public void withdraw(String alertId) {
        groups.values().removeIf(g -> g.alerts.remove(alertId) != null && g.alerts.isEmpty());
    }

    public int size() {
        return groups.size();
    }

    /** The notifications due at {@code now}, in the order their groups became due. */
    public List<Notification> due(long now) {
        return due(now, a -> false, a -> {});
    }

    /**
     * As {@link #due(long)}, leaving out the open alerts {@code muted} (by a silence, or an
     * acknowledgement): they stay in their groups, to be reminded of once it ends, and a group with
     * nothing else to say is not notified. A resolution is never left out: its receivers were told
     * it opened.
     *
     * @param leftOut called with each alert left out, to note those never told
     */
    public List<Notification> due(
            long now,
            java.util.function.Predicate<Alert> muted,
            java.util.function.Consumer<Alert> leftOut) {
        List<Group> ready = new ArrayList<>();
        for (Group g : groups.values()) {
            boolean repeat =
                    !g.changed
                            && g.lastFlush >= 0
                            && anyOpen(g)
                            && now >= g.lastFlush + millis(g.route.repeatInterval());
            if ((g.changed && now >= g.nextFlush) || repeat) {
                ready.add(g);
            }
        }
        ready.sort(Comparator.comparingLong(g -> g.changed ? g.nextFlush : g.lastFlush));
        List<Notification> out = new ArrayList<>();
        for (Group g : ready) {
            List<Alert> alerts = new ArrayList<>();
            boolean open = false;
            for (Alert a : g.alerts.values()) {
                if (a.state() == AlertState.RESOLVED) {
                    alerts.add(a);
                } else if (!muted.test(a)) {
                    alerts.add(a);
                    open = true;
                } else {
                    leftOut.accept(a);
                }
            }
            if (!alerts.isEmpty()) {
                Notification.Status status =
                        open ? Notification.Status.FIRING : Notification.Status.RESOLVED;
                out.add(
                        new Notification(
                                id(g.key, alerts, now), g.receiver, g.key, status, alerts));
            }
            g.alerts.values().removeIf(a -> a.state() == AlertState.RESOLVED);
            g.lastFlush = now;
            g.changed = false;
            if (g.alerts.isEmpty()) {
                groups.remove(g.key);
            }
        }
        return out;
    }

    /** The earliest time a notification can become due, for the service's timer; -1 if none. */
    public long nextDue() {
        long next = -1;
        for (Group g : groups.values()) {
            long t =
                    g.changed
                            ? g.nextFlush
                            : anyOpen(g) ? g.lastFlush + millis(g.route.repeatInterval()) : -1;
            if (t >= 0 && (next < 0 || t < next)) {
                next = t;
            }
        }
        return next;
    }

    static String groupKey(String receiver, Alert a) {
        var s = a.sensorId();
        return receiver + "/" + s.site() + "/" + s.area() + "/" + s.line() + "/" + s.machine();
    }

    private static boolean anyOpen(Group g) {
        return g.alerts.values().stream().anyMatch(a -> a.state() != AlertState.RESOLVED);
    }

    /** Name-based: the same group, alert states and time give the same id after a restart. */
    private static String id(String key, List<Alert> alerts, long now) {
        StringBuilder b = new StringBuilder(key).append('|').append(now);
        alerts.forEach(a -> b.append('|').append(a.alertId()).append(':').append(a.state()));
        return UUID.nameUUIDFromBytes(
                        b.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8))
                .toString();
    }

    private static long millis(Duration d) {
        return d.toMillis();
    }
}
