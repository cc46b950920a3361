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
 * Statistical anomaly: each sensor learns its own baseline, an exponentially weighted mean and mean
 * absolute deviation, and flags {@code consecutive} readings more than {@code k} robust deviations
 * away. It catches slow drifts and subtle faults that fixed thresholds miss.
 *
 * <p>Robust in two ways: nothing is flagged during the warm-up, and every value is clipped to mean
 * ± k deviations before it updates the baseline, so an outlier cannot drag the baseline after it
 * and a lasting shift is absorbed only slowly. Clears below 80 % of k.
 */
public final class BaselineDetector extends KeyedProcessFunction<String, SensorReading, Signal> {
    private static final long serialVersionUID = 1L;
    private static final double CLEAR_FRACTION = 0.8;

    /** Mean absolute deviation times this estimates a normal distribution's standard deviation. */
    static final double MAD_TO_SIGMA = 1.2533;

    private final RuleBook book;
    private final long stateTtlMillis;
    private transient RuleCache rules;
    private transient ValueState<Baseline> state;

    /** The learned baseline and the current streak of outliers. */
    public static final class Baseline {
        public long n;
        public double mean;
        public double deviation;
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
            // A plain running mean first, so the start does not weigh the first reading forever.
            double a = Math.max(rule.alpha(), 1.0 / (b.n + 1));
            double deviation = Math.abs(x - b.mean);
            b.mean += a * (x - b.mean);
            b.deviation = b.n == 0 ? 0 : b.deviation + a * (deviation - b.deviation);
            b.n++;
            state.update(b);
            return;
        }
        double sigma = Math.max(b.deviation * MAD_TO_SIGMA, 1e-9 + 1e-4 * Math.abs(b.mean));
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
        b.deviation += rule.alpha() * (Math.abs(clipped - b.mean) - b.deviation);
        b.mean += rule.alpha() * (clipped - b.mean);
        b.n++;
        state.update(b);
    }
}
