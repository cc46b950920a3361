package io.plantwatch.job;

import io.plantwatch.model.SensorReading;
import io.plantwatch.model.Severity;
import java.io.IOException;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSchemaCompatibility;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.base.TypeSerializerSingleton;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/**
 * The serializer of a sensor's whole state ({@link SensorDetectors.State}), written out field by
 * field. Flink's reflective POJO serializer did the same work several times slower, and on the heap
 * backend a state is also copied (deeply) the first time it is touched while a checkpoint is being
 * written: that copy alone was about an eighth of the keyed task's time. The copy here also keeps
 * the resolved rules, which are not checkpointed.
 *
 * <p>The layout has a number, kept in savepoints by {@link Snapshot}; a change to any state class's
 * fields needs a new one, and the old ones must still be read. Layout 2 (2026-12-06) added the run
 * that last told the sensor's rules in force and the open missing-data alert's rule and severity;
 * layout 3 (2026-12-07) the levels not yet judged since the detectors started afresh.
 */
public class SensorStateSerializer extends TypeSerializerSingleton<SensorDetectors.State> {
    private static final long serialVersionUID = 1L;

    public static final SensorStateSerializer INSTANCE = new SensorStateSerializer();

    /** Until 2026-12-06: no run that told the rules, a silence without its open alert's rule. */
    static final int FIRST_LAYOUT = 1;

    /** Until 2026-12-07: no levels not yet judged. */
    static final int SECOND_LAYOUT = 2;

    static final int LAYOUT = 3;

    private static final TypeSerializer<SensorReading> READING =
            SensorReadingTypeInfo.Serializer.INSTANCE;

    @Override
    public boolean isImmutableType() {
        return false;
    }

    @Override
    public SensorDetectors.State createInstance() {
        return new SensorDetectors.State();
    }

    @Override
    public SensorDetectors.State copy(SensorDetectors.State from) {
        SensorDetectors.State to = new SensorDetectors.State();
        to.touchedAt = from.touchedAt;
        to.expiryAt = from.expiryAt;
        to.track = copy(from.track);
        to.features = copy(from.features);
        to.rate = copy(from.rate);
        to.flatline = copy(from.flatline);
        to.baseline = copy(from.baseline);
        to.silence = copy(from.silence);
        to.rules = from.rules;
        to.toldRun = from.toldRun;
        to.unjudged = from.unjudged;
        return to;
    }

    @Override
    public SensorDetectors.State copy(SensorDetectors.State from, SensorDetectors.State reuse) {
        return copy(from);
    }

    @Override
    public int getLength() {
        return -1;
    }

    SensorStateSerializer() {}

    /** The layout this serializer reads and writes. */
    int layout() {
        return LAYOUT;
    }

    @Override
    public void serialize(SensorDetectors.State s, DataOutputView out) throws IOException {
        write(s, out, layout());
    }

    private static void write(SensorDetectors.State s, DataOutputView out, int layout)
            throws IOException {
        out.writeLong(s.touchedAt);
        out.writeLong(s.expiryAt);
        if (layout >= 2) {
            out.writeLong(s.toldRun);
        }
        if (layout >= 3) {
            out.writeByte(s.unjudged);
        }
        write(s.track, out);
        write(s.features, out);
        write(s.rate, out);
        write(s.flatline, out);
        write(s.baseline, out);
        write(s.silence, out, layout);
    }

    @Override
    public SensorDetectors.State deserialize(DataInputView in) throws IOException {
        return read(in, layout());
    }

    private static SensorDetectors.State read(DataInputView in, int layout) throws IOException {
        SensorDetectors.State s = new SensorDetectors.State();
        s.touchedAt = in.readLong();
        s.expiryAt = in.readLong();
        s.toldRun = layout >= 2 ? in.readLong() : SensorDetectors.State.TOLD_BEFORE_IT_WAS_KEPT;
        if (layout >= 3) {
            s.unjudged = in.readByte();
        }
        s.track = readTrack(in);
        s.features = readFeatures(in);
        s.rate = readWindow(in);
        s.flatline = readFlatline(in);
        s.baseline = readBaseline(in);
        s.silence = readSilence(in, layout);
        return s;
    }

