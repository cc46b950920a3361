package io.plantwatch.model;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;

/**
 * One alert event: an episode of a rule on a sensor opening or resolving.
 *
 * <p>The {@link #alertId()} is deterministic (sensor, rule, episode start), so the OPEN and the
 * RESOLVED event of one episode share it, and a replay or a restore produces the same id again:
 * downstream de-duplicates by it and a person is never told twice.
 *
 * @param alertId {@link #idFor(SensorId, String, long)}
 * @param sensorId the sensor
 * @param rule the configured rule's name, e.g. {@code temperature-spike}
 * @param kind what kind of fault
 * @param severity how urgent
 * @param state OPEN or RESOLVED
 * @param episodeStart event time (epoch ms) of the first reading of the episode
 * @param eventTime event time (epoch ms) of this event: for OPEN when it opened (the reading that
 *     decided it, or the end of its on-delay), for RESOLVED the end
 * @param detectedAt wall-clock time (epoch ms) the job emitted this event
 * @param values the values that triggered it, oldest first
 * @param message one sentence a person can act on
 * @param unit the unit of {@code values} and of the limits that are readings, as the sensor sends
 *     it; empty when not known (an alert of schema v1)
 * @param limits the rule's limits the alert was decided against, by name, in the order the detector
 *     gives them ({@code low}, {@code high}, {@code rise}, ...: anomaly-job/README.md lists them
 *     per kind); durations in seconds. Finite numbers only; empty for an alert of schema v1, so a
 *     consumer reads them as "not said", never as zero
 */
public record Alert(
        String alertId,
        SensorId sensorId,
        String rule,
        AlertKind kind,
        Severity severity,
        AlertState state,
        long episodeStart,
        long eventTime,
        long detectedAt,
        List<Double> values,
        String message,
        String unit,
        Map<String, Double> limits) {

    public Alert {
        Objects.requireNonNull(alertId, "alertId");
        Objects.requireNonNull(sensorId, "sensorId");
        Objects.requireNonNull(rule, "rule");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(severity, "severity");
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(message, "message");
        values = List.copyOf(Objects.requireNonNull(values, "values"));
        // Null, not empty, where a reader of an older record (or an older journal) had none.
        unit = unit == null ? "" : unit;
        limits = limits(limits);
        if (rule.isBlank()) {
            throw new IllegalArgumentException("rule is blank");
        }
        if (eventTime < episodeStart) {
            throw new IllegalArgumentException(
                    "eventTime " + eventTime + " is before episodeStart " + episodeStart);
        }
    }

    /** An alert without a unit or limits, as schema v1 had them. */
    public Alert(
            String alertId,
            SensorId sensorId,
            String rule,
            AlertKind kind,
            Severity severity,
            AlertState state,
            long episodeStart,
            long eventTime,
            long detectedAt,
            List<Double> values,
            String message) {
        this(
                alertId,
                sensorId,
                rule,
                kind,
                severity,
                state,
                episodeStart,
                eventTime,
                detectedAt,
                values,
                message,
                "",
                Map.of());
    }

    private static Map<String, Double> limits(Map<String, Double> limits) {
        if (limits == null || limits.isEmpty()) {
            return Map.of();
        }
        Map<String, Double> copy = new LinkedHashMap<>();
        limits.forEach(
                (name, value) -> {
                    if (!isLimit(name, value)) {
                        throw new IllegalArgumentException(
                                "limit '" + name + "' is " + value + ": a named finite number");
                    }
                    copy.put(name, value);
                });
        return Collections.unmodifiableMap(copy);
    }

    /** Whether an alert can carry this limit: a name that is not blank, a finite number. */
    public static boolean isLimit(String name, Double value) {
        return name != null && !name.isBlank() && value != null && Double.isFinite(value);
    }

    /** This alert with the unit of its values and the limits of its rule. */
    public Alert withDetail(String unit, Map<String, Double> limits) {
        return new Alert(
                alertId,
                sensorId,
                rule,
                kind,
                severity,
                state,
                episodeStart,
                eventTime,
                detectedAt,
                values,
                message,
                unit,
                limits);
    }

    /** The deterministic id of an episode: a name-based UUID of sensor, rule and start. */
    public static String idFor(SensorId sensor, String rule, long episodeStart) {
        String name = sensor.id() + '\u0000' + rule + '\u0000' + episodeStart;
        return UUID.nameUUIDFromBytes(name.getBytes(StandardCharsets.UTF_8)).toString();
    }

    /** Opens an episode, computing its id. */
    public static Alert open(
            SensorId sensor,
            String rule,
            AlertKind kind,
            Severity severity,
            long episodeStart,
            long detectedAt,
            List<Double> values,
            String message) {
        return open(
                sensor,
                rule,
                kind,
                severity,
                episodeStart,
                episodeStart,
                detectedAt,
                values,
                message);
    }

    /**
     * An alert opened at event time {@code openedAt}, for an episode that began at {@code
     * episodeStart} (a detector that needs several readings decides after the episode began).
     */
    public static Alert open(
            SensorId sensor,
            String rule,
            AlertKind kind,
            Severity severity,
            long episodeStart,
            long openedAt,
            long detectedAt,
            List<Double> values,
            String message) {
        return new Alert(
                idFor(sensor, rule, episodeStart),
                sensor,
                rule,
                kind,
                severity,
                AlertState.OPEN,
                episodeStart,
                Math.max(episodeStart, openedAt),
                detectedAt,
                values,
                message);
    }

    /** The RESOLVED event of this episode, ending at {@code endTime}. */
    public Alert resolve(long endTime, long detectedAtMillis, String resolveMessage) {
        return new Alert(
                alertId,
                sensorId,
                rule,
                kind,
                severity,
                AlertState.RESOLVED,
                episodeStart,
                endTime,
                detectedAtMillis,
                values,
                resolveMessage,
                unit,
                limits);
    }

    public Instant episodeStartTime() {
        return Instant.ofEpochMilli(episodeStart);
    }

    public String key() {
        return sensorId.id();
    }
}
