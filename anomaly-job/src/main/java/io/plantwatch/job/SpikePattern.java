package io.plantwatch.job;

import io.plantwatch.job.rules.DetectorRules;
import io.plantwatch.job.rules.PatternShape;
import io.plantwatch.job.rules.RuleBook;
import io.plantwatch.model.AlertKind;
import io.plantwatch.model.SensorReading;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.cep.functions.PatternProcessFunction;
import org.apache.flink.cep.nfa.aftermatch.AfterMatchSkipStrategy;
import org.apache.flink.cep.pattern.Pattern;
import org.apache.flink.cep.pattern.conditions.SimpleCondition;
import org.apache.flink.util.Collector;

/**
 * Temperature spike (flink-cep): a reading at least delta above the lowest value of the last {@code
 * within}, followed by {@code confirm} more that are still that high, all within {@code within}.
 * The rise is computed upstream ({@link FeatureExtractor}), so the condition looks at one event;
 * {@code skipPastLastEvent} makes one episode one match.
 */
public final class SpikePattern {
    private SpikePattern() {}

    public static Pattern<Observation, Observation> pattern(PatternShape shape, int shapeIndex) {
        return Pattern.<Observation>begin("high", AfterMatchSkipStrategy.skipPastLastEvent())
                .where(SimpleCondition.of(o -> o.spikeShape() == shapeIndex && o.spikeHigh()))
                .times(shape.count())
                .consecutive()
                .within(Duration.ofMillis(shape.withinMillis()));
    }

    /** Turns a match into the ONSET of a spike episode. */
    public static final class ToSignal extends PatternProcessFunction<Observation, Signal> {
        private static final long serialVersionUID = 1L;
        private final RuleBook book;
        private transient RuleCache rules;

        public ToSignal(RuleBook book) {
            this.book = book;
        }

        @Override
        public void open(OpenContext context) {
            rules = new RuleCache(book);
        }

        @Override
        public void processMatch(
                Map<String, List<Observation>> match, Context ctx, Collector<Signal> out) {
            List<Observation> high = match.get("high");
            Observation first = high.get(0);
            Observation last = high.get(high.size() - 1);
            SensorReading r = first.reading();
            DetectorRules.Spike rule = rules.rulesFor(r).spike();
            if (rule == null) {
                return;
            }
            double[] values = new double[high.size() + 1];
            values[0] = first.spikeBase();
            for (int i = 0; i < high.size(); i++) {
                values[i + 1] = high.get(i).reading().value();
            }
            String message =
                    String.format(
                            Locale.ROOT,
                            "%s rose from %s to %s %s within %s (limit: a rise of %s)",
                            r.sensorId(),
                            Format.number(first.spikeBase()),
                            Format.number(r.value()),
                            r.unit(),
                            Format.duration(rule.withinMillis()),
                            Format.number(rule.delta()));
            out.collect(
                    Signal.onset(
                            r.sensorId(),
                            AlertKind.SPIKE,
                            rule.alarm(),
                            last.reading().timestamp(),
                            r.timestamp(),
                            values,
                            message,
                            r.unit(),
                            AlertLimits.spike(rule)));
        }
    }
}