    @Override
    public SensorDetectors.State deserialize(SensorDetectors.State reuse, DataInputView in)
            throws IOException {
        return deserialize(in);
    }

    @Override
    public void copy(DataInputView in, DataOutputView out) throws IOException {
        serialize(deserialize(in), out);
    }

    @Override
    public TypeSerializerSnapshot<SensorDetectors.State> snapshotConfiguration() {
        return new Snapshot();
    }

    /**
     * Written into savepoints with the state; its version names the layout. Versions 2 and 3 were
     * written by Flink's {@code SimpleTypeSerializerSnapshot}, which this was until layout 2 (its
     * version 2 also holds a class name): they hold layout 1. State of an earlier layout is read
     * with {@link EarlierLayout} and written anew.
     */
    public static final class Snapshot implements TypeSerializerSnapshot<SensorDetectors.State> {
        private static final int VERSION_OF_LAYOUT_1 = 3;
        private static final int VERSION_OF_LAYOUT_2 = 4;
        private static final int VERSION_OF_LAYOUT_3 = 5;
        private int layout = LAYOUT;

        public Snapshot() {}

        /**
         * The version names the layout, the only thing a snapshot holds: a snapshot of {@link
         * EarlierLayout} (state restored but not yet written anew) is written with its version
         * again.
         */
        @Override
        public int getCurrentVersion() {
            return switch (layout) {
                case FIRST_LAYOUT -> VERSION_OF_LAYOUT_1;
                case SECOND_LAYOUT -> VERSION_OF_LAYOUT_2;
                default -> VERSION_OF_LAYOUT_3;
            };
        }

        @Override
        public void writeSnapshot(DataOutputView out) {}

        @Override
        public void readSnapshot(int readVersion, DataInputView in, ClassLoader classLoader)
                throws IOException {
            switch (readVersion) {
                case 2 -> {
                    in.readUTF();
                    layout = FIRST_LAYOUT;
                }
                case VERSION_OF_LAYOUT_1 -> layout = FIRST_LAYOUT;
                case VERSION_OF_LAYOUT_2 -> layout = SECOND_LAYOUT;
                case VERSION_OF_LAYOUT_3 -> layout = LAYOUT;
                default ->
                        throw new IOException(
                                "sensor state of an unknown layout (snapshot version "
                                        + readVersion
                                        + "), written by a newer version of the job");
            }
        }

        @Override
        public TypeSerializer<SensorDetectors.State> restoreSerializer() {
            return layout == LAYOUT ? INSTANCE : new EarlierLayout(layout);
        }

        @Override
        public TypeSerializerSchemaCompatibility<SensorDetectors.State> resolveSchemaCompatibility(
                TypeSerializerSnapshot<SensorDetectors.State> old) {
            if (!(old instanceof Snapshot was)) {
                return TypeSerializerSchemaCompatibility.incompatible();
            }
            return was.layout == LAYOUT
                    ? TypeSerializerSchemaCompatibility.compatibleAsIs()
                    : TypeSerializerSchemaCompatibility.compatibleAfterMigration();
        }
    }

    /** Reads (and writes) an earlier layout, for state restored from savepoints written with it. */
    static final class EarlierLayout extends SensorStateSerializer {
        private static final long serialVersionUID = 1L;
        private final int layout;

        EarlierLayout(int layout) {
            this.layout = layout;
        }

        @Override
        int layout() {
            return layout;
        }

        @Override
        public TypeSerializerSnapshot<SensorDetectors.State> snapshotConfiguration() {
            Snapshot s = new Snapshot();
            s.layout = layout;
            return s;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof EarlierLayout e && e.layout == layout;
        }

        @Override
        public int hashCode() {
            return layout;
        }
    }

    // The sequence tracker.

