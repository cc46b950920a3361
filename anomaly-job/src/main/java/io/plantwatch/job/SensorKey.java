package io.plantwatch.job;

import io.plantwatch.model.SensorId;
import java.io.IOException;
import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/**
 * A sensor's key in the detectors' state when they run on the subtask that reads the sensor's Kafka
 * partition ({@link InPlaceKeys}). Flink puts a key in the key group its {@link #hashCode()} hashes
 * to, so this hash is not the id's own: it is chosen to land in a key group of that subtask. Equal
 * ids get equal hashes on one subtask; the hash is written with the key, so a restored key keeps
 * its key group.
 */
public final class SensorKey {
    // The reading's own SensorId: building the joined id string for every reading cost more than
    // comparing its five parts.
    private final SensorId sensor;
    private final int hash;

    SensorKey(SensorId sensor, int hash) {
        this.sensor = sensor;
        this.hash = hash;
    }

    /** The sensor id, as in {@link io.plantwatch.model.SensorReading#key()}. */
    public String id() {
        return sensor.id();
    }

    /**
     * A hash of the sensor id's parts from {@link String#hashCode()}, whose formula Java specifies:
     * a key restored in another JVM must get the same hash from a new reading. A record's own
     * hashCode is not specified.
     */
    static int idHash(SensorId id) {
        int h = id.site().hashCode();
        h = 31 * h + id.area().hashCode();
        h = 31 * h + id.line().hashCode();
        h = 31 * h + id.machine().hashCode();
        return 31 * h + id.sensor().hashCode();
    }

    @Override
    public int hashCode() {
        return hash;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof SensorKey k) || k.hash != hash) {
            return false;
        }
        SensorId a = sensor;
        SensorId b = k.sensor;
        // The most telling part first: a plant's sensors mostly share their site and area.
        return a.sensor().equals(b.sensor())
                && a.machine().equals(b.machine())
                && a.line().equals(b.line())
                && a.area().equals(b.area())
                && a.site().equals(b.site());
    }

    /** The sensor id: what completeness reports and logs name the sensor by. */
    @Override
    public String toString() {
        return sensor.id();
    }

    /** Flink's type for the key. */
    public static final class TypeInfo extends OpaqueTypeInfo<SensorKey> {
        private static final long serialVersionUID = 1L;

        public static final TypeInfo INSTANCE = new TypeInfo();

        private TypeInfo() {
            super(SensorKey.class, true);
        }

        @Override
        TypeSerializer<SensorKey> serializer() {
            return Serializer.INSTANCE;
        }
    }

    /** The id's five parts in Flink's compact string form, then the hash. */
    public static final class Serializer extends OpaqueTypeInfo.ImmutableSerializer<SensorKey> {
        private static final long serialVersionUID = 1L;

        public static final Serializer INSTANCE = new Serializer();

        @Override
        public void serialize(SensorKey k, DataOutputView out) throws IOException {
            SensorReadingTypeInfo.Serializer.writeId(k.sensor, out);
            out.writeInt(k.hash);
        }

        @Override
        public SensorKey deserialize(DataInputView in) throws IOException {
            SensorId id = SensorReadingTypeInfo.Serializer.readId(in);
            return new SensorKey(id, in.readInt());
        }

        @Override
        public TypeSerializerSnapshot<SensorKey> snapshotConfiguration() {
            return new Snapshot();
        }

        /** Written into savepoints; version 1 is the layout above. */
        public static final class Snapshot extends SimpleTypeSerializerSnapshot<SensorKey> {
            public Snapshot() {
                super(() -> INSTANCE);
            }
        }
    }
}
