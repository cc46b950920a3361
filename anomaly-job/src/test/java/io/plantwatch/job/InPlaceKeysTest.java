package io.plantwatch.job;

import static io.plantwatch.job.Harnesses.OTHER;
import static io.plantwatch.job.Harnesses.feed;
import static io.plantwatch.job.Harnesses.reading;
import static io.plantwatch.job.Harnesses.watermark;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.plantwatch.job.rules.DetectorRules;
import io.plantwatch.job.rules.RuleBook;
import io.plantwatch.model.AlertState;
import io.plantwatch.model.AvroReadingCodec;
import io.plantwatch.model.SensorId;
import io.plantwatch.model.SensorReading;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.apache.flink.api.common.functions.util.ListCollector;
import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.SimpleCounter;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.AbstractStreamOperatorTestHarness;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.apache.flink.util.MathUtils;
import org.apache.flink.util.UserCodeClassLoader;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Sensors keyed where their partition is read: key groups, restores, and the topic's keys. */
class InPlaceKeysTest {
    private static final int MAX_PARALLELISM = 128;

    @Test
    void unmurmurUndoesFlinksKeyGroupHash() {
        Random random = new Random(7);
        for (int i = 0; i < 100_000; i++) {
            int murmur = random.nextInt() & 0x7fffffff;
            assertThat(MathUtils.murmurHash(InPlaceKeys.unmurmur(murmur))).isEqualTo(murmur);
        }
        assertThat(MathUtils.murmurHash(InPlaceKeys.unmurmur(0))).isZero();
        assertThat(MathUtils.murmurHash(InPlaceKeys.unmurmur(Integer.MAX_VALUE)))
                .isEqualTo(Integer.MAX_VALUE);
    }

    @ParameterizedTest(name = "max parallelism {0}, parallelism {1}")
    @CsvSource({"128,1", "128,2", "128,3", "128,7", "256,5", "1000,3", "32768,4"})
    void eachSubtasksKeysFallInItsOwnKeyGroupsAndStaySpread(int maxParallelism, int parallelism) {
        for (int index = 0; index < parallelism; index++) {
            InPlaceKeys.Selector keys = new InPlaceKeys.Selector();
            keys.bind(index, parallelism, maxParallelism);
            Set<Integer> hashes = new HashSet<>();
            for (int i = 0; i < 2000; i++) {
                SensorReading r = reading(sensor(i), 1000, 1, 1);
                SensorKey key = keys.getKey(r);
                assertThat(
                                KeyGroupRangeAssignment.assignKeyToParallelOperator(
                                        key, maxParallelism, parallelism))
                        .as("subtask of %s", key)
                        .isEqualTo(index);
                assertThat(key.id()).isEqualTo(r.key());
                SensorKey again = keys.getKey(reading(sensor(i), 2000, 2, 2));
                assertThat(again).isEqualTo(key).hasSameHashCodeAs(key);
                hashes.add(key.hashCode());
            }
            // Spread hashes keep each key group's hash table short.
            assertThat(hashes).hasSizeGreaterThan(1990);
        }
    }

