package io.plantwatch.job;

import io.plantwatch.model.Quality;
import io.plantwatch.model.SensorId;
import io.plantwatch.model.SensorReading;
import java.io.IOException;
import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;
import org.apache.flink.types.StringValue;

/**
 * Flink's type for {@link SensorReading}, the job's hottest record. Flink would treat the record as
 * a POJO: reflective field access on every hop, and a deep copy for every extra consumer of a
 * chained operator (the sequence tracker feeds six). A reading is immutable, so copying it is
 * handing on the same object, and its wire form is its fields in a fixed order.
 */
public final class SensorReadingTypeInfo extends OpaqueTypeInfo<SensorReading> {
    private static final long serialVersionUID = 1L;

    public static final SensorReadingTypeInfo INSTANCE = new SensorReadingTypeInfo();

    private SensorReadingTypeInfo() {
        super(SensorReading.class, false);
    }

    @Override
    TypeSerializer<SensorReading> serializer() {
        return Serializer.INSTANCE;
    }

    /** The fields in declaration order; strings in Flink's own compact string form. */
    public static final class Serializer extends ImmutableSerializer<SensorReading> {
        private static final long serialVersionUID = 1L;

        public static final Serializer INSTANCE = new Serializer();
        private static final Quality[] QUALITIES = Quality.values();

        @Override
        public void serialize(SensorReading r, DataOutputView out) throws IOException {
            writeId(r.sensorId(), out);
            out.writeLong(r.timestamp());
            out.writeDouble(r.value());
            StringValue.writeString(r.unit(), out);
            out.writeByte(r.quality().ordinal());
            out.writeLong(r.seq());
        }

        @Override
        public SensorReading deserialize(DataInputView in) throws IOException {
            SensorId id = readId(in);
            long timestamp = in.readLong();
            double value = in.readDouble();
            String unit = StringValue.readString(in);
            Quality quality = QUALITIES[in.readByte()];
            return new SensorReading(id, timestamp, value, unit, quality, in.readLong());
        }

        /** A sensor id as its five parts, as readings and in-place keys write it. */
        static void writeId(SensorId id, DataOutputView out) throws IOException {
            StringValue.writeString(id.site(), out);
            StringValue.writeString(id.area(), out);
            StringValue.writeString(id.line(), out);
            StringValue.writeString(id.machine(), out);
            StringValue.writeString(id.sensor(), out);
        }

        static SensorId readId(DataInputView in) throws IOException {
            return new SensorId(
                    StringValue.readString(in),
                    StringValue.readString(in),
                    StringValue.readString(in),
                    StringValue.readString(in),
                    StringValue.readString(in));
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
