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
 * @param values for ONSET: the readings' values that triggered it, oldest first; for RULES: empty,
 *     or, when the sensor's detectors started afresh (see {@link #startedOver}), how long they may
 *     take to see a condition that still holds
 * @param message for ONSET: the alert's text; for RULES: the names of the rules in force, one per
 *     line
 * @param unit for ONSET and HANDED_OVER: the unit of the values, as the sensor sends it; empty
 *     otherwise, and in signals of earlier versions restored from savepoints
 * @param limits for ONSET and HANDED_OVER: the rule's limits in the order {@link AlertLimits} names
 *     them for the kind, NaN for one the rule does not set; empty otherwise and in signals of
 *     earlier versions. Appended, like the unit: a savepoint's signals restore with them null
 */
public record Signal(
        SensorId sensorId,
        AlertKind kind,
        DetectorRules.Alarm alarm,
        Type type,
        long time,
        long episodeStart,
        double[] values,
        String message,
        String unit,
        double[] limits) {

    private static final double[] NONE = new double[0];

    public Signal {
        unit = unit == null ? "" : unit;
        limits = limits == null ? NONE : limits;
    }

    public enum Type {
        ONSET,
        ACTIVE,
        CLEAR,
        /** Appended: signals are in savepoints. At one instant it is applied first. */
        RULES,
        /**
         * Appended. A missing-data alert open when a restore at another parallelism started its
         * sensor's detector state over: the lifecycle keeps it and resolves it when the sensor is
         * heard again (its first reading's RULES), since the missing-data detector that opened it
         * remembers nothing.
         */
        HANDED_OVER
    }

    public static Signal onset(
            SensorId sensor,
            AlertKind kind,
            DetectorRules.Alarm alarm,
            long time,
            long episodeStart,
            double[] values,
            String message) {
        return onset(sensor, kind, alarm, time, episodeStart, values, message, "", NONE);
    }

    /** An onset whose alert says the unit of its values and the limits of its rule. */
    public static Signal onset(
            SensorId sensor,
            AlertKind kind,
            DetectorRules.Alarm alarm,
            long time,
            long episodeStart,
            double[] values,
            String message,
            String unit,
            double[] limits) {
        return new Signal(
                sensor, kind, alarm, Type.ONSET, time, episodeStart, values, message, unit, limits);
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
                NONE,
                "",
                "",
                NONE);
    }

    /**
     * An open missing-data alert handed to the lifecycle: {@code lastReading} is the sensor's last
     * reading's time, the episode's start and so the alert's id; {@code restoredFrom} the
     * checkpoint the run that hands it over was restored from.
     */
    public static Signal handedOver(
            SensorId sensor,
            DetectorRules.Alarm alarm,
            long lastReading,
            double lastValue,
            String unit,
            double[] limits,
            String message,
            long restoredFrom) {
        return new Signal(
                sensor,
                AlertKind.MISSING_DATA,
                alarm,
                Type.HANDED_OVER,
                lastReading,
                lastReading,
                new double[] {lastValue, restoredFrom},
                message,
                unit,
                limits);
    }

    /**
     * The lifecycle's rules in force for {@code sensor} from event time {@code time} on, carried in
     * {@link #message}: they were added before the signal's fields could grow (a field appended
     * since, like {@link #unit}, restores as null from savepoints of earlier versions).
     */
    public static Signal rulesInForce(SensorId sensor, long time, Collection<String> rules) {
        return rules(sensor, time, rules, NONE);
    }

    private static Signal rules(
            SensorId sensor, long time, Collection<String> rules, double[] values) {
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
                values,
                String.join("\n", rules),
                "",
                NONE);
    }

    /**
     * The rules in force for {@code sensor} from {@code time} on, told by detectors that start
     * afresh there: they have no memory of a condition that held before (a restore at another
     * parallelism started every sensor's detector state over, or the sensor's state expired). An
     * open episode of a rule in force is kept only if they see its condition again in time (within
     * about {@code graceMillis}); nothing else would ever clear it.
     *
     * @param restoredFrom the checkpoint this run of the detectors was restored from, -1 for none:
     *     a missing-data alert handed over by this run or an earlier one resolves with these rules
     */
    public static Signal rulesInForceStartedOver(
            SensorId sensor,
            long time,
            Collection<String> rules,
            long graceMillis,
            long restoredFrom) {
        return rules(sensor, time, rules, new double[] {Math.max(0, graceMillis), restoredFrom});
    }

    /**
     * For {@link Type#RULES}: whether the detectors that told them started afresh at {@link #time}.
     * Signals of earlier versions, waiting in savepoints, carry no values and did not.
     */
    public boolean startedOver() {
        return type == Type.RULES && values.length == 2;
    }

    /** For a {@link #startedOver} RULES signal: how long the detectors may take to see again. */
    public long graceMillis() {
        return startedOver() ? (long) values[0] : 0;
    }

    /**
     * For a {@link #startedOver} RULES or a {@link Type#HANDED_OVER} signal: the checkpoint the run
     * that sent it was restored from (checkpoint ids grow across a job's restores), -1 for none.
     */
    public long restoredFrom() {
        return startedOver() || type == Type.HANDED_OVER ? (long) values[1] : -1;
    }

    /** The values an alert of this signal carries: a handed-over one's last reading only. */
    public double[] alertValues() {
        return type == Type.HANDED_OVER ? new double[] {values[0]} : values;
    }

    /** The limits by name, for the alert: {@link AlertLimits#named}. */
    public java.util.Map<String, Double> namedLimits() {
        return AlertLimits.named(kind, limits);
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
