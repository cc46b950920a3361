package io.plantwatch.job;

import static io.plantwatch.job.Harnesses.OTHER;
import static io.plantwatch.job.Harnesses.T0;
import static io.plantwatch.job.Harnesses.feed;
import static io.plantwatch.job.Harnesses.reading;
import static io.plantwatch.job.Harnesses.watermark;
import static org.assertj.core.api.Assertions.assertThat;

import io.plantwatch.model.SensorReading;
import java.util.List;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The tracker inside {@link SensorDetectors}, with no detector on: what it releases and counts. */
class SequenceTrackerTest {
    private static final long HOUR = 3_600_000;
    private static final io.plantwatch.job.rules.RuleBook NO_RULES = Harnesses.rules("{}");
    private KeyedOneInputStreamOperatorTestHarness<String, SensorReading, Signal> h;

    @BeforeEach
    void open() throws Exception {
        // A skew limit far beyond the test's 2026 timestamps unless a test says otherwise.
        h =
                Harnesses.onReadings(
                        new SensorDetectors<String>(NO_RULES, Long.MAX_VALUE / 4, HOUR, true));
        h.open();
    }

    @AfterEach
    void close() throws Exception {
        h.close();
    }

    /** What the tracker released to the detectors since the last call. */
    private static List<SensorReading> drain(
            KeyedOneInputStreamOperatorTestHarness<String, SensorReading, ?> harness) {
        var released = harness.getSideOutput(SensorDetectors.READINGS);
        if (released == null) {
            return List.of();
        }
        List<SensorReading> out = released.stream().map(StreamRecord::getValue).toList();
        released.clear();
        return out;
    }

    private List<Long> seqs(List<SensorReading> out) {
        return out.stream().map(SensorReading::seq).toList();
    }

    @Test
    void releasesASensorsFirstReadingsInEventTimeOrderOnlyOnceTheWatermarkPassesThem()
            throws Exception {
        feed(h, reading(3000, 3, 3), reading(1000, 1, 1), reading(2000, 2, 2));
        watermark(h, 999);
        assertThat(drain(h)).isEmpty();

        watermark(h, 1000);
        // 1 is due; 2 and 3 follow it without a gap, so nothing can come between them.
        assertThat(seqs(drain(h))).containsExactly(1L, 2L, 3L);
    }

    @Test
    void waitingReadingsCostOneTimerPerSensorNotOneEach() throws Exception {
        feed(h, reading(1000, 1, 1), reading(3000, 3, 3), reading(4000, 4, 4));
        assertThat(h.numEventTimeTimers()).as("at the first waiting reading").isEqualTo(1);

        watermark(h, 1000);
        assertThat(seqs(drain(h))).containsExactly(1L);
        assertThat(h.numEventTimeTimers())
                .as("the minute's report and the next waiting reading, behind the gap at 2")
                .isEqualTo(2);

        watermark(h, 2999);
        assertThat(drain(h)).isEmpty();
        watermark(h, 3000);
        assertThat(seqs(drain(h))).containsExactly(3L, 4L);
        assertThat(h.numEventTimeTimers()).as("only the minute's report").isEqualTo(1);
    }

    @Test
    void anEarlierReadingThatArrivesLaterGetsItsOwnTimer() throws Exception {
        feed(h, reading(3000, 3, 3), reading(1000, 1, 1));
        watermark(h, 1000);
        assertThat(seqs(drain(h))).containsExactly(1L);
        watermark(h, 3000);
        assertThat(seqs(drain(h))).containsExactly(3L);
    }

    @Test
    void releasesTheNextReadingAtOnceAndHoldsOneBehindAGapUntilTheWatermark() throws Exception {
        feed(h, reading(1000, 1, 1));
        watermark(h, 1000);
        drain(h);

        feed(h, reading(2000, 2, 2));
        assertThat(seqs(drain(h))).containsExactly(2L);
        assertThat(h.numEventTimeTimers()).as("only the minute's report").isEqualTo(1);

        feed(h, reading(4000, 4, 4), reading(5000, 5, 5));
        assertThat(drain(h)).isEmpty();
        watermark(h, 4000);
        assertThat(seqs(drain(h))).containsExactly(4L, 5L);
    }

