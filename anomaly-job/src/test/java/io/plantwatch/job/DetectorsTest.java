package io.plantwatch.job;

import static io.plantwatch.job.Harnesses.reading;
import static io.plantwatch.job.Harnesses.rules;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.plantwatch.job.rules.RuleBook;
import io.plantwatch.model.AlertKind;
import io.plantwatch.model.SensorId;
import io.plantwatch.model.SensorReading;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.CheckpointOptions;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.state.KeyedStateBackend;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.runtime.state.memory.MemCheckpointStreamFactory;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.api.operators.OperatorSnapshotFinalizer;
import org.apache.flink.streaming.api.operators.OperatorSnapshotFutures;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The keyed detectors that follow {@link SequenceTracker}: they see one sensor's readings in
 * event-time order and tell the lifecycle about onsets and level changes.
 */
class DetectorsTest {
    private static final long TTL = 3_600_000;

    /**
     * The signals about rules: which rules are in force, told once per sensor and run, is left out
     * (eachSensorTellsItsRulesInForceOncePerRun and the lifecycle's tests cover it).
     */
    private static List<Signal> drain(
            KeyedOneInputStreamOperatorTestHarness<String, SensorReading, Signal> h) {
        return Harnesses.drain(h).stream().filter(s -> s.type() != Signal.Type.RULES).toList();
    }

    private static List<String> describe(List<Signal> signals) {
        return signals.stream()
                .map(
                        s ->
                                s.type()
                                        + "@"
                                        + (s.time() - Harnesses.T0)
                                        + "/"
                                        + (s.episodeStart() - Harnesses.T0))
                .toList();
    }

    /**
     * Each decoded reading brings its own unit string. The sensor's state keeps the first one while
     * the unit stays the same: storing every new string into state that lives in the old generation
     * gave G1 a card to refine per reading (its refinement threads took up to a third of a core
     * with 100,000 sensors).
     */
    @Test
    void theStateKeepsItsUnitStringWhileTheUnitStaysTheSame() throws Exception {
        var h =
                Harnesses.<Signal>onReadings(
                        new SensorDetectors<String>(
                                rules("defaults: {missing-data: {after: 1m}}"),
                                Long.MAX_VALUE / 4,
                                TTL,
                                false));
        h.open();
        feed(h, withUnit(reading(0, 20, 0), new String("degC")));
        SensorDetectors.State first = stateOf(h);
        String unit = first.track.unit;
        assertThat(unit).isEqualTo("degC");
        assertThat(first.silence.unit).isSameAs(unit);
        feed(h, withUnit(reading(1000, 20, 1), new String("degC")));
        assertThat(stateOf(h).track.unit).isSameAs(unit);
        assertThat(stateOf(h).silence.unit).isSameAs(unit);
        feed(h, withUnit(reading(2000, 20, 2), "degF"));
        assertThat(stateOf(h).track.unit).isEqualTo("degF");
        assertThat(stateOf(h).silence.unit).isEqualTo("degF");
        h.close();
    }

