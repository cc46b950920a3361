package io.plantwatch.job;

import static io.plantwatch.job.Harnesses.OTHER;
import static io.plantwatch.job.Harnesses.SENSOR;
import static io.plantwatch.job.Harnesses.T0;
import static io.plantwatch.job.Harnesses.drain;
import static io.plantwatch.job.Harnesses.feed;
import static io.plantwatch.job.Harnesses.reading;
import static io.plantwatch.job.Harnesses.rules;
import static io.plantwatch.job.Harnesses.watermark;
import static org.assertj.core.api.Assertions.assertThat;

import io.plantwatch.job.rules.RuleBook;
import io.plantwatch.model.Alert;
import io.plantwatch.model.AlertKind;
import io.plantwatch.model.AlertState;
import io.plantwatch.model.SensorId;
import io.plantwatch.model.Severity;
import java.util.List;
import java.util.Objects;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

/**
 * A sensor listed in the rules' {@code expected:} that never sends: missing data from the job's
 * start, on processing time, driven here by the harness's clock.
 */
class ExpectedSensorsTest {
    static final SensorId SILENT = SensorId.parse("dresden/press-shop/line-1/press-3/oil-temp");

    static final String LISTED =
            """
            defaults: {missing-data: {after: 30s, severity: CRITICAL, name: no-signal}}
            expected:
              - %s
              - {id: %s, unit: degC}
            """
                    .formatted(SENSOR.id(), SILENT.id());

    @Test
    void aListedSensorNeverHeardOpensAfterItsWaitAndItsFirstReadingResolvesIt() throws Exception {
        try (var h = harness(rules(LISTED))) {
            h.setProcessingTime(T0);
            h.open();
            assertThat(h.numKeyedStateEntries()).as("one per listed sensor").isEqualTo(2);
            assertThat(h.numProcessingTimeTimers()).isEqualTo(2);

            h.setProcessingTime(T0 + 10_000);
            heard(h, SENSOR.id(), T0 + 9_000);
            heard(h, OTHER.id(), T0 + 9_500);
            assertThat(h.numKeyedStateEntries())
                    .as("a sensor not listed keeps nothing here")
                    .isEqualTo(2);
            h.setProcessingTime(T0 + 29_999);
            assertThat(drain(h)).isEmpty();

            h.setProcessingTime(T0 + 30_000);
            List<Alert> open = drain(h);
            assertThat(open).hasSize(1);
            Alert a = open.get(0);
            assertThat(a.sensorId()).isEqualTo(SILENT);
            assertThat(a.state()).isEqualTo(AlertState.OPEN);
            assertThat(a.kind()).isEqualTo(AlertKind.MISSING_DATA);
            assertThat(a.rule()).isEqualTo("no-signal");
            assertThat(a.severity()).isEqualTo(Severity.CRITICAL);
            assertThat(a.episodeStart()).isEqualTo(T0);
            assertThat(a.alertId()).isEqualTo(Alert.idFor(SILENT, "no-signal", T0));
            assertThat(a.message()).contains("never heard");
            assertThat(h.numProcessingTimeTimers()).isZero();

            // Its first reading resolves the same episode, at that reading's time.
            h.setProcessingTime(T0 + 50_000);
            heard(h, SILENT.id(), T0 + 45_000);
            List<Alert> resolved = drain(h);
            assertThat(resolved).hasSize(1);
            assertThat(resolved.get(0).alertId()).isEqualTo(a.alertId());
            assertThat(resolved.get(0).state()).isEqualTo(AlertState.RESOLVED);
            assertThat(resolved.get(0).eventTime()).isEqualTo(T0 + 45_000);
            assertThat(resolved.get(0).message()).contains("first reading");

            // Heard, from now on missing data is the detector's: nothing here, ever.
            heard(h, SILENT.id(), T0 + 60_000);
            h.setProcessingTime(T0 + 3_600_000);
            assertThat(drain(h)).isEmpty();
            assertThat(h.numProcessingTimeTimers()).isZero();
            assertThat(h.numKeyedStateEntries()).isEqualTo(2);
        }
    }

