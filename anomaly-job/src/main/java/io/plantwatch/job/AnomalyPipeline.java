package io.plantwatch.job;

import io.plantwatch.job.rules.PatternShape;
import io.plantwatch.job.rules.RuleBook;
import io.plantwatch.model.Alert;
import io.plantwatch.model.SensorReading;
import java.io.Serializable;
import java.util.List;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.cep.CEP;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;

/**
 * The job's topology, built by one method that {@link AnomalyJob} and the tests both call: readings
 * in, alerts, late readings and completeness reports out. Sources and sinks are the caller's.
 *
 * <pre>
 * readings -in place (or keyBy sensor)-> SensorDetectors: SequenceTracker (late/future aside,
 *   de-duplicate, order, count), then features, rate of change, flatline, baseline --+-keyBy-> AlertLifecycle -> alerts
 *        | observations -keyBy-> CEP spike / out-of-range (one per shape) ----------+
 *        | missing data (processing time) --------------------------------------------------------> alerts
 * </pre>
 *
 * Readings from a topic keyed by sensor id are detected on where they are read, chained to the
 * Kafka source without crossing the network ({@link InPlaceKeys}); any other input is shuffled by
 * sensor first. Every per-reading step of a sensor runs in that one operator, so its state is
 * looked up once ({@link SensorDetectors}). What the CEP patterns need is a small share of the
 * readings (runs of high or outside readings), and it is shuffled to them by sensor. Every stateful
 * operator has a stable uid so savepoints survive upgrades; the CEP operators' uids name their
 * shape, so a rules change that adds a shape needs {@code --allowNonRestoredState} only for the
 * shapes it removes.
 */
public final class AnomalyPipeline {
    private AnomalyPipeline() {}

    /**
     * Operator settings.
     *
     * @param maxFutureSkewMillis readings stamped further ahead of the wall clock are set aside
     * @param stateTtlMillis a sensor silent this long is forgotten; 0 keeps state forever
     * @param readingsOut whether {@link Outputs#readings} is wanted (series storage): handing each
     *     reading to an output nobody reads still cost a twentieth of the keyed task
     * @param keyedInPlace whether each parallel instance of the input holds whole sensors, as a
     *     Kafka source on a topic keyed by sensor id does: the detectors then run where readings
     *     are read ({@link InPlaceKeys}); otherwise readings are shuffled by sensor first
     */
    public record Settings(
            long maxFutureSkewMillis,
            long stateTtlMillis,
            boolean readingsOut,
            boolean keyedInPlace)
            implements Serializable {
        /** Input of any partitioning, without the readings output. */
        public Settings(long maxFutureSkewMillis, long stateTtlMillis) {
            this(maxFutureSkewMillis, stateTtlMillis, false, false);
        }

        /** Input of any partitioning. */
        public Settings(long maxFutureSkewMillis, long stateTtlMillis, boolean readingsOut) {
            this(maxFutureSkewMillis, stateTtlMillis, readingsOut, false);
        }
    }

    /**
     * What the pipeline produces; the caller decides where each goes. {@code readings} are those
     * detected on: in event-time order per sensor, without duplicates, late ones left out; null
     * unless {@link Settings#readingsOut()}.
     */
    public record Outputs(
            DataStream<SensorReading> readings,
            DataStream<Alert> alerts,
            DataStream<LateReading> late,
            DataStream<CompletenessReport> completeness) {}

    // Under 80 characters, Flink's limit for metric names.
    private static final String DETECTORS =
            "Sensor detectors: sequence, features, rate, flatline, baseline, missing";

