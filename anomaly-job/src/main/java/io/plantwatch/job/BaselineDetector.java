package io.plantwatch.job;

import io.plantwatch.job.rules.DetectorRules;
import io.plantwatch.model.AlertKind;
import io.plantwatch.model.SensorReading;
import java.util.Locale;
import org.apache.flink.util.Collector;

/**
 * Statistical anomaly: each sensor learns its own baseline, an exponentially weighted mean and mean
 * absolute deviation, and flags {@code consecutive} readings more than {@code k} robust deviations
 * from the mean. It catches slow drifts and subtle faults that fixed thresholds miss.
 *
 * <p>Robust where it matters: the first 31 readings are kept and the baseline starts from their
 * median and median absolute deviation (the rest of the warm-up learns as below), so a fault during
 * the warm-up does not blind the detector afterwards (nothing is flagged during it; the rest of the
 * warm-up averages the scale over every reading, since 31 readings of correlated noise understate
 * its width); a value is clipped to mean ± k σ before it updates the mean, so an outlier does not
 * drag the mean after it and a lasting shift is absorbed only slowly; and the noise scale learns
 * ten times slower than the mean and only from readings within k/2 σ. Without that gate a drift
 * would widen the scale as fast as the mean lags behind it, and hide in its own noise. The scale is
 * measured against the mean rather than from successive differences because real sensors' noise is
 * correlated (sensor-sim's is AR(1) with φ = 0.9), and differences of correlated noise understate
 * it about threefold. Clears below 80 % of k.
 */
public final class BaselineDetector {
    private static final double CLEAR_FRACTION = 0.8;

    /** Mean absolute deviation times this estimates a normal distribution's σ: √(π / 2). */
    static final double MAD_TO_SIGMA = 1.2533;

    /** Gaussian noise: mean absolute deviation / median absolute deviation = 0.7979 / 0.6745. */
    static final double MEDIAN_TO_MEAN_ABS_DEVIATION = 1.183;

    /** The first readings kept for a robust start; the rest of the warm-up learns online. */
    static final int WARMUP_SAMPLE = 31;

    /** The scale learns this much slower than the mean. */
    private static final double SCALE_SLOWER = 10;

    /** The learned baseline and the current streak of outliers. */
    public static final class Baseline {
        public long n;
        public double mean;
        public double meanAbsDeviation;

        /** The warm-up's first readings: the first {@code min(n, warmup.length)} entries. */
        public double[] warmup = new double[0];

        public int streak;
        public long streakStart;
        public boolean active;

        public Baseline() {}
    }

    /**
     * One step of the baseline: the scale from ordinary readings only, the mean from the value
     * clipped to mean ± k σ.
     */
    private static void learn(Baseline b, double x, DetectorRules.Baseline rule) {
        double sigma = sigma(b);
        boolean warmingUp = b.n < rule.warmup();
        // During the warm-up the scale is a running average over every reading so far (the start
        // counting as its 31): correlated noise keeps 31 readings from showing its full width, and
        // a scale left that narrow would flag ordinary noise for hours at the slow rate below.
        double gate = warmingUp ? rule.k() : rule.k() / 2;
        double rate =
                warmingUp
                        ? Math.max(1.0 / (b.n + 1), rule.alpha() / SCALE_SLOWER)
                        : rule.alpha() / SCALE_SLOWER;
        if (Math.abs(x - b.mean) <= gate * sigma) {
            b.meanAbsDeviation += rate * (Math.abs(x - b.mean) - b.meanAbsDeviation);
        }
        double clipped =
                Math.max(b.mean - rule.k() * sigma, Math.min(b.mean + rule.k() * sigma, x));
        b.mean += rule.alpha() * (clipped - b.mean);
    }

    private static double sigma(Baseline b) {
        return Math.max(b.meanAbsDeviation * MAD_TO_SIGMA, 1e-9 + 1e-6 * Math.abs(b.mean));
    }

