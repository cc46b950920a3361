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

    /**
     * The readings of the window, oldest first: {@code size} of them from {@code head} in a ring,
     * so a reading costs no allocation and no copy of the window.
     */
    public static final class Window {
        public long[] times = new long[INITIAL_CAPACITY];
        public double[] values = new double[INITIAL_CAPACITY];
        public int head;
        public int size;
        public boolean active;

        public Window() {}

        /** Position of the {@code i}-th oldest reading in the ring. */
        int at(int i) {
            int j = head + i;
            return j >= times.length ? j - times.length : j;
        }

        long time(int i) {
            return times[at(i)];
        }

        double value(int i) {
            return values[at(i)];
        }

        void dropOlderThan(long time) {
            while (size > 0 && times[head] < time) {
                head = head + 1 == times.length ? 0 : head + 1;
                size--;
            }
        }

        void add(long time, double value) {
            if (size == times.length) {
                long[] t = new long[Math.max(INITIAL_CAPACITY, size * 2)];
                double[] v = new double[t.length];
                for (int i = 0; i < size; i++) {
                    t[i] = time(i);
                    v[i] = value(i);
                }
                times = t;
                values = v;
                head = 0;
            }
            int j = at(size);
            times[j] = time;
            values[j] = value;
            size++;
        }

        /** The window's values, oldest first. */
        double[] valuesInOrder() {
            double[] v = new double[size];
            for (int i = 0; i < size; i++) {
                v[i] = value(i);
            }
            return v;
        }
    }

    private static final int INITIAL_CAPACITY = 8;

    private RateOfChangeDetector() {}

    /**
     * One reading; returns the sensor's window, to be kept.
     *
     * @param retell whether a slope still too steep is told again as an onset, which opens an
     *     episode only where the lifecycle has none: under a rule renamed while it held
     */
    static Window onReading(
            Window w,
            SensorReading r,
            DetectorRules.RateOfChange rule,
            boolean retell,
            Collector<Signal> out) {
        if (w == null) {
            w = new Window();
        }
        w.dropOlderThan(r.timestamp() - rule.windowMillis());
        w.add(r.timestamp(), r.value());

        if (judgeable(w, rule)) {
            double slope = slopePerSecond(w);
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
                out.collect(onset(w, r, rule, slope));
            } else if (w.active && steepness < rule.maxPerSecond() * CLEAR_FRACTION) {
                w.active = false;
                out.collect(
                        Signal.level(
                                r.sensorId(),
                                AlertKind.RATE_OF_CHANGE,
                                rule.alarm(),
                                false,
                                r.timestamp()));
            } else if (retell && w.active) {
                out.collect(onset(w, r, rule, slope));
            }
        }
        return w;
    }

    /**
     * Whether the window can give a slope. It needs its span: over the first fraction of a second
     * (a new sensor, one that just came back) a 10 Hz sensor's ordinary noise is a slope of tens
     * per second.
     */
    private static boolean judgeable(Window w, DetectorRules.RateOfChange rule) {
        int n = w.size;
        return n >= rule.minReadings() && w.time(n - 1) - w.time(0) >= rule.windowMillis() / 2;
    }

    /** Whether the window gives a slope gentle enough to clear the condition. */
    static boolean judgedCalm(Window w, DetectorRules.RateOfChange rule) {
        return judgeable(w, rule)
                && Math.abs(slopePerSecond(w)) < rule.maxPerSecond() * CLEAR_FRACTION;
    }

    private static Signal onset(
            Window w, SensorReading r, DetectorRules.RateOfChange rule, double slope) {
        return Signal.onset(
                r.sensorId(),
                AlertKind.RATE_OF_CHANGE,
                rule.alarm(),
                r.timestamp(),
                r.timestamp(),
                w.valuesInOrder(),
                String.format(
                        Locale.ROOT,
                        "%s changes by %s %s/s over %s (limit %s %s/s)",
                        r.sensorId(),
                        Format.number(slope),
                        r.unit(),
                        Format.duration(rule.windowMillis()),
                        Format.number(rule.maxPerSecond()),
                        r.unit()),
                r.unit(),
                AlertLimits.rateOfChange(rule));
    }

    /** Least-squares slope in units per second; times relative to the first, for precision. */
    static double slopePerSecond(Window w) {
        double slope = slopePerSecond(w, 1);
        if (Double.isNaN(slope)) {
            // Values near the limits of a double (a broken sensor swinging to ±1.7e308) overflow
            // the sums to infinities whose difference is NaN, and a NaN slope never fired. Scaled
            // to at most 1 first, the slope is finite, or an infinity that fires.
            double largest = 0;
            for (int i = 0; i < w.size; i++) {
                largest = Math.max(largest, Math.abs(w.value(i)));
            }
            slope = largest * slopePerSecond(w, 1 / largest);
        }
        return slope;
    }

    private static double slopePerSecond(Window w, double scale) {
        int n = w.size;
        long first = w.time(0);
        double meanT = 0;
        double meanV = 0;
        for (int i = 0; i < n; i++) {
            meanT += (w.time(i) - first) / 1000.0;
            meanV += w.value(i) * scale;
        }
        meanT /= n;
        meanV /= n;
        double num = 0;
        double den = 0;
        for (int i = 0; i < n; i++) {
            double dt = (w.time(i) - first) / 1000.0 - meanT;
            num += dt * (w.value(i) * scale - meanV);
            den += dt * dt;
        }
        return den == 0 ? 0 : num / den;
    }
}
