package io.plantwatch.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.plantwatch.model.Quality;
import io.plantwatch.model.SensorId;
import io.plantwatch.model.SensorReading;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSchemaCompatibility;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

class SensorReadingTypeInfoTest {
    private final TypeSerializer<SensorReading> serializer =
            SensorReadingTypeInfo.INSTANCE.createSerializer(new SerializerConfigImpl());

    private static final SensorReading READING =
            new SensorReading(
                    new SensorId("dresden", "press-shop", "line-1", "press-3", "temp-ü"),
                    1_780_000_000_123L,
                    -12.5,
                    "degC",
                    Quality.UNCERTAIN,
                    42);

    @Test
    void writesAndReadsEveryField() throws Exception {
        DataOutputSerializer out = new DataOutputSerializer(64);
        serializer.serialize(READING, out);
        serializer.serialize(SensorReading.of(READING.sensorId(), 1, 0), out);

        DataInputDeserializer in = new DataInputDeserializer(out.getCopyOfBuffer());
        assertThat(serializer.deserialize(in)).isEqualTo(READING);
        SensorReading bare = serializer.deserialize(in);
        assertThat(bare.seq()).isEqualTo(SensorReading.NO_SEQ);
        assertThat(bare.unit()).isEmpty();
        assertThat(in.available()).isZero();
    }

    @Test
    void copyingAnImmutableReadingHandsOnTheSameObject() {
        assertThat(serializer.isImmutableType()).isTrue();
        assertThat(serializer.copy(READING)).isSameAs(READING);
    }

    @Test
    void aSavepointsSnapshotRestoresTheSameSerializer() throws Exception {
        TypeSerializerSnapshot<SensorReading> snapshot = serializer.snapshotConfiguration();
        DataOutputSerializer out = new DataOutputSerializer(64);
        TypeSerializerSnapshot.writeVersionedSnapshot(out, snapshot);
        TypeSerializerSnapshot<SensorReading> read =
                TypeSerializerSnapshot.readVersionedSnapshot(
                        new DataInputDeserializer(out.getCopyOfBuffer()),
                        getClass().getClassLoader());
        TypeSerializerSchemaCompatibility<SensorReading> compat =
                serializer.snapshotConfiguration().resolveSchemaCompatibility(read);
        assertThat(compat.isCompatibleAsIs()).isTrue();
        assertThat(read.restoreSerializer()).isSameAs(serializer);
    }
}