    /**
     * Median and median absolute deviation of the warm-up's first {@code count} readings; then the
     * readings are let go.
     */
    static void startFrom(Baseline b, int count) {
        double[] sorted = java.util.Arrays.copyOf(b.warmup, count);
        java.util.Arrays.sort(sorted);
        double median = median(sorted);
        double[] deviations = new double[sorted.length];
        for (int i = 0; i < sorted.length; i++) {
            deviations[i] = Math.abs(sorted[i] - median);
        }
        java.util.Arrays.sort(deviations);
        b.mean = median;
        b.meanAbsDeviation = median(deviations) * MEDIAN_TO_MEAN_ABS_DEVIATION;
        b.warmup = new double[0];
    }

    private static double median(double[] sorted) {
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    private BaselineDetector() {}

    /**
     * One reading; returns the sensor's baseline, to be kept.
     *
     * @param retell whether a departure that holds is told again as an onset, which opens an
     *     episode only where the lifecycle has none: under a rule renamed while it held
     */
    static Baseline onReading(
            Baseline b,
            SensorReading r,
            DetectorRules.Baseline rule,
            boolean retell,
            Collector<Signal> out) {
        if (b == null) {
            b = new Baseline();
        }
        double x = r.value();
        if (b.n < rule.warmup()) {
            if (b.n < WARMUP_SAMPLE) {
                int i = (int) b.n;
                if (i >= b.warmup.length) {
                    // Sized once for the whole sample, not grown by one per reading: a new
                    // sensor's first readings each copied the array and left the old one behind.
                    b.warmup =
                            java.util.Arrays.copyOf(
                                    b.warmup,
                                    (int) Math.max(i + 1, Math.min(WARMUP_SAMPLE, rule.warmup())));
                }
                b.warmup[i] = x;
                if (i + 1 == WARMUP_SAMPLE || i + 1 == rule.warmup()) {
                    startFrom(b, i + 1);
                }
            } else {
                learn(b, x, rule);
            }
            b.n++;
            return b;
        }
        double sigma = sigma(b);
        double score = (x - b.mean) / sigma;
        if (Math.abs(score) > rule.k()) {
            if (b.streak == 0) {
                b.streakStart = r.timestamp();
            }
            b.streak++;
            if (!b.active && b.streak >= rule.consecutive()) {
                b.active = true;
                out.collect(
                        Signal.level(
                                r.sensorId(), AlertKind.DRIFT, rule.alarm(), true, r.timestamp()));
                out.collect(onset(b, r, rule, sigma, score, b.streakStart));
            } else if (retell && b.active) {
                // Starting now, as for a flatline: the streak's start may name a resolved alert.
                out.collect(onset(b, r, rule, sigma, score, r.timestamp()));
            }
        } else {
            b.streak = 0;
            if (b.active && Math.abs(score) < rule.k() * CLEAR_FRACTION) {
                b.active = false;
                out.collect(
                        Signal.level(
                                r.sensorId(), AlertKind.DRIFT, rule.alarm(), false, r.timestamp()));
            } else if (retell && b.active) {
                out.collect(onset(b, r, rule, sigma, score, r.timestamp()));
            }
        }
        learn(b, x, rule);
        b.n++;
        return b;
    }

    private static Signal onset(
            Baseline b,
            SensorReading r,
            DetectorRules.Baseline rule,
            double sigma,
            double score,
            long episodeStart) {
        return Signal.onset(
                r.sensorId(),
                AlertKind.DRIFT,
                rule.alarm(),
                r.timestamp(),
                episodeStart,
                new double[] {b.mean, r.value()},
                String.format(
                        Locale.ROOT,
                        "%s departs from its baseline: %s %s against a usual %s ± %s (%s"
                                + " deviations, limit %s)",
                        r.sensorId(),
                        Format.number(r.value()),
                        r.unit(),
                        Format.number(b.mean),
                        Format.number(sigma),
                        Format.number(score),
                        Format.number(rule.k())),
                r.unit(),
                AlertLimits.drift(rule, b.mean, sigma));
    }
}
