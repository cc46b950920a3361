package io.plantwatch.job;

import io.plantwatch.model.Alert;
import io.plantwatch.model.AvroAlertCodec;
import io.plantwatch.model.Parsed;
import java.io.IOException;
import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/**
 * Flink's type for {@link Alert} on its way from the detectors and the lifecycle to the sink: its
 * wire form is the record the sink writes to Kafka ({@link AvroAlertCodec}). As a POJO its limits
 * crossed the network as a hash map and lost their order.
 */
public final class AlertTypeInfo extends OpaqueTypeInfo<Alert> {
    private static final long serialVersionUID = 1L;

    public static final AlertTypeInfo INSTANCE = new AlertTypeInfo();

    private AlertTypeInfo() {
        super(Alert.class, false);
    }

    @Override
    TypeSerializer<Alert> serializer() {
        return Serializer.INSTANCE;
    }

    /** The alert's Avro record, its length first. */
    public static final class Serializer extends ImmutableSerializer<Alert> {
        private static final long serialVersionUID = 1L;

        public static final Serializer INSTANCE = new Serializer();
        private static final AvroAlertCodec CODEC = new AvroAlertCodec();

        @Override
        public void serialize(Alert a, DataOutputView out) throws IOException {
            byte[] bytes = CODEC.encode(a);
            out.writeInt(bytes.length);
            out.write(bytes);
        }

        @Override
        public Alert deserialize(DataInputView in) throws IOException {
            byte[] bytes = new byte[in.readInt()];
            in.readFully(bytes);
            Parsed<Alert> alert = CODEC.decode(bytes);
            if (alert instanceof Parsed.Ok<Alert> ok) {
                return ok.value();
            }
            throw new IOException("an alert that does not decode: " + alert);
        }

        @Override
        public TypeSerializerSnapshot<Alert> snapshotConfiguration() {
            return new Snapshot();
        }

        /** Version 1 is the layout above. */
        public static final class Snapshot extends SimpleTypeSerializerSnapshot<Alert> {
            public Snapshot() {
                super(() -> INSTANCE);
            }
        }
    }
}