    @Test
    void aSelectorNotBoundToASubtaskSaysSo() {
        assertThatThrownBy(() -> new InPlaceKeys.Selector().getKey(reading(1000, 1, 1)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("bound to a subtask");
    }

    @Test
    void aRestoreAtTheSameParallelismKeepsEachSensorsStateAndAnotherStartsItOver()
            throws Exception {
        OperatorSubtaskState snapshot;
        try (var h = harness(2, 1)) {
            h.open();
            feed(h, reading(1000, 1, 1), reading(OTHER, 1000, 1, 1));
            watermark(h, 1000);
            assertThat(released(h)).containsExactly(1L, 1L);
            assertThat(rulesTold(h))
                    .as("new sensors' detectors start afresh")
                    .containsExactly("started over", "started over");
            assertThat(h.numKeyedStateEntries()).isEqualTo(2);
            snapshot = h.snapshot(1, 1);
        }

        // Same subtask, same parallelism: each sensor finds its state under the key it had.
        OperatorSubtaskState later;
        try (var h = harness(2, 1)) {
            h.initializeState(snapshot);
            h.open();
            feed(h, reading(1000, 1, 1), reading(2000, 2, 2));
            assertThat(released(h))
                    .as("the gateway's duplicate of 1 dropped, 2 released at once after 1")
                    .containsExactly(2L);
            assertThat(rulesTold(h))
                    .as("a new run tells the rules again; its detectors remember")
                    .containsExactly("remembered");
            assertThat(h.numKeyedStateEntries()).isEqualTo(2);
            later = h.snapshot(2, 2);
        }
        // A reading released at once, without waiting for a timer, is in the next snapshot too.
        try (var h = harness(2, 1)) {
            h.initializeState(later);
            h.open();
            feed(h, reading(2000, 2, 2), reading(3000, 3, 3));
            assertThat(released(h)).as("2 remembered, so 3 follows at once").containsExactly(3L);
        }

        // Three subtasks: the sensors' key groups went wherever, their partitions elsewhere.
        OperatorSubtaskState other;
        try (var h = harness(2, 0)) {
            h.open();
            other = h.snapshot(1, 1);
        }
        OperatorSubtaskState both =
                AbstractStreamOperatorTestHarness.repackageState(other, snapshot);
        long kept = 0;
        long reset = 0;
        for (int index = 0; index < 3; index++) {
            OperatorSubtaskState part =
                    AbstractStreamOperatorTestHarness.repartitionOperatorState(
                            both, MAX_PARALLELISM, 2, 3, index);
            try (var h = harness(3, index)) {
                h.initializeState(part);
                h.open();
                kept += h.numKeyedStateEntries();
                reset += ((InPlaceKeys.DetectorsOperator) h.getOperator()).sensorsReset();
                // The same reading is a first reading again: it waits for the watermark.
                feed(h, reading(1000, 1, 1));
                assertThat(released(h)).isEmpty();
                watermark(h, 1000);
                assertThat(released(h)).containsExactly(1L);
                assertThat(rulesTold(h))
                        .as("the lifecycle is told, so that episodes not seen again resolve")
                        .containsExactly("started over");
            }
        }
        assertThat(reset).as("sensor states found after the rescale").isEqualTo(2);
        assertThat(kept).as("sensor states left after the rescale").isZero();
    }

    @Test
    void aTopicsKeyIsTheSensorIdOrTheReadingIsNotTakenInPlace() {
        SensorId id = Harnesses.SENSOR;
        byte[] key = id.id().getBytes(StandardCharsets.UTF_8);
        assertThat(KafkaIo.ReadingDeserializer.isKeyOf(key, id)).isTrue();
        assertThat(KafkaIo.ReadingDeserializer.isKeyOf(null, id)).isFalse();
        assertThat(KafkaIo.ReadingDeserializer.isKeyOf(OTHER.id().getBytes(), id)).isFalse();
        assertThat(KafkaIo.ReadingDeserializer.isKeyOf((id.id() + "x").getBytes(), id)).isFalse();
        String shorter = id.id().substring(0, id.id().length() - 1);
        assertThat(KafkaIo.ReadingDeserializer.isKeyOf(shorter.getBytes(), id)).isFalse();
        assertThat(KafkaIo.ReadingDeserializer.isKeyOf("a/b/c/d/e".getBytes(), id)).isFalse();

        SensorId munich = SensorId.parse("münchen/halle-2/linie-1/presse-1/öltemperatur");
        byte[] utf8 = munich.id().getBytes(StandardCharsets.UTF_8);
        assertThat(KafkaIo.ReadingDeserializer.isKeyOf(utf8, munich)).isTrue();
        assertThat(
                        KafkaIo.ReadingDeserializer.isKeyOf(
                                munich.id().getBytes(StandardCharsets.ISO_8859_1), munich))
                .isFalse();
    }

    @Test
    void aRecordKeyedOtherwiseIsSkippedAndCountedUnlessTheTopicIsKeyedOtherwise() throws Exception {
        SensorReading r = reading(1000, 1, 1);
        byte[] value = new AvroReadingCodec().encode(r);
        byte[] right = r.key().getBytes(StandardCharsets.UTF_8);
        byte[] wrong = OTHER.id().getBytes(StandardCharsets.UTF_8);
        for (boolean keyedBySensor : new boolean[] {true, false}) {
            Map<String, Counter> counters = new HashMap<>();
            KafkaIo.ReadingDeserializer deserializer = opened(keyedBySensor, counters);
            List<SensorReading> out = new ArrayList<>();
            var collector = new ListCollector<>(out);
            for (byte[] key : new byte[][] {right, wrong, null}) {
                deserializer.deserialize(
                        new ConsumerRecord<>("sensor-readings", 0, 7L, key, value), collector);
            }
            if (keyedBySensor) {
                assertThat(out).containsExactly(r);
                assertThat(counters.get("readingsNotKeyedBySensor").getCount()).isEqualTo(2);
            } else {
                assertThat(out).containsExactly(r, r, r);
                assertThat(counters.get("readingsNotKeyedBySensor").getCount()).isZero();
            }
            assertThat(counters.get("readingsUndecodable").getCount()).isZero();
        }
    }

    /** A reading deserializer as a source subtask opens it, its counters in {@code counters}. */
    static KafkaIo.ReadingDeserializer opened(
            boolean keyedBySensor, Map<String, Counter> counters) {
        KafkaIo.ReadingDeserializer deserializer =
                new KafkaIo.ReadingDeserializer(keyedBySensor, null);
        deserializer.open(
                new DeserializationSchema.InitializationContext() {
                    @Override
                    public MetricGroup getMetricGroup() {
                        return new UnregisteredMetricsGroup() {
                            @Override
                            public Counter counter(String name) {
                                return counter(name, new SimpleCounter());
                            }

                            @Override
                            public <C extends Counter> C counter(String name, C counter) {
                                counters.put(name, counter);
                                return counter;
                            }
                        };
                    }

                    @Override
                    public UserCodeClassLoader getUserCodeClassLoader() {
                        return null;
                    }
                });
        return deserializer;
    }

    @Test
    void aKeyWrittenAndReadBackKeepsItsSensorAndHash() throws Exception {
        InPlaceKeys.Selector keys = new InPlaceKeys.Selector();
        keys.bind(1, 2, MAX_PARALLELISM);
        SensorKey key = keys.getKey(reading(1000, 1, 1));
        var out = new DataOutputSerializer(64);
        SensorKey.Serializer.INSTANCE.serialize(key, out);
        SensorKey back =
                SensorKey.Serializer.INSTANCE.deserialize(
                        new DataInputDeserializer(out.getCopyOfBuffer()));
        assertThat(back).isEqualTo(key).hasSameHashCodeAs(key);
        assertThat(back).hasToString(Harnesses.SENSOR.id());
        assertThat(back).isNotEqualTo(keys.getKey(reading(OTHER, 1000, 1, 1)));
    }

    @Test
    void keysOfTheSameHashAreEqualOnlyForTheSameFiveParts() {
        SensorKey stored = new SensorKey(SensorId.parse("s/a/l/m/temp-1"), 42);
        assertThat(new SensorKey(SensorId.parse("s/a/l/m/temp-1"), 42))
                .isEqualTo(stored)
                .hasToString("s/a/l/m/temp-1");
        for (String other :
                List.of(
                        "x/a/l/m/temp-1",
                        "s/x/l/m/temp-1",
                        "s/a/x/m/temp-1",
                        "s/a/l/x/temp-1",
                        "s/a/l/m/temp-2",
                        "s/a/l/m/temp-10",
                        "s/a/l/m/temp-",
                        "s/a/l/mt/emp-1",
                        "s/al/l/m/temp-1",
                        "sa/a/l/m/temp-1",
                        "s/a/lm/m/temp-1")) {
            SensorKey probe = new SensorKey(SensorId.parse(other), 42);
            assertThat(probe).as(other).isNotEqualTo(stored);
            assertThat(stored).as(other).isNotEqualTo(probe);
        }
        assertThat(new SensorKey(SensorId.parse("s/a/l/m/temp-1"), 43)).isNotEqualTo(stored);
    }

    private static SensorId sensor(int i) {
        return SensorId.parse(
                "plant/area-" + i % 7 + "/line-" + i % 31 + "/m-" + i / 4 + "/s-" + i);
    }

    private static KeyedOneInputStreamOperatorTestHarness<SensorKey, SensorReading, Signal> harness(
            int parallelism, int index) throws Exception {
        return harness(parallelism, index, Harnesses.rules("{}"));
    }

    private static KeyedOneInputStreamOperatorTestHarness<SensorKey, SensorReading, Signal> harness(
            int parallelism, int index, RuleBook rules) throws Exception {
        return new KeyedOneInputStreamOperatorTestHarness<>(
                new InPlaceKeys.DetectorsOperator(
                        new SensorDetectors<>(rules, Long.MAX_VALUE / 4, 0, true)),
                new InPlaceKeys.Selector(),
                SensorKey.TypeInfo.INSTANCE,
                MAX_PARALLELISM,
                parallelism,
                index);
    }

    /**
     * Before, detectors started afresh by a rescale never told the lifecycle that a stuck sensor
     * moved again (they tell a level only when it changes), and its alert stayed open for good. Now
     * the first reading that breaks the fresh flatline's run clears it.
     */
    @Test
    void aStuckAlertOpenAcrossARescaleResolvesAtTheFirstReadingThatBreaksTheFreshRun()
            throws Exception {
        RuleBook stuck =
                Harnesses.rules(
                        "defaults: {flatline: {epsilon: 0.01, duration: 5s, count: 3, name: stuck,"
                                + " off-delay: 2s}}");
        try (var lifecycle = lifecycle()) {
            OperatorSubtaskState snapshot;
            try (var h = harness(2, 1, stuck)) {
                h.open();
                for (int i = 0; i <= 10; i++) {
                    feed(h, reading(i * 1000L, 4.0, i + 1));
                }
                watermark(h, 10_000);
                toLifecycle(h, lifecycle, 10_000);
                assertThat(Harnesses.drain(lifecycle))
                        .singleElement()
                        .satisfies(a -> assertThat(a.state()).isEqualTo(AlertState.OPEN));
                snapshot = h.snapshot(1, 1);
            }

            // Three subtasks; the sensor's partition now read by subtask 0, its state elsewhere.
            OperatorSubtaskState part = rescaledToThree(snapshot, stuck, 0);
            try (var h = harness(3, 0, stuck)) {
                h.initializeState(part);
                h.open();
                // The sensor moves again while the job is down; the next readings vary.
                for (int i = 20; i <= 40; i++) {
                    feed(h, reading(i * 1000L, 4.0 + i % 2, i + 1));
                }
                watermark(h, 40_000);
                List<Signal> told = h.extractOutputValues();
                assertThat(told)
                        .filteredOn(sig -> sig.type() == Signal.Type.RULES)
                        .singleElement()
                        .satisfies(
                                sig -> {
                                    assertThat(sig.startedOver()).isTrue();
                                    assertThat(sig.graceMillis())
                                            .as("the flatline's duration")
                                            .isEqualTo(5_000);
                                });
                toLifecycle(h, lifecycle, 40_000);
                assertThat(Harnesses.drain(lifecycle))
                        .singleElement()
                        .satisfies(
                                a -> {
                                    assertThat(a.state()).isEqualTo(AlertState.RESOLVED);
                                    assertThat(a.episodeStart()).isEqualTo(Harnesses.T0);
                                    assertThat(a.eventTime())
                                            .as("the first reading that broke the run")
                                            .isEqualTo(Harnesses.T0 + 21_000);
                                });
                assertThat(lifecycle.numKeyedStateEntries()).isZero();
            }
        }
    }

    /**
     * Levels begun afresh by a rescale are told at their first judgement: a range reading in its
     * deadband says nothing, one outside confirms the excursion open across the restore (ACTIVE),
     * and a flatline's run that breaks clears the stuck alert at once, where the lifecycle would
     * otherwise wait twice the flatline's minute.
     */
    @Test
    void afterARescaleEachLevelIsToldAtItsFirstJudgement() throws Exception {
        RuleBook rules =
                Harnesses.rules(
                        "defaults: {out-of-range: {high: 10, count: 2, within: 1m, deadband: 1,"
                                + " off-delay: 2s, name: hot}, flatline: {epsilon: 0.01,"
                                + " duration: 1m, count: 3, name: stuck}}");
        DetectorRules rs = rules.resolve(Harnesses.SENSOR.toString(), "degC");
        try (var lifecycle = lifecycle()) {
            OperatorSubtaskState snapshot;
            try (var h = harness(2, 1, rules)) {
                h.open();
                feed(h, reading(0, 12.0, 1));
                watermark(h, 0);
                toLifecycle(h, lifecycle, 0);
                // Both opened before the restore (as the range pattern and the flatline do).
                for (Signal onset :
                        List.of(
                                Signal.onset(
                                        Harnesses.SENSOR,
                                        io.plantwatch.model.AlertKind.OUT_OF_RANGE,
                                        rs.outOfRange().alarm(),
                                        Harnesses.T0 + 1000,
                                        Harnesses.T0,
                                        new double[] {12, 12},
                                        "hot"),
                                Signal.onset(
                                        Harnesses.SENSOR,
                                        io.plantwatch.model.AlertKind.FLATLINE,
                                        rs.flatline().alarm(),
                                        Harnesses.T0 + 60_000,
                                        Harnesses.T0,
                                        new double[] {12, 12},
                                        "stuck"))) {
                    lifecycle.processElement(new StreamRecord<>(onset, onset.time()));
                }
                watermark(lifecycle, 60_000);
                assertThat(Harnesses.drain(lifecycle)).hasSize(2);
                snapshot = h.snapshot(1, 1);
            }
            try (var h = harness(3, 0, rules)) {
                h.initializeState(rescaledToThree(snapshot, rules, 0));
                h.open();
                // In the deadband; outside; in the deadband again: the range is judged held once.
                feed(
                        h,
                        reading(100_000, 9.5, 3),
                        reading(101_000, 11.0, 4),
                        reading(102_000, 9.5, 5));
                watermark(h, 102_000);
                List<Signal> told = h.extractOutputValues();
                assertThat(told)
                        .filteredOn(sig -> sig.type() != Signal.Type.RULES)
                        .extracting(
                                sig ->
                                        sig.rule()
                                                + " "
                                                + sig.type()
                                                + "@"
                                                + (sig.time() - Harnesses.T0))
                        .as("the range held at 101 s (its ACTIVE), the flatline's run broken then")
                        .containsExactlyInAnyOrder("hot ACTIVE@101000", "stuck CLEAR@101000");
                toLifecycle(h, lifecycle, 110_000);
                assertThat(Harnesses.drain(lifecycle))
                        .extracting(a -> a.rule() + " " + a.state())
                        .as("the excursion, confirmed, stays open past its off-delay")
                        .containsExactly("stuck RESOLVED");
                feed(h, reading(111_000, 5.0, 6));
                watermark(h, 111_000);
                toLifecycle(h, lifecycle, 113_000);
                assertThat(Harnesses.drain(lifecycle))
                        .singleElement()
                        .satisfies(
                                a -> {
                                    assertThat(a.rule()).isEqualTo("hot");
                                    assertThat(a.state()).isEqualTo(AlertState.RESOLVED);
                                    assertThat(a.eventTime()).isEqualTo(Harnesses.T0 + 111_000);
                                });
                assertThat(lifecycle.numKeyedStateEntries()).isZero();
                // Judged once: a later break tells the lifecycle nothing more.
                feed(h, reading(112_000, 7.0, 7));
                watermark(h, 112_000);
                assertThat(h.extractOutputValues())
                        .filteredOn(sig -> sig.time() == Harnesses.T0 + 112_000)
                        .isEmpty();
                snapshot = h.snapshot(2, 2);
            }
            // Restored at the same parallelism soon after: a sensor that had not sent since the
            // rescale (here OTHER) still has its levels judged; without a rescale, none are.
            for (boolean afterRescale : List.of(true, false)) {
                try (var h = harness(3, 0, rules)) {
                    if (afterRescale) {
                        h.initializeState(snapshot);
                    }
                    h.open();
                    feed(
                            h,
                            reading(Harnesses.OTHER, 120_000, 5.0, 1),
                            reading(Harnesses.OTHER, 121_000, 6.0, 2));
                    watermark(h, 121_000);
                    assertThat(h.extractOutputValues())
                            .filteredOn(sig -> sig.type() == Signal.Type.CLEAR)
                            .extracting(sig -> sig.rule() + "@" + (sig.time() - Harnesses.T0))
                            .as(
                                    afterRescale
                                            ? "inside the range at once, the run broken at 121 s"
                                            : "without a rescale")
                            .containsExactlyElementsOf(
                                    afterRescale
                                            ? List.of("hot@120000", "stuck@121000")
                                            : List.of());
                }
            }
        }
    }

    /**
     * Before, a rescale dropped an open missing-data alert with its sensor's state, and the
     * sensor's return, reaching a state begun afresh, never resolved it.
     */
    @Test
    void aMissingDataAlertOpenAcrossARescaleResolvesWhenItsSensorSendsAgain() throws Exception {
        RuleBook silent = Harnesses.rules("defaults: {missing-data: {after: 10s, name: silent}}");
        try (var lifecycle = lifecycle()) {
            OperatorSubtaskState snapshot;
            io.plantwatch.model.Alert opened;
            try (var h = harness(2, 1, silent)) {
                h.open();
                h.setProcessingTime(1_000);
                feed(h, reading(1000, 4.0, 1));
                watermark(h, 1000);
                h.setProcessingTime(20_000);
                opened = h.getSideOutput(SensorDetectors.MISSING).poll().getValue();
                assertThat(opened.state()).isEqualTo(AlertState.OPEN);
                toLifecycle(h, lifecycle, 1000);
                snapshot = h.snapshot(1, 1);
            }
            long handedOver = 0;
            OperatorSubtaskState third = null;
            for (int index = 0; index < 3; index++) {
                try (var h = harness(3, index, silent)) {
                    h.initializeState(rescaledToThree(snapshot, silent, index));
                    h.open();
                    handedOver +=
                            ((InPlaceKeys.DetectorsOperator) h.getOperator())
                                    .missingDataHandedOver();
                    toLifecycle(h, lifecycle, 1000);
                    third = h.snapshot(2, 2);
                }
            }
            assertThat(handedOver).isOne();
            assertThat(Harnesses.drain(lifecycle)).as("kept, not told again").isEmpty();

            // The sensor sends again, its partition read by subtask 2 now, after a restore of
            // that run (at the same parallelism: the sensor has no state there yet).
            try (var h = harness(3, 2, silent)) {
                h.initializeState(third);
                h.open();
                h.setProcessingTime(60_000);
                feed(h, reading(50_000, 4.0, 2));
                watermark(h, 50_000);
                assertThat(h.getSideOutput(SensorDetectors.MISSING))
                        .as("the detector begun afresh knows of no open alert")
                        .isNullOrEmpty();
                toLifecycle(h, lifecycle, 50_000);
            }
            assertThat(Harnesses.drain(lifecycle))
                    .singleElement()
                    .satisfies(
                            a -> {
                                assertThat(a.state()).isEqualTo(AlertState.RESOLVED);
                                assertThat(a.alertId()).isEqualTo(opened.alertId());
                                assertThat(a.eventTime()).isEqualTo(Harnesses.T0 + 50_000);
                                assertThat(a.message()).endsWith("sends again");
                            });
            assertThat(lifecycle.numKeyedStateEntries()).isZero();
        }
    }

    /**
     * Subtask {@code index} of three's part of the state of two subtasks: {@code second}, subtask
     * 1's snapshot, and an empty subtask 0's.
     */
    private static OperatorSubtaskState rescaledToThree(
            OperatorSubtaskState second, RuleBook rules, int index) throws Exception {
        OperatorSubtaskState first;
        try (var h = harness(2, 0, rules)) {
            h.open();
            first = h.snapshot(1, 1);
        }
        return AbstractStreamOperatorTestHarness.repartitionOperatorState(
                AbstractStreamOperatorTestHarness.repackageState(first, second),
                MAX_PARALLELISM,
                2,
                3,
                index);
    }

    /** The alert lifecycle, keyed by sensor as in the job, opened. */
    private static KeyedOneInputStreamOperatorTestHarness<String, Signal, io.plantwatch.model.Alert>
            lifecycle() throws Exception {
        var lifecycle =
                ProcessFunctionTestHarnesses.forKeyedProcessFunction(
                        new AlertLifecycle(), new AnomalyPipeline.SignalKey(), Types.STRING);
        lifecycle.open();
        return lifecycle;
    }

    /** Hands the detectors' signals so far to the lifecycle, then the watermark. */
    private static void toLifecycle(
            KeyedOneInputStreamOperatorTestHarness<SensorKey, SensorReading, Signal> h,
            KeyedOneInputStreamOperatorTestHarness<String, Signal, io.plantwatch.model.Alert>
                    lifecycle,
            long watermark)
            throws Exception {
        for (Signal sig : h.extractOutputValues()) {
            lifecycle.processElement(new StreamRecord<>(sig, sig.time()));
        }
        h.getOutput().clear();
        watermark(lifecycle, watermark);
    }

    /** Whether each RULES signal since the last call came from detectors that started afresh. */
    private static List<String> rulesTold(
            KeyedOneInputStreamOperatorTestHarness<SensorKey, SensorReading, Signal> h) {
        List<String> told =
                h.extractOutputValues().stream()
                        .filter(s -> s.type() == Signal.Type.RULES)
                        .map(s -> s.startedOver() ? "started over" : "remembered")
                        .toList();
        h.getOutput().clear();
        return told;
    }

    /** The sequence numbers the tracker released to the detectors since the last call. */
    private static List<Long> released(
            KeyedOneInputStreamOperatorTestHarness<SensorKey, SensorReading, Signal> h) {
        var out = h.getSideOutput(SensorDetectors.READINGS);
        if (out == null) {
            return List.of();
        }
        List<Long> seqs = out.stream().map(StreamRecord::getValue).map(SensorReading::seq).toList();
        out.clear();
        return seqs;
    }
}
