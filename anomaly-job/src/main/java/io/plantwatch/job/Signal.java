package io.plantwatch.job;

import io.plantwatch.job.rules.DetectorRules;
import io.plantwatch.model.AlertKind;
import io.plantwatch.model.SensorId;
import java.util.Collection;
import java.util.Set;

/**
 * What a detector tells the {@link AlertLifecycle} about one rule on one sensor, at an event time.
 *
 * @param type {@link Type#ONSET}: the rule's condition was detected (opens an episode unless one is
 *     open); {@link Type#ACTIVE}: the condition holds again; {@link Type#CLEAR}: it no longer
 *     holds; {@link Type#RULES}: which rules are in force for the sensor, told once per sensor and
 *     run of the job, so that an episode of a rule the rules file no longer gives it (removed,
 *     renamed, switched off) resolves: no detector would ever clear it
 * @param time event time of the reading that decided it
 * @param episodeStart for ONSET: event time of the first reading of the episode
 * @param values for ONSET: the readings' values that triggered it, oldest first
 * @param message for ONSET: the alert's text; for RULES: the names of the rules in force, one per
 *     line
 */
public record Signal(
        SensorId sensorId,
        AlertKind kind,
        DetectorRules.Alarm alarm,
        Type type,
        long time,
        long episodeStart,
        double[] values,
        String message) {

    public enum Type {
        ONSET,
        ACTIVE,
        CLEAR,
        /** Appended: signals are in savepoints. At one instant it is applied first. */
        RULES
    }

    public static Signal onset(
            SensorId sensor,
            AlertKind kind,
            DetectorRules.Alarm alarm,
            long time,
            long episodeStart,
            double[] values,
            String message) {
        return new Signal(sensor, kind, alarm, Type.ONSET, time, episodeStart, values, message);
    }

    public static Signal level(
            SensorId sensor, AlertKind kind, DetectorRules.Alarm alarm, boolean active, long time) {
        return new Signal(
                sensor,
                kind,
                alarm,
                active ? Type.ACTIVE : Type.CLEAR,
                time,
                time,
                new double[0],
                "");
    }

    /**
     * The lifecycle's rules in force for {@code sensor} from event time {@code time} on. Carried in
     * {@link #message} rather than a field of its own: signals wait in the lifecycle's state, which
     * savepoints of earlier versions hold in the old layout.
     */
    public static Signal rulesInForce(SensorId sensor, long time, Collection<String> rules) {
        for (String rule : rules) {
            if (rule.indexOf('\n') >= 0) {
                throw new IllegalArgumentException("a rule name with a line break: " + rule);
            }
        }
        return new Signal(
                sensor,
                null,
                null,
                Type.RULES,
                time,
                time,
                new double[0],
                String.join("\n", rules));
    }

    /** For {@link Type#RULES}: the names of the rules in force. */
    public Set<String> rulesInForce() {
        return message.isEmpty()
                ? Set.of()
                : Set.copyOf(java.util.Arrays.asList(message.split("\n")));
    }

    /** The rule this signal is about; null for the rules in force. */
    public String rule() {
        return alarm == null ? null : alarm.rule();
    }
}