    /**
     * Builds the pipeline on {@code readings}, which must carry event-time timestamps and
     * watermarks ({@link ReadingWatermarks}).
     */
    public static Outputs build(DataStream<SensorReading> readings, Settings s, RuleBook rules) {
        long ttl = s.stateTtlMillis();
        SingleOutputStreamOperator<Signal> detected;
        if (s.keyedInPlace()) {
            detected =
                    InPlaceKeys.keyedInPlace(readings)
                            .transform(
                                    DETECTORS,
                                    TypeInformation.of(Signal.class),
                                    new InPlaceKeys.DetectorsOperator(
                                            new SensorDetectors<>(
                                                    rules,
                                                    s.maxFutureSkewMillis(),
                                                    ttl,
                                                    s.readingsOut())))
                            // Its own uid: the key type differs from the shuffled variant's.
                            .uid("sensor-detectors-in-place");
        } else {
            detected =
                    readings.keyBy(new ReadingKey(), Types.STRING)
                            .process(
                                    new SensorDetectors<String>(
                                            rules, s.maxFutureSkewMillis(), ttl, s.readingsOut()))
                            .uid("sensor-detectors-v2")
                            .name(DETECTORS);
        }
        DataStream<Observation> observations = detected.getSideOutput(SensorDetectors.OBSERVATIONS);
        DataStream<Signal> signals = detected;

        List<PatternShape> spikeShapes = rules.spikeShapes();
        for (int i = 0; i < spikeShapes.size(); i++) {
            PatternShape shape = spikeShapes.get(i);
            int index = i;
            DataStream<Observation> mine =
                    observations
                            .process(new PatternInput(true, index), observations.getType())
                            .name("Spike shape " + shape);
            signals =
                    signals.union(
                            CEP.pattern(
                                            mine.keyBy(new ObservationKey(), Types.STRING),
                                            SpikePattern.pattern(shape, index))
                                    .inEventTime()
                                    .process(new SpikePattern.ToSignal(rules))
                                    .uid("spike-cep-" + uidPart(shape))
                                    .name("Spike CEP " + shape));
        }
        List<PatternShape> rangeShapes = rules.outOfRangeShapes();
        for (int i = 0; i < rangeShapes.size(); i++) {
            PatternShape shape = rangeShapes.get(i);
            int index = i;
            DataStream<Observation> mine =
                    observations
                            .process(new PatternInput(false, index), observations.getType())
                            .name("Out-of-range shape " + shape);
            signals =
                    signals.union(
                            CEP.pattern(
                                            mine.keyBy(new ObservationKey(), Types.STRING),
                                            OutOfRangePattern.pattern(shape, index))
                                    .inEventTime()
                                    .process(new OutOfRangePattern.ToSignal(rules))
                                    .uid("out-of-range-cep-" + uidPart(shape))
                                    .name("Out-of-range CEP " + shape));
        }
        DataStream<Alert> lifecycle =
                signals.keyBy(new SignalKey(), Types.STRING)
                        .process(new AlertLifecycle(ttl))
                        .uid("alert-lifecycle")
                        .name("Alert lifecycle");
        DataStream<Alert> missing = detected.getSideOutput(SensorDetectors.MISSING);
        return new Outputs(
                s.readingsOut() ? detected.getSideOutput(SensorDetectors.READINGS) : null,
                lifecycle.union(missing),
                detected.getSideOutput(SequenceTracker.LATE),
                detected.getSideOutput(SequenceTracker.COMPLETENESS));
    }

    private static String uidPart(PatternShape shape) {
        return shape.count() + "x" + shape.withinMillis() + "ms";
    }

    /** The sensor id: readings' Kafka key. */
    public static final class ReadingKey implements KeySelector<SensorReading, String> {
        private static final long serialVersionUID = 1L;

        @Override
        public String getKey(SensorReading r) {
            return r.key();
        }
    }

    static final class ObservationKey implements KeySelector<Observation, String> {
        private static final long serialVersionUID = 1L;

        @Override
        public String getKey(Observation o) {
            return o.reading().key();
        }
    }

    static final class SignalKey implements KeySelector<Signal, String> {
        private static final long serialVersionUID = 1L;

        @Override
        public String getKey(Signal s) {
            return s.sensorId().id();
        }
    }
}