    @Test
    void aReadingThatFillsTheGapReleasesThoseWaitingBehindIt() throws Exception {
        feed(h, reading(1000, 1, 1));
        watermark(h, 1000);
        drain(h);

        feed(h, reading(3000, 3, 3), reading(4000, 4, 4));
        assertThat(drain(h)).isEmpty();
        feed(h, reading(2000, 2, 2));
        assertThat(seqs(drain(h))).containsExactly(2L, 3L, 4L);
        assertThat(h.numEventTimeTimers())
                .as("the minute's report and 3's, none for 4 behind it nor for 2, released at once")
                .isEqualTo(2);
        watermark(h, 59_999);
        CompletenessReport r = h.getSideOutput(SequenceTracker.COMPLETENESS).poll().getValue();
        assertThat(r.received()).isEqualTo(4);
        assertThat(r.missing()).isZero();
    }

    @Test
    void signalsCarryTheEventTimeOfTheReadingTheyComeFromNotOfWhatReleasedIt() throws Exception {
        var detecting =
                Harnesses.<Signal>onReadings(
                        new SensorDetectors<String>(
                                Harnesses.rules("defaults: {out-of-range: {high: 1.5}}"),
                                Long.MAX_VALUE / 4,
                                HOUR,
                                true));
        detecting.open();
        // Both wait for the watermark (the first of a sensor); 2 at 2 s is out of range.
        feed(detecting, reading(2000, 2, 2), reading(1000, 1, 1));
        watermark(detecting, 5000);
        List<Long> stamps =
                detecting.getOutput().stream()
                        .filter(StreamRecord.class::isInstance)
                        .map(o -> ((StreamRecord<?>) o).getTimestamp())
                        .toList();
        // The sensor's first released reading (1 s) tells its rules in force; the excursion at
        // 2 s is told at 2 s, though the watermark released both.
        assertThat(stamps).containsExactly(T0 + 1000, T0 + 2000);
        detecting.close();
    }

    @Test
    void dropsDuplicatesBySeqWhetherPendingOrAlreadyReleased() throws Exception {
        feed(h, reading(1000, 1, 1), reading(1000, 1, 1));
        watermark(h, 1000);
        feed(h, reading(2000, 2, 2), reading(1000, 1, 1));
        watermark(h, 2000);

        assertThat(seqs(drain(h))).containsExactly(1L, 2L);
        assertThat(h.getSideOutput(SequenceTracker.LATE)).isNull();
    }

    @Test
    void readingsWithoutSeqAreDeduplicatedByTimeAndValue() throws Exception {
        SensorReading a = SensorReading.of(Harnesses.SENSOR, T0 + 1000, 20.0);
        SensorReading b = SensorReading.of(Harnesses.SENSOR, T0 + 1000, 21.0);
        feed(h, a, a, b);
        watermark(h, 1000);
        assertThat(drain(h)).containsExactly(a, b);
    }

    @Test
    void setsAsideReadingsOlderThanTheWatermarkWithReasonLate() throws Exception {
        feed(h, reading(5000, 5, 5));
        watermark(h, 5000);
        feed(h, reading(4000, 4, 4));

        assertThat(seqs(drain(h))).containsExactly(5L);
        var late = h.getSideOutput(SequenceTracker.LATE);
        assertThat(late).hasSize(1);
        LateReading l = late.peek().getValue();
        assertThat(l.reason()).isEqualTo(LateReading.LATE);
        assertThat(l.reading().seq()).isEqualTo(4);
        assertThat(l.watermark()).isEqualTo(T0 + 5000);
    }

    @Test
    void setsAsideReadingsStampedTooFarAheadOfTheClockWithReasonFuture() throws Exception {
        var guarded =
                Harnesses.onReadings(new SensorDetectors<String>(NO_RULES, 60_000, HOUR, true));
        guarded.open();
        guarded.setProcessingTime(T0);
        feed(guarded, reading(61_000, 1, 1), reading(59_000, 2, 2));
        watermark(guarded, 60_000);

        assertThat(seqs(drain(guarded))).containsExactly(2L);
        assertThat(guarded.getSideOutput(SequenceTracker.LATE))
                .extracting(r -> r.getValue().reason())
                .containsExactly(LateReading.FUTURE);
        guarded.close();
    }

