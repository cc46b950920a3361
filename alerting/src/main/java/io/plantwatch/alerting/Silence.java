package io.plantwatch.alerting;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.plantwatch.model.Alert;
import io.plantwatch.model.Durations;
import io.plantwatch.model.SensorGlob;
import java.time.DayOfWeek;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

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
        return AlertMatcher.matches(sensors, labels, a);
    }

    /** The same silence, ending at {@code at} (an expired silence stays listed). */
    public Silence expiredAt(Instant at) {
        Instant end = at.isBefore(endsAt) ? at : endsAt;
        return new Silence(
                id,
                sensors,
                labels,
                end.isAfter(startsAt) ? startsAt : end.minusMillis(1),
                end,
                recurring,
                createdBy,
                comment);
    }

    /**
     * A silence from its JSON form (the API's and the journal's):
     *
     * <pre>
     * {"match": {"line": ["line-1"]}, "sensors": ["dresden/**"], "starts_at": "2026-...Z",
     *  "ends_at": "...Z", "weekly": {"days": ["SUNDAY"], "start": "06:00", "duration": "8h",
     *  "zone": "Europe/Berlin"}, "created_by": "...", "comment": "..."}
     * </pre>
     *
     * A new silence gets a fresh id; {@code ends_at} defaults to far ahead for a weekly window.
     */
    public static Silence fromJson(JsonNode n, String where) {
        AlertMatcher m = AlertMatcher.parse(n, where, "silence");
        Recurring weekly = null;
        JsonNode w = n.get("weekly");
        if (w != null) {
            Set<DayOfWeek> days = EnumSet.noneOf(DayOfWeek.class);
            for (String d : AlertMatcher.strings(w.get("days"), where, "silence", "weekly.days")) {
                days.add(DayOfWeek.valueOf(d.toUpperCase(Locale.ROOT)));
            }
            if (days.isEmpty()) {
                throw new IllegalArgumentException("weekly.days names no day");
            }
            weekly =
                    new Recurring(
                            days,
                            LocalTime.parse(w.path("start").asText("00:00")),
                            Durations.parse(w.path("duration").asText("1h")),
                            ZoneId.of(w.path("zone").asText("UTC")));
        }
        if (!n.hasNonNull("starts_at") && weekly == null) {
            throw new IllegalArgumentException("starts_at is required");
        }
        Instant start =
                n.hasNonNull("starts_at")
                        ? Instant.parse(n.get("starts_at").asText())
                        : Instant.EPOCH;
        Instant end =
                n.hasNonNull("ends_at")
                        ? Instant.parse(n.get("ends_at").asText())
                        : weekly != null ? Instant.parse("9999-12-31T00:00:00Z") : null;
        if (end == null) {
            throw new IllegalArgumentException("ends_at is required");
        }
        return new Silence(
                n.hasNonNull("id") ? n.get("id").asText() : UUID.randomUUID().toString(),
                m.sensors(),
                m.labels(),
                start,
                end,
                weekly,
                n.path("created_by").asText("api"),
                n.path("comment").asText(""));
    }

    public ObjectNode toJson(ObjectMapper json) {
        ObjectNode o = json.createObjectNode();
        o.put("id", id).put("starts_at", startsAt.toString()).put("ends_at", endsAt.toString());
        o.put("created_by", createdBy).put("comment", comment);
        o.set("match", json.valueToTree(labels));
        ArrayNode g = o.putArray("sensors");
        sensors.forEach(x -> g.add(x.toString()));
        if (recurring != null) {
            ObjectNode w = o.putObject("weekly");
            ArrayNode days = w.putArray("days");
            recurring.days().stream().sorted().forEach(d -> days.add(d.name()));
            w.put("start", recurring.start().toString());
            w.put("duration", recurring.duration().toSeconds() + "s");
            w.put("zone", recurring.zone().getId());
        }
        return o;
    }
}
