package io.plantwatch.job;

import io.plantwatch.model.SensorId;
import java.io.IOException;
import org.apache.flink.api.common.serialization.SerializerConfig;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.base.TypeSerializerSingleton;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;
import org.apache.flink.types.StringValue;

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
    public static final class TypeInfo extends TypeInformation<SensorKey> {
        private static final long serialVersionUID = 1L;

        public static final TypeInfo INSTANCE = new TypeInfo();

        private TypeInfo() {}

        @Override
        public boolean isBasicType() {
            return false;
        }

        @Override
        public boolean isTupleType() {
            return false;
        }

        @Override
        public int getArity() {
            return 1;
        }

        @Override
        public int getTotalFields() {
            return 1;
        }

        @Override
        public Class<SensorKey> getTypeClass() {
            return SensorKey.class;
        }

        @Override
        public boolean isKeyType() {
            return true;
        }

        @Override
        public TypeSerializer<SensorKey> createSerializer(SerializerConfig config) {
            return Serializer.INSTANCE;
        }

        @Override
        public String toString() {
            return "SensorKey";
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof TypeInfo;
        }

        @Override
        public int hashCode() {
            return TypeInfo.class.hashCode();
        }

        @Override
        public boolean canEqual(Object o) {
            return o instanceof TypeInfo;
        }
    }

    /** The id's five parts in Flink's compact string form, then the hash. */
    public static final class Serializer extends TypeSerializerSingleton<SensorKey> {
        private static final long serialVersionUID = 1L;

        public static final Serializer INSTANCE = new Serializer();

        @Override
        public boolean isImmutableType() {
            return true;
        }

        @Override
        public SensorKey createInstance() {
            return null;
        }

        @Override
        public SensorKey copy(SensorKey from) {
            return from;
        }

        @Override
        public SensorKey copy(SensorKey from, SensorKey reuse) {
            return from;
        }

        @Override
        public int getLength() {
            return -1;
        }

        @Override
        public void serialize(SensorKey k, DataOutputView out) throws IOException {
            SensorId id = k.sensor;
            StringValue.writeString(id.site(), out);
            StringValue.writeString(id.area(), out);
            StringValue.writeString(id.line(), out);
            StringValue.writeString(id.machine(), out);
            StringValue.writeString(id.sensor(), out);
            out.writeInt(k.hash);
        }

        @Override
        public SensorKey deserialize(DataInputView in) throws IOException {
            SensorId id =
                    new SensorId(
                            StringValue.readString(in),
                            StringValue.readString(in),
                            StringValue.readString(in),
                            StringValue.readString(in),
                            StringValue.readString(in));
            return new SensorKey(id, in.readInt());
        }

        @Override
        public SensorKey deserialize(SensorKey reuse, DataInputView in) throws IOException {
            return deserialize(in);
        }

        @Override
        public void copy(DataInputView in, DataOutputView out) throws IOException {
            serialize(deserialize(in), out);
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
