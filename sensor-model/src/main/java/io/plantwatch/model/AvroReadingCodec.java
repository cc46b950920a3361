package io.plantwatch.model;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;

/**
 * The Kafka value format of {@code sensor-readings}: an {@link AvroFrame} around Avro binary of the
 * {@code sensor-reading} schema. The current version is encoded and decoded field by field (the hot
 * path of the gateway and the job); older versions are resolved by Avro against the current one;
 * newer versions, which only append fields, are read up to the fields this reader knows.
 *
 * <p>Thread-safe; {@link #decode} never throws.
 */
public final class AvroReadingCodec {

    public static final String FAMILY = "sensor-reading";

    private static final SchemaHistory HISTORY = SchemaHistory.load(FAMILY);
    private static final Quality[] QUALITIES = Quality.values();

    public static SchemaHistory history() {
        return HISTORY;
    }

    public byte[] encode(SensorReading r) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(80);
        out.write(AvroFrame.MAGIC);
        out.write(HISTORY.currentVersion());
        BinaryEncoder e = EncoderFactory.get().directBinaryEncoder(out, null);
        try {
            SensorId id = r.sensorId();
            e.writeString(id.site());
            e.writeString(id.area());
            e.writeString(id.line());
            e.writeString(id.machine());
            e.writeString(id.sensor());
            e.writeLong(r.timestamp());
            e.writeDouble(r.value());
            e.writeString(r.unit());
            e.writeEnum(r.quality().ordinal());
            e.writeLong(r.seq());
            e.flush();
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
        return out.toByteArray();
    }

    public Parsed<SensorReading> decode(byte[] bytes) {
        Parsed<Integer> version = AvroFrame.version(bytes, HISTORY);
        if (!(version instanceof Parsed.Ok<Integer> ok)) {
            return version.map(v -> null);
        }
        int v = ok.value();
        try {
            if (v >= HISTORY.currentVersion()) {
                // Newer writers only append fields: what this reader knows comes first.
                return Parsed.ok(decodeCurrent(bytes, v > HISTORY.currentVersion()));
            }
            return Parsed.ok(fromRecord(decodeOlder(bytes, HISTORY.version(v))));
        } catch (IOException | RuntimeException e) {
            return Parsed.rejected(
                    RejectReason.CORRUPT_RECORD,
                    FAMILY + " v" + v + " record does not decode: " + e.getMessage());
        }
    }

    /** With {@code newer}, a newer writer's record: unknown symbols and appended fields are its. */
    private static SensorReading decodeCurrent(byte[] bytes, boolean newer) {
        AvroBinaryReader d = new AvroBinaryReader(bytes, AvroFrame.HEADER_BYTES);
        SensorId id =
                new SensorId(
                        d.readString(),
                        d.readString(),
                        d.readString(),
                        d.readString(),
                        d.readString());
        long ts = d.readLong();
        double value = d.readDouble();
        String unit = d.readString();
        int q = newer ? d.readEnum(QUALITIES.length) : d.readKnownEnum(QUALITIES.length, "quality");
        Quality quality = q < 0 ? Quality.UNCERTAIN : QUALITIES[q];
        long seq = d.readLong();
        if (!newer) {
            d.requireEnd();
        }
        return new SensorReading(id, ts, value, unit, quality, seq);
    }

    private static GenericRecord decodeOlder(byte[] bytes, Schema writer) throws IOException {
        GenericDatumReader<GenericRecord> reader =
                new GenericDatumReader<>(writer, HISTORY.current(), GenericData.get());
        BinaryDecoder d =
                DecoderFactory.get()
                        .binaryDecoder(
                                bytes,
                                AvroFrame.HEADER_BYTES,
                                bytes.length - AvroFrame.HEADER_BYTES,
                                null);
        return reader.read(null, d);
    }

    /** Converts a record of the current schema; package-private for the compatibility tests. */
    static SensorReading fromRecord(GenericRecord rec) {
        SensorId id =
                new SensorId(
                        rec.get("site").toString(),
                        rec.get("area").toString(),
                        rec.get("line").toString(),
                        rec.get("machine").toString(),
                        rec.get("sensor").toString());
        return new SensorReading(
                id,
                (Long) rec.get("ts"),
                (Double) rec.get("value"),
                rec.get("unit").toString(),
                Quality.valueOf(rec.get("quality").toString()),
                (Long) rec.get("seq"));
    }
}
