package io.plantwatch.model;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;

/**
 * The Kafka value format of {@code alerts}: an {@link AvroFrame} around Avro binary of the {@code
 * alert} schema. Every version is read by a bounds-checked reader. Thread-safe; {@link #decode}
 * never throws.
 */
public final class AvroAlertCodec {

    public static final String FAMILY = "alert";

    private static final SchemaHistory HISTORY = SchemaHistory.load(FAMILY);
    private static final Schema CURRENT = HISTORY.current();
    private static final GenericDatumWriter<GenericRecord> WRITER =
            new GenericDatumWriter<>(CURRENT, GenericData.get());

    private static final AlertKind[] KINDS = AlertKind.values();
    private static final Severity[] SEVERITIES = Severity.values();
    private static final AlertState[] STATES = AlertState.values();

    public static SchemaHistory history() {
        return HISTORY;
    }

    public byte[] encode(Alert a) {
        GenericRecord rec = new GenericData.Record(CURRENT);
        SensorId id = a.sensorId();
        rec.put("alert_id", a.alertId());
        rec.put("site", id.site());
        rec.put("area", id.area());
        rec.put("line", id.line());
        rec.put("machine", id.machine());
        rec.put("sensor", id.sensor());
        rec.put("rule", a.rule());
        rec.put("kind", symbol("kind", a.kind().name()));
        rec.put("severity", symbol("severity", a.severity().name()));
        rec.put("state", symbol("state", a.state().name()));
        rec.put("episode_start", a.episodeStart());
        rec.put("event_time", a.eventTime());
        rec.put("detected_at", a.detectedAt());
        rec.put("values", new ArrayList<>(a.values()));
        rec.put("message", a.message());
        rec.put("unit", a.unit());
        rec.put("limits", a.limits());
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        out.write(AvroFrame.MAGIC);
        out.write(HISTORY.currentVersion());
        BinaryEncoder e = EncoderFactory.get().directBinaryEncoder(out, null);
        try {
            WRITER.write(rec, e);
            e.flush();
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
        return out.toByteArray();
    }

    public Parsed<Alert> decode(byte[] bytes) {
        Parsed<Integer> version = AvroFrame.version(bytes, HISTORY);
        if (!(version instanceof Parsed.Ok<Integer> ok)) {
            return version.map(v -> null);
        }
        int v = ok.value();
        try {
            return Parsed.ok(read(bytes, v));
        } catch (RuntimeException e) {
            return Parsed.rejected(
                    RejectReason.CORRUPT_RECORD,
                    FAMILY + " v" + v + " record does not decode: " + e.getMessage());
        }
    }

    /**
     * Every version with the bounds-checked reader, older ones too: Avro's own resolver sizes a
     * string by the length the bytes claim, so a corrupt v1 record asked it for gigabytes. Each
     * version appends to the one before, so a record is read field by field up to its version's
     * end; a newer writer's record up to this reader's, its unknown symbols taking the default.
     */
    private static Alert read(byte[] bytes, int version) {
        boolean newer = version > HISTORY.currentVersion();
        AvroBinaryReader d = new AvroBinaryReader(bytes, AvroFrame.HEADER_BYTES);
        String alertId = d.readString();
        SensorId id =
                new SensorId(
                        d.readString(),
                        d.readString(),
                        d.readString(),
                        d.readString(),
                        d.readString());
        String rule = d.readString();
        int kind = newer ? d.readEnum(KINDS.length) : d.readKnownEnum(KINDS.length, "kind");
        int severity =
                newer
                        ? d.readEnum(SEVERITIES.length)
                        : d.readKnownEnum(SEVERITIES.length, "severity");
        int state = newer ? d.readEnum(STATES.length) : d.readKnownEnum(STATES.length, "state");
        long episodeStart = d.readLong();
        long eventTime = d.readLong();
        long detectedAt = d.readLong();
        List<Double> values = new ArrayList<>();
        for (double x : d.readDoubleArray()) {
            values.add(x);
        }
        String message = d.readString();
        String unit = "";
        Map<String, Double> limits = Map.of();
        if (version >= 2) {
            unit = d.readString();
            limits = usable(d.readDoubleMap());
        }
        if (!newer) {
            d.requireEnd();
        }
        return new Alert(
                alertId,
                id,
                rule,
                kind < 0 ? AlertKind.OTHER : KINDS[kind],
                severity < 0 ? Severity.WARNING : SEVERITIES[severity],
                state < 0 ? AlertState.OPEN : STATES[state],
                episodeStart,
                eventTime,
                detectedAt,
                values,
                message,
                unit,
                limits);
    }

    /**
     * The limits an alert can carry: a writer that is not this codec may send a limit that is not a
     * finite number, or one without a name. Those are left out rather than the alert refused, so a
     * person is still told.
     */
    private static Map<String, Double> usable(Map<String, Double> limits) {
        limits.entrySet().removeIf(e -> !Alert.isLimit(e.getKey(), e.getValue()));
        return limits;
    }

    private static GenericData.EnumSymbol symbol(String field, String name) {
        return new GenericData.EnumSymbol(CURRENT.getField(field).schema(), name);
    }
}
