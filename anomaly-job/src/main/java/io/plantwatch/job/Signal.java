package io.plantwatch.job;

import io.plantwatch.job.rules.DetectorRules;
import io.plantwatch.model.AlertKind;
import io.plantwatch.model.SensorId;

/**
 * What a detector tells the {@link AlertLifecycle} about one rule on one sensor, at an event time.
 *
 * @param type {@link Type#ONSET}: the rule's condition was detected (opens an episode unless one is
 *     open); {@link Type#ACTIVE}: the condition holds again; {@link Type#CLEAR}: it no longer holds
 * @param time event time of the reading that decided it
 * @param episodeStart for ONSET: event time of the first reading of the episode
 * @param values for ONSET: the readings' values that triggered it, oldest first
 * @param message for ONSET: the alert's text
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
        CLEAR
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

    public String rule() {
        return alarm.rule();
    }
}