    /**
     * On the heap a sensor's state is changed in place, without storing it back (see {@code
     * SensorDetectors.stateIsLive}); on RocksDB it is stored back. Either way a checkpoint holds
     * the state of its moment though readings change it while the checkpoint is still being
     * written, and the live state keeps every change.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"hashmap", "rocksdb"})
    void aCheckpointHoldsItsMomentWhileReadingsGoOnChangingTheState(String backend)
            throws Exception {
        RuleBook book = rules("defaults: {missing-data: {after: 1m}}");
        var h = detectorsOn(backend, book);
        h.open();
        assertThat(
                        ((SensorDetectors<?>)
                                        ((KeyedProcessOperator<?, ?, ?>) h.getOperator())
                                                .getUserFunction())
                                .changesStateInPlace())
                .isEqualTo(backend.equals("hashmap"));
        for (int i = 0; i < 5; i++) {
            feed(h, reading(i * 1000L, 20 + i, i));
        }
        OperatorSnapshotFutures started =
                h.getOperator()
                        .snapshotState(
                                1,
                                5_000,
                                CheckpointOptions.forCheckpointWithDefaultLocation(),
                                new MemCheckpointStreamFactory(Integer.MAX_VALUE));
        for (int i = 5; i < 10; i++) {
            feed(h, reading(i * 1000L, 20 + i, i));
        }
        OperatorSubtaskState checkpoint =
                OperatorSnapshotFinalizer.create(started).getJobManagerOwnedState();
        assertThat(stateOf(h).track.highest).isEqualTo(9);
        assertThat(stateOf(h).track.received).isEqualTo(10);
        assertThat(stateOf(h).silence.lastValue).isEqualTo(29);
        h.close();

        var restored = detectorsOn(backend, book);
        restored.initializeState(checkpoint);
        restored.open();
        assertThat(stateOf(restored).track.highest).isEqualTo(4);
        assertThat(stateOf(restored).track.received).isEqualTo(5);
        assertThat(stateOf(restored).silence.lastValue).isEqualTo(24);
        restored.close();
    }

    /**
     * Once per sensor and run the detectors tell the lifecycle which of its rules are in force, so
     * that an alert of a rule a new rules file took away resolves ({@code AlertLifecycle}); a run
     * of an excursion under way is sent to the patterns again, so that a renamed rule alerts under
     * its new name.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"hashmap", "rocksdb"})
    void eachSensorTellsItsRulesInForceOncePerRun(String backend) throws Exception {
        var h =
                detectorsOn(
                        backend,
                        rules(
                                "defaults: {flatline: {count: 3, name: stuck},"
                                        + " out-of-range: {high: 30, name: hot}}"));
        h.open();
        feed(h, reading(0, 20, 0), reading(1_000, 40, 1));
        feed(h, reading(2_000, 40, 2));
        List<Signal> first = Harnesses.drain(h);
        assertThat(rulesTold(first)).containsExactly("RULES@0 [hot, stuck]");
        assertThat(sentToPatterns(h)).isEqualTo(1); // the excursion's run, matched at once
        OperatorSubtaskState checkpoint = h.snapshot(1, 2_000);
        h.close();

        var restored =
                detectorsOn(
                        backend,
                        rules(
                                "defaults: {out-of-range: {high: 30, name: too-hot},"
                                        + " baseline: {name: drift}}\n"
                                        + "sensors: [{match: '**/press-1/oil-temp',"
                                        + " spike: {delta: 5, within: 10s}}]"));
        restored.initializeState(checkpoint);
        restored.open();
        feed(restored, reading(3_000, 40, 3), reading(4_000, 40, 4));
        feed(restored, reading(Harnesses.OTHER, 4_500, 21, 0));
        feed(restored, reading(5_000, 40, 5), reading(Harnesses.OTHER, 5_500, 21, 1));
        assertThat(rulesTold(Harnesses.drain(restored)))
                .containsExactly(
                        "RULES@3000 [drift, spike, too-hot]", "RULES@4500 [drift, too-hot]");
        // The excursion under way goes to the patterns again, as a new run.
        assertThat(sentToPatterns(restored)).isEqualTo(1);
        // The flatline's rule is gone: its state goes too, rather than going stale.
        assertThat(stateOf(restored).flatline).isNull();
        assertThat(stateOf(restored).features).isNotNull();
        restored.close();
    }

    /**
     * Flatline, rate of change and the baseline tell a level only when it changes. A rule renamed
     * while its condition held retired the old name's episode (the rules changed) and opened none
     * under the new name until the condition cleared and came back. At a run's first reading, a
     * condition that still holds is told again as an onset; under an unchanged name the lifecycle
     * has that episode open and ignores it.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"hashmap", "rocksdb"})
    void aLevelConditionThatHoldsIsToldUnderTheRulesOfANewRun(String backend) throws Exception {
        SensorId drifting = SensorId.parse("dresden/press-shop/line-1/press-3/oil-temp");
        String before =
                "defaults: {flatline: {count: 3, name: stuck},"
                        + " rate-of-change: {max-per-second: 2, window: 4s, name: steep}}\n"
                        + "sensors: [{match: '**/press-3/oil-temp', flatline: false,"
                        + " rate-of-change: false,"
                        + " baseline: {warmup: 31, k: 4, consecutive: 1, name: drift}}]";
        var h = detectorsOn(backend, rules(before));
        h.open();
        for (int i = 0; i < 31; i++) {
            feed(h, reading(drifting, i * 1_000L, i % 2 == 0 ? 20.0 : 20.2, i));
        }
        for (int i = 0; i < 5; i++) {
            feed(
                    h,
                    reading(31_000 + i * 1_000L, 21.0, i),
                    reading(Harnesses.OTHER, 31_000 + i * 1_000L, 20 + 5 * i, i),
                    reading(drifting, 31_000 + i * 1_000L, 30, 31 + i));
        }
        assertThat(onsets(drain(h)))
                .containsExactlyInAnyOrder(
                        "stuck " + Harnesses.SENSOR + " from 31000",
                        "steep " + Harnesses.OTHER + " from 33000",
                        "drift " + drifting + " from 31000");
        OperatorSubtaskState checkpoint = h.snapshot(1, 35_000);
        h.close();

        var renamed =
                detectorsOn(
                        backend,
                        rules(before.replace("stuck", "frozen").replace("drift", "departs")));
        renamed.initializeState(checkpoint);
        renamed.open();
        for (int i = 5; i < 7; i++) {
            feed(
                    renamed,
                    reading(31_000 + i * 1_000L, 21.0, i),
                    reading(Harnesses.OTHER, 31_000 + i * 1_000L, 20 + 5 * i, i),
                    reading(drifting, 31_000 + i * 1_000L, 30, 31 + i));
        }
        // Told once, at each sensor's first reading of the run; the unchanged name too. It starts
        // then: an id of the condition's start may be one the lifecycle resolved already.
        assertThat(onsets(drain(renamed)))
                .containsExactlyInAnyOrder(
                        "frozen " + Harnesses.SENSOR + " from 36000",
                        "steep " + Harnesses.OTHER + " from 36000",
                        "departs " + drifting + " from 36000");
        renamed.close();
    }

    private static List<String> onsets(List<Signal> signals) {
        return signals.stream()
                .filter(s -> s.type() == Signal.Type.ONSET)
                .map(
                        s ->
                                s.rule()
                                        + " "
                                        + s.sensorId()
                                        + " from "
                                        + (s.episodeStart() - Harnesses.T0))
                .toList();
    }

    private static int sentToPatterns(
            KeyedOneInputStreamOperatorTestHarness<String, SensorReading, Signal> h) {
        var side = h.getSideOutput(SensorDetectors.OBSERVATIONS);
        int n =
                side == null
                        ? 0
                        : (int) side.stream().filter(o -> o.getValue().outOfRange()).count();
        if (side != null) {
            side.clear();
        }
        return n;
    }

    private static List<String> rulesTold(List<Signal> signals) {
        return signals.stream()
                .filter(s -> s.type() == Signal.Type.RULES)
                .map(
                        s ->
                                s.type()
                                        + "@"
                                        + (s.time() - Harnesses.T0)
                                        + " "
                                        + new java.util.TreeSet<>(s.rulesInForce()))
                .toList();
    }

    private static KeyedOneInputStreamOperatorTestHarness<String, SensorReading, Signal>
            detectorsOn(String backend, RuleBook book) throws Exception {
        var h =
                new KeyedOneInputStreamOperatorTestHarness<>(
                        new KeyedProcessOperator<>(
                                new SensorDetectors<String>(book, Long.MAX_VALUE / 4, TTL, false)),
                        new AnomalyPipeline.ReadingKey(),
                        Types.STRING);
        h.setStateBackend(Harnesses.stateBackend(backend));
        return h;
    }

    private static SensorReading withUnit(SensorReading r, String unit) {
        return new SensorReading(
                r.sensorId(), r.timestamp(), r.value(), unit, r.quality(), r.seq());
    }

    private static SensorDetectors.State stateOf(
            KeyedOneInputStreamOperatorTestHarness<String, SensorReading, Signal> h)
            throws Exception {
        KeyedStateBackend<String> backend = h.getOperator().getKeyedStateBackend();
        backend.setCurrentKey(Harnesses.SENSOR.id());
        return backend.getPartitionedState(
                        VoidNamespace.INSTANCE,
                        VoidNamespaceSerializer.INSTANCE,
                        SensorDetectors.stateDescriptor())
                .value();
    }

    @Test
    void rateOfChangeFiresOnceWhenTheSlopeExceedsTheLimitAndClearsBelowEightyPercent()
            throws Exception {
        var h =
                Harnesses.<Signal>onReadings(
                        new SensorDetectors<String>(
                                rules(
                                        "defaults: {rate-of-change: {max-per-second: 1,"
                                                + " window: 5s}}"),
                                Long.MAX_VALUE / 4,
                                TTL,
                                true));
        h.open();
        // Flat, then +2/s for five seconds, then flat again.
        for (int s = 0; s <= 5; s++) {
            feed(h, reading(s * 1000L, 20, s));
        }
        assertThat(drain(h)).isEmpty();
        for (int s = 6; s <= 10; s++) {
            feed(h, reading(s * 1000L, 20 + 2 * (s - 5), s));
        }
        List<Signal> rising = drain(h);
        assertThat(rising).extracting(Signal::kind).containsOnly(AlertKind.RATE_OF_CHANGE);
        // Least squares over the 5 s window lags a bend: it passes 1/s at the third rising reading.
        assertThat(describe(rising)).containsExactly("ACTIVE@8000/8000", "ONSET@8000/8000");
        // The window's readings, oldest first, though the ring holding them has wrapped.
        assertThat(rising.get(1).values()).containsExactly(20, 20, 20, 22, 24, 26);
        assertThat(rising.get(1).namedLimits())
                .containsExactly(
                        Map.entry("max_per_s", 1.0),
                        Map.entry("window_s", 5.0),
                        Map.entry("min_readings", 3.0));
        for (int s = 11; s <= 20; s++) {
            feed(h, reading(s * 1000L, 30, s));
        }
        assertThat(describe(drain(h))).containsExactly("CLEAR@13000/13000");
        h.close();
    }

    /**
     * A broken sensor jumping between the largest values a double holds: the sums of the least
     * squares overflowed to infinities, the slope came out NaN, and no alert ever fired.
     */
    @Test
    void rateOfChangeFiresOnAJumpAcrossTheLimitsOfADouble() throws Exception {
        var h =
                Harnesses.<Signal>onReadings(
                        new SensorDetectors<String>(
                                rules(
                                        "defaults: {rate-of-change: {max-per-second: 1,"
                                                + " window: 5s}}"),
                                Long.MAX_VALUE / 4,
                                TTL,
                                true));
        h.open();
        for (int s = 0; s <= 5; s++) {
            feed(h, reading(s * 1000L, 1.7e308, s));
        }
        assertThat(drain(h)).isEmpty();
        for (int s = 6; s <= 8; s++) {
            feed(h, reading(s * 1000L, -1.7e308, s));
        }
        List<Signal> signals = drain(h);
        assertThat(describe(signals)).containsExactly("ACTIVE@6000/6000", "ONSET@6000/6000");
        assertThat(signals.get(1).message()).contains("changes by -");
        h.close();
        assertThat(RateOfChangeDetector.slopePerSecond(window(0, 1.7e308, 1000, -1.7e308)))
                .isEqualTo(Double.NEGATIVE_INFINITY);
        assertThat(RateOfChangeDetector.slopePerSecond(window(0, 1e308, 1000, 1e308))).isZero();
    }

    private static RateOfChangeDetector.Window window(long t1, double v1, long t2, double v2) {
        RateOfChangeDetector.Window w = new RateOfChangeDetector.Window();
        w.add(t1, v1);
        w.add(t2, v2);
        return w;
    }

    @Test
    void rateOfChangeIgnoresNoiseBelowTheLimit() throws Exception {
        var h =
                Harnesses.<Signal>onReadings(
                        new SensorDetectors<String>(
                                rules(
                                        "defaults: {rate-of-change: {max-per-second: 1, window: 10s}}"),
                                Long.MAX_VALUE / 4,
                                TTL,
                                true));
        h.open();
        for (int s = 0; s < 60; s++) {
            feed(h, reading(s * 1000L, 20 + (s % 2 == 0 ? 0.5 : -0.5), s));
        }
        assertThat(drain(h)).isEmpty();
        h.close();
    }

    @Test
    void rateOfChangeWaitsForHalfItsWindowBeforeJudgingASlope() throws Exception {
        var h =
                Harnesses.<Signal>onReadings(
                        new SensorDetectors<String>(
                                rules(
                                        "defaults: {rate-of-change: {max-per-second: 2,"
                                                + " window: 20s}}"),
                                Long.MAX_VALUE / 4,
                                TTL,
                                true));
        h.open();
        // A 10 Hz sensor's first readings: noise of ±1 is a slope of ±20/s over 0.1 s.
        java.util.Random noise = new java.util.Random(7);
        for (int i = 0; i < 300; i++) {
            feed(h, reading(i * 100L, 180 + noise.nextGaussian(), i));
        }
        assertThat(drain(h)).isEmpty();
        h.close();
    }

    @Test
    void flatlineOpensAtTheReadingThatCompletesBothDurationAndCountAndStartsAtTheRun()
            throws Exception {
        var h =
                Harnesses.<Signal>onReadings(
                        new SensorDetectors<String>(
                                rules(
                                        "defaults: {flatline: {epsilon: 0.01, duration: 10s,"
                                                + " count: 5}}"),
                                Long.MAX_VALUE / 4,
                                TTL,
                                true));
        h.open();
        feed(h, reading(0, 20.3, 0), reading(1000, 20.9, 1));
        // Stuck at 21.0 from t=2s: 10 s later (t=12s) both conditions hold.
        for (int s = 2; s <= 11; s++) {
            feed(h, reading(s * 1000L, 21.0, s));
        }
        assertThat(drain(h)).isEmpty();
        feed(h, reading(12_000, 21.005, 12));
        assertThat(describe(drain(h))).containsExactly("ACTIVE@12000/12000", "ONSET@12000/2000");
        feed(h, reading(13_000, 21.0, 13), reading(14_000, 22.5, 14));
        assertThat(describe(drain(h))).containsExactly("CLEAR@14000/14000");
        h.close();
    }

    @Test
    void flatlineStaysQuietForANormallyNoisySensor() throws Exception {
        var h =
                Harnesses.<Signal>onReadings(
                        new SensorDetectors<String>(
                                rules("defaults: {flatline: {epsilon: 0.01, count: 5}}"),
                                Long.MAX_VALUE / 4,
                                TTL,
                                true));
        h.open();
        for (int s = 0; s < 100; s++) {
            feed(h, reading(s * 1000L, 20 + Math.sin(s) * 0.3, s));
        }
        assertThat(drain(h)).isEmpty();
        h.close();
    }

    @Test
    void baselineLearnsFirstThenFlagsAConsecutiveDepartureAndClearsOnReturn() throws Exception {
        var h =
                Harnesses.<Signal>onReadings(
                        new SensorDetectors<String>(
                                rules(
                                        "defaults: {baseline: {alpha: 0.05, k: 5, warmup: 50,"
                                                + " consecutive: 3}}"),
                                Long.MAX_VALUE / 4,
                                TTL,
                                true));
        h.open();
        java.util.Random noise = new java.util.Random(7);
        long t = 0;
        // A large departure during warm-up is not judged.
        feed(h, reading(t, 100, 0));
        for (int i = 1; i < 200; i++) {
            feed(h, reading(t = i * 1000L, 50 + noise.nextGaussian() * 0.5, i));
        }
        assertThat(drain(h)).isEmpty();
        // Two outliers are not enough; three in a row are.
        feed(h, reading(200_000, 60, 200), reading(201_000, 60, 201), reading(202_000, 50, 202));
        assertThat(drain(h)).isEmpty();
        feed(h, reading(203_000, 60, 203), reading(204_000, 60, 204), reading(205_000, 60, 205));
        List<Signal> out = drain(h);
        assertThat(describe(out)).containsExactly("ACTIVE@205000/205000", "ONSET@205000/203000");
        assertThat(out.get(1).kind()).isEqualTo(AlertKind.DRIFT);
        assertThat(out.get(1).message()).contains("departs from its baseline");
        // The band the readings left, around what the baseline had learned.
        Map<String, Double> band = out.get(1).namedLimits();
        assertThat(band.keySet())
                .containsExactly("low", "high", "baseline", "deviation", "k", "consecutive");
        assertThat(band.get("baseline")).isCloseTo(50, within(1.0));
        assertThat(band.get("high") - band.get("baseline"))
                .isCloseTo(5 * band.get("deviation"), within(1e-9));
        assertThat(band.get("high")).isLessThan(60);
        assertThat(band.get("low")).isGreaterThan(40);
        assertThat(out.get(1).unit()).isEqualTo(reading(0, 0, 0).unit());
        feed(h, reading(206_000, 50, 206));
        assertThat(describe(drain(h))).containsExactly("CLEAR@206000/206000");
        h.close();
    }

    @Test
    void baselineStaysQuietOnCorrelatedNoiseOverManySensors() throws Exception {
        // sensor-sim's noise, AR(1) with phi 0.9: 31 readings of it look about half as wide as it
        // is, and a scale learned only from them flagged ordinary noise (seen as a CI failure).
        var h =
                Harnesses.<Signal>onReadings(
                        new SensorDetectors<String>(
                                rules(
                                        "defaults: {baseline: {alpha: 0.01, k: 5, warmup: 300,"
                                                + " consecutive: 3}}"),
                                Long.MAX_VALUE / 4,
                                TTL,
                                true));
        h.open();
        java.util.Random noise = new java.util.Random(11);
        io.plantwatch.model.SensorId[] sensors = new io.plantwatch.model.SensorId[200];
        double[] ar = new double[sensors.length];
        for (int sensor = 0; sensor < sensors.length; sensor++) {
            sensors[sensor] =
                    io.plantwatch.model.SensorId.parse(
                            "dresden/press-shop/line-1/press-" + sensor + "/pressure");
            ar[sensor] = noise.nextGaussian();
        }
        for (int i = 0; i < 1000; i++) {
            SensorReading[] second = new SensorReading[sensors.length];
            for (int sensor = 0; sensor < sensors.length; sensor++) {
                ar[sensor] = 0.9 * ar[sensor] + Math.sqrt(1 - 0.81) * noise.nextGaussian();
                second[sensor] =
                        Harnesses.reading(sensors[sensor], i * 1000L, 6.0 + 0.05 * ar[sensor], i);
            }
            feed(h, second);
        }
        assertThat(describe(drain(h))).isEmpty();
        h.close();
    }

    @Test
    void baselineCatchesASlowDriftThatNoFixedRangeWouldYet() throws Exception {
        var h =
                Harnesses.<Signal>onReadings(
                        new SensorDetectors<String>(
                                rules(
                                        "defaults: {baseline: {alpha: 0.02, k: 6, warmup: 120,"
                                                + " consecutive: 3}}"),
                                Long.MAX_VALUE / 4,
                                TTL,
                                true));
        h.open();
        java.util.Random noise = new java.util.Random(3);
        int i = 0;
        for (; i < 600; i++) {
            feed(h, reading(i * 1000L, 65 + noise.nextGaussian() * 0.4, i));
        }
        assertThat(drain(h)).isEmpty();
        // +0.1 degC per second: 20 degC over 200 s, still inside a 0..95 range throughout.
        List<Signal> out = List.of();
        for (int d = 1; d <= 200 && out.isEmpty(); d++, i++) {
            feed(h, reading(i * 1000L, 65 + d * 0.1 + noise.nextGaussian() * 0.4, i));
            out = drain(h);
        }
        assertThat(out).extracting(Signal::type).contains(Signal.Type.ONSET);
        h.close();
    }

    @Test
    void missingDataOpensAfterSilenceInProcessingTimeAndResolvesOnTheNextReading()
            throws Exception {
        var h =
                Harnesses.onReadings(
                        new SensorDetectors<String>(
                                rules("defaults: {missing-data: {after: 30s}}"),
                                Long.MAX_VALUE / 4,
                                TTL,
                                true));
        h.open();
        h.setProcessingTime(1_000);
        feed(h, reading(0, 20, 0));
        h.setProcessingTime(20_000);
        feed(h, reading(1000, 20, 1));
        // 30 s after the first reading the timer fires, but the sensor spoke 11 s ago: re-armed.
        h.setProcessingTime(31_000);
        assertThat(missing(h)).isEmpty();
        assertThat(h.numProcessingTimeTimers()).isEqualTo(2); // and the hour-long expiry timer

        h.setProcessingTime(50_000);
        List<io.plantwatch.model.Alert> open = missing(h);
        assertThat(open).hasSize(1);
        assertThat(open.get(0).state()).isEqualTo(io.plantwatch.model.AlertState.OPEN);
        assertThat(open.get(0).kind()).isEqualTo(AlertKind.MISSING_DATA);
        assertThat(open.get(0).episodeStart()).isEqualTo(Harnesses.T0 + 1000);
        assertThat(open.get(0).detectedAt()).isEqualTo(50_000);
        assertThat(open.get(0).limits()).containsExactly(Map.entry("after_s", 30.0));
        assertThat(open.get(0).unit()).isEqualTo(reading(0, 0, 0).unit());
        assertThat(h.numProcessingTimeTimers()).isEqualTo(1); // the expiry timer

        // Still silent: no second OPEN.
        h.setProcessingTime(500_000);
        assertThat(missing(h)).isEmpty();

        feed(h, reading(600_000, 20, 2));
        List<io.plantwatch.model.Alert> resolved = missing(h);
        assertThat(resolved).hasSize(1);
        assertThat(resolved.get(0).state()).isEqualTo(io.plantwatch.model.AlertState.RESOLVED);
        assertThat(resolved.get(0).alertId()).isEqualTo(open.get(0).alertId());
        assertThat(resolved.get(0).limits()).isEqualTo(open.get(0).limits());
        assertThat(h.numProcessingTimeTimers()).isEqualTo(2);
        h.close();
    }

    @Test
    void aJobRestoredAfterDowntimeGivesEachSensorItsFullSilenceBeforeMissingDataOrExpiry()
            throws Exception {
        RuleBook book = rules("defaults: {missing-data: {after: 30s}}");
        var h =
                Harnesses.onReadings(
                        new SensorDetectors<String>(book, Long.MAX_VALUE / 4, TTL, true));
        h.open();
        h.setProcessingTime(1_000);
        feed(h, reading(0, 20, 0));
        OperatorSubtaskState snapshot = h.snapshot(1, 2_000);
        h.close();

        // Stopped for two hours, longer than the silence allowed and the state's TTL: on restore
        // the overdue timers fire at once, before the job could read what the sensor sent.
        var restored =
                new KeyedOneInputStreamOperatorTestHarness<>(
                        new KeyedProcessOperator<>(
                                new SensorDetectors<String>(book, Long.MAX_VALUE / 4, TTL, true)),
                        new AnomalyPipeline.ReadingKey(),
                        Types.STRING);
        restored.initializeState(snapshot);
        restored.open();
        long back = 2 * TTL;
        restored.setProcessingTime(back);
        assertThat(missing(restored)).isEmpty();
        assertThat(restored.numKeyedStateEntries()).isPositive();

        // Still silent a full 30 s after the restore: now it is missing, since its last reading.
        restored.setProcessingTime(back + 30_000);
        List<io.plantwatch.model.Alert> open = missing(restored);
        assertThat(open).hasSize(1);
        assertThat(open.get(0).state()).isEqualTo(io.plantwatch.model.AlertState.OPEN);
        assertThat(open.get(0).episodeStart()).isEqualTo(Harnesses.T0);

        // Its alert open, it is not forgotten a TTL later: forgotten, its return could not
        // resolve that alert, nor any other of its open alerts.
        restored.setProcessingTime(back + TTL + 30_000);
        assertThat(restored.numKeyedStateEntries()).isPositive();
        feed(restored, reading(1_000, 20, 1));
        assertThat(missing(restored))
                .singleElement()
                .satisfies(
                        a -> {
                            assertThat(a.alertId()).isEqualTo(open.get(0).alertId());
                            assertThat(a.state())
                                    .isEqualTo(io.plantwatch.model.AlertState.RESOLVED);
                        });

        // Silent again: a new episode opens 30 s on, and the sensor is kept while it is open.
        restored.setProcessingTime(back + TTL + 60_000);
        assertThat(missing(restored))
                .singleElement()
                .extracting(a -> a.state())
                .isEqualTo(io.plantwatch.model.AlertState.OPEN);
        restored.setProcessingTime(back + 3 * TTL);
        assertThat(missing(restored)).isEmpty();
        assertThat(restored.numKeyedStateEntries()).isPositive();
        assertThat(restored.numProcessingTimeTimers()).isEqualTo(1);
        restored.close();
    }

    /**
     * A run killed after it opened a missing-data alert but before its next checkpoint: the
     * restored state says nothing is open. If the sensor speaks again before this run's own timer
     * reaches the silence, that alert must still be resolved, under the same id.
     */
    @Test
    void aMissingDataAlertOpenedAfterTheLastCheckpointIsResolvedWhenTheRestoredJobHearsTheSensor()
            throws Exception {
        RuleBook book = rules("defaults: {missing-data: {after: 30s}}");
        long skew = 60_000;
        var killed = Harnesses.onReadings(new SensorDetectors<String>(book, skew, TTL, true));
        killed.open();
        // Processing time here is the wall clock the sensors' stamps follow.
        killed.setProcessingTime(Harnesses.T0 + 100);
        feed(killed, reading(0, 20, 0), reading(1_000, 20, 1));
        OperatorSubtaskState checkpoint = killed.snapshot(1, Harnesses.T0 + 2_000);
        killed.setProcessingTime(Harnesses.T0 + 31_100);
        List<io.plantwatch.model.Alert> orphan = missing(killed);
        assertThat(orphan)
                .singleElement()
                .extracting(a -> a.state())
                .isEqualTo(io.plantwatch.model.AlertState.OPEN);
        killed.close(); // kill -9: no checkpoint holds that OPEN

        var restored =
                new KeyedOneInputStreamOperatorTestHarness<>(
                        new KeyedProcessOperator<>(
                                new SensorDetectors<String>(book, skew, TTL, true)),
                        new AnomalyPipeline.ReadingKey(),
                        Types.STRING);
        restored.initializeState(checkpoint);
        restored.open();
        restored.setProcessingTime(Harnesses.T0 + 40_000);
        restored.setProcessingTime(Harnesses.T0 + 45_000);
        feed(restored, reading(45_000, 21, 2));
        List<io.plantwatch.model.Alert> told = missing(restored);
        assertThat(told)
                .extracting(a -> a.alertId() + " " + a.state())
                .containsExactly(
                        orphan.get(0).alertId() + " OPEN", orphan.get(0).alertId() + " RESOLVED");
        assertThat(told.get(1).eventTime()).isEqualTo(Harnesses.T0 + 45_000);

        // Heard again: the next silence is this run's to watch, and nothing is told twice.
        restored.setProcessingTime(Harnesses.T0 + 50_000);
        feed(restored, reading(50_000, 21, 3));
        assertThat(missing(restored)).isEmpty();
        restored.close();
    }

    /**
     * A missing-data alert is resolved under the id it opened with, though the rules changed while
     * it was open: renamed, its sensor's return resolves it by the old name; taken away, it
     * resolves at the sensor's return or, if it stays silent, once its state expires. Before, the
     * first stayed open under the old name and the second for good.
     */
    @Test
    void aMissingDataAlertResolvesUnderItsOwnRuleThoughTheRulesChangedWhileItWasOpen()
            throws Exception {
        var before =
                Harnesses.onReadings(
                        new SensorDetectors<String>(
                                rules(
                                        "defaults: {missing-data:"
                                                + " {after: 30s, name: silent, severity: CRITICAL}}"),
                                Long.MAX_VALUE / 4,
                                TTL,
                                true));
        before.open();
        before.setProcessingTime(1_000);
        feed(before, reading(0, 20, 0), reading(Harnesses.OTHER, 0, 20, 0));
        before.setProcessingTime(31_000);
        List<io.plantwatch.model.Alert> opened = missing(before);
        assertThat(opened)
                .extracting(a -> a.rule() + " " + a.state() + " " + a.severity())
                .containsExactly("silent OPEN CRITICAL", "silent OPEN CRITICAL");
        OperatorSubtaskState checkpoint = before.snapshot(1, 32_000);
        before.close();

        var after =
                new KeyedOneInputStreamOperatorTestHarness<>(
                        new KeyedProcessOperator<>(
                                new SensorDetectors<String>(
                                        rules(
                                                "sensors: [{match: '**/press-1/oil-temp',"
                                                        + " missing-data: {after: 30s, name: quiet}}]"),
                                        Long.MAX_VALUE / 4,
                                        TTL,
                                        true)),
                        new AnomalyPipeline.ReadingKey(),
                        Types.STRING);
        after.initializeState(checkpoint);
        after.open();
        after.setProcessingTime(50_000);
        feed(after, reading(1_000, 20, 1));
        assertThat(missing(after))
                .singleElement()
                .satisfies(
                        a -> {
                            assertThat(a.alertId()).isEqualTo(idOf(opened, Harnesses.SENSOR));
                            assertThat(a.state())
                                    .isEqualTo(io.plantwatch.model.AlertState.RESOLVED);
                            assertThat(a.severity())
                                    .isEqualTo(io.plantwatch.model.Severity.CRITICAL);
                        });
        after.setProcessingTime(80_000);
        assertThat(missing(after))
                .singleElement()
                .extracting(a -> a.rule() + " " + a.state())
                .isEqualTo("quiet OPEN");

        // The other sensor no longer has the rule and stays silent: resolved when its state
        // expires, a TTL after this run began to listen, and forgotten.
        after.setProcessingTime(50_000 + TTL);
        assertThat(missing(after))
                .singleElement()
                .satisfies(
                        a -> {
                            assertThat(a.alertId()).isEqualTo(idOf(opened, Harnesses.OTHER));
                            assertThat(a.state())
                                    .isEqualTo(io.plantwatch.model.AlertState.RESOLVED);
                            assertThat(a.message()).contains("no longer ask for silent");
                        });
        assertThat(after.numKeyedStateEntries()).isEqualTo(1);
        after.close();
    }

    private static String idOf(List<io.plantwatch.model.Alert> alerts, SensorId sensor) {
        return alerts.stream()
                .filter(a -> a.sensorId().equals(sensor))
                .findFirst()
                .orElseThrow()
                .alertId();
    }

    /**
     * The other side of the reconciliation above: a sensor that kept sending while the job was
     * stopped has no silence in its own timestamps, so its backlog opens nothing, however long the
     * job was away.
     */
    @Test
    void aRestoredJobReadingABacklogWithoutGapsTellsNoMissingData() throws Exception {
        RuleBook book = rules("defaults: {missing-data: {after: 30s}}");
        long skew = 60_000;
        var before = Harnesses.onReadings(new SensorDetectors<String>(book, skew, TTL, true));
        before.open();
        before.setProcessingTime(Harnesses.T0 + 100);
        feed(before, reading(0, 20, 0), reading(1_000, 20, 1));
        OperatorSubtaskState checkpoint = before.snapshot(1, Harnesses.T0 + 2_000);
        before.close();

        var restored =
                new KeyedOneInputStreamOperatorTestHarness<>(
                        new KeyedProcessOperator<>(
                                new SensorDetectors<String>(book, skew, TTL, true)),
                        new AnomalyPipeline.ReadingKey(),
                        Types.STRING);
        restored.initializeState(checkpoint);
        restored.open();
        restored.setProcessingTime(Harnesses.T0 + 600_000);
        for (int i = 2; i < 600; i++) {
            Harnesses.feed(restored, reading(i * 1_000L, 20 + (i % 3), i));
        }
        restored.processWatermark(new Watermark(Harnesses.T0 + 599_000));
        assertThat(missing(restored)).isEmpty();
        restored.close();
    }

    @Test
    void featureExtractorTellsTheLifecycleWhenASpikeOrExcursionStartsAndEndsWithHysteresis()
            throws Exception {
        var h =
                Harnesses.onReadings(
                        new SensorDetectors<String>(
                                rules(
                                        "defaults: {spike: {delta: 10, within: 3s},"
                                                + " out-of-range: {high: 100, deadband: 5}}"),
                                Long.MAX_VALUE / 4,
                                TTL,
                                true));
        h.open();
        feed(
                h,
                reading(0, 50, 0),
                reading(1000, 52, 1),
                reading(2000, 63, 2), // rise 13 over the minimum 50 of the last 3 s
                reading(3000, 58, 3), // rise 8: not high, but not yet below delta / 2
                reading(4000, 54, 4), // rise 2 over 52: clear
                reading(5000, 101, 5), // out of range, and a rise of 47 over 54
                reading(6000, 97, 6), // inside, but within the deadband: still out of range
                reading(7000, 94, 7), // inside by more than the deadband: range clear
                reading(8000, 93, 8)); // 54 left the window: the minimum is 94, spike clear
        List<Observation> obs =
                h.getSideOutput(SensorDetectors.OBSERVATIONS).stream()
                        .map(StreamRecord::getValue)
                        .toList();
        // The patterns get the high or outside readings and the first reading after each run;
        // the readings at 0, 1 and 4 s could match nothing. A run stops being sent once its match
        // is certain (one reading here): 6 s is only the range run's end, and the spike run's
        // 6 s and 7 s, and 8 s after it, are not sent at all.
        assertThat(obs)
                .extracting(o -> o.reading().timestamp() - Harnesses.T0)
                .containsExactly(2000L, 3000L, 5000L, 6000L);
        assertThat(obs).extracting(Observation::spikeHigh).containsExactly(true, false, true, true);
        assertThat(obs).extracting(Observation::spikeShape).containsExactly(0, 0, 0, -1);
        assertThat(obs.get(0).spikeBase()).isEqualTo(50);
        assertThat(obs)
                .extracting(Observation::outOfRange)
                .containsExactly(false, false, true, false);
        assertThat(obs).extracting(Observation::rangeShape).containsExactly(-1, -1, 0, 0);
        List<String> levels =
                drain(h).stream()
                        .map(r -> r.kind() + " " + r.type() + "@" + (r.time() - Harnesses.T0))
                        .toList();
        assertThat(levels)
                .containsExactly(
                        "SPIKE ACTIVE@2000",
                        "SPIKE CLEAR@4000",
                        "SPIKE ACTIVE@5000",
                        "OUT_OF_RANGE ACTIVE@5000",
                        "OUT_OF_RANGE CLEAR@7000",
                        "SPIKE CLEAR@8000");
        h.close();
    }

    @Test
    void aRunStopsGoingToThePatternsOnceItsMatchIsCertainAndASparseRunGoesWhole() throws Exception {
        var h =
                Harnesses.onReadings(
                        new SensorDetectors<String>(
                                rules(
                                        "defaults: {out-of-range: {high: 100, count: 3, within: 5s}}"),
                                Long.MAX_VALUE / 4,
                                TTL,
                                true));
        h.open();
        // Ten outside readings a second apart: the third is 2 s after the first, under half of
        // 5 s, so the match is certain there. No partial match is left to end, so the run's end
        // is not sent either.
        for (int s = 0; s < 10; s++) {
            feed(h, reading(s * 1000L, 120, s));
        }
        feed(h, reading(10_000, 50, 10));
        // Then a sparse run, 1.5 s apart: three readings span 3 s, over half of 5 s: not sure.
        for (int i = 0; i < 6; i++) {
            feed(h, reading(20_000 + i * 1500L, 120, 11 + i));
        }
        feed(h, reading(30_000, 50, 17));
        assertThat(h.getSideOutput(SensorDetectors.OBSERVATIONS))
                .extracting(o -> o.getValue().reading().timestamp() - Harnesses.T0)
                .containsExactly(
                        0L, 1000L, 2000L, 20_000L, 21_500L, 23_000L, 24_500L, 26_000L, 27_500L,
                        30_000L);
        h.close();
    }

    @Test
    void aSilentSensorsDetectorStateIsForgottenAfterTheTtl() throws Exception {
        var h =
                Harnesses.onReadings(
                        new SensorDetectors<String>(
                                rules("defaults: {flatline: {epsilon: 0.01, count: 5}}"),
                                Long.MAX_VALUE / 4,
                                60_000,
                                true));
        h.open();
        h.setProcessingTime(0);
        feed(h, reading(0, 20, 0), reading(1000, 20, 1));
        Harnesses.watermark(h, 60_000); // the minute's completeness report
        assertThat(h.numKeyedStateEntries()).isEqualTo(1);
        h.setProcessingTime(60_000);
        assertThat(h.numKeyedStateEntries()).isZero();
        assertThat(h.numProcessingTimeTimers()).isZero();
        assertThat(h.numEventTimeTimers()).isZero();
        h.close();
    }

    /**
     * A sensor whose detector's condition held at its last reading is not forgotten when it falls
     * silent: forgotten, its return started the detectors afresh, which tell a level only when it
     * changes, and the open alert was never resolved (without a missing-data rule nothing else kept
     * the sensor).
     */
    @Test
    void aSilentSensorWhoseConditionHeldIsKeptUntilItsReturnClearsIt() throws Exception {
        var h =
                Harnesses.onReadings(
                        new SensorDetectors<String>(
                                rules("defaults: {flatline: {epsilon: 0.01, count: 3}}"),
                                Long.MAX_VALUE / 4,
                                60_000,
                                true));
        h.open();
        h.setProcessingTime(0);
        feed(h, reading(0, 20, 0), reading(1_000, 20, 1), reading(2_000, 20, 2));
        assertThat(describe(drain(h))).containsExactly("ACTIVE@2000/2000", "ONSET@2000/0");
        Harnesses.watermark(h, 60_000); // the minute's completeness report

        h.setProcessingTime(60_000);
        h.setProcessingTime(180_000);
        assertThat(h.numKeyedStateEntries()).isEqualTo(1);
        assertThat(h.numProcessingTimeTimers()).as("the expiry, re-armed").isEqualTo(1);
        // Told the rules in force at each expiry (60, 120 and 180 s), just after its last reading:
        // they are the same.
        assertThat(rulesTold(Harnesses.drain(h)))
                .containsExactly(
                        "RULES@2001 [flatline]", "RULES@2001 [flatline]", "RULES@2001 [flatline]");

        feed(h, reading(200_000, 23, 3));
        assertThat(describe(drain(h))).containsExactly("CLEAR@200000/200000");
        h.setProcessingTime(400_000);
        assertThat(h.numKeyedStateEntries()).isZero();
        h.close();
    }

    /**
     * One reading out of range sets the excursion's level, but no pattern of three readings can
     * have matched it: a sensor whose last reading it was is forgotten after its TTL as before.
     */
    @Test
    void aSilentSensorWhoseLastReadingAloneWasOutOfRangeIsForgotten() throws Exception {
        var h =
                Harnesses.onReadings(
                        new SensorDetectors<String>(
                                rules("defaults: {out-of-range: {high: 30, count: 3}}"),
                                Long.MAX_VALUE / 4,
                                60_000,
                                true));
        h.open();
        h.setProcessingTime(0);
        feed(h, reading(0, 20, 0), reading(1_000, 20, 1), reading(2_000, 40, 2));
        assertThat(describe(drain(h))).containsExactly("ACTIVE@2000/2000");
        Harnesses.watermark(h, 60_000);
        h.setProcessingTime(60_000);
        assertThat(h.numKeyedStateEntries()).isZero();

        // With the pattern's three readings it may be open: the sensor is kept.
        feed(h, reading(61_000, 40, 3), reading(62_000, 40, 4), reading(63_000, 40, 5));
        Harnesses.watermark(h, 120_000);
        h.setProcessingTime(180_000);
        assertThat(h.numKeyedStateEntries()).isEqualTo(1);
        h.close();
    }

    /**
     * A silent sensor kept for a condition that held, whose rule was taken away meanwhile: the
     * lifecycle is told the rules in force at its expiry, so the rule's episode resolves though the
     * sensor never speaks again, and the sensor is then forgotten.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"hashmap", "rocksdb"})
    void aSilentSensorsConditionOfARuleTakenAwayIsRetiredAtItsExpiry(String backend)
            throws Exception {
        var h =
                detectorsOn(
                        backend,
                        rules("defaults: {flatline: {epsilon: 0.01, count: 3, name: stuck}}"));
        h.open();
        h.setProcessingTime(0);
        feed(h, reading(0, 20, 0), reading(1_000, 20, 1), reading(2_000, 20, 2));
        assertThat(describe(drain(h))).containsExactly("ACTIVE@2000/2000", "ONSET@2000/0");
        OperatorSubtaskState checkpoint = h.snapshot(1, 2_000);
        h.close();

        var restored = detectorsOn(backend, rules("defaults: {baseline: {name: drift}}"));
        restored.initializeState(checkpoint);
        restored.open();
        // Silence counts from the restore's first timer at the earliest.
        restored.setProcessingTime(TTL);
        restored.setProcessingTime(3 * TTL);
        assertThat(rulesTold(Harnesses.drain(restored))).containsExactly("RULES@2001 [drift]");
        assertThat(stateOf(restored)).isNull();
        restored.close();
    }

    @Test
    void aSensorWithoutRulesIsTrackedButCostsNoDetector() throws Exception {
        var h =
                Harnesses.<Signal>onReadings(
                        new SensorDetectors<String>(rules("{}"), Long.MAX_VALUE / 4, TTL, true));
        h.open();
        feed(h, reading(0, 1, 0), reading(1000, 1000, 1));
        assertThat(drain(h)).isEmpty();
        assertThat(h.getSideOutput(SensorDetectors.READINGS)).hasSize(2);
        assertThat(h.getSideOutput(SensorDetectors.OBSERVATIONS)).isNull();
        assertThat(h.numProcessingTimeTimers()).as("the expiry timer only").isEqualTo(1);
        h.close();
    }

    @Test
    void releasedReadingsGoToTheirOutputOnlyWhenAskedFor() throws Exception {
        var h =
                Harnesses.<Signal>onReadings(
                        new SensorDetectors<String>(rules("{}"), Long.MAX_VALUE / 4, TTL, false));
        h.open();
        feed(h, reading(0, 1, 0), reading(1000, 2, 1));
        assertThat(h.getSideOutput(SensorDetectors.READINGS)).isNull();
        h.close();
    }

    /**
     * Feeds readings, then moves the watermark to the newest of them: the tracker in front of the
     * detectors holds a sensor's first reading until the watermark passes it.
     */
    private static void feed(
            KeyedOneInputStreamOperatorTestHarness<String, SensorReading, ?> h,
            SensorReading... readings)
            throws Exception {
        Harnesses.feed(h, readings);
        long newest = Long.MIN_VALUE;
        for (SensorReading r : readings) {
            newest = Math.max(newest, r.timestamp());
        }
        h.processWatermark(new Watermark(newest));
    }

    static SensorReading r(long t, double v) {
        return reading(t, v, t / 1000);
    }

    private static List<io.plantwatch.model.Alert> missing(
            org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness<
                            String, SensorReading, Signal>
                    h) {
        var side = h.getSideOutput(SensorDetectors.MISSING);
        if (side == null) {
            return List.of();
        }
        List<io.plantwatch.model.Alert> out = side.stream().map(StreamRecord::getValue).toList();
        side.clear();
        return out;
    }
}
