package io.plantwatch.job;

import io.plantwatch.job.rules.DetectorRules;
import io.plantwatch.model.AlertKind;
import io.plantwatch.model.SensorReading;
import java.util.Locale;
import org.apache.flink.util.Collector;

/**
 * Flatline (stuck sensor): the value stays within {@code epsilon} (max minus min of the run) for at
 * least {@code duration} and {@code count} readings. Real sensors are noisy; a run this flat means
 * a frozen transmitter or a value held by the PLC. Clears on the first reading that breaks the run.
 */
public final class FlatlineDetector {

    /** The current run of nearly equal values. */
    public static final class Run {
        public long start;
        public long count;
        public double min;
        public double max;
        public boolean active;

        public Run() {}
    }

    private FlatlineDetector() {}

    /**
     * One reading; returns the sensor's run, to be kept.
     *
     * @param retell whether a run that holds is told again as an onset, which opens an episode only
     *     where the lifecycle has none: under a rule renamed while the sensor was stuck
     */
    static Run onReading(
            Run run,
            SensorReading r,
            DetectorRules.Flatline rule,
            boolean retell,
            Collector<Signal> out) {
        double v = r.value();
        if (run != null && Math.max(run.max, v) - Math.min(run.min, v) <= rule.epsilon()) {
            run.count++;
            run.min = Math.min(run.min, v);
            run.max = Math.max(run.max, v);
        } else {
            if (run != null && run.active) {
                out.collect(
                        Signal.level(
                                r.sensorId(),
                                AlertKind.FLATLINE,
                                rule.alarm(),
                                false,
                                r.timestamp()));
            }
            // A noisy sensor starts a new run at every reading: the old one is reused.
            if (run == null) {
                run = new Run();
            }
            run.start = r.timestamp();
            run.count = 1;
            run.min = v;
            run.max = v;
            run.active = false;
        }
        if (!run.active
                && run.count >= rule.minCount()
                && r.timestamp() - run.start >= rule.minMillis()) {
            run.active = true;
            out.collect(
                    Signal.level(
                            r.sensorId(), AlertKind.FLATLINE, rule.alarm(), true, r.timestamp()));
            out.collect(onset(run, r, rule, run.start));
        } else if (retell && run.active) {
            // Starting now: an id of the run's start may be one the lifecycle already resolved
            // (a rule renamed back, or switched off and on, while the sensor stayed stuck).
            out.collect(onset(run, r, rule, r.timestamp()));
        }
        return run;
    }

    private static Signal onset(
            Run run, SensorReading r, DetectorRules.Flatline rule, long episodeStart) {
        return Signal.onset(
                r.sensorId(),
                AlertKind.FLATLINE,
                rule.alarm(),
                r.timestamp(),
                episodeStart,
                new double[] {run.min, run.max},
                String.format(
                        Locale.ROOT,
                        "%s is stuck at %s %s: %d readings over %s within %s",
                        r.sensorId(),
                        Format.number(r.value()),
                        r.unit(),
                        run.count,
                        Format.duration(r.timestamp() - run.start),
                        Format.number(rule.epsilon())),
                r.unit(),
                AlertLimits.flatline(rule));
    }
}