    @Test
    void reportsPerMinuteReceivedMissingDuplicateAndLate() throws Exception {
        // Minute 0: seq 1, 2, (3 missing), 4, a duplicate of 2, then one late reading.
        feed(h, reading(1000, 1, 1), reading(2000, 2, 2), reading(4000, 4, 4), reading(2000, 2, 2));
        watermark(h, 10_000);
        feed(h, reading(9000, 9, 9));
        // Minute 1: seq 10.
        feed(h, reading(61_000, 10, 10));
        watermark(h, 59_999);

        var reports = h.getSideOutput(SequenceTracker.COMPLETENESS);
        assertThat(reports).hasSize(1);
        CompletenessReport m0 = reports.poll().getValue();
        assertThat(m0.minute()).isEqualTo(T0);
        assertThat(m0.received()).isEqualTo(3);
        assertThat(m0.missing()).isEqualTo(1);
        assertThat(m0.duplicates()).isEqualTo(1);
        assertThat(m0.late()).isEqualTo(1);
        // The statistics of the readings detected on: 1, 2, 4.
        assertThat(m0.min()).isEqualTo(1);
        assertThat(m0.max()).isEqualTo(4);
        assertThat(m0.mean()).isCloseTo(7.0 / 3, org.assertj.core.data.Offset.offset(1e-12));

        watermark(h, 120_000);
        CompletenessReport m1 = reports.poll().getValue();
        // seq 5..9 never reached detection (9 came late): 5 missing in minute 1.
        assertThat(m1)
                .isEqualTo(
                        new CompletenessReport(
                                Harnesses.SENSOR.id(),
                                T0 + 60_000,
                                1,
                                5,
                                0,
                                0,
                                10,
                                10,
                                10,
                                "degC"));
    }

    @Test
    void aGapFilledByAnOutOfOrderReadingIsNotCountedMissing() throws Exception {
        feed(h, reading(1000, 1, 1), reading(3000, 3, 3), reading(2000, 2, 2));
        watermark(h, 59_999);
        CompletenessReport r = h.getSideOutput(SequenceTracker.COMPLETENESS).poll().getValue();
        assertThat(r.received()).isEqualTo(3);
        assertThat(r.missing()).isZero();
    }

    @Test
    void aDeviceThatRestartsCountingIsNotReportedAsMillionsMissing() throws Exception {
        feed(h, reading(1000, 1, 1_000_000), reading(2000, 2, 0), reading(3000, 3, 1));
        watermark(h, 59_999);
        CompletenessReport r = h.getSideOutput(SequenceTracker.COMPLETENESS).poll().getValue();
        assertThat(r.received()).isEqualTo(3);
        assertThat(r.missing()).isZero();
    }

    /**
     * A seq far ahead of the time since the last reading (a counter set to a stored value, a
     * corrupt seq the gateway takes as any number): 2^62 after 5 counted 10^18 readings missing.
     * The counter goes on from there; a real gap after it is still counted.
     */
    @Test
    void aSequenceThatJumpsFurtherThanTimeAllowsIsNotCountedMissing() throws Exception {
        long far = 1L << 62;
        feed(h, reading(1000, 1, 5), reading(2000, 2, far), reading(3000, 3, far + 1));
        feed(h, reading(4000, 4, far + 3));
        watermark(h, 59_999);
        CompletenessReport r = h.getSideOutput(SequenceTracker.COMPLETENESS).poll().getValue();
        assertThat(r.received()).isEqualTo(4);
        assertThat(r.missing()).isEqualTo(1);
        assertThat(drain(h)).hasSize(4);
    }

    /**
     * A device that restarts within its first 256 readings counts again from numbers the window has
     * seen: each of its new readings was dropped as a duplicate until it passed its old count. A
     * newer reading with an old number is a restart; a true duplicate keeps its original's time.
     */
    @Test
    void aDeviceRestartedWithinTheWindowIsNotTakenForDuplicates() throws Exception {
        for (int i = 0; i < 100; i++) {
            feed(h, reading(1000 + i * 1000L, 20, i));
        }
        watermark(h, 100_000);
        assertThat(drain(h)).hasSize(100);
        feed(h, reading(50_000, 20, 49));
        for (int i = 0; i < 10; i++) {
            feed(h, reading(200_000 + i * 1000L, 21, i));
        }
        feed(h, reading(203_000, 21, 3));
        watermark(h, 260_000);
        assertThat(seqs(drain(h))).containsExactly(0L, 1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L);
    }

