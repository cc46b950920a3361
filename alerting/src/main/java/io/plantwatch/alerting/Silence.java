package io.plantwatch.alerting;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.plantwatch.model.Alert;
import io.plantwatch.model.ConfigException;
import io.plantwatch.model.Durations;
import io.plantwatch.model.SensorGlob;
import java.time.DateTimeException;
import java.time.DayOfWeek;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.format.DateTimeParseException;
import java.util.EnumSet;
import java.util.Iterator;
import java.util.List;
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
        if (n == null || !n.isObject()) {
            throw bad(where, "", "must be a JSON object");
        }
        known(n, FIELDS, where, "");
        AlertMatcher m = AlertMatcher.parse(n, where, "silence");
        Recurring weekly = null;
        JsonNode w = n.get("weekly");
        if (w != null) {
            if (!w.isObject()) {
                throw bad(where, "weekly", "must be an object with " + WEEKLY_FIELDS);
            }
            known(w, WEEKLY_FIELDS, where, "weekly.");
            Set<DayOfWeek> days = EnumSet.noneOf(DayOfWeek.class);
            for (String d : AlertMatcher.strings(w.get("days"), where, "silence", "weekly.days")) {
                days.add(day(d, where));
            }
            if (days.isEmpty()) {
                throw bad(where, "weekly.days", "names no day; use e.g. [\"SUNDAY\"]");
            }
            weekly = new Recurring(days, start(w, where), duration(w, where), zone(w, where));
        }
        if (!n.hasNonNull("starts_at") && weekly == null) {
            throw bad(where, "starts_at", "is required (ISO-8601, e.g. 2026-11-25T08:00:00Z)");
        }
        Instant start = n.hasNonNull("starts_at") ? instant(n, "starts_at", where) : Instant.EPOCH;
        Instant end =
                n.hasNonNull("ends_at")
                        ? instant(n, "ends_at", where)
                        : weekly != null ? Instant.parse("9999-12-31T00:00:00Z") : null;
        if (end == null) {
            throw bad(where, "ends_at", "is required (ISO-8601, e.g. 2026-11-25T10:00:00Z)");
        }
        if (!end.isAfter(start)) {
            throw bad(where, "ends_at", end + " is not after starts_at " + start);
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

    /** The longest weekly window: a longer one would overlap itself. */
    static final Duration MAX_WEEKLY = Duration.ofDays(7);

    private static final List<String> FIELDS =
            List.of(
                    "id",
                    "sensors",
                    "match",
                    "starts_at",
                    "ends_at",
                    "weekly",
                    "created_by",
                    "comment");
    private static final List<String> WEEKLY_FIELDS = List.of("days", "start", "duration", "zone");

    /**
     * A misspelt field ({@code sensor} for {@code sensors}) would otherwise be ignored, and the
     * silence would mute something other than what was meant, or be refused for a reason that hides
     * the typo.
     */
    private static void known(JsonNode n, List<String> fields, String where, String prefix) {
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!fields.contains(f)) {
                List<String> allowed = prefix.isEmpty() ? fields.subList(1, fields.size()) : fields;
                throw bad(where, "", "has unknown field " + prefix + f + "; use " + allowed);
            }
        }
    }

    private static DayOfWeek day(String d, String where) {
        for (DayOfWeek day : DayOfWeek.values()) {
            String name = day.name();
            if (name.equalsIgnoreCase(d.trim())
                    || name.substring(0, 3).equalsIgnoreCase(d.trim())) {
                return day;
            }
        }
        throw bad(
                where,
                "weekly.days",
                "'" + d + "' is not a day; use " + List.of(DayOfWeek.values()) + " or MON..SUN");
    }

    private static LocalTime start(JsonNode w, String where) {
        String t = w.path("start").asText("00:00");
        try {
            return LocalTime.parse(t);
        } catch (DateTimeParseException e) {
            throw bad(
                    where,
                    "weekly.start",
                    "'" + t + "' is not a local time; write HH:mm, e.g. 06:00");
        }
    }

    private static Duration duration(JsonNode w, String where) {
        String t = w.path("duration").asText("1h");
        Duration d;
        try {
            d = Durations.parse(t);
        } catch (IllegalArgumentException e) {
            throw bad(
                    where,
                    "weekly.duration",
                    "'" + t + "' is not a duration; write e.g. 30m, 8h or 2d");
        }
        if (d.isZero() || d.isNegative() || d.compareTo(MAX_WEEKLY) > 0) {
            throw bad(
                    where,
                    "weekly.duration",
                    t + " is not between 1s and 7d; a weekly window lasts at most a week");
        }
        return d;
    }

    private static ZoneId zone(JsonNode w, String where) {
        String z = w.path("zone").asText("UTC");
        try {
            return ZoneId.of(z);
        } catch (DateTimeException e) {
            throw bad(
                    where,
                    "weekly.zone",
                    "'" + z + "' is not a time zone; write e.g. Europe/Berlin or UTC");
        }
    }

    private static Instant instant(JsonNode n, String field, String where) {
        String t = n.get(field).asText();
        try {
            return Instant.parse(t);
        } catch (DateTimeParseException e) {
            throw bad(
                    where,
                    field,
                    "'" + t + "' is not a time; write ISO-8601 in UTC, e.g. 2026-11-25T08:00:00Z");
        }
    }

    private static ConfigException bad(String where, String key, String why) {
        return new ConfigException(
                where + ": silence" + (key.isEmpty() ? " " : "." + key + " ") + why);
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