    /**
     * Stopped for an hour: the sensors' readings of that time are still to be read, so the wait
     * counts from the restart, and the episode keeps its start (and so its id).
     */
    @Test
    void afterARestoreTheWaitCountsFromTheRestartAndTheEpisodeKeepsItsStart() throws Exception {
        OperatorSubtaskState snapshot;
        try (var h = harness(rules(LISTED))) {
            h.setProcessingTime(T0);
            h.open();
            heard(h, SENSOR.id(), T0 + 1_000);
            snapshot = h.snapshot(1, T0 + 10_000);
        }
        long back = T0 + 3_600_000;
        try (var h = harness(rules(LISTED))) {
            h.initializeState(snapshot);
            h.setProcessingTime(back);
            h.open();
            h.setProcessingTime(back + 1);
            assertThat(drain(h)).as("the overdue timer of the run before").isEmpty();
            h.setProcessingTime(back + 30_000);
            List<Alert> open = drain(h);
            assertThat(open).extracting(Alert::sensorId).containsExactly(SILENT);
            assertThat(open.get(0).episodeStart()).isEqualTo(T0);
            snapshot = h.snapshot(2, back + 40_000);
        }
        // Restored again with its alert open: not opened twice, resolved by its first reading.
        try (var h = harness(rules(LISTED))) {
            h.initializeState(snapshot);
            h.setProcessingTime(back + 60_000);
            h.open();
            h.setProcessingTime(back + 600_000);
            assertThat(drain(h)).isEmpty();
            heard(h, SILENT.id(), back + 590_000);
            assertThat(drain(h))
                    .singleElement()
                    .satisfies(
                            r -> {
                                assertThat(r.state()).isEqualTo(AlertState.RESOLVED);
                                assertThat(r.alertId())
                                        .isEqualTo(Alert.idFor(SILENT, "no-signal", T0));
                            });
        }
    }

    /**
     * A listed sensor the detectors' restored state knows: it sent before, so its silence is
     * missing data's, since its last reading; here it is heard, and an alert open for it resolves.
     */
    @Test
    void aSensorTheDetectorsKnewBeforeIsHeardAndResolvesItsAlert() throws Exception {
        try (var h = harness(rules(LISTED))) {
            h.setProcessingTime(T0);
            h.open();
            heard(h, SENSOR.id(), SensorDetectors.KNOWN_BEFORE);
            h.setProcessingTime(T0 + 30_000);
            assertThat(drain(h)).extracting(Alert::sensorId).containsExactly(SILENT);
            h.setProcessingTime(T0 + 40_000);
            heard(h, SILENT.id(), SensorDetectors.KNOWN_BEFORE);
            assertThat(drain(h))
                    .singleElement()
                    .satisfies(
                            r -> {
                                assertThat(r.state()).isEqualTo(AlertState.RESOLVED);
                                assertThat(r.eventTime()).isEqualTo(T0 + 40_000);
                                assertThat(r.message()).contains("missing data's");
                            });
        }
    }

    @Test
    void aSensorTakenOffTheListResolvesItsOpenAlertAtTheNextStartAndIsForgotten() throws Exception {
        OperatorSubtaskState snapshot;
        try (var h = harness(rules(LISTED))) {
            h.setProcessingTime(T0);
            h.open();
            h.setProcessingTime(T0 + 30_000);
            assertThat(drain(h)).hasSize(2);
            snapshot = h.snapshot(1, T0 + 31_000);
        }
        RuleBook shorter =
                rules(
                        "defaults: {missing-data: {after: 30s, severity: CRITICAL, name:"
                                + " no-signal}}\nexpected: ["
                                + SENSOR.id()
                                + "]");
        try (var h = harness(shorter)) {
            h.initializeState(snapshot);
            h.setProcessingTime(T0 + 60_000);
            h.open();
            h.setProcessingTime(T0 + 60_001);
            assertThat(drain(h))
                    .singleElement()
                    .satisfies(
                            r -> {
                                assertThat(r.sensorId()).isEqualTo(SILENT);
                                assertThat(r.state()).isEqualTo(AlertState.RESOLVED);
                                assertThat(r.alertId())
                                        .isEqualTo(Alert.idFor(SILENT, "no-signal", T0));
                                assertThat(r.message()).contains("no longer listed");
                            });
            assertThat(h.numKeyedStateEntries()).isEqualTo(1);
            assertThat(h.numProcessingTimeTimers()).isZero();
        }
    }

    @Test
    void aListedSensorWhoseRulesAskForNoMissingDataIsAwaitedWithoutAnAlert() throws Exception {
        String yaml =
                """
                defaults: {missing-data: {after: 30s}}
                sensors:
                  - {match: "**/press-3/*", missing-data: false}
                expected: [%s]
                """
                        .formatted(SILENT.id());
        try (var h = harness(rules(yaml))) {
            h.setProcessingTime(T0);
            h.open();
            assertThat(h.numProcessingTimeTimers()).isZero();
            h.setProcessingTime(T0 + 3_600_000);
            assertThat(drain(h)).isEmpty();
        }
    }