    private static SequenceTracker.Track copy(SequenceTracker.Track f) {
        if (f == null) {
            return null;
        }
        SequenceTracker.Track t = new SequenceTracker.Track();
        t.highest = f.highest;
        t.bits = f.bits.clone();
        t.lastTime = f.lastTime;
        t.lastValue = f.lastValue;
        t.counting = f.counting;
        t.minute = f.minute;
        t.received = f.received;
        t.missing = f.missing;
        t.duplicates = f.duplicates;
        t.late = f.late;
        t.min = f.min;
        t.max = f.max;
        t.sum = f.sum;
        t.unit = f.unit;
        t.pending = f.pending.length == 0 ? SequenceTracker.NONE : f.pending.clone();
        return t;
    }

    private static void write(SequenceTracker.Track t, DataOutputView out) throws IOException {
        out.writeBoolean(t != null);
        if (t == null) {
            return;
        }
        out.writeLong(t.highest);
        writeLongs(t.bits, out);
        out.writeLong(t.lastTime);
        out.writeDouble(t.lastValue);
        out.writeBoolean(t.counting);
        out.writeLong(t.minute);
        out.writeLong(t.received);
        out.writeLong(t.missing);
        out.writeLong(t.duplicates);
        out.writeLong(t.late);
        out.writeDouble(t.min);
        out.writeDouble(t.max);
        out.writeDouble(t.sum);
        writeString(t.unit, out);
        out.writeInt(t.pending.length);
        for (SensorReading r : t.pending) {
            READING.serialize(r, out);
        }
    }

    private static SequenceTracker.Track readTrack(DataInputView in) throws IOException {
        if (!in.readBoolean()) {
            return null;
        }
        SequenceTracker.Track t = new SequenceTracker.Track();
        t.highest = in.readLong();
        t.bits = readLongs(in);
        t.lastTime = in.readLong();
        t.lastValue = in.readDouble();
        t.counting = in.readBoolean();
        t.minute = in.readLong();
        t.received = in.readLong();
        t.missing = in.readLong();
        t.duplicates = in.readLong();
        t.late = in.readLong();
        t.min = in.readDouble();
        t.max = in.readDouble();
        t.sum = in.readDouble();
        t.unit = readString(in);
        int pending = in.readInt();
        t.pending = pending == 0 ? SequenceTracker.NONE : new SensorReading[pending];
        for (int i = 0; i < pending; i++) {
            t.pending[i] = READING.deserialize(in);
        }
        return t;
    }

    // The features for the patterns.

    private static FeatureExtractor.Features copy(FeatureExtractor.Features f) {
        if (f == null) {
            return null;
        }
        FeatureExtractor.Features t = new FeatureExtractor.Features();
        t.times = f.times.clone();
        t.values = f.values.clone();
        t.head = f.head;
        t.size = f.size;
        t.spikeActive = f.spikeActive;
        t.rangeActive = f.rangeActive;
        t.sentHigh = f.sentHigh;
        t.sentOutside = f.sentOutside;
        t.inSpikeRun = f.inSpikeRun;
        t.inRangeRun = f.inRangeRun;
        t.spikeRun = copy(f.spikeRun);
        t.rangeRun = copy(f.rangeRun);
        return t;
    }

    private static FeatureExtractor.Run copy(FeatureExtractor.Run f) {
        FeatureExtractor.Run t = new FeatureExtractor.Run();
        t.start = f.start;
        t.sent = f.sent;
        t.matched = f.matched;
        return t;
    }

    private static void write(FeatureExtractor.Features f, DataOutputView out) throws IOException {
        out.writeBoolean(f != null);
        if (f == null) {
            return;
        }
        writeLongs(f.times, out);
        writeDoubles(f.values, f.values.length, out);
        out.writeInt(f.head);
        out.writeInt(f.size);
        out.writeBoolean(f.spikeActive);
        out.writeBoolean(f.rangeActive);
        out.writeBoolean(f.sentHigh);
        out.writeBoolean(f.sentOutside);
        out.writeBoolean(f.inSpikeRun);
        out.writeBoolean(f.inRangeRun);
        write(f.spikeRun, out);
        write(f.rangeRun, out);
    }

    private static void write(FeatureExtractor.Run r, DataOutputView out) throws IOException {
        out.writeLong(r.start);
        out.writeInt(r.sent);
        out.writeBoolean(r.matched);
    }

