package io.plantwatch.job;

import static io.plantwatch.job.Harnesses.reading;
import static org.assertj.core.api.Assertions.assertThat;

import io.plantwatch.job.rules.DetectorRules;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

class SensorStateSerializerTest {
    private final SensorStateSerializer serializer = SensorStateSerializer.INSTANCE;

    /** A state with every part present and no field at its default. */
    private static SensorDetectors.State full() {
        SensorDetectors.State s = new SensorDetectors.State();
        s.touchedAt = 11;
        s.expiryAt = 12;
        SequenceTracker.Track t = s.track;
        t.highest = 41;
        t.bits = new long[] {1, 2, 3, 4};
        t.lastTime = 13;
        t.lastValue = 1.5;
        t.counting = true;
        t.minute = 60_000;
        t.received = 5;
        t.missing = 6;
        t.duplicates = 7;
        t.late = 8;
        t.min = -1;
        t.max = 9;
        t.sum = 10.5;
        t.unit = "degC";
        t.addPending(reading(3000, 30, 43));
        t.addPending(reading(2000, 20, 42));
        s.features = new FeatureExtractor.Features();
        s.features.push(1000, 5);
        s.features.push(2000, 7);
        s.features.spikeActive = true;
        s.features.sentOutside = true;
        s.features.inSpikeRun = true;
        s.features.inRangeRun = true;
        s.features.spikeRun.start = 1000;
        s.features.spikeRun.sent = 2;
        s.features.rangeRun.matched = true;
        s.rate = new RateOfChangeDetector.Window();
        s.rate.add(1, 3);
        s.rate.add(2, 4);
        s.rate.active = true;
        s.flatline = new FlatlineDetector.Run();
        s.flatline.start = 14;
        s.flatline.count = 15;
        s.flatline.min = 16;
        s.flatline.max = 17;
        s.flatline.active = true;
        s.baseline = new BaselineDetector.Baseline();
        s.baseline.n = 18;
        s.baseline.mean = 19;
        s.baseline.meanAbsDeviation = 20;
        s.baseline.warmup = new double[] {21, 22};
        s.baseline.streak = 23;
        s.baseline.streakStart = 24;
        s.baseline.active = true;
        s.silence = new MissingDataDetector.Silence();
        s.silence.lastSeen = 25;
        s.silence.lastEventTime = 26;
        s.silence.lastValue = 27;
        s.silence.unit = "bar";
        s.silence.timerAt = 28;
        s.silence.open = true;
        s.silence.sensorId = Harnesses.SENSOR.id();
        s.silence.rule = "silent";
        s.silence.severity = io.plantwatch.model.Severity.CRITICAL;
        s.toldRun = 29;
        s.unjudged = SensorDetectors.State.RANGE | SensorDetectors.State.RATE;
        return s;
    }

    @Test
    void writesAndReadsEveryFieldOfEveryPart() throws Exception {
        SensorDetectors.State sparse = new SensorDetectors.State();
        DataOutputSerializer out = new DataOutputSerializer(256);
        serializer.serialize(full(), out);
        serializer.serialize(sparse, out);

        DataInputDeserializer in = new DataInputDeserializer(out.getCopyOfBuffer());
        assertThat(serializer.deserialize(in))
                .usingRecursiveComparison()
                .ignoringFields("rules")
                .isEqualTo(full());
        assertThat(serializer.deserialize(in)).usingRecursiveComparison().isEqualTo(sparse);
        assertThat(in.available()).isZero();
    }

    @Test
    void aCopyIsDeepAndKeepsTheResolvedRules() {
        SensorDetectors.State s = full();
        s.rules = DetectorRules.NONE;
        SensorDetectors.State c = serializer.copy(s);
        assertThat(c).usingRecursiveComparison().isEqualTo(s);
        assertThat(c.rules).isSameAs(DetectorRules.NONE);

        // What the task changes in its copy must not reach the one being checkpointed.
        c.track.bits[0] = 99;
        c.features.push(3000, 1);
        c.features.spikeRun.sent = 9;
        c.rate.add(3, 5);
        c.rate.times[0] = 99;
        c.baseline.warmup[0] = 99;
        assertThat(s).usingRecursiveComparison().ignoringFields("rules").isEqualTo(full());
    }

    @Test
    void aWarmUpSampleSizedAheadWritesOnlyTheReadingsItHolds() throws Exception {
        SensorDetectors.State s = full();
        s.baseline.n = 3;
        s.baseline.warmup = new double[] {21, 22, 23, 0, 0, 0};
        DataOutputSerializer out = new DataOutputSerializer(64);
        serializer.serialize(s, out);
        SensorDetectors.State back =
                serializer.deserialize(new DataInputDeserializer(out.getCopyOfBuffer()));
        assertThat(back.baseline.warmup).containsExactly(21, 22, 23);
    }

