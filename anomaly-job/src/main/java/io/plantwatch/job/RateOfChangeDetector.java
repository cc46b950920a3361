package io.plantwatch.job;

import io.plantwatch.job.rules.DetectorRules;
import io.plantwatch.model.AlertKind;
import io.plantwatch.model.SensorReading;
import java.util.Locale;
import org.apache.flink.util.Collector;

/**
 * Rate of change: the least-squares slope of the readings in the last {@code window} is steeper
 * than {@code max-per-second} (either direction). Least squares rather than first-to-last, so one
 * noisy reading at the window's edge does not decide. Clears below 80 % of the limit.
 */
public final class RateOfChangeDetector {
    private static final double CLEAR_FRACTION = 0.8;

    /** The readings of the window, oldest first. */
    public static final class Window {
        public long[] times = new long[0];
        public double[] values = new double[0];
        public boolean active;

        public Window() {}
    }

    private RateOfChangeDetector() {}

    /** One reading; returns the sensor's window, to be kept. */
    static Window onReading(
            Window w, SensorReading r, DetectorRules.RateOfChange rule, Collector<Signal> out) {
        if (w == null) {
            w = new Window();
        }
        int keepFrom = 0;
        while (keepFrom < w.times.length
                && w.times[keepFrom] < r.timestamp() - rule.windowMillis()) {
            keepFrom++;
        }
        int n = w.times.length - keepFrom + 1;
        long[] times = new long[n];
        double[] values = new double[n];
        System.arraycopy(w.times, keepFrom, times, 0, n - 1);
        System.arraycopy(w.values, keepFrom, values, 0, n - 1);
        times[n - 1] = r.timestamp();
        values[n - 1] = r.value();
        w.times = times;
        w.values = values;

        // A slope needs the window's span: over the first fraction of a second (a new sensor, one
        // that just came back) a 10 Hz sensor's ordinary noise is a slope of tens per second.
        if (n >= rule.minReadings() && times[n - 1] - times[0] >= rule.windowMillis() / 2) {
            double slope = slopePerSecond(times, values);
            double steepness = Math.abs(slope);
            if (!w.active && steepness > rule.maxPerSecond()) {
                w.active = true;
                out.collect(
                        Signal.level(
                                r.sensorId(),
                                AlertKind.RATE_OF_CHANGE,
                                rule.alarm(),
                                true,
                                r.timestamp()));
                out.collect(
                        Signal.onset(
                                r.sensorId(),
                                AlertKind.RATE_OF_CHANGE,
                                rule.alarm(),
                                r.timestamp(),
                                r.timestamp(),
                                values.clone(),
                                String.format(
                                        Locale.ROOT,
                                        "%s changes by %s %s/s over %s (limit %s %s/s)",
                                        r.sensorId(),
                                        Format.number(slope),
                                        r.unit(),
                                        Format.duration(rule.windowMillis()),
                                        Format.number(rule.maxPerSecond()),
                                        r.unit())));
            } else if (w.active && steepness < rule.maxPerSecond() * CLEAR_FRACTION) {
                w.active = false;
                out.collect(
                        Signal.level(
                                r.sensorId(),
                                AlertKind.RATE_OF_CHANGE,
                                rule.alarm(),
                                false,
                                r.timestamp()));
            }
        }
        return w;
    }

    /** Least-squares slope in units per second; times relative to the first, for precision. */
    static double slopePerSecond(long[] times, double[] values) {
        int n = times.length;
        double meanT = 0;
        double meanV = 0;
        for (int i = 0; i < n; i++) {
            meanT += (times[i] - times[0]) / 1000.0;
            meanV += values[i];
        }
        meanT /= n;
        meanV /= n;
        double num = 0;
        double den = 0;
        for (int i = 0; i < n; i++) {
            double dt = (times[i] - times[0]) / 1000.0 - meanT;
            num += dt * (values[i] - meanV);
            den += dt * dt;
        }
        return den == 0 ? 0 : num / den;
    }
}
