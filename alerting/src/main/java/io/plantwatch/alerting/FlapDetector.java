package io.plantwatch.alerting;

import io.plantwatch.model.Alert;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;

/**
 * Chattering: an alert (one sensor and rule) that opens and resolves more than {@code maxChanges}
 * times within {@code windowMillis} is flapping. It is notified once as such, and its transitions
 * are not notified while it flaps; it calms down after a whole window without a change.
 */
public final class FlapDetector {
    private final int maxChanges;
    private final long windowMillis;
    private final Map<String, Deque<Long>> changes = new HashMap<>();
    private final Map<String, Boolean> flapping = new HashMap<>();

    /** What to do with one transition. */
    public enum Verdict {
        NOTIFY,
        STARTED_FLAPPING,
        SUPPRESS
    }

    public FlapDetector(int maxChanges, long windowMillis) {
        this.maxChanges = maxChanges;
        this.windowMillis = windowMillis;
    }

    public Verdict onTransition(Alert a, long now) {
        String key = a.sensorId().id() + "|" + a.rule();
        Deque<Long> times = changes.computeIfAbsent(key, k -> new ArrayDeque<>());
        boolean wasFlapping = flapping.getOrDefault(key, false);
        if (wasFlapping && !times.isEmpty() && times.peekLast() <= now - windowMillis) {
            flapping.remove(key);
            wasFlapping = false;
            times.clear();
        }
        times.addLast(now);
        while (times.peekFirst() <= now - windowMillis) {
            times.pollFirst();
        }
        if (wasFlapping) {
            return Verdict.SUPPRESS;
        }
        if (times.size() > maxChanges) {
            flapping.put(key, true);
            return Verdict.STARTED_FLAPPING;
        }
        return Verdict.NOTIFY;
    }

    public boolean isFlapping(Alert a) {
        return flapping.getOrDefault(a.sensorId().id() + "|" + a.rule(), false);
    }
}
