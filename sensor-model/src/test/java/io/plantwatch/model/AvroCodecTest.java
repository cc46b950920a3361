package io.plantwatch.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.List;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.junit.jupiter.api.Test;

class AvroCodecTest {

    static final SensorId ID = SensorId.parse("dresden/press-shop/line-1/press-3/temp-1");
    static final SensorReading READING =
            new SensorReading(ID, 1764064800123L, 71.5, "degC", Quality.UNCERTAIN, 99);

    final AvroReadingCodec readings = new AvroReadingCodec();
    final AvroAlertCodec alerts = new AvroAlertCodec();

    @Test
    void readingsRoundTrip() {
        assertThat(readings.decode(readings.encode(READING)).value()).isEqualTo(READING);
        SensorReading noSeq = SensorReading.of(ID, 1764064800123L, -0.0);
        assertThat(readings.decode(readings.encode(noSeq)).value()).isEqualTo(noSeq);
    }

    @Test
    void stringsBeyondAsciiRoundTripAndMalformedUtf8IsRejected() {
        SensorReading wide =
                new SensorReading(
                        SensorId.parse("dresden/press-shop/line-1/presse-3/temp-ü"),
                        1764064800123L,
                        71.5,
                        "°C",
                        Quality.GOOD,
                        7);
        byte[] framed = readings.encode(wide);
        assertThat(readings.decode(framed).value()).isEqualTo(wide);

        // The degree sign is C2 B0; C2 followed by '(' is no UTF-8 at all.
        int at = 0;
        while (!(framed[at] == (byte) 0xC2 && framed[at + 1] == (byte) 0xB0)) {
            at++;
        }
        framed[at + 1] = '(';
        assertThat(reason(readings.decode(framed))).isEqualTo(RejectReason.CORRUPT_RECORD);
    }

    @Test
    void handWrittenEncoderMatchesAvroItself() throws Exception {
        // The hot path writes fields by hand; Avro's generic reader is the referee.
        byte[] framed = readings.encode(READING);
        GenericDatumReader<GenericRecord> reader =
                new GenericDatumReader<>(AvroReadingCodec.history().current());
        GenericRecord rec =
                reader.read(
                        null,
                        DecoderFactory.get().binaryDecoder(framed, 2, framed.length - 2, null));
        assertThat(AvroReadingCodec.fromRecord(rec)).isEqualTo(READING);

        ByteArrayOutputStream out = new ByteArrayOutputStream();
        BinaryEncoder e = EncoderFactory.get().directBinaryEncoder(out, null);
        new GenericDatumWriter<GenericRecord>(AvroReadingCodec.history().current()).write(rec, e);
        e.flush();
        assertThat(Arrays.copyOfRange(framed, 2, framed.length)).isEqualTo(out.toByteArray());
    }

    @Test
    void readerIgnoresFieldsANewerWriterAppended() throws Exception {
        byte[] framed = readings.encode(READING);
        byte[] newer = Arrays.copyOf(framed, framed.length + 3);
        newer[1] = (byte) (AvroReadingCodec.history().currentVersion() + 1);
        newer[framed.length] = 2; // a long, zig-zag 1
        newer[framed.length + 1] = 2; // a string of length 1
        newer[framed.length + 2] = 'x';
        assertThat(readings.decode(newer).value()).isEqualTo(READING);
    }

    @Test
    void alertsRoundTrip() {
        Alert open =
                Alert.open(
                        ID,
                        "temperature-spike",
                        AlertKind.SPIKE,
                        Severity.CRITICAL,
                        1764064800000L,
                        1764064801000L,
                        List.of(60.0, 75.5),
                        "temp-1 rose 15.5 degC in 10 s");
        Alert resolved = open.resolve(1764064860000L, 1764064861000L, "back to normal");
        assertThat(alerts.decode(alerts.encode(open)).value()).isEqualTo(open);
        assertThat(alerts.decode(alerts.encode(resolved)).value()).isEqualTo(resolved);
        assertThat(resolved.alertId()).isEqualTo(open.alertId());
        assertThat(Alert.idFor(ID, "temperature-spike", 1764064800000L)).isEqualTo(open.alertId());
        assertThat(Alert.idFor(ID, "temperature-spike", 1764064800001L))
                .isNotEqualTo(open.alertId());
    }

    @Test
    void badBytesAreRejectedNotThrown() {
        assertThat(reason(readings.decode(null))).isEqualTo(RejectReason.UNKNOWN_SCHEMA);
        assertThat(reason(readings.decode(new byte[] {1}))).isEqualTo(RejectReason.UNKNOWN_SCHEMA);
        assertThat(reason(readings.decode("{\"ts\":1}".getBytes())))
                .isEqualTo(RejectReason.UNKNOWN_SCHEMA);
        assertThat(reason(readings.decode(new byte[] {AvroFrame.MAGIC, 0})))
                .isEqualTo(RejectReason.UNKNOWN_SCHEMA);
        byte[] framed = readings.encode(READING);
        assertThat(reason(readings.decode(Arrays.copyOf(framed, framed.length - 4))))
                .isEqualTo(RejectReason.CORRUPT_RECORD);
        byte[] alert =
                alerts.encode(
                        Alert.open(ID, "r", AlertKind.DRIFT, Severity.INFO, 1, 2, List.of(), "m"));
        assertThat(reason(alerts.decode(Arrays.copyOf(alert, alert.length - 1))))
                .isEqualTo(RejectReason.CORRUPT_RECORD);
        assertThat(reason(alerts.decode(framed))).isEqualTo(RejectReason.CORRUPT_RECORD);
    }

    /**
     * A symbol out of range, or bytes after the fields, in a record of this reader's own version is
     * corruption: taking the enum's default made one up (a corrupt state byte read as OPEN opened a
     * phantom alert). From a newer writer, both are its additions and are read as before.
     */
    @Test
    void aCurrentRecordWithAnUnknownSymbolOrTrailingBytesIsCorrupt() {
        byte[] info =
                alerts.encode(
                        Alert.open(ID, "r", AlertKind.DRIFT, Severity.INFO, 1, 2, List.of(), "m"));
        byte[] critical =
                alerts.encode(
                        Alert.open(
                                ID, "r", AlertKind.DRIFT, Severity.CRITICAL, 1, 2, List.of(), "m"));
        int at = Arrays.mismatch(info, critical);
        assertThat(
                        Arrays.mismatch(
                                Arrays.copyOfRange(info, at + 1, info.length),
                                Arrays.copyOfRange(critical, at + 1, critical.length)))
                .as("the records differ in the severity's byte only")
                .isEqualTo(-1);
        byte[] unknownSeverity = info.clone();
        unknownSeverity[at] = 100; // zig-zag 50: no severity has that index
        assertThat(reason(alerts.decode(unknownSeverity))).isEqualTo(RejectReason.CORRUPT_RECORD);
        unknownSeverity[1] = (byte) (AvroAlertCodec.history().currentVersion() + 1);
        assertThat(alerts.decode(unknownSeverity).value().severity()).isEqualTo(Severity.WARNING);

        byte[] reading = readings.encode(READING);
        byte[] trailing = Arrays.copyOf(reading, reading.length + 1);
        assertThat(reason(readings.decode(trailing))).isEqualTo(RejectReason.CORRUPT_RECORD);
        byte[] alertTrailing = Arrays.copyOf(info, info.length + 1);
        assertThat(reason(alerts.decode(alertTrailing))).isEqualTo(RejectReason.CORRUPT_RECORD);
    }

    static RejectReason reason(Parsed<?> p) {
        return p instanceof Parsed.Rejected<?> r ? r.reason() : null;
    }
}
