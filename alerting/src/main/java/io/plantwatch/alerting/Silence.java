package io.plantwatch.alerting;

import io.plantwatch.model.Alert;
import io.plantwatch.model.SensorGlob;
import java.time.DayOfWeek;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A silence or a maintenance window: alerts that match are recorded, not notified, while it is in
 * force. Matchers work as a route's (sensor globs, exact label values). In force between {@code
 * startsAt} and {@code endsAt}; a recurring window (planned shutdowns: every Sunday from 06:00 for
 * 8 hours) is in force on its days from its local time for its duration, within that range.
 *
 * @param recurring null for a one-off silence
 */
public record Silence(
        String id,
        List<SensorGlob> sensors,
        Map<String, List<String>> labels,
        Instant startsAt,
        Instant endsAt,
        Recurring recurring,
        String createdBy,
        String comment) {

    /** Every week on {@code days}, from {@code start} local time in {@code zone}, for a while. */
    public record Recurring(Set<DayOfWeek> days, LocalTime start, Duration duration, ZoneId zone) {
        boolean covers(Instant t) {
            ZonedDateTime local = t.atZone(zone);
            // A window may run past midnight: look at today's and the previous days' starts.
            for (int back = 0; back <= duration.toDays() + 1; back++) {
                ZonedDateTime day = local.minusDays(back);
                if (!days.contains(day.getDayOfWeek())) {
                    continue;
                }
                ZonedDateTime from = day.toLocalDate().atTime(start).atZone(zone);
                if (!t.isBefore(from.toInstant()) && t.isBefore(from.plus(duration).toInstant())) {
                    return true;
                }
            }
            return false;
        }
    }

    public Silence {
        sensors = List.copyOf(sensors);
        labels = Map.copyOf(labels);
        if (!endsAt.isAfter(startsAt)) {
            throw new IllegalArgumentException("a silence must end after it starts");
        }
        if (sensors.isEmpty() && labels.isEmpty()) {
            throw new IllegalArgumentException(
                    "a silence needs at least one matcher; it would mute the whole plant");
        }
    }

    /** True when {@code a} matches and the silence is in force at {@code now}. */
    public boolean mutes(Alert a, Instant now) {
        if (now.isBefore(startsAt) || !now.isBefore(endsAt)) {
            return false;
        }
        if (recurring != null && !recurring.covers(now)) {
            return false;
        }
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
}
