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
 * Out of range (flink-cep): {@code count} consecutive readings outside [low, high] within {@code
 * within}. The comparison is made upstream ({@link FeatureExtractor}); {@code skipPastLastEvent}
 * makes one excursion one match, and the lifecycle ignores matches while its episode is open.
 */
public final class OutOfRangePattern {
    private OutOfRangePattern() {}

    public static Pattern<Observation, Observation> pattern(PatternShape shape, int shapeIndex) {
        return Pattern.<Observation>begin("outside", AfterMatchSkipStrategy.skipPastLastEvent())
                .where(SimpleCondition.of(o -> o.rangeShape() == shapeIndex && o.outOfRange()))
                .times(shape.count())
                .consecutive()
                .within(Duration.ofMillis(shape.withinMillis()));
    }

    /** Turns a match into the ONSET of an out-of-range episode. */
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
            List<Observation> outside = match.get("outside");
            SensorReading first = outside.get(0).reading();
            SensorReading last = outside.get(outside.size() - 1).reading();
            DetectorRules.OutOfRange rule = rules.rulesFor(first).outOfRange();
            if (rule == null) {
                return;
            }
            double[] values = new double[outside.size()];
            for (int i = 0; i < values.length; i++) {
                values[i] = outside.get(i).reading().value();
            }
            boolean high = last.value() > rule.high();
            String message =
                    String.format(
                            Locale.ROOT,
                            "%s is %s %s %s: %s %s for %d readings",
                            first.sensorId(),
                            high ? "above" : "below",
                            high ? "its high limit" : "its low limit",
                            Format.number(high ? rule.high() : rule.low()),
                            Format.number(last.value()),
                            last.unit(),
                            values.length);
            out.collect(
                    Signal.onset(
                            first.sensorId(),
                            AlertKind.OUT_OF_RANGE,
                            rule.alarm(),
                            last.timestamp(),
                            first.timestamp(),
                            values,
                            message,
                            last.unit(),
                            AlertLimits.outOfRange(rule)));
        }
    }
}