    private static FeatureExtractor.Features readFeatures(DataInputView in) throws IOException {
        if (!in.readBoolean()) {
            return null;
        }
        FeatureExtractor.Features f = new FeatureExtractor.Features();
        f.times = readLongs(in);
        f.values = readDoubles(in);
        f.head = in.readInt();
        f.size = in.readInt();
        f.spikeActive = in.readBoolean();
        f.rangeActive = in.readBoolean();
        f.sentHigh = in.readBoolean();
        f.sentOutside = in.readBoolean();
        f.inSpikeRun = in.readBoolean();
        f.inRangeRun = in.readBoolean();
        f.spikeRun = readRun(in);
        f.rangeRun = readRun(in);
        return f;
    }

    private static FeatureExtractor.Run readRun(DataInputView in) throws IOException {
        FeatureExtractor.Run r = new FeatureExtractor.Run();
        r.start = in.readLong();
        r.sent = in.readInt();
        r.matched = in.readBoolean();
        return r;
    }

    // Rate of change.

    private static RateOfChangeDetector.Window copy(RateOfChangeDetector.Window f) {
        if (f == null) {
            return null;
        }
        RateOfChangeDetector.Window t = new RateOfChangeDetector.Window();
        t.times = f.times.clone();
        t.values = f.values.clone();
        t.head = f.head;
        t.size = f.size;
        t.active = f.active;
        return t;
    }

    private static void write(RateOfChangeDetector.Window w, DataOutputView out)
            throws IOException {
        out.writeBoolean(w != null);
        if (w == null) {
            return;
        }
        // The ring's readings oldest first, the layout of the arrays it replaced.
        out.writeInt(w.size);
        for (int i = 0; i < w.size; i++) {
            out.writeLong(w.time(i));
        }
        out.writeInt(w.size);
        for (int i = 0; i < w.size; i++) {
            out.writeDouble(w.value(i));
        }
        out.writeBoolean(w.active);
    }

    private static RateOfChangeDetector.Window readWindow(DataInputView in) throws IOException {
        if (!in.readBoolean()) {
            return null;
        }
        RateOfChangeDetector.Window w = new RateOfChangeDetector.Window();
        long[] times = readLongs(in);
        double[] values = readDoubles(in);
        for (int i = 0; i < times.length; i++) {
            w.add(times[i], values[i]);
        }
        w.active = in.readBoolean();
        return w;
    }

    // Flatline.

    private static FlatlineDetector.Run copy(FlatlineDetector.Run f) {
        if (f == null) {
            return null;
        }
        FlatlineDetector.Run t = new FlatlineDetector.Run();
        t.start = f.start;
        t.count = f.count;
        t.min = f.min;
        t.max = f.max;
        t.active = f.active;
        return t;
    }

    private static void write(FlatlineDetector.Run r, DataOutputView out) throws IOException {
        out.writeBoolean(r != null);
        if (r == null) {
            return;
        }
        out.writeLong(r.start);
        out.writeLong(r.count);
        out.writeDouble(r.min);
        out.writeDouble(r.max);
        out.writeBoolean(r.active);
    }

    private static FlatlineDetector.Run readFlatline(DataInputView in) throws IOException {
        if (!in.readBoolean()) {
            return null;
        }
        FlatlineDetector.Run r = new FlatlineDetector.Run();
        r.start = in.readLong();
        r.count = in.readLong();
        r.min = in.readDouble();
        r.max = in.readDouble();
        r.active = in.readBoolean();
        return r;
    }

    // The statistical baseline.

    private static BaselineDetector.Baseline copy(BaselineDetector.Baseline f) {
        if (f == null) {
            return null;
        }
        BaselineDetector.Baseline t = new BaselineDetector.Baseline();
        t.n = f.n;
        t.mean = f.mean;
        t.meanAbsDeviation = f.meanAbsDeviation;
        t.warmup = f.warmup.clone();
        t.streak = f.streak;
        t.streakStart = f.streakStart;
        t.active = f.active;
        return t;
    }

