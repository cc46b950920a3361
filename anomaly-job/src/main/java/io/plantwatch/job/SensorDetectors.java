package io.plantwatch.job;

import io.plantwatch.job.rules.DetectorRules;
import io.plantwatch.job.rules.PatternShape;
import io.plantwatch.job.rules.RuleBook;
import io.plantwatch.model.Alert;
import io.plantwatch.model.SensorReading;
import java.util.List;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.streaming.api.TimeDomain;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Every per-reading detector of a sensor in one keyed step, after the {@link SequenceTracker}: the
 * features for the CEP patterns ({@link FeatureExtractor}), rate of change, flatline, the
 * statistical baseline and missing data. Each is its own small class; this operator holds their
 * per-sensor state as one value, so a reading costs one state lookup, one TTL check and one rule
 * lookup instead of one of each per detector (they were five operators, and that bookkeeping was
 * most of the job's CPU).
 *
 * <p>Signals (levels and onsets) are the main output, for the {@link AlertLifecycle}; the CEP
 * patterns' input is {@link #OBSERVATIONS}; missing data keeps its own lifecycle in processing time
 * and emits alerts on {@link #MISSING}.
 */
public final class SensorDetectors extends KeyedProcessFunction<String, SensorReading, Signal> {
    private static final long serialVersionUID = 1L;

    public static final OutputTag<Observation> OBSERVATIONS = new OutputTag<>("observations") {};
    public static final OutputTag<Alert> MISSING = new OutputTag<>("missing-data") {};

    private final RuleBook book;
    private final List<PatternShape> spikeShapes;
    private final List<PatternShape> rangeShapes;
    private final long stateTtlMillis;
    private transient RuleCache rules;
    private transient ValueState<State> state;

    /** One sensor's state of every detector; null where the sensor's rules leave one off. */
    public static final class State extends SensorExpiry.Expiring {
        public FeatureExtractor.Features features;
        public RateOfChangeDetector.Window rate;
        public FlatlineDetector.Run flatline;
        public BaselineDetector.Baseline baseline;
        public MissingDataDetector.Silence silence;

        public State() {}
    }

    public SensorDetectors(RuleBook book, long stateTtlMillis) {
        this.book = book;
        this.spikeShapes = book.spikeShapes();
        this.rangeShapes = book.outOfRangeShapes();
        this.stateTtlMillis = stateTtlMillis;
    }

    @Override
    public void open(OpenContext context) {
        rules = new RuleCache(book);
        state = getRuntimeContext().getState(new ValueStateDescriptor<>("detectors", State.class));
    }

    @Override
    public void processElement(SensorReading r, Context ctx, Collector<Signal> out)
            throws Exception {
        DetectorRules rs = rules.rulesFor(r);
        boolean features = rs.spike() != null || rs.outOfRange() != null;
        if (!features
                && rs.rateOfChange() == null
                && rs.flatline() == null
                && rs.baseline() == null
                && rs.missingData() == null) {
            return;
        }
        State s = state.value();
        if (s == null) {
            s = new State();
        }
        if (features) {
            s.features =
                    FeatureExtractor.onReading(
                            s.features,
                            r,
                            rs,
                            spikeShapes,
                            rangeShapes,
                            out,
                            o -> ctx.output(OBSERVATIONS, o));
        }
        if (rs.rateOfChange() != null) {
            s.rate = RateOfChangeDetector.onReading(s.rate, r, rs.rateOfChange(), out);
        }
        if (rs.flatline() != null) {
            s.flatline = FlatlineDetector.onReading(s.flatline, r, rs.flatline(), out);
        }
        if (rs.baseline() != null) {
            s.baseline = BaselineDetector.onReading(s.baseline, r, rs.baseline(), out);
        }
        if (rs.missingData() != null) {
            s.silence =
                    MissingDataDetector.onReading(
                            s.silence,
                            r,
                            rs.missingData(),
                            ctx.timerService(),
                            a -> ctx.output(MISSING, a));
        }
        SensorExpiry.touch(s, stateTtlMillis, ctx.timerService());
        state.update(s);
    }

    @Override
    public void onTimer(long time, OnTimerContext ctx, Collector<Signal> out) throws Exception {
        State s = state.value();
        if (s == null || ctx.timeDomain() != TimeDomain.PROCESSING_TIME) {
            return;
        }
        if (SensorExpiry.expired(s, time, stateTtlMillis, ctx.timerService())) {
            state.clear();
            return;
        }
        if (s.silence != null && s.silence.timerAt != 0 && time >= s.silence.timerAt) {
            MissingDataDetector.onTimer(
                    s.silence,
                    time,
                    rules.rulesFor(MissingDataDetector.lastReading(s.silence)).missingData(),
                    ctx.timerService(),
                    a -> ctx.output(MISSING, a));
        }
        state.update(s);
    }
}
