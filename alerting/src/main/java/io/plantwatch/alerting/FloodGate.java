package io.plantwatch.alerting;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Flood control per receiver, as ISA-18.2 asks of an alarm system: at most {@code limit}
 * notifications in any {@code windowMillis} (10 minutes by default). The first notification over
 * the limit becomes one summary saying that a flood is on and where to see the rest, carrying that
 * notification's alerts; the ones after it in the same window are held back and counted. Held
 * notifications are not lost: their alerts stay in the alert store and its API. A CRITICAL alert
 * its receiver has not had yet always goes, counted in the window.
 */
public final class FloodGate {
    private final int limit;
    private final long windowMillis;
    private final Map<String, Deque<Long>> sent = new HashMap<>();
    private final Map<String, Long> summarySentAt = new HashMap<>();
    // Read by the metrics endpoint's thread while the dispatcher admits.
    private final Map<String, AtomicLong> held = new ConcurrentHashMap<>();

    public FloodGate(int limit, long windowMillis) {
        if (limit < 1) {
            throw new IllegalArgumentException("the flood limit must be at least 1, got " + limit);
        }
        this.limit = limit;
        this.windowMillis = windowMillis;
    }

    /**
     * What to send for {@code n} at {@code now}: itself, a summary in its place, or nothing. {@code
     * urgent} (a CRITICAL alert its receiver has not been sent yet) always goes, counted in the
     * window: flood suppression is there so the alarms that matter are seen (ISA-18.2), and a storm
     * of warnings must not hold back the one that says a press is on fire. Its group's reminders
     * and later changes wait their turn like any other.
     */
    public List<Notification> admit(Notification n, long now, boolean urgent) {
        Deque<Long> times = sent.computeIfAbsent(n.receiver(), r -> new ArrayDeque<>());
        while (!times.isEmpty() && times.peekFirst() <= now - windowMillis) {
            times.pollFirst();
        }
        if (times.size() < limit || urgent) {
            times.addLast(now);
            return List.of(n);
        }
        Long summaryAt = summarySentAt.get(n.receiver());
        if (summaryAt == null || summaryAt <= now - windowMillis) {
            summarySentAt.put(n.receiver(), now);
            return List.of(
                    new Notification(
                            n.id() + "-flood",
                            n.receiver(),
                            n.groupKey(),
                            Notification.Status.SUMMARY,
                            n.alerts()));
        }
        held.computeIfAbsent(n.receiver(), r -> new AtomicLong()).incrementAndGet();
        return List.of();
    }

    /**
     * A notification admitted at {@code admittedAt} that did not reach its receiver: it does not
     * count towards the limit, so its retry, or the next notification, is not held for it.
     */
    public void refund(Notification n, long admittedAt) {
        if (n.status() == Notification.Status.SUMMARY) {
            summarySentAt.remove(n.receiver(), admittedAt);
            return;
        }
        Deque<Long> times = sent.get(n.receiver());
        if (times != null) {
            times.removeLastOccurrence(admittedAt);
        }
    }

    /** Notifications held back for {@code receiver} since the start, for the metrics. */
    public long held(String receiver) {
        AtomicLong n = held.get(receiver);
        return n == null ? 0 : n.get();
    }
}
