package io.plantwatch.job;

import io.plantwatch.job.rules.DetectorRules;
import io.plantwatch.job.rules.RuleBook;
import io.plantwatch.model.AlertKind;
import io.plantwatch.model.SensorReading;
import java.util.Locale;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Statistical anomaly: each sensor learns its own baseline, an exponentially weighted mean, and its
 * noise, and flags {@code consecutive} readings more than {@code k} noise deviations away from the
 * mean. It catches slow drifts and subtle faults that fixed thresholds miss.
 *
 * <p>The noise is estimated from successive differences (σ ≈ 0.886 · mean |x(t) − x(t−1)| for
 * Gaussian noise), not from distances to the mean: a drift makes the mean lag behind, and a scale
 * measured against the mean would grow with that lag and hide the very drift it should reveal;
 * successive differences of a slow ramp stay at the noise level. Robust in three ways: nothing is
 * flagged during the warm-up; each difference counts at most four times the current mean
 * difference, so one spike barely moves the scale; and each value is clipped to mean ± k σ before
 * it updates the mean, so an outlier does not drag the mean after it and a lasting shift is
 * absorbed only slowly. Clears below 80 % of k.
 */
public final class BaselineDetector extends KeyedProcessFunction<String, SensorReading, Signal> {
    private static final long serialVersionUID = 1L;
    private static final double CLEAR_FRACTION = 0.8;

    /** Mean absolute successive difference times this estimates Gaussian noise's σ: √π / 2. */
    static final double DIFF_TO_SIGMA = 0.8862;

    /** A difference counts at most this many times the current mean difference. */
    private static final double DIFF_CAP = 4;

    private final RuleBook book;
    private final long stateTtlMillis;
    private transient RuleCache rules;
    private transient ValueState<Baseline> state;

    /** The learned baseline and the current streak of outliers. */
    public static final class Baseline {
        public long n;
        public double mean;
        public double meanDiff;
        public double previous;
        public int streak;
        public long streakStart;
        public boolean active;

        public Baseline() {}
    }

    public BaselineDetector(RuleBook book, long stateTtlMillis) {
        this.book = book;
        this.stateTtlMillis = stateTtlMillis;
    }

    @Override
    public void open(OpenContext context) {
        rules = new RuleCache(book);
        state =
                getRuntimeContext()
                        .getState(
                                StateTtl.expireAfter(
                                        new ValueStateDescriptor<>("baseline", Baseline.class),
                                        stateTtlMillis));
    }

    @Override
    public void processElement(SensorReading r, Context ctx, Collector<Signal> out)
            throws Exception {
        DetectorRules.Baseline rule = rules.rulesFor(r).baseline();
        if (rule == null) {
            return;
        }
        Baseline b = state.value();
        if (b == null) {
            b = new Baseline();
        }
        double x = r.value();
        if (b.n < rule.warmup()) {
            // Plain running means first, so the start does not weigh the first reading forever.
            double a = Math.max(rule.alpha(), 1.0 / (b.n + 1));
            b.mean += a * (x - b.mean);
            if (b.n > 0) {
                double d = Math.abs(x - b.previous);
                b.meanDiff += Math.max(rule.alpha(), 1.0 / b.n) * (d - b.meanDiff);
            }
            b.previous = x;
            b.n++;
            state.update(b);
            return;
        }
        double sigma = Math.max(b.meanDiff * DIFF_TO_SIGMA, 1e-9 + 1e-6 * Math.abs(b.mean));
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
                out.collect(
                        Signal.onset(
                                r.sensorId(),
                                AlertKind.DRIFT,
                                rule.alarm(),
                                r.timestamp(),
                                b.streakStart,
                                new double[] {b.mean, x},
                                String.format(
                                        Locale.ROOT,
                                        "%s departs from its baseline: %s %s against a usual %s ±"
                                                + " %s (%s deviations, limit %s)",
                                        r.sensorId(),
                                        Format.number(x),
                                        r.unit(),
                                        Format.number(b.mean),
                                        Format.number(sigma),
                                        Format.number(score),
                                        Format.number(rule.k()))));
            }
        } else {
            b.streak = 0;
            if (b.active && Math.abs(score) < rule.k() * CLEAR_FRACTION) {
                b.active = false;
                out.collect(
                        Signal.level(
                                r.sensorId(), AlertKind.DRIFT, rule.alarm(), false, r.timestamp()));
            }
        }
        double clipped =
                Math.max(b.mean - rule.k() * sigma, Math.min(b.mean + rule.k() * sigma, x));
        b.mean += rule.alpha() * (clipped - b.mean);
        double d = Math.min(Math.abs(x - b.previous), DIFF_CAP * Math.max(b.meanDiff, 1e-12));
        b.meanDiff += rule.alpha() * (d - b.meanDiff);
        b.previous = x;
        b.n++;
        state.update(b);
    }
}
