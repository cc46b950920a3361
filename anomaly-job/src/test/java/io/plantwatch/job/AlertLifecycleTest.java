package io.plantwatch.job;

import static io.plantwatch.job.Harnesses.SENSOR;
import static io.plantwatch.job.Harnesses.T0;
import static org.assertj.core.api.Assertions.assertThat;

import io.plantwatch.job.rules.DetectorRules;
import io.plantwatch.model.Alert;
import io.plantwatch.model.AlertKind;
import io.plantwatch.model.AlertState;
import io.plantwatch.model.Severity;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class AlertLifecycleTest {
    private KeyedOneInputStreamOperatorTestHarness<String, Signal, Alert> h;

    private void open() throws Exception {
        h =
                ProcessFunctionTestHarnesses.forKeyedProcessFunction(
                        new AlertLifecycle(), new AnomalyPipeline.SignalKey(), Types.STRING);
        h.open();
    }

    @AfterEach
    void close() throws Exception {
        if (h != null) {
            h.close();
        }
    }

    private static DetectorRules.Alarm alarm(long onDelay, long offDelay) {
        return new DetectorRules.Alarm("oil-range", Severity.CRITICAL, onDelay, offDelay);
    }

    private void onset(DetectorRules.Alarm a, long time, long start) throws Exception {
        send(
                Signal.onset(
                        SENSOR,
                        AlertKind.OUT_OF_RANGE,
                        a,
                        T0 + time,
                        T0 + start,
                        new double[] {99},
                        "too hot"));
    }

    private void level(DetectorRules.Alarm a, boolean active, long time) throws Exception {
        send(Signal.level(SENSOR, AlertKind.OUT_OF_RANGE, a, active, T0 + time));
    }

    /**
     * A range episode open from 1 s, a flatline one open from 0.5 s, a slope in its on-delay from 2
     * s; the watermark at 2 s.
     */
    private void openRangeAndFlatlineWithASlopeInItsOnDelay(
            DetectorRules.Alarm range, DetectorRules.Alarm flat, DetectorRules.Alarm slope)
            throws Exception {
        onset(range, 1_000, 1_000);
        send(
                Signal.onset(
                        SENSOR,
                        AlertKind.FLATLINE,
                        flat,
                        T0 + 1_000,
                        T0 + 500,
                        new double[] {4},
                        "stuck"));
        send(
                Signal.onset(
                        SENSOR,
                        AlertKind.RATE_OF_CHANGE,
                        slope,
                        T0 + 2_000,
                        T0 + 2_000,
                        new double[] {9},
                        "steep"));
        watermark(2_000);
        assertThat(drain()).containsExactly("OPEN@1000/1000", "OPEN@1000/500");
    }

    private void send(Signal s) throws Exception {
        h.processElement(new StreamRecord<>(s, s.time()));
    }

    private void watermark(long t) throws Exception {
        h.processWatermark(new Watermark(T0 + t));
    }

    private List<String> drain() {
        List<String> out =
                h.extractOutputValues().stream()
                        .map(
                                a ->
                                        a.state()
                                                + "@"
                                                + (a.eventTime() - T0)
                                                + "/"
                                                + (a.episodeStart() - T0))
                        .toList();
        h.getOutput().clear();
        return out;
    }

    /**
     * The lifecycle's state had Flink's state TTL (24 h shipped), which counts wall time since the
     * last write, downtime included: a job restored more than a day after its stop forgot its open
     * episodes, and their alerts never resolved. A savepoint fixture turned this up a day after it
     * was written.
     */
    @Test
    void anOpenEpisodeOutlivesARestoreDaysLaterAndResolves() throws Exception {
        open();
        DetectorRules.Alarm a = alarm(0, 0);
        h.setStateTtlProcessingTime(System.currentTimeMillis());
        onset(a, 1_000, 1_000);
        level(a, true, 1_000);
        watermark(1_000);
        assertThat(drain()).containsExactly("OPEN@1000/1000");
        var snapshot = h.snapshot(1, 2_000);
        h.close();

        h =
                new KeyedOneInputStreamOperatorTestHarness<>(
                        new org.apache.flink.streaming.api.operators.KeyedProcessOperator<>(
                                new AlertLifecycle()),
                        new AnomalyPipeline.SignalKey(),
                        Types.STRING);
        h.setStateTtlProcessingTime(System.currentTimeMillis() + 3 * 86_400_000L);
        h.initializeState(snapshot);
        h.open();
        level(a, false, 5_000);
        watermark(5_000);
        assertThat(drain()).containsExactly("RESOLVED@5000/1000");
        assertThat(h.numKeyedStateEntries()).isZero();
    }

    /**
     * A job restarted with rules that no longer give a sensor one of its rules: no detector clears
     * that rule's episode again. The detectors tell the lifecycle which rules are in force, and an
     * open episode of another resolves at that event time; one in its on-delay is dropped; the
     * rules still in force keep theirs.
     */
    @Test
    void anEpisodeOfARuleTheSensorNoLongerHasResolvesWhenTheRulesInForceAreTold() throws Exception {
        open();
        DetectorRules.Alarm range = alarm(0, 0);
        DetectorRules.Alarm flat = new DetectorRules.Alarm("stuck", Severity.WARNING, 0, 0);
        DetectorRules.Alarm slope = new DetectorRules.Alarm("slope", Severity.WARNING, 60_000, 0);
        openRangeAndFlatlineWithASlopeInItsOnDelay(range, flat, slope);

        send(Signal.rulesInForce(SENSOR, T0 + 5_000, List.of("oil-range", "spike")));
        watermark(4_999);
        assertThat(drain()).isEmpty();
        watermark(5_000);
        List<Alert> resolved = h.extractOutputValues();
        assertThat(resolved)
                .singleElement()
                .satisfies(
                        a -> {
                            assertThat(a.rule()).isEqualTo("stuck");
                            assertThat(a.state()).isEqualTo(AlertState.RESOLVED);
                            assertThat(a.eventTime()).isEqualTo(T0 + 5_000);
                            assertThat(a.episodeStart()).isEqualTo(T0 + 500);
                            assertThat(a.message()).contains("no longer has rule stuck");
                        });
        h.getOutput().clear();

        // The slope's on-delay would have opened it at 62 s: dropped instead, its timer idle.
        watermark(70_000);
        assertThat(drain()).isEmpty();
        // The range rule, still in force, resolves as ever.
        level(range, false, 71_000);
        watermark(71_000);
        assertThat(drain()).containsExactly("RESOLVED@71000/1000");
        assertThat(h.numKeyedStateEntries()).isZero();
        assertThat(h.numEventTimeTimers()).isZero();
    }

    @Test
    void anEpisodeDetectorsStartedAfreshDoNotSeeAgainResolvesAndOneTheySeeGoesOn()
            throws Exception {
        open();
        DetectorRules.Alarm range = alarm(0, 5_000);
        DetectorRules.Alarm flat = new DetectorRules.Alarm("stuck", Severity.WARNING, 0, 2_000);
        DetectorRules.Alarm slope = new DetectorRules.Alarm("slope", Severity.WARNING, 60_000, 0);
        openRangeAndFlatlineWithASlopeInItsOnDelay(range, flat, slope);

        // A restore at another parallelism: the detectors remember nothing, and may take 10 s
        // to see a condition again (its detection took 0.5 s). They see the range's at once; the
        // flatline's never.
        send(
                Signal.rulesInForceStartedOver(
                        SENSOR, T0 + 5_000, List.of("oil-range", "stuck", "slope"), 10_000, -1));
        level(range, true, 5_000);
        watermark(26_999);
        assertThat(drain()).as("twice the 10 s and the 2 s off-delay not yet over").isEmpty();
        watermark(27_000);
        List<Alert> resolved = h.extractOutputValues();
        assertThat(resolved)
                .singleElement()
                .satisfies(
                        a -> {
                            assertThat(a.rule()).isEqualTo("stuck");
                            assertThat(a.state()).isEqualTo(AlertState.RESOLVED);
                            assertThat(a.eventTime()).isEqualTo(T0 + 5_000);
                            assertThat(a.episodeStart()).isEqualTo(T0 + 500);
                            assertThat(a.message())
                                    .contains("its detectors started afresh")
                                    .contains("have not seen stuck hold since");
                        });
        h.getOutput().clear();

        // The slope's on-delay would have opened it at 62 s: dropped, as the detectors that
        // start afresh tell a condition that still holds again.
        watermark(70_000);
        assertThat(drain()).isEmpty();
        // The range episode, seen again, goes on under its id and resolves as ever.
        level(range, false, 71_000);
        watermark(76_000);
        assertThat(drain()).containsExactly("RESOLVED@71000/1000");
        assertThat(h.numKeyedStateEntries()).isZero();
        assertThat(h.numEventTimeTimers()).isZero();
    }

    @Test
    void detectorsBegunAfreshGetTwiceWhatTheEpisodesOwnDetectionTook() throws Exception {
        open();
        DetectorRules.Alarm flat = new DetectorRules.Alarm("stuck", Severity.WARNING, 0, 0);
        DetectorRules.Alarm other = new DetectorRules.Alarm("frozen", Severity.WARNING, 0, 0);
        // 30 readings a minute apart: each flatline decided 29 minutes after its run began.
        for (DetectorRules.Alarm a : List.of(flat, other)) {
            send(
                    Signal.onset(
                            SENSOR,
                            AlertKind.FLATLINE,
                            a,
                            T0 + 29 * 60_000,
                            T0,
                            new double[] {4},
                            "stuck"));
        }
        watermark(29 * 60_000);
        assertThat(drain()).hasSize(2);
        send(
                Signal.rulesInForceStartedOver(
                        SENSOR, T0 + 40 * 60_000, List.of("stuck", "frozen"), 60_000, 7));
        // Seen again 39 minutes later, past a wait of 29 (once what detection took) but within
        // 58: that episode goes on. The other, not seen again, resolves at 98 minutes.
        send(
                Signal.onset(
                        SENSOR,
                        AlertKind.FLATLINE,
                        flat,
                        T0 + 79 * 60_000,
                        T0 + 50 * 60_000,
                        new double[] {4},
                        "stuck"));
        watermark(98 * 60_000 - 1);
        assertThat(drain()).isEmpty();
        watermark(98 * 60_000);
        assertThat(h.extractOutputValues())
                .singleElement()
                .satisfies(
                        a -> {
                            assertThat(a.rule()).isEqualTo("frozen");
                            assertThat(a.state()).isEqualTo(AlertState.RESOLVED);
                            assertThat(a.eventTime()).isEqualTo(T0 + 40 * 60_000);
                        });
        h.getOutput().clear();
        watermark(500 * 60_000);
        assertThat(drain()).isEmpty();
        assertThat(h.numKeyedStateEntries()).as("the stuck episode goes on").isOne();
    }

    @Test
    void aHandedOverMissingDataAlertResolvesWhenItsSensorIsHeardByTheRunThatHandedItOver()
            throws Exception {
        open();
        // A flatline rule and a missing-data rule of one name: neither hides the other.
        DetectorRules.Alarm fault = new DetectorRules.Alarm("fault", Severity.WARNING, 0, 0);
        send(
                Signal.onset(
                        SENSOR,
                        AlertKind.FLATLINE,
                        fault,
                        T0 + 1_000,
                        T0,
                        new double[] {4},
                        "stuck"));
        // Handed over by the run restored from checkpoint 5.
        send(
                Signal.handedOver(
                        SENSOR, fault, T0 + 2_000, 4.0, "bar", new double[] {300}, "silent", 5));
        // Rules told by the run before, restored from checkpoint 3, waiting here: not its return,
        // whatever their time; nor rules told by detectors that remember.
        send(Signal.rulesInForceStartedOver(SENSOR, T0 + 2_500, List.of("fault"), 0, 3));
        send(Signal.rulesInForce(SENSOR, T0 + 2_600, List.of("fault")));
        send(Signal.level(SENSOR, AlertKind.FLATLINE, fault, true, T0 + 2_700));
        watermark(3_000);
        assertThat(drain()).containsExactly("OPEN@1000/0");

        // The run restored from 5 hears it: a redelivered duplicate of its last reading will do.
        send(Signal.rulesInForceStartedOver(SENSOR, T0 + 2_000, List.of("fault"), 60_000, 5));
        watermark(3_000);
        List<Alert> resolved = h.extractOutputValues();
        assertThat(resolved)
                .singleElement()
                .satisfies(
                        a -> {
                            assertThat(a.kind()).isEqualTo(AlertKind.MISSING_DATA);
                            assertThat(a.state()).isEqualTo(AlertState.RESOLVED);
                            assertThat(a.alertId())
                                    .isEqualTo(Alert.idFor(SENSOR, "fault", T0 + 2_000));
                            assertThat(a.values()).containsExactly(4.0);
                            assertThat(a.unit()).isEqualTo("bar");
                            assertThat(a.limits()).containsExactly(Map.entry("after_s", 300.0));
                            assertThat(a.message()).endsWith("sends again");
                        });
        h.getOutput().clear();
        assertThat(h.numKeyedStateEntries())
                .as("the flatline's episode, waiting for its detector to see it again")
                .isOne();
    }

    @Test
    void aClearFromADetectorBegunAfreshEndsTheWaitAndResolvesAfterTheOffDelay() throws Exception {
        open();
        DetectorRules.Alarm a = alarm(0, 2_000);
        onset(a, 1_000, 1_000);
        watermark(1_000);
        assertThat(drain()).containsExactly("OPEN@1000/1000");
        send(Signal.rulesInForceStartedOver(SENSOR, T0 + 5_000, List.of("oil-range"), 60_000, 3));
        // Its first judgement: gone at 7 s. Resolved 2 s later, not after the two minutes' wait.
        level(a, false, 7_000);
        watermark(8_999);
        assertThat(drain()).isEmpty();
        watermark(9_000);
        assertThat(h.extractOutputValues())
                .singleElement()
                .satisfies(
                        alert -> {
                            assertThat(alert.state()).isEqualTo(AlertState.RESOLVED);
                            assertThat(alert.eventTime()).isEqualTo(T0 + 7_000);
                            assertThat(alert.message()).contains("back to normal");
                        });
        h.getOutput().clear();
        watermark(1_000_000);
        assertThat(drain()).isEmpty();
        assertThat(h.numKeyedStateEntries()).isZero();
    }

    @Test
    void rulesToldByDetectorsThatRememberLeaveOpenEpisodesOpen() throws Exception {
        open();
        DetectorRules.Alarm range = alarm(0, 5_000);
        onset(range, 1_000, 1_000);
        watermark(1_000);
        assertThat(drain()).containsExactly("OPEN@1000/1000");
        send(Signal.rulesInForce(SENSOR, T0 + 5_000, List.of("oil-range")));
        watermark(1_000_000);
        assertThat(drain()).isEmpty();
        assertThat(h.numKeyedStateEntries()).isOne();
    }

    @Test
    void opensOnOnsetOnlyOnceTheWatermarkPassesItAndResolvesAfterTheOffDelay() throws Exception {
        // OPEN carries the event time it opened at (the deciding reading, 3000) and the
        // episode's start (the first reading of the condition, 1000).
        open();
        DetectorRules.Alarm a = alarm(0, 5_000);
        level(a, true, 1000);
        onset(a, 3000, 1000);
        watermark(2999);
        assertThat(drain()).isEmpty();
        watermark(3000);
        assertThat(drain()).containsExactly("OPEN@3000/1000");

        level(a, false, 10_000);
        watermark(14_999);
        assertThat(drain()).isEmpty();
        watermark(15_000);
        assertThat(drain()).containsExactly("RESOLVED@10000/1000");
        assertThat(h.numEventTimeTimers()).isZero();
        assertThat(h.numKeyedStateEntries()).isZero();
    }

    @Test
    void bothEventsOfAnEpisodeShareTheDeterministicId() throws Exception {
        open();
        DetectorRules.Alarm a = alarm(0, 0);
        onset(a, 3000, 1000);
        level(a, false, 4000);
        watermark(10_000);
        List<Alert> alerts = h.extractOutputValues();
        assertThat(alerts)
                .extracting(Alert::state)
                .containsExactly(AlertState.OPEN, AlertState.RESOLVED);
        assertThat(alerts)
                .extracting(Alert::alertId)
                .containsOnly(Alert.idFor(SENSOR, "oil-range", T0 + 1000));
        assertThat(alerts.get(0).severity()).isEqualTo(Severity.CRITICAL);
        assertThat(alerts.get(0).message()).isEqualTo("too hot");
        assertThat(alerts.get(0).values()).containsExactly(99.0);
    }

    @Test
    void noSecondOpenWhileOneIsOpen() throws Exception {
        open();
        DetectorRules.Alarm a = alarm(0, 5_000);
        onset(a, 1000, 1000);
        onset(a, 2000, 2000);
        onset(a, 9000, 7000);
        watermark(20_000);
        assertThat(drain()).containsExactly("OPEN@1000/1000");
    }

    @Test
    void conditionReturningWithinTheOffDelayKeepsTheEpisodeOpen() throws Exception {
        open();
        DetectorRules.Alarm a = alarm(0, 5_000);
        onset(a, 1000, 1000);
        level(a, false, 2000);
        level(a, true, 4000); // back before 2000 + 5000
        level(a, false, 20_000);
        watermark(24_999);
        assertThat(drain()).containsExactly("OPEN@1000/1000");
        watermark(25_000);
        assertThat(drain()).containsExactly("RESOLVED@20000/1000");
    }

    @Test
    void onDelaySuppressesAConditionThatClearsTooSoon() throws Exception {
        open();
        DetectorRules.Alarm a = alarm(10_000, 0);
        onset(a, 1000, 1000);
        level(a, false, 5000);
        watermark(30_000);
        assertThat(drain()).isEmpty();
        assertThat(h.numKeyedStateEntries()).isZero();

        onset(a, 40_000, 40_000);
        watermark(49_999);
        assertThat(drain()).isEmpty();
        watermark(50_000);
        assertThat(drain()).containsExactly("OPEN@50000/40000");
    }

    @Test
    void signalsArrivingOutOfOrderAreAppliedInEventTimeOrder() throws Exception {
        open();
        DetectorRules.Alarm a = alarm(0, 0);
        // The CLEAR of a later reading overtakes the ONSET that a CEP operator emits late.
        level(a, false, 5000);
        onset(a, 3000, 1000);
        watermark(10_000);
        assertThat(drain()).containsExactly("OPEN@3000/1000", "RESOLVED@5000/1000");
    }

    @Test
    void rulesAreIndependent() throws Exception {
        open();
        DetectorRules.Alarm range = alarm(0, 0);
        DetectorRules.Alarm other = new DetectorRules.Alarm("oil-spike", Severity.WARNING, 0, 0);
        onset(range, 1000, 1000);
        send(
                Signal.onset(
                        SENSOR,
                        AlertKind.SPIKE,
                        other,
                        T0 + 1500,
                        T0 + 1500,
                        new double[0],
                        "spike"));
        level(other, false, 2000);
        watermark(5000);
        List<Alert> alerts = h.extractOutputValues();
        assertThat(alerts)
                .extracting(x -> x.rule() + " " + x.state())
                .containsExactly("oil-range OPEN", "oil-spike OPEN", "oil-spike RESOLVED");
    }
}