    @Test
    void keepsSensorsApart() throws Exception {
        feed(h, reading(1000, 1, 1), reading(OTHER, 1000, 1, 1));
        watermark(h, 1000);
        assertThat(drain(h)).hasSize(2);
    }

    @Test
    void leavesNoTimerAndNoPendingReadingBehind() throws Exception {
        feed(h, reading(3000, 3, 3), reading(1000, 1, 1), reading(OTHER, 2000, 2, 2));
        assertThat(h.numEventTimeTimers()).isPositive();
        watermark(h, 120_000);

        assertThat(h.numEventTimeTimers()).isZero();
        // One entry per sensor, holding its sequence window; no reading waits in it.
        assertThat(h.numKeyedStateEntries()).isEqualTo(2);
    }

    @Test
    void stateOfASilentSensorIsForgottenAfterTheTtl() throws Exception {
        var ttl =
                Harnesses.onReadings(
                        new SensorDetectors<String>(NO_RULES, Long.MAX_VALUE / 4, 1000, true));
        ttl.open();
        ttl.setProcessingTime(0);
        feed(ttl, reading(1000, 1, 1), reading(OTHER, 1000, 1, 1));
        watermark(ttl, 120_000);
        assertThat(ttl.numKeyedStateEntries()).isEqualTo(2);
        assertThat(ttl.numProcessingTimeTimers()).as("one expiry timer per sensor").isEqualTo(2);

        // The other sensor speaks at 600 ms: its timer at 1 s re-arms for 1.6 s.
        ttl.setProcessingTime(600);
        feed(ttl, reading(OTHER, 121_000, 2, 2));
        ttl.setProcessingTime(1_000);
        assertThat(ttl.numKeyedStateEntries()).isEqualTo(1);
        assertThat(ttl.numProcessingTimeTimers()).isEqualTo(1);

        // The forgotten sensor's seq is no longer known, so it is not taken for a duplicate.
        feed(ttl, reading(130_000, 1, 1));
        watermark(ttl, 200_000);
        assertThat(drain(ttl)).filteredOn(r -> r.sensorId().equals(Harnesses.SENSOR)).hasSize(2);
        ttl.setProcessingTime(10_000);
        assertThat(ttl.numKeyedStateEntries()).isZero();
        assertThat(ttl.numProcessingTimeTimers()).isZero();
        ttl.close();
    }

    @Test
    void shiftMovesBitsUpAndForgetsThoseBeyondTheWindow() {
        long[] bits = new long[SequenceTracker.SEQ_WINDOW / 64];
        SequenceTracker.setBit(bits, 0);
        SequenceTracker.setBit(bits, 63);
        long[] moved = SequenceTracker.shift(bits, 65);
        assertThat(SequenceTracker.bit(moved, 65)).isTrue();
        assertThat(SequenceTracker.bit(moved, 128)).isTrue();
        assertThat(SequenceTracker.bit(moved, 0)).isFalse();
        assertThat(SequenceTracker.bit(SequenceTracker.shift(bits, 200), 255)).isFalse();
    }

    @Test
    void shiftingInPlaceByOneCarriesBitsAcrossWords() {
        long[] bits = new long[SequenceTracker.SEQ_WINDOW / 64];
        for (int i : new int[] {0, 63, 127, 200, 255}) {
            SequenceTracker.setBit(bits, i);
        }
        long[] expected = SequenceTracker.shift(bits, 1);
        SequenceTracker.shiftInPlace(bits, 1);
        assertThat(bits).containsExactly(expected);
        assertThat(SequenceTracker.bit(bits, 64)).isTrue();
        assertThat(SequenceTracker.bit(bits, 128)).isTrue();
        assertThat(SequenceTracker.bit(bits, 0)).isFalse();
    }
}
