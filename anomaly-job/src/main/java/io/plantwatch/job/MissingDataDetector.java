package io.plantwatch.job;

import io.plantwatch.job.rules.DetectorRules;
import io.plantwatch.job.rules.RuleBook;
import io.plantwatch.model.Alert;
import io.plantwatch.model.AlertKind;
import io.plantwatch.model.SensorId;
import io.plantwatch.model.SensorReading;
import java.time.Instant;
import java.util.List;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Missing data: no reading from a sensor for {@code after} of wall-clock (processing) time.
 *
 * <p>Processing time, because a silent sensor moves no watermark: in event time its silence would
 * only be noticed once other sensors' readings push the watermark on, and never when the whole
 * plant goes quiet (a dead gateway, a cut network), which is exactly when it matters most. The
 * episode starts at the last reading's event time, so its alert id is the same in a replay.
 *
 * <p>It keeps its own lifecycle (OPEN on the timer, RESOLVED on the next reading) instead of the
 * event-time {@link AlertLifecycle}. One processing-time timer per sensor at a time: a reading only
 * moves the last-seen time, and the timer re-arms itself from it.
 */
public final class MissingDataDetector extends KeyedProcessFunction<String, SensorReading, Alert> {
    private static final long serialVersionUID = 1L;

    private final RuleBook book;
    private final long stateTtlMillis;
    private transient RuleCache rules;
    private transient ValueState<Silence> state;

    /** What the detector remembers about a sensor. */
    public static final class Silence {
        public long lastSeen;
        public long lastEventTime;
        public double lastValue;
        public String unit;
        public long timerAt;
        public boolean open;
        public String sensorId;

        public Silence() {}
    }

    public MissingDataDetector(RuleBook book, long stateTtlMillis) {
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
                                        new ValueStateDescriptor<>("silence", Silence.class),
                                        stateTtlMillis));
    }

    @Override
    public void processElement(SensorReading r, Context ctx, Collector<Alert> out)
            throws Exception {
        DetectorRules.MissingData rule = rules.rulesFor(r).missingData();
        if (rule == null) {
            return;
        }
        long now = ctx.timerService().currentProcessingTime();
        Silence s = state.value();
        if (s == null) {
            s = new Silence();
            s.sensorId = r.key();
        }
        if (s.open) {
            out.collect(
                    opened(s, rule, now)
                            .resolve(
                                    Math.max(r.timestamp(), s.lastEventTime),
                                    now,
                                    r.sensorId() + " sends again"));
            s.open = false;
        }
        s.lastSeen = now;
        s.lastEventTime = Math.max(s.lastEventTime, r.timestamp());
        s.lastValue = r.value();
        s.unit = r.unit();
        if (s.timerAt == 0) {
            s.timerAt = now + rule.afterMillis();
            ctx.timerService().registerProcessingTimeTimer(s.timerAt);
        }
        state.update(s);
    }

    @Override
    public void onTimer(long time, OnTimerContext ctx, Collector<Alert> out) throws Exception {
        Silence s = state.value();
        if (s == null) {
            return;
        }
        DetectorRules.MissingData rule =
                rules.rulesFor(
                                new SensorReading(
                                        SensorId.parse(s.sensorId),
                                        s.lastEventTime,
                                        s.lastValue,
                                        s.unit,
                                        io.plantwatch.model.Quality.GOOD,
                                        SensorReading.NO_SEQ))
                        .missingData();
        if (rule == null) {
            s.timerAt = 0;
            state.update(s);
            return;
        }
        if (time >= s.lastSeen + rule.afterMillis()) {
            s.open = true;
            s.timerAt = 0;
            out.collect(opened(s, rule, time));
        } else {
            s.timerAt = s.lastSeen + rule.afterMillis();
            ctx.timerService().registerProcessingTimeTimer(s.timerAt);
        }
        state.update(s);
    }

    private static Alert opened(Silence s, DetectorRules.MissingData rule, long detectedAt) {
        return Alert.open(
                SensorId.parse(s.sensorId),
                rule.alarm().rule(),
                AlertKind.MISSING_DATA,
                rule.alarm().severity(),
                s.lastEventTime,
                detectedAt,
                List.of(s.lastValue),
                s.sensorId
                        + " sent nothing for "
                        + Format.duration(rule.afterMillis())
                        + " (last reading "
                        + Instant.ofEpochMilli(s.lastEventTime)
                        + ")");
    }
}