    private static void write(BaselineDetector.Baseline b, DataOutputView out) throws IOException {
        out.writeBoolean(b != null);
        if (b == null) {
            return;
        }
        out.writeLong(b.n);
        out.writeDouble(b.mean);
        out.writeDouble(b.meanAbsDeviation);
        // Only the readings: the array is sized for the whole warm-up sample.
        writeDoubles(b.warmup, (int) Math.min(b.n, b.warmup.length), out);
        out.writeInt(b.streak);
        out.writeLong(b.streakStart);
        out.writeBoolean(b.active);
    }

    private static BaselineDetector.Baseline readBaseline(DataInputView in) throws IOException {
        if (!in.readBoolean()) {
            return null;
        }
        BaselineDetector.Baseline b = new BaselineDetector.Baseline();
        b.n = in.readLong();
        b.mean = in.readDouble();
        b.meanAbsDeviation = in.readDouble();
        b.warmup = readDoubles(in);
        b.streak = in.readInt();
        b.streakStart = in.readLong();
        b.active = in.readBoolean();
        return b;
    }

    // Missing data.

    private static MissingDataDetector.Silence copy(MissingDataDetector.Silence f) {
        if (f == null) {
            return null;
        }
        MissingDataDetector.Silence t = new MissingDataDetector.Silence();
        t.lastSeen = f.lastSeen;
        t.lastEventTime = f.lastEventTime;
        t.lastValue = f.lastValue;
        t.unit = f.unit;
        t.timerAt = f.timerAt;
        t.open = f.open;
        t.sensorId = f.sensorId;
        t.rule = f.rule;
        t.severity = f.severity;
        return t;
    }

    private static void write(MissingDataDetector.Silence s, DataOutputView out, int layout)
            throws IOException {
        out.writeBoolean(s != null);
        if (s == null) {
            return;
        }
        out.writeLong(s.lastSeen);
        out.writeLong(s.lastEventTime);
        out.writeDouble(s.lastValue);
        writeString(s.unit, out);
        out.writeLong(s.timerAt);
        out.writeBoolean(s.open);
        writeString(s.sensorId, out);
        if (layout >= 2) {
            writeString(s.rule, out);
            writeString(s.severity == null ? null : s.severity.name(), out);
        }
    }

    private static MissingDataDetector.Silence readSilence(DataInputView in, int layout)
            throws IOException {
        if (!in.readBoolean()) {
            return null;
        }
        MissingDataDetector.Silence s = new MissingDataDetector.Silence();
        s.lastSeen = in.readLong();
        s.lastEventTime = in.readLong();
        s.lastValue = in.readDouble();
        s.unit = readString(in);
        s.timerAt = in.readLong();
        s.open = in.readBoolean();
        s.sensorId = readString(in);
        if (layout >= 2) {
            s.rule = readString(in);
            String severity = readString(in);
            s.severity = severity == null ? null : Severity.valueOf(severity);
        }
        return s;
    }

    // Arrays and strings.

    private static void writeLongs(long[] a, DataOutputView out) throws IOException {
        out.writeInt(a.length);
        for (long x : a) {
            out.writeLong(x);
        }
    }

    private static long[] readLongs(DataInputView in) throws IOException {
        long[] a = new long[in.readInt()];
        for (int i = 0; i < a.length; i++) {
            a[i] = in.readLong();
        }
        return a;
    }

    /** The first {@code n} entries of {@code a}, read back by {@link #readDoubles}. */
    private static void writeDoubles(double[] a, int n, DataOutputView out) throws IOException {
        out.writeInt(n);
        for (int i = 0; i < n; i++) {
            out.writeDouble(a[i]);
        }
    }

    private static double[] readDoubles(DataInputView in) throws IOException {
        double[] a = new double[in.readInt()];
        for (int i = 0; i < a.length; i++) {
            a[i] = in.readDouble();
        }
        return a;
    }

    private static void writeString(String s, DataOutputView out) throws IOException {
        out.writeBoolean(s != null);
        if (s != null) {
            out.writeUTF(s);
        }
    }

    private static String readString(DataInputView in) throws IOException {
        return in.readBoolean() ? in.readUTF() : null;
    }
}
