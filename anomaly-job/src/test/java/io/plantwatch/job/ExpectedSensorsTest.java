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
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.AbstractStreamOperatorTestHarness;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A sensor listed in the rules' {@code expected:} that never sends: missing data from each run's
 * first watermark, on processing time, driven here by the harness's clock.
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
            assertThat(h.numProcessingTimeTimers())
                    .as("the waits start at the first watermark")
                    .isZero();
            start(h);
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
            assertThat(a.unit()).as("the unit it is listed with").isEqualTo("degC");
            assertThat(a.limits()).containsExactly(java.util.Map.entry("after_s", 30.0));
            assertThat(h.numProcessingTimeTimers()).isZero();
            ExpectedSensors op = (ExpectedSensors) h.getOperator();
            assertThat(op.notHeard()).isZero();
            assertThat(op.missing()).isEqualTo(1);

            // Its first reading resolves the same episode, at that reading's time.
            h.setProcessingTime(T0 + 50_000);
            heard(h, SILENT.id(), T0 + 45_000);
            List<Alert> resolved = drain(h);
            assertThat(resolved).hasSize(1);
            assertThat(resolved.get(0).alertId()).isEqualTo(a.alertId());
            assertThat(resolved.get(0).state()).isEqualTo(AlertState.RESOLVED);
            assertThat(resolved.get(0).eventTime()).isEqualTo(T0 + 45_000);
            assertThat(resolved.get(0).message()).contains("sent a reading at");
            assertThat(op.missing()).isZero();

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
            start(h);
            heard(h, SENSOR.id(), T0 + 1_000);
            snapshot = h.snapshot(1, T0 + 10_000);
        }
        long back = T0 + 3_600_000;
        try (var h = harness(rules(LISTED))) {
            h.initializeState(snapshot);
            h.setProcessingTime(back);
            h.open();
            start(h);
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
            start(h);
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
            start(h);
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
            start(h);
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
            start(h);
            assertThat(h.numProcessingTimeTimers()).isZero();
            h.setProcessingTime(T0 + 3_600_000);
            assertThat(drain(h)).isEmpty();
        }
    }

    /**
     * The first watermark starts the waits: every detectors subtask sends it after what its restore
     * told. A restore slower than the wait no longer alerts a sensor the detectors knew.
     */
    @Test
    void theWaitsStartAtTheFirstWatermarkOrWithNoneAtTheShortestWaitPastTheStart()
            throws Exception {
        try (var h = harness(rules(LISTED))) {
            h.setProcessingTime(T0);
            h.open();
            h.setProcessingTime(T0 + 20_000);
            heard(h, SENSOR.id(), SensorDetectors.KNOWN_BEFORE);
            h.processWatermark(new Watermark(T0));
            h.setProcessingTime(T0 + 49_999);
            assertThat(drain(h)).isEmpty();
            h.setProcessingTime(T0 + 50_000);
            assertThat(drain(h)).extracting(Alert::sensorId).containsExactly(SILENT);
        }
        // Not one reading since the start, so no watermark: the waits start 30 s in.
        try (var h = harness(rules(LISTED))) {
            h.setProcessingTime(T0);
            h.open();
            h.setProcessingTime(T0 + 30_000);
            assertThat(drain(h)).isEmpty();
            assertThat(h.numProcessingTimeTimers()).isEqualTo(2);
            h.setProcessingTime(T0 + 60_000);
            assertThat(drain(h)).extracting(Alert::sensorId).containsOnly(SENSOR, SILENT);
        }
    }

    /**
     * A run that waited past a sensor's wait without hearing it may have sent the OPEN after its
     * last checkpoint; the run restored from it does not know. Its first reading, stamped after
     * that wait ended, tells the episode whole, so that the OPEN does not stay open for good.
     */
    @Test
    void anOpenSentAfterTheLastCheckpointIsToldWholeWhenTheRestoredRunHearsTheSensor()
            throws Exception {
        OperatorSubtaskState snapshot;
        try (var h = harness(rules(LISTED))) {
            h.setProcessingTime(T0);
            h.open();
            start(h);
            snapshot = h.snapshot(1, T0 + 10_000);
            h.setProcessingTime(T0 + 30_000);
            assertThat(drain(h)).hasSize(2); // sent, then the job failed
        }
        try (var h = harness(rules(LISTED))) {
            h.initializeState(snapshot);
            h.setProcessingTime(T0 + 40_000);
            h.open();
            start(h);
            heard(h, SILENT.id(), T0 + 35_000);
            heard(h, SENSOR.id(), T0 + 25_000);
            List<Alert> told = drain(h);
            assertThat(told)
                    .extracting(Alert::state)
                    .containsExactly(AlertState.OPEN, AlertState.RESOLVED);
            assertThat(told)
                    .extracting(Alert::alertId)
                    .containsOnly(Alert.idFor(SILENT, "no-signal", T0));
            assertThat(told.get(1).eventTime()).isEqualTo(T0 + 35_000);
            h.setProcessingTime(T0 + 3_600_000);
            assertThat(drain(h)).as("a reading stamped before that wait ended: none").isEmpty();
        }
    }

    @Test
    void anOpenAlertWhoseSensorsRulesNoLongerAskForMissingDataResolvesAtTheNextStart()
            throws Exception {
        OperatorSubtaskState snapshot;
        try (var h = harness(rules(LISTED))) {
            h.setProcessingTime(T0);
            h.open();
            start(h);
            h.setProcessingTime(T0 + 30_000);
            assertThat(drain(h)).hasSize(2);
            snapshot = h.snapshot(1, T0 + 31_000);
        }
        String off =
                LISTED
                        + """
                        sensors:
                          - {match: "**/press-3/*", missing-data: false}
                        """;
        try (var h = harness(rules(off))) {
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
                                assertThat(r.message()).contains("no longer ask for missing data");
                            });
            start(h);
            h.setProcessingTime(T0 + 3_600_000);
            assertThat(drain(h)).isEmpty();
        }
    }

    /**
     * A restore at another parallelism drops the detectors' state: a listed sensor they knew is
     * awaited again, as nothing else watches its silence, under a new episode.
     */
    @Test
    void aSensorWhoseDetectorsStateWasDroppedIsAwaitedAgain() throws Exception {
        OperatorSubtaskState snapshot;
        try (var h = harness(rules(LISTED))) {
            h.setProcessingTime(T0);
            h.open();
            start(h);
            heard(h, SENSOR.id(), T0 + 1_000);
            heard(h, SILENT.id(), T0 + 1_000);
            snapshot = h.snapshot(1, T0 + 2_000);
        }
        try (var h = harness(rules(LISTED))) {
            h.initializeState(snapshot);
            h.setProcessingTime(T0 + 100_000);
            h.open();
            heard(h, SENSOR.id(), SensorDetectors.FORGOTTEN);
            start(h);
            h.setProcessingTime(T0 + 129_999);
            assertThat(drain(h)).isEmpty();
            h.setProcessingTime(T0 + 130_000);
            assertThat(drain(h))
                    .singleElement()
                    .satisfies(
                            a -> {
                                assertThat(a.sensorId()).isEqualTo(SENSOR);
                                assertThat(a.alertId())
                                        .isEqualTo(Alert.idFor(SENSOR, "no-signal", T0 + 100_000));
                                assertThat(a.message()).contains("started over");
                            });
        }
    }

    /**
     * After a rescale the word that a sensor's detectors' state was dropped comes from one subtask
     * and its first reading's from another, in either order: heard in this run, it stays heard.
     */
    @Test
    void aDroppedStatesWordAfterTheSensorsReadingInThisRunChangesNothing() throws Exception {
        OperatorSubtaskState snapshot;
        try (var h = harness(rules(LISTED))) {
            h.setProcessingTime(T0);
            h.open();
            start(h);
            heard(h, SENSOR.id(), T0 + 1_000);
            heard(h, SILENT.id(), T0 + 1_000);
            snapshot = h.snapshot(1, T0 + 2_000);
        }
        try (var h = harness(rules(LISTED))) {
            h.initializeState(snapshot);
            h.setProcessingTime(T0 + 60_000);
            h.open();
            heard(h, SENSOR.id(), T0 + 59_000);
            heard(h, SENSOR.id(), SensorDetectors.FORGOTTEN);
            heard(h, SILENT.id(), SensorDetectors.FORGOTTEN);
            start(h);
            ExpectedSensors op = (ExpectedSensors) h.getOperator();
            assertThat(op.notHeard()).as("SILENT awaited again").isEqualTo(1);
            h.setProcessingTime(T0 + 3_600_000);
            assertThat(drain(h)).extracting(Alert::sensorId).containsExactly(SILENT);
            assertThat(op.notHeard()).isZero();
            assertThat(op.missing()).isEqualTo(1);
        }
    }

    /**
     * An OPEN the run before may have sent after its last checkpoint is resolved under that wait's
     * rule, though the rules renamed it since; and told whole at the start when the sensor is taken
     * off the list or its rules stop asking for missing data.
     */
    @Test
    void anOpenTheRunBeforeMayHaveSentIsClosedUnderItsOwnIdWhateverTheRulesSayNow()
            throws Exception {
        OperatorSubtaskState snapshot;
        try (var h = harness(rules(LISTED))) {
            h.setProcessingTime(T0);
            h.open();
            start(h);
            snapshot = h.snapshot(1, T0 + 10_000);
        }
        String renamed = LISTED.replace("name: no-signal", "name: silent-sensor");
        try (var h = harness(rules(renamed))) {
            h.initializeState(snapshot);
            h.setProcessingTime(T0 + 40_000);
            h.open();
            start(h);
            heard(h, SILENT.id(), T0 + 35_000);
            assertThat(drain(h))
                    .extracting(Alert::alertId)
                    .containsOnly(Alert.idFor(SILENT, "no-signal", T0));
        }
        String offAndUnlisted =
                "defaults: {missing-data: {after: 30s, name: no-signal}}\n"
                        + "sensors: [{match: '**/press-3/*', missing-data: false}]\n"
                        + "expected: ["
                        + SILENT.id()
                        + "]";
        try (var h = harness(rules(offAndUnlisted))) {
            h.initializeState(snapshot);
            h.setProcessingTime(T0 + 40_000);
            h.open();
            h.setProcessingTime(T0 + 40_001);
            List<Alert> told = drain(h);
            assertThat(told)
                    .extracting(a -> a.sensorId() + " " + a.state())
                    .containsExactlyInAnyOrder(
                            SILENT + " OPEN",
                            SILENT + " RESOLVED",
                            SENSOR + " OPEN",
                            SENSOR + " RESOLVED");
            assertThat(told)
                    .filteredOn(a -> a.sensorId().equals(SENSOR))
                    .extracting(Alert::alertId)
                    .containsOnly(Alert.idFor(SENSOR, "no-signal", T0));
            ExpectedSensors op = (ExpectedSensors) h.getOperator();
            assertThat(op.notHeard()).isEqualTo(1);
            assertThat(op.missing()).isZero();
            assertThat(h.numKeyedStateEntries()).isEqualTo(1);
        }
    }

    /**
     * A run restored after a wait had ended, checkpointed before its own waits started: a sensor
     * taken off the list then still has the OPEN the first run may have sent told whole.
     */
    @Test
    void anOpenTheFirstRunMayHaveSentOutlivesARunThatNeverArmedItsWait() throws Exception {
        OperatorSubtaskState snapshot;
        try (var h = harness(rules(LISTED))) {
            h.setProcessingTime(T0);
            h.open();
            start(h);
            heard(h, SENSOR.id(), T0 + 1_000);
            snapshot = h.snapshot(1, T0 + 10_000);
        }
        try (var h = harness(rules(LISTED))) {
            h.initializeState(snapshot);
            h.setProcessingTime(T0 + 40_000);
            h.open();
            snapshot = h.snapshot(2, T0 + 41_000); // before its first watermark
        }
        String unlisted =
                "defaults: {missing-data: {after: 30s, severity: CRITICAL, name: no-signal}}\n"
                        + "expected: ["
                        + SENSOR.id()
                        + "]";
        try (var h = harness(rules(unlisted))) {
            h.initializeState(snapshot);
            h.setProcessingTime(T0 + 50_000);
            h.open();
            h.setProcessingTime(T0 + 50_001);
            assertThat(drain(h))
                    .extracting(a -> a.alertId() + " " + a.state())
                    .containsExactly(
                            Alert.idFor(SILENT, "no-signal", T0) + " OPEN",
                            Alert.idFor(SILENT, "no-signal", T0) + " RESOLVED");
        }
    }

    /** Each listed sensor on the subtask a keyBy by its id sends it to, and on no other. */
    @Test
    void eachSubtaskAwaitsTheListedSensorsItsKeyGroupsHold() throws Exception {
        StringBuilder yaml =
                new StringBuilder("defaults: {missing-data: {after: 30s}}\nexpected:\n");
        List<String> ids = new java.util.ArrayList<>();
        for (int i = 0; i < 40; i++) {
            ids.add("plant/area/line/m-" + i + "/temp");
            yaml.append("  - ").append(ids.get(i)).append('\n');
        }
        RuleBook book = rules(yaml.toString());
        int total = 0;
        for (int index = 0; index < 2; index++) {
            final int subtask = index;
            try (var h =
                    new KeyedOneInputStreamOperatorTestHarness<>(
                            new ExpectedSensors(book),
                            new AnomalyPipeline.HeardKey(),
                            Types.STRING,
                            128,
                            2,
                            index)) {
                h.setProcessingTime(T0);
                h.open();
                start(h);
                h.setProcessingTime(T0 + 30_000);
                List<String> alerted = drain(h).stream().map(a -> a.sensorId().id()).toList();
                assertThat(alerted)
                        .containsExactlyInAnyOrderElementsOf(
                                ids.stream()
                                        .filter(
                                                id ->
                                                        KeyGroupRangeAssignment
                                                                        .assignKeyToParallelOperator(
                                                                                id, 128, 2)
                                                                == subtask)
                                        .toList());
                total += alerted.size();
            }
        }
        assertThat(total).isEqualTo(ids.size());
    }

    /**
     * The detectors tell each sensor once per run at its first released reading, and after a
     * restore each listed sensor their state knows whose readings reached them; with no sensor
     * listed, nothing.
     */
    @ParameterizedTest
    @ValueSource(strings = {"hashmap", "rocksdb"})
    void theDetectorsTellEachSensorOncePerRunAndTheirRestoredListedSensorsOnRestore(String backend)
            throws Exception {
        RuleBook book = rules(LISTED);
        OperatorSubtaskState snapshot;
        try (var h = shuffledDetectors(book, backend)) {
            h.open();
            feed(h, reading(0, 20, 0), reading(1_000, 20, 1), reading(OTHER, 0, 20, 0));
            // A sensor's first reading waits for the watermark.
            watermark(h, 1_000);
            feed(h, reading(2_000, 20, 2));
            assertThat(heardOf(h))
                    .as("listed sensors only")
                    .containsExactly(Tuple2.of(SENSOR.id(), T0));
            // Its first reading still waiting for the watermark: not heard, not told on restore.
            feed(h, reading(SILENT, 5_000, 20, 0));
            snapshot = h.snapshot(1, 2_000);
        }
        try (var h = shuffledDetectors(book, backend)) {
            h.initializeState(snapshot);
            h.open();
            assertThat(heardOf(h))
                    .as("listed and heard only")
                    .containsExactly(Tuple2.of(SENSOR.id(), SensorDetectors.KNOWN_BEFORE));
            feed(h, reading(3_000, 20, 3), reading(4_000, 20, 4));
            assertThat(heardOf(h))
                    .as("a new run, once")
                    .containsExactly(Tuple2.of(SENSOR.id(), T0 + 3_000));
        }
        try (var h = shuffledDetectors(rules("defaults: {missing-data: {after: 30s}}"), backend)) {
            h.initializeState(snapshot);
            h.open();
            feed(h, reading(3_000, 20, 3));
            assertThat(heardOf(h)).as("no sensor listed").isEmpty();
        }
    }

    @Test
    void theDetectorsKeyedInPlaceTellTheirRestoredSensorsAndOnARescaleTheDroppedOnes()
            throws Exception {
        RuleBook book = rules(LISTED);
        OperatorSubtaskState snapshot;
        try (var h = inPlaceDetectors(book, 1, 0)) {
            h.setProcessingTime(T0);
            h.open();
            feed(h, reading(0, 20, 0), reading(SILENT, 0, 20, 0));
            watermark(h, 0);
            assertThat(heardOf(h))
                    .containsExactlyInAnyOrder(
                            Tuple2.of(SENSOR.id(), T0), Tuple2.of(SILENT.id(), T0));
            // SILENT falls silent: its missing-data alert opens.
            h.setProcessingTime(T0 + 30_000);
            feed(h, reading(30_000, 20, 1));
            snapshot = h.snapshot(1, T0 + 31_000);
        }
        try (var h = inPlaceDetectors(book, 1, 0)) {
            h.initializeState(snapshot);
            h.open();
            assertThat(heardOf(h))
                    .containsExactlyInAnyOrder(
                            Tuple2.of(SENSOR.id(), SensorDetectors.KNOWN_BEFORE),
                            Tuple2.of(SILENT.id(), SensorDetectors.KNOWN_BEFORE));
        }
        // At another parallelism their state is dropped: SILENT's open alert goes to the
        // lifecycle (known), SENSOR is nobody's to watch (forgotten).
        List<Tuple2<String, Long>> told = new java.util.ArrayList<>();
        for (int index = 0; index < 2; index++) {
            try (var h = inPlaceDetectors(book, 2, index)) {
                h.initializeState(
                        AbstractStreamOperatorTestHarness.repartitionOperatorState(
                                snapshot, 128, 1, 2, index));
                h.open();
                told.addAll(heardOf(h));
            }
        }
        assertThat(told)
                .containsExactlyInAnyOrder(
                        Tuple2.of(SENSOR.id(), SensorDetectors.FORGOTTEN),
                        Tuple2.of(SILENT.id(), SensorDetectors.KNOWN_BEFORE));
    }

    private static void start(KeyedOneInputStreamOperatorTestHarness<?, ?, ?> h) throws Exception {
        h.processWatermark(new Watermark(T0));
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
            shuffledDetectors(RuleBook book, String backend) throws Exception {
        var h =
                new KeyedOneInputStreamOperatorTestHarness<>(
                        new SensorDetectors.ShuffledOperator(
                                new SensorDetectors<>(book, Long.MAX_VALUE / 4, 0, false)),
                        new AnomalyPipeline.ReadingKey(),
                        Types.STRING);
        h.setStateBackend(Harnesses.stateBackend(backend));
        return h;
    }

    private static KeyedOneInputStreamOperatorTestHarness<
                    SensorKey, io.plantwatch.model.SensorReading, Signal>
            inPlaceDetectors(RuleBook book, int parallelism, int index) throws Exception {
        return new KeyedOneInputStreamOperatorTestHarness<>(
                new InPlaceKeys.DetectorsOperator(
                        new SensorDetectors<>(book, Long.MAX_VALUE / 4, 0, false)),
                new InPlaceKeys.Selector(),
                SensorKey.TypeInfo.INSTANCE,
                128,
                parallelism,
                index);
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