    @Test
    void aSavepointsSnapshotRestoresTheSameSerializer() throws Exception {
        DataOutputSerializer out = new DataOutputSerializer(64);
        TypeSerializerSnapshot.writeVersionedSnapshot(out, serializer.snapshotConfiguration());
        TypeSerializerSnapshot<SensorDetectors.State> read =
                TypeSerializerSnapshot.readVersionedSnapshot(
                        new DataInputDeserializer(out.getCopyOfBuffer()),
                        getClass().getClassLoader());
        assertThat(
                        serializer
                                .snapshotConfiguration()
                                .resolveSchemaCompatibility(read)
                                .isCompatibleAsIs())
                .isTrue();
        assertThat(read.restoreSerializer()).isSameAs(serializer);
    }

    /** Layout 2 (until 2026-12-07) kept no levels not yet judged: read and migrated. */
    @Test
    void stateOfTheSecondLayoutIsReadAndMigrated() throws Exception {
        TypeSerializerSnapshot<SensorDetectors.State> old = migratedFromSnapshotVersion(4);
        var secondLayout = old.restoreSerializer();
        DataOutputSerializer out = new DataOutputSerializer(256);
        secondLayout.serialize(full(), out);
        SensorDetectors.State back =
                secondLayout.deserialize(new DataInputDeserializer(out.getCopyOfBuffer()));
        assertThat(back)
                .usingRecursiveComparison()
                .ignoringFields("rules", "unjudged")
                .isEqualTo(full());
        assertThat(back.unjudged).isZero();
        DataOutputSerializer now = new DataOutputSerializer(256);
        serializer.serialize(full(), now);
        assertThat(now.length()).as("layout 3 adds one byte").isEqualTo(out.length() + 1);
        DataOutputSerializer again = new DataOutputSerializer(64);
        TypeSerializerSnapshot.writeVersionedSnapshot(again, secondLayout.snapshotConfiguration());
        assertThat(
                        TypeSerializerSnapshot.<SensorDetectors.State>readVersionedSnapshot(
                                        new DataInputDeserializer(again.getCopyOfBuffer()),
                                        getClass().getClassLoader())
                                .getCurrentVersion())
                .as("still says layout 2 until written anew")
                .isEqualTo(4);
    }

    /**
     * Savepoints written before layout 2 hold the snapshot Flink's SimpleTypeSerializerSnapshot
     * wrote (version 3, no bytes): their state is read in layout 1, without the silence's rule, and
     * migrated.
     */
    @Test
    void stateOfTheFirstLayoutIsReadAndMigrated() throws Exception {
        TypeSerializerSnapshot<SensorDetectors.State> old = migratedFromSnapshotVersion(3);
        var firstLayout = old.restoreSerializer();
        assertThat(firstLayout).isNotSameAs(serializer);

        DataOutputSerializer out = new DataOutputSerializer(256);
        firstLayout.serialize(full(), out);
        SensorDetectors.State back =
                firstLayout.deserialize(new DataInputDeserializer(out.getCopyOfBuffer()));
        assertThat(back)
                .usingRecursiveComparison()
                .ignoringFields("rules", "toldRun", "unjudged", "silence.rule", "silence.severity")
                .isEqualTo(full());
        assertThat(back.silence.rule).isNull();
        assertThat(back.toldRun)
                .as("told in an earlier run, its detectors remembering, not begun afresh")
                .isEqualTo(SensorDetectors.State.TOLD_BEFORE_IT_WAS_KEPT);

        // Its snapshot, taken before the state is written anew, still says layout 1.
        DataOutputSerializer again = new DataOutputSerializer(64);
        TypeSerializerSnapshot.writeVersionedSnapshot(again, firstLayout.snapshotConfiguration());
        assertThat(
                        TypeSerializerSnapshot.<SensorDetectors.State>readVersionedSnapshot(
                                        new DataInputDeserializer(again.getCopyOfBuffer()),
                                        getClass().getClassLoader())
                                .restoreSerializer())
                .isEqualTo(new SensorStateSerializer.EarlierLayout(1));
        // The current layout is longer by the rule, the severity and the levels not yet judged.
        DataOutputSerializer now = new DataOutputSerializer(256);
        serializer.serialize(full(), now);
        assertThat(now.length()).isGreaterThan(out.length());
    }

    /**
     * The snapshot of an earlier layout, as a savepoint holds it (its class name, then its version,
     * no bytes): read back, it asks for the state to be migrated.
     */
    private TypeSerializerSnapshot<SensorDetectors.State> migratedFromSnapshotVersion(int version)
            throws Exception {
        DataOutputSerializer snapshot = new DataOutputSerializer(64);
        snapshot.writeUTF(SensorStateSerializer.Snapshot.class.getName());
        snapshot.writeInt(version);
        TypeSerializerSnapshot<SensorDetectors.State> old =
                TypeSerializerSnapshot.readVersionedSnapshot(
                        new DataInputDeserializer(snapshot.getCopyOfBuffer()),
                        getClass().getClassLoader());
        assertThat(
                        serializer
                                .snapshotConfiguration()
                                .resolveSchemaCompatibility(old)
                                .isCompatibleAfterMigration())
                .isTrue();
        return old;
    }
}