    /**
     * The detectors tell each sensor once per run at its first released reading, and after a
     * restore every sensor their state knows; with no sensor listed, nothing.
     */
    @Test
    void theDetectorsTellEachSensorOncePerRunAndTheirRestoredSensorsOnRestore() throws Exception {
        RuleBook book = rules(LISTED);
        OperatorSubtaskState snapshot;
        try (var h = shuffledDetectors(book)) {
            h.open();
            feed(h, reading(0, 20, 0), reading(1_000, 20, 1), reading(OTHER, 0, 20, 0));
            // A sensor's first reading waits for the watermark.
            watermark(h, 1_000);
            assertThat(heardOf(h))
                    .containsExactly(Tuple2.of(SENSOR.id(), T0), Tuple2.of(OTHER.id(), T0));
            snapshot = h.snapshot(1, 2_000);
        }
        try (var h = shuffledDetectors(book)) {
            h.initializeState(snapshot);
            h.open();
            assertThat(heardOf(h))
                    .containsExactlyInAnyOrder(
                            Tuple2.of(SENSOR.id(), SensorDetectors.KNOWN_BEFORE),
                            Tuple2.of(OTHER.id(), SensorDetectors.KNOWN_BEFORE));
            feed(h, reading(2_000, 20, 2));
            assertThat(heardOf(h))
                    .as("a new run")
                    .containsExactly(Tuple2.of(SENSOR.id(), T0 + 2_000));
        }
        try (var h = shuffledDetectors(rules("defaults: {missing-data: {after: 30s}}"))) {
            h.initializeState(snapshot);
            h.open();
            feed(h, reading(2_000, 20, 2));
            assertThat(heardOf(h)).as("no sensor listed").isEmpty();
        }
    }

    @Test
    void theDetectorsKeyedInPlaceTellTheirRestoredSensorsToo() throws Exception {
        RuleBook book = rules(LISTED);
        OperatorSubtaskState snapshot;
        try (var h = inPlaceDetectors(book)) {
            h.open();
            feed(h, reading(0, 20, 0));
            watermark(h, 0);
            assertThat(heardOf(h)).containsExactly(Tuple2.of(SENSOR.id(), T0));
            snapshot = h.snapshot(1, 2_000);
        }
        try (var h = inPlaceDetectors(book)) {
            h.initializeState(snapshot);
            h.open();
            assertThat(heardOf(h))
                    .containsExactly(Tuple2.of(SENSOR.id(), SensorDetectors.KNOWN_BEFORE));
        }
    }

    private static KeyedOneInputStreamOperatorTestHarness<String, Tuple2<String, Long>, Alert>
            harness(RuleBook book) throws Exception {
        return new KeyedOneInputStreamOperatorTestHarness<>(
                new ExpectedSensors(book), new AnomalyPipeline.HeardKey(), Types.STRING);
    }

    private static void heard(
            KeyedOneInputStreamOperatorTestHarness<String, Tuple2<String, Long>, Alert> h,
            String id,
            long at)
            throws Exception {
        h.processElement(new StreamRecord<>(Tuple2.of(id, at)));
    }

    private static KeyedOneInputStreamOperatorTestHarness<
                    String, io.plantwatch.model.SensorReading, Signal>
            shuffledDetectors(RuleBook book) throws Exception {
        return new KeyedOneInputStreamOperatorTestHarness<>(
                new SensorDetectors.ShuffledOperator(
                        new SensorDetectors<>(book, Long.MAX_VALUE / 4, 0, false)),
                new AnomalyPipeline.ReadingKey(),
                Types.STRING);
    }

    private static KeyedOneInputStreamOperatorTestHarness<
                    SensorKey, io.plantwatch.model.SensorReading, Signal>
            inPlaceDetectors(RuleBook book) throws Exception {
        return new KeyedOneInputStreamOperatorTestHarness<>(
                new InPlaceKeys.DetectorsOperator(
                        new SensorDetectors<>(book, Long.MAX_VALUE / 4, 0, false)),
                new InPlaceKeys.Selector(),
                SensorKey.TypeInfo.INSTANCE,
                128,
                1,
                0);
    }

    private static List<Tuple2<String, Long>> heardOf(
            KeyedOneInputStreamOperatorTestHarness<?, ?, ?> h) {
        var side = h.getSideOutput(SensorDetectors.HEARD);
        if (side == null) {
            return List.of();
        }
        List<Tuple2<String, Long>> out =
                side.stream().map(StreamRecord::getValue).filter(Objects::nonNull).toList();
        side.clear();
        return out;
    }
}
