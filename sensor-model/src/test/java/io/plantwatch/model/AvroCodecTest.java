package io.plantwatch.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryDecoder;
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
    void anAlertsUnitAndLimitsRoundTripInTheirOrder() {
        Map<String, Double> limits = new LinkedHashMap<>();
        limits.put("rise", 8.0);
        limits.put("within_s", 60.0);
        limits.put("confirm", 1.0);
        Alert open =
                Alert.open(
                                ID,
                                "temperature-spike",
                                AlertKind.SPIKE,
                                Severity.CRITICAL,
                                1764064800000L,
                                1764064801000L,
                                List.of(60.0, 75.5),
                                "temp-1 rose 15.5 degC in 10 s")
                        .withDetail("degC", limits);
        Alert resolved = open.resolve(1764064860000L, 1764064861000L, "back to normal");
        assertThat(resolved.unit()).isEqualTo("degC");
        assertThat(resolved.limits()).isEqualTo(limits);
        Alert back = alerts.decode(alerts.encode(resolved)).value();
        assertThat(back).isEqualTo(resolved);
        assertThat(back.limits().keySet()).containsExactly("rise", "within_s", "confirm");
    }

    /** An older reader's view: v2's fields are appended, so v1 decodes a v2 record up to them. */
    @Test
    void aV1ReaderDecodesAV2AlertUpToItsOwnFields() throws Exception {
        Alert a =
                Alert.open(ID, "r", AlertKind.OUT_OF_RANGE, Severity.INFO, 1, 2, List.of(9.5), "m")
                        .withDetail("bar", Map.of("high", 9.0));
        byte[] framed = alerts.encode(a);
        Schema v1 = AvroAlertCodec.history().version(1);
        BinaryDecoder d = DecoderFactory.get().binaryDecoder(framed, 2, framed.length - 2, null);
        GenericRecord old =
                new GenericDatumReader<GenericRecord>(
                                AvroAlertCodec.history().current(), v1, GenericData.get())
                        .read(null, d);
        assertThat(old.get("message").toString()).isEqualTo("m");
        assertThat(old.get("state").toString()).isEqualTo("OPEN");
    }

    /**
     * A record of an older version is read with the same bounds as the current one: Avro's
     * resolver, which read them before, sized a string by the length a corrupt record claimed.
     */
    @Test
    void aCorruptOlderRecordIsRejectedWithoutAllocatingWhatItClaims() {
        byte[] v1 = {AvroFrame.MAGIC, 1, (byte) 0xfe, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x3f};
        assertThat(alerts.decode(v1))
                .isInstanceOfSatisfying(
                        Parsed.Rejected.class,
                        r -> {
                            assertThat(r.reason()).isEqualTo(RejectReason.CORRUPT_RECORD);
                            assertThat(r.detail()).contains("alert v1").contains("claimed");
                        });
    }

    @Test
    void limitsAreNamedFiniteNumbers() {
        Alert a = Alert.open(ID, "r", AlertKind.DRIFT, Severity.INFO, 1, 2, List.of(), "m");
        Map<String, Double> nan = new LinkedHashMap<>();
        nan.put("k", Double.NaN);
        assertThatThrownBy(() -> a.withDetail("", nan))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("limit 'k' is NaN");
        assertThatThrownBy(() -> a.withDetail("", Map.of(" ", 1.0)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(a.withDetail(null, null)).isEqualTo(a);

        // From another writer, a limit that is not a finite number, or has no name, is left out;
        // the alert is still read.
        Map<String, Double> two = new LinkedHashMap<>();
        two.put("j", 2.0);
        two.put("k", 3.0);
        byte[] framed = alerts.encode(a.withDetail("", two));
        int at = framed.length - 9; // k's double, then the map's end
        assertThat(alerts.decode(framed).value().limits()).containsEntry("k", 3.0);
        byte[] nanLimit = framed.clone();
        Arrays.fill(nanLimit, at, at + 8, (byte) 0);
        nanLimit[at + 6] = (byte) 0xf8;
        nanLimit[at + 7] = (byte) 0x7f;
        assertThat(alerts.decode(nanLimit).value().limits()).containsExactly(Map.entry("j", 2.0));
        byte[] blankKey = framed.clone();
        blankKey[at - 1] = ' '; // the key "k"
        assertThat(alerts.decode(blankKey).value().limits()).containsExactly(Map.entry("j", 2.0));
        // A map claiming more entries than the bytes left could hold.
        byte[] huge = alerts.encode(a);
        huge[huge.length - 1] = (byte) 0x80;
        byte[] claim = Arrays.copyOf(huge, huge.length + 3);
        claim[huge.length] = (byte) 0x80;
        claim[huge.length + 1] = (byte) 0x80;
        claim[huge.length + 2] = (byte) 0x10;
        assertThat(alerts.decode(claim))
                .isInstanceOfSatisfying(
                        Parsed.Rejected.class,
                        r -> assertThat(r.detail()).contains("a map of 16777216 doubles"));
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
