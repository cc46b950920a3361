package io.plantwatch.job.rules;

import io.plantwatch.model.Severity;
import java.io.Serializable;

/**
 * The detector settings resolved for one sensor; a rule that is off is null. Every duration is in
 * milliseconds of event time, except {@link MissingData#afterMillis}, which is wall-clock time.
 */
public record DetectorRules(
        Spike spike,
        OutOfRange outOfRange,
        RateOfChange rateOfChange,
        Flatline flatline,
        MissingData missingData,
        Baseline baseline)
        implements Serializable {

    /** No rule at all: for sensors nothing in the rule book matches. */
    public static final DetectorRules NONE = new DetectorRules(null, null, null, null, null, null);

    /**
     * The names of the rules whose alerts go through the event-time alert lifecycle: every rule on
     * but missing data, which keeps its own.
     */
    public java.util.List<String> alarmRules() {
        java.util.List<String> names = new java.util.ArrayList<>(5);
        for (Alarm a :
                new Alarm[] {
                    spike == null ? null : spike.alarm(),
                    outOfRange == null ? null : outOfRange.alarm(),
                    rateOfChange == null ? null : rateOfChange.alarm(),
                    flatline == null ? null : flatline.alarm(),
                    baseline == null ? null : baseline.alarm()
                }) {
            if (a != null) {
                names.add(a.rule());
            }
        }
        return names;
    }

    /**
     * How long, in event time, detectors that start afresh take at most to see again a condition of
     * these rules that still holds, given readings enough: the longest window of spike, range, rate
     * of change and flatline. Not the baseline's: it counts its warm-up in readings, and one that
     * starts afresh learns the present as normal, so a departure it saw before is not seen again.
     */
    public long redetectionMillis() {
        long most = 0;
        if (spike != null) {
            most = Math.max(most, spike.withinMillis());
        }
        if (outOfRange != null) {
            most = Math.max(most, outOfRange.withinMillis());
        }
        if (rateOfChange != null) {
            most = Math.max(most, rateOfChange.windowMillis());
        }
        if (flatline != null) {
            most = Math.max(most, flatline.minMillis());
        }
        return most;
    }

    /** Common to every rule: its name in alerts, its severity and the alarm delays. */
    public record Alarm(String rule, Severity severity, long onDelayMillis, long offDelayMillis)
            implements Serializable {}

    /**
     * A rise of at least {@code delta} above the lowest value of the last {@code withinMillis},
     * confirmed by {@code confirm} further readings that are still that high.
     */
    public record Spike(Alarm alarm, double delta, long withinMillis, int confirm)
            implements Serializable {}

    /**
     * {@code count} consecutive readings outside [{@code low}, {@code high}] within {@code
     * withinMillis}; cleared only once back inside by {@code deadband}.
     */
    public record OutOfRange(
            Alarm alarm, double low, double high, int count, long withinMillis, double deadband)
            implements Serializable {}

    /** A least-squares slope over {@code windowMillis} steeper than {@code maxPerSecond}. */
    public record RateOfChange(Alarm alarm, double maxPerSecond, long windowMillis, int minReadings)
            implements Serializable {}

    /**
     * The value stays within {@code epsilon} (max minus min) for at least {@code minMillis} and at
     * least {@code minCount} readings.
     */
    public record Flatline(Alarm alarm, double epsilon, long minMillis, int minCount)
            implements Serializable {}

    /** No reading for {@code afterMillis} of wall-clock time. */
    public record MissingData(Alarm alarm, long afterMillis) implements Serializable {}

    /**
     * A robust per-sensor baseline: an exponentially weighted mean and mean absolute deviation
     * (weight {@code alpha}), learned over {@code warmup} readings, flagging {@code consecutive}
     * readings more than {@code k} robust deviations away.
     */
    public record Baseline(Alarm alarm, double alpha, double k, int warmup, int consecutive)
            implements Serializable {}
}
