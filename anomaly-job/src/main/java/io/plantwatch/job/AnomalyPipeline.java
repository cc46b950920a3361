package io.plantwatch.job;

import io.plantwatch.job.rules.PatternShape;
import io.plantwatch.job.rules.RuleBook;
import io.plantwatch.model.Alert;
import io.plantwatch.model.SensorReading;
import java.io.Serializable;
import java.util.List;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.cep.CEP;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.DataStreamUtils;
import org.apache.flink.streaming.api.datastream.KeyedStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;

/**
 * The job's topology, built by one method that {@link AnomalyJob} and the tests both call: readings
 * in, alerts, late readings and completeness reports out. Sources and sinks are the caller's.
 *
 * <pre>
 * readings -in place (or keyBy sensor)-> SensorDetectors: SequenceTracker (late/future aside,
 *   de-duplicate, order, count), then features, rate of change, flatline, baseline --+-keyBy-> AlertLifecycle -> alerts
 *        | observations -keyBy-> CEP spike / out-of-range, one per shape, chained -+
 *        | missing data (processing time) --------------------------------------------------------> alerts
 *        | sensors heard -keyBy-> ExpectedSensors (listed sensors never heard, processing time) ---> alerts
 * </pre>
 *
 * Readings from a topic keyed by sensor id are detected on where they are read, chained to the
 * Kafka source without crossing the network ({@link InPlaceKeys}); any other input is shuffled by
 * sensor first. Every per-reading step of a sensor runs in that one operator, so its state is
 * looked up once ({@link SensorDetectors}). What the CEP patterns need is a small share of the
 * readings (runs of high or outside readings), and it is shuffled by sensor once, to one task per
 * subtask in which every shape's pattern runs. Every stateful operator has a stable uid so
 * savepoints survive upgrades; the CEP operators' uids name their shape, so a rules change that
 * adds a shape needs {@code --allowNonRestoredState} only for the shapes it removes.
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
    static final String PATTERN_INPUT = "Observations for the CEP patterns, by sensor";
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
                            .transform(
                                    DETECTORS,
                                    TypeInformation.of(Signal.class),
                                    new SensorDetectors.ShuffledOperator(
                                            new SensorDetectors<>(
                                                    rules,
                                                    s.maxFutureSkewMillis(),
                                                    ttl,
                                                    s.readingsOut())))
                            .uid("sensor-detectors-v2");
        }
        // One shuffle for every pattern: the observations go to one task per subtask, where each
        // shape's CEP operator is chained behind its filter. A keyBy per shape made a task per
        // shape and subtask (twenty with the shipped rules), each with its own thread, network
        // buffers, watermark traffic and output flusher, for a small share of the readings.
        DataStream<Observation> byPatternSensor =
                detected.getSideOutput(SensorDetectors.OBSERVATIONS)
                        .keyBy(new ObservationKey(), Types.STRING)
                        .map(new ObservationsByPattern())
                        .name(PATTERN_INPUT);
        DataStream<Signal> signals = detected;

        List<PatternShape> spikeShapes = rules.spikeShapes();
        for (int i = 0; i < spikeShapes.size(); i++) {
            PatternShape shape = spikeShapes.get(i);
            signals =
                    signals.union(
                            CEP.pattern(
                                            patternInput(
                                                    byPatternSensor,
                                                    new PatternInput(true, i),
                                                    "Spike shape " + shape),
                                            SpikePattern.pattern(shape, i))
                                    .inEventTime()
                                    .process(new SpikePattern.ToSignal(rules))
                                    .uid("spike-cep-" + uidPart(shape))
                                    .name("Spike CEP " + shape));
        }
        List<PatternShape> rangeShapes = rules.outOfRangeShapes();
        for (int i = 0; i < rangeShapes.size(); i++) {
            PatternShape shape = rangeShapes.get(i);
            signals =
                    signals.union(
                            CEP.pattern(
                                            patternInput(
                                                    byPatternSensor,
                                                    new PatternInput(false, i),
                                                    "Out-of-range shape " + shape),
                                            OutOfRangePattern.pattern(shape, i))
                                    .inEventTime()
                                    .process(new OutOfRangePattern.ToSignal(rules))
                                    .uid("out-of-range-cep-" + uidPart(shape))
                                    .name("Out-of-range CEP " + shape));
        }
        DataStream<Alert> lifecycle =
                signals.keyBy(new SignalKey(), Types.STRING)
                        .process(new AlertLifecycle(), AlertTypeInfo.INSTANCE)
                        .uid("alert-lifecycle")
                        .name("Alert lifecycle");
        DataStream<Alert> missing = detected.getSideOutput(SensorDetectors.MISSING);
        // Always in the topology, listed sensors or none: a savepoint taken while some were listed
        // holds its state, and restores only where its uid is.
        DataStream<Alert> neverHeard =
                detected.getSideOutput(SensorDetectors.HEARD)
                        .keyBy(new HeardKey(), Types.STRING)
                        .transform(
                                "Expected sensors never heard",
                                lifecycle.getType(),
                                new ExpectedSensors(rules))
                        .uid("expected-sensors");
        return new Outputs(
                s.readingsOut() ? detected.getSideOutput(SensorDetectors.READINGS) : null,
                lifecycle.union(missing, neverHeard),
                detected.getSideOutput(SequenceTracker.LATE),
                detected.getSideOutput(SequenceTracker.COMPLETENESS));
    }

    /**
     * One shape's observations, still keyed by sensor: the filter runs behind the shared shuffle,
     * so the key is declared again rather than shuffled again, and the CEP operator chains to it.
     */
    private static KeyedStream<Observation, String> patternInput(
            DataStream<Observation> bySensor, PatternInput filter, String name) {
        return DataStreamUtils.reinterpretAsKeyedStream(
                bySensor.process(filter, bySensor.getType()).name(name),
                new ObservationKey(),
                Types.STRING);
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

    /** The shared shuffle's receiving end; every shape's filter and pattern chain behind it. */
    static final class ObservationsByPattern implements MapFunction<Observation, Observation> {
        private static final long serialVersionUID = 1L;

        @Override
        public Observation map(Observation o) {
            return o;
        }
    }

    static final class ObservationKey implements KeySelector<Observation, String> {
        private static final long serialVersionUID = 1L;

        @Override
        public String getKey(Observation o) {
            return o.reading().key();
        }
    }

    static final class HeardKey implements KeySelector<Tuple2<String, Long>, String> {
        private static final long serialVersionUID = 1L;

        @Override
        public String getKey(Tuple2<String, Long> heard) {
            return heard.f0;
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
