package io.plantwatch.job;

import io.plantwatch.model.Quality;
import io.plantwatch.model.SensorId;
import io.plantwatch.model.SensorReading;
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
 * Flink's type for {@link SensorReading}, the job's hottest record. Flink would treat the record as
 * a POJO: reflective field access on every hop, and a deep copy for every extra consumer of a
 * chained operator (the sequence tracker feeds six). A reading is immutable, so copying it is
 * handing on the same object, and its wire form is its fields in a fixed order.
 */
public final class SensorReadingTypeInfo extends TypeInformation<SensorReading> {
    private static final long serialVersionUID = 1L;

    public static final SensorReadingTypeInfo INSTANCE = new SensorReadingTypeInfo();

    private SensorReadingTypeInfo() {}

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
    public Class<SensorReading> getTypeClass() {
        return SensorReading.class;
    }

    @Override
    public boolean isKeyType() {
        return false;
    }

    @Override
    public TypeSerializer<SensorReading> createSerializer(SerializerConfig config) {
        return Serializer.INSTANCE;
    }

    @Override
    public String toString() {
        return "SensorReading";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SensorReadingTypeInfo;
    }

    @Override
    public int hashCode() {
        return SensorReadingTypeInfo.class.hashCode();
    }

    @Override
    public boolean canEqual(Object o) {
        return o instanceof SensorReadingTypeInfo;
    }

    /** The fields in declaration order; strings in Flink's own compact string form. */
    public static final class Serializer extends TypeSerializerSingleton<SensorReading> {
        private static final long serialVersionUID = 1L;

        public static final Serializer INSTANCE = new Serializer();
        private static final Quality[] QUALITIES = Quality.values();

        @Override
        public boolean isImmutableType() {
            return true;
        }

        @Override
        public SensorReading createInstance() {
            return null;
        }

        @Override
        public SensorReading copy(SensorReading from) {
            return from;
        }

        @Override
        public SensorReading copy(SensorReading from, SensorReading reuse) {
            return from;
        }

        @Override
        public int getLength() {
            return -1;
        }

        @Override
        public void serialize(SensorReading r, DataOutputView out) throws IOException {
            SensorId id = r.sensorId();
            StringValue.writeString(id.site(), out);
            StringValue.writeString(id.area(), out);
            StringValue.writeString(id.line(), out);
            StringValue.writeString(id.machine(), out);
            StringValue.writeString(id.sensor(), out);
            out.writeLong(r.timestamp());
            out.writeDouble(r.value());
            StringValue.writeString(r.unit(), out);
            out.writeByte(r.quality().ordinal());
            out.writeLong(r.seq());
        }

        @Override
        public SensorReading deserialize(DataInputView in) throws IOException {
            SensorId id =
                    new SensorId(
                            StringValue.readString(in),
                            StringValue.readString(in),
                            StringValue.readString(in),
                            StringValue.readString(in),
                            StringValue.readString(in));
            long timestamp = in.readLong();
            double value = in.readDouble();
            String unit = StringValue.readString(in);
            Quality quality = QUALITIES[in.readByte()];
            return new SensorReading(id, timestamp, value, unit, quality, in.readLong());
        }

        @Override
        public SensorReading deserialize(SensorReading reuse, DataInputView in) throws IOException {
            return deserialize(in);
        }

        @Override
        public void copy(DataInputView in, DataOutputView out) throws IOException {
            serialize(deserialize(in), out);
        }

        @Override
        public TypeSerializerSnapshot<SensorReading> snapshotConfiguration() {
            return new Snapshot();
        }

        /** Written into savepoints; version 1 is the layout above. */
        public static final class Snapshot extends SimpleTypeSerializerSnapshot<SensorReading> {
            public Snapshot() {
                super(() -> INSTANCE);
            }
        }
    }
}
