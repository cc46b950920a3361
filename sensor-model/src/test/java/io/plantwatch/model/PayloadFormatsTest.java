package io.plantwatch.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** A plant whose devices write their readings in more than one way. */
class PayloadFormatsTest {

    static final Instant NOW = Instant.parse("2026-11-25T10:00:00Z");

    static final PayloadFormat PLC =
            new PayloadFormat("timestamp", "temp", "u", "q", "n", true, "degC");
    static final PayloadFormat SHELLY = PayloadFormat.bareValue("W");
    static final PayloadFormat NO_CLOCK =
            new PayloadFormat("ts", "v", "unit", "quality", "seq", false, "bar").withReceivedTime();

    static final PayloadFormats CODEC_FORMATS =
            new PayloadFormats(
                    PayloadFormat.DEFAULT,
                    List.of(
                            new PayloadFormats.Named("plc", new SensorGlob("hall-2/**"), PLC),
                            // Never reached for hall-2: the first match wins.
                            new PayloadFormats.Named(
                                    "shelly", new SensorGlob("*/*/*/*/power"), SHELLY),
                            new PayloadFormats.Named(
                                    "no-clock", new SensorGlob("*/utilities/**"), NO_CLOCK)));

    static final MqttPayloadCodec CODEC =
            new MqttPayloadCodec(
                    TopicTemplate.defaults(),
                    ReadingLimits.defaults().withClock(Clock.fixed(NOW, ZoneOffset.UTC)),
                    CODEC_FORMATS);

    static Parsed<SensorReading> decode(String topic, String payload) {
        return CODEC.decode("plant/" + topic, payload.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void eachSensorIsReadInTheFirstFormatWhoseGlobMatchesAndTheRestInTheFallback() {
        SensorReading plc =
                decode(
                                "hall-2/press/line-1/press-3/power",
                                "{\"timestamp\": 1764064800.5, \"temp\": 21.5}")
                        .value();
        assertThat(plc.timestamp()).isEqualTo(1764064800500L);
        assertThat(plc.value()).isEqualTo(21.5);
        assertThat(plc.unit()).isEqualTo("degC");

        SensorReading shelly = decode("hall-1/press/line-1/press-3/power", " 1234.5\n").value();
        assertThat(shelly.timestamp()).isEqualTo(NOW.toEpochMilli());
        assertThat(shelly.value()).isEqualTo(1234.5);
        assertThat(shelly.unit()).isEqualTo("W");
        assertThat(shelly.quality()).isEqualTo(Quality.GOOD);
        assertThat(shelly.hasSeq()).isFalse();

        SensorReading fallback =
                decode(
                                "hall-1/press/line-1/press-3/temp-1",
                                "{\"ts\": 1764064800000, \"value\": 70, \"seq\": 4}")
                        .value();
        assertThat(fallback.timestamp()).isEqualTo(1764064800000L);
        assertThat(fallback.seq()).isEqualTo(4);
    }

    /**
     * A device without a clock: stamped when received; a time field it carries anyway (an uptime
     * counter, a broken clock) is not read, and the rest of its fields are.
     */
    @Test
    void aFormatWithReceivedTimeStampsTheReadingNowAndDoesNotReadATimeField() {
        SensorReading r =
                decode(
                                "hall-1/utilities/compressors/c-1/pressure",
                                "{\"ts\": \"not a time\", \"v\": 7.25, \"quality\": \"UNCERTAIN\","
                                        + " \"seq\": 9}")
                        .value();
        assertThat(r.timestamp()).isEqualTo(NOW.toEpochMilli());
        assertThat(r.value()).isEqualTo(7.25);
        assertThat(r.unit()).isEqualTo("bar");
        assertThat(r.quality()).isEqualTo(Quality.UNCERTAIN);
        assertThat(r.seq()).isEqualTo(9);
    }

    @ParameterizedTest
    @CsvSource(
            delimiter = '|',
            value = {"21.5|21.5", "-3|-3", "+4|4", "1.5e3|1500", ".5|0.5", "7.|7", "'  12\r\n'|12"})
    void aBareValueIsTheNumberAsJsonWritesIt(String payload, double expected) {
        assertThat(decode("hall-1/a/b/c/power", payload).value().value()).isEqualTo(expected);
    }

    /** Every mistake says what was expected and which format was applied, for the DLQ. */
    @ParameterizedTest
    @CsvSource(
            delimiter = '|',
            value = {
                "NaN|NOT_FINITE|payload is NaN, not finite",
                "-Infinity|NOT_FINITE|payload is -Infinity, not finite",
                "1e400|NOT_FINITE|beyond a double",
                "0x1F|WRONG_TYPE|payload must be a number alone (e.g. 21.5), found '0x1F'",
                "1.5d|WRONG_TYPE|found '1.5d'",
                "{\"value\": 3}|WRONG_TYPE|found '{\"value\": 3}'",
                "ON|WRONG_TYPE|found 'ON'",
                "'21,5'|WRONG_TYPE|found '21,5'",
                "'1 2'|WRONG_TYPE|found '1 2'"
            })
    void aBareValueThatIsNotAFiniteNumberIsRejectedNamingTheFormat(
            String payload, RejectReason reason, String detail) {
        Parsed.Rejected<SensorReading> r =
                (Parsed.Rejected<SensorReading>) decode("hall-1/a/b/c/power", payload);
        assertThat(r.reason()).isEqualTo(reason);
        assertThat(r.detail()).contains(detail).endsWith("(payload format 'shelly')");
    }

    @Test
    void anEmptyBlankOrLongBareValueIsRejectedSayingSo() {
        Parsed.Rejected<SensorReading> empty =
                (Parsed.Rejected<SensorReading>) decode("hall-1/a/b/c/power", "");
        assertThat(empty.reason()).isEqualTo(RejectReason.WRONG_TYPE);
        assertThat(empty.detail())
                .isEqualTo("payload is empty, not a number (payload format 'shelly')");

        Parsed.Rejected<SensorReading> digits =
                (Parsed.Rejected<SensorReading>) decode("hall-1/a/b/c/power", "1".repeat(5000));
        assertThat(digits.reason()).isEqualTo(RejectReason.WRONG_TYPE);
        assertThat(digits.detail())
                .isEqualTo(
                        "payload must be a number alone (e.g. 21.5), found 5000 characters, more"
                                + " than 64: '"
                                + "1".repeat(40)
                                + "...' (payload format 'shelly')");

        Parsed.Rejected<SensorReading> blank =
                (Parsed.Rejected<SensorReading>) decode("hall-1/a/b/c/power", " \r\n\0");
        assertThat(blank.detail())
                .isEqualTo("payload is blank, not a number (payload format 'shelly')");
    }

    /** A PLC's fixed-width field and a C string's terminator are not part of the number. */
    @Test
    void aBareValuePaddedWithBlanksOrEndedByANulIsTheNumber() {
        assertThat(decode("hall-1/a/b/c/power", "21.5" + " ".repeat(200)).value().value())
                .isEqualTo(21.5);
        assertThat(decode("hall-1/a/b/c/power", "21.5\0").value().value()).isEqualTo(21.5);
        assertThat(decode("hall-1/a/b/c/power", "\t-0.25\0\0\0").value().value()).isEqualTo(-0.25);
    }

    /**
     * A retained message comes from before the subscription: a device with a time of its own says
     * when it was measured, one stamped when received cannot, and stamped now its old value would
     * show a silent device as alive.
     */
    @Test
    void aRetainedMessageIsRefusedOnlyForADeviceStampedWhenReceived() {
        byte[] value = "1234.5".getBytes(StandardCharsets.UTF_8);
        Parsed.Rejected<SensorReading> meter =
                (Parsed.Rejected<SensorReading>)
                        CODEC.decode("plant/hall-1/a/b/c/power", value, true);
        assertThat(meter.reason()).isEqualTo(RejectReason.RETAINED_WITHOUT_TIME);
        assertThat(meter.reason().code()).isEqualTo("retained_without_time");
        assertThat(meter.detail())
                .isEqualTo(
                        "a retained message, kept by the broker from before: its device has no"
                                + " time of its own, so when it was measured is unknown (payload"
                                + " format 'shelly')");
        assertThat(
                        CODEC.decode(
                                        "plant/hall-1/utilities/b/c/pressure",
                                        "{\"v\": 1}".getBytes(StandardCharsets.UTF_8),
                                        true)
                                .isOk())
                .isFalse();
        assertThat(CODEC.decode("plant/hall-1/a/b/c/power", value, false).value().value())
                .isEqualTo(1234.5);
        SensorReading withItsTime =
                CODEC.decode(
                                "plant/hall-2/a/b/c/power",
                                "{\"timestamp\": 1764064800, \"temp\": 3}"
                                        .getBytes(StandardCharsets.UTF_8),
                                true)
                        .value();
        assertThat(withItsTime.timestamp()).isEqualTo(1764064800000L);
    }

    /** An edge box without a battery-backed clock reads 1970 until NTP has set it. */
    @Test
    void readingsStampedWhenReceivedAreRefusedWhileThisClockIsNotSet() {
        MqttPayloadCodec unset =
                new MqttPayloadCodec(
                        TopicTemplate.defaults(),
                        ReadingLimits.defaults()
                                .withClock(Clock.fixed(Instant.ofEpochSecond(42), ZoneOffset.UTC)),
                        CODEC_FORMATS);
        for (String[] m :
                new String[][] {
                    {"plant/hall-1/a/b/c/power", "21.5", "shelly"},
                    {"plant/hall-1/utilities/b/c/pressure", "{\"v\": 1}", "no-clock"}
                }) {
            Parsed.Rejected<SensorReading> r =
                    (Parsed.Rejected<SensorReading>)
                            unset.decode(m[0], m[1].getBytes(StandardCharsets.UTF_8));
            assertThat(r.reason()).isEqualTo(RejectReason.TIMESTAMP_TOO_OLD);
            assertThat(r.detail())
                    .isEqualTo(
                            "this machine's clock reads 1970-01-01T00:00:42Z, before"
                                    + " 2000-01-01T00:00:00Z: it is not set (no time from NTP"
                                    + " yet?), and readings of this format are stamped with it"
                                    + " (payload format '"
                                    + m[2]
                                    + "')");
        }
    }

    @Test
    void aSensorIdInAnyLanguageIsMatchedToItsFormat() {
        assertThat(
                        decode(
                                        "hall-2/pressen/linie-1/presse-3/öl-temp",
                                        "{\"timestamp\": 1764064800, \"temp\": 3}")
                                .value()
                                .unit())
                .isEqualTo("degC");
    }

    @Test
    void aJsonRejectionUnderANamedFormatSaysWhichAndTheFallbackSaysNothingMore() {
        Parsed.Rejected<SensorReading> plc =
                (Parsed.Rejected<SensorReading>)
                        decode("hall-2/a/b/c/d", "{\"ts\": 1764064800000, \"value\": 1}");
        assertThat(plc.reason()).isEqualTo(RejectReason.MISSING_FIELD);
        assertThat(plc.detail()).isEqualTo("timestamp is missing (payload format 'plc')");

        Parsed.Rejected<SensorReading> fallback =
                (Parsed.Rejected<SensorReading>) decode("hall-1/a/b/c/d", "21.5");
        assertThat(fallback.reason()).isEqualTo(RejectReason.NOT_AN_OBJECT);
        assertThat(fallback.detail()).doesNotContain("payload format");
    }

    @Test
    void aBareValueMustBeStampedWhenReceived() {
        assertThatThrownBy(
                        () ->
                                new PayloadFormat(
                                        "ts",
                                        "value",
                                        "unit",
                                        "quality",
                                        "seq",
                                        false,
                                        "",
                                        PayloadFormat.Type.VALUE,
                                        false,
                                        List.of(),
                                        java.util.Map.of(),
                                        null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("carries no time");
    }

    static final PayloadFormat PRESS_LINE =
            new PayloadFormat("time", "value", "unit", "q", "cycle", true, "")
                    .withFields(List.of(), java.util.Map.of("temp", "degC", "pressure", "bar"));

    static final MqttPayloadCodec MACHINES =
            new MqttPayloadCodec(
                    TopicTemplate.defaults(),
                    ReadingLimits.defaults().withClock(Clock.fixed(NOW, ZoneOffset.UTC)),
                    new PayloadFormats(
                            PayloadFormat.DEFAULT,
                            List.of(
                                    new PayloadFormats.Named(
                                            "press-line",
                                            new SensorGlob("*/*/*/*/data"),
                                            PRESS_LINE))));

    static MqttPayloadCodec.Decoded machine(String payload) {
        return MACHINES.decodeAll(
                "plant/hall-1/press/line-1/press-3/data",
                payload.getBytes(StandardCharsets.UTF_8),
                false);
    }

    /**
     * A PLC publishing one message per machine and cycle: each numeric field a reading of the
     * sensor it names, on the machine the topic names, with the message's time, quality and seq.
     */
    @Test
    void aMachinesMessageIsOneReadingPerNumericField() {
        MqttPayloadCodec.Decoded d =
                machine(
                        "{\"time\": 1764064800.5, \"temp\": 71.25, \"status\": \"RUN\","
                                + " \"pressure\": 3, \"alarm\": false, \"tool\": {\"id\": 7},"
                                + " \"spare\": null, \"cycle\": 12, \"q\": \"UNCERTAIN\","
                                + " \"strokes\": -4e2}");
        assertThat(d.rejected()).isNull();
        assertThat(d.readings())
                .extracting(r -> r.sensorId().id() + " " + r.value() + " " + r.unit())
                .containsExactly(
                        "hall-1/press/line-1/press-3/temp 71.25 degC",
                        "hall-1/press/line-1/press-3/pressure 3.0 bar",
                        "hall-1/press/line-1/press-3/strokes -400.0 ");
        assertThat(d.readings())
                .allSatisfy(
                        r -> {
                            assertThat(r.timestamp()).isEqualTo(1764064800500L);
                            assertThat(r.quality()).isEqualTo(Quality.UNCERTAIN);
                            assertThat(r.seq()).isEqualTo(12);
                        });
        assertThat(d.single().isOk()).isFalse();
    }

    /** A bad field rejects that field; the machine's other readings are read. */
    @Test
    void aFieldThatIsNoReadingIsRejectedAndTheOthersAreRead() {
        MqttPayloadCodec.Decoded d =
                machine(
                        "{\"time\": 1764064800, \"temp\": NaN, \"a/b\": 1, \"pressure\": 2,"
                                + " \"\u202Eevil\": 3}");
        assertThat(d.readings()).extracting(r -> r.sensorId().sensor()).containsExactly("pressure");
        assertThat(d.rejected().reason()).isEqualTo(RejectReason.NOT_FINITE);
        assertThat(d.rejected().detail())
                .startsWith("temp is NaN, not finite; field 'a/b' cannot name a sensor: ")
                .contains("; field '?evil' cannot name a sensor: ")
                .endsWith("(payload format 'press-line')");
    }

    @Test
    void aDefectOfTheMessageRejectsItWhole() {
        for (String[] m :
                new String[][] {
                    {"{\"temp\": 1}", "missing_field", "time is missing"},
                    {
                        "{\"time\": 1764064800, \"status\": \"RUN\"}",
                        "missing_field",
                        "no field holds a number"
                    },
                    {
                        "{\"time\": 1764064800, \"temp\": 1, \"q\": \"SO-SO\"}",
                        "invalid_field",
                        "q 'SO-SO'"
                    },
                    {
                        "{\"time\": 1764064800, \"temp\": 1, \"cycle\": -1}",
                        "invalid_field",
                        "cycle must be >= 0"
                    },
                    {
                        "{\"time\": 1764064800, \"temp\": 1, \"temp\": 2}",
                        "malformed_json",
                        "Duplicate field 'temp'"
                    },
                    {
                        "[1, 2]",
                        "not_an_object",
                        "payload must be a JSON object of the machine's readings"
                    },
                    {"{\"time\": 1764064800, \"temp\": 1} x", "malformed_json", ""}
                }) {
            MqttPayloadCodec.Decoded d = machine(m[0]);
            assertThat(d.readings()).as(m[0]).isEmpty();
            assertThat(d.rejected().reason().code()).as(m[0]).isEqualTo(m[1]);
            assertThat(d.rejected().detail())
                    .as(m[0])
                    .contains(m[2])
                    .endsWith("(payload format 'press-line')");
        }
    }

    /** With fields named, only those are readings: a constant counter is not a stuck sensor. */
    @Test
    void namedFieldsAreTheOnlyReadings() {
        MqttPayloadCodec only =
                new MqttPayloadCodec(
                        TopicTemplate.defaults(),
                        ReadingLimits.defaults().withClock(Clock.fixed(NOW, ZoneOffset.UTC)),
                        PayloadFormats.of(
                                PayloadFormat.DEFAULT
                                        .withFields(List.of("temp", "pressure"), java.util.Map.of())
                                        .withReceivedTime()));
        MqttPayloadCodec.Decoded d =
                only.decodeAll(
                        "plant/a/b/c/d/all",
                        "{\"temp\": 1, \"program\": 12, \"ts\": \"ignored\"}"
                                .getBytes(StandardCharsets.UTF_8),
                        false);
        assertThat(d.readings()).extracting(r -> r.sensorId().sensor()).containsExactly("temp");
        assertThat(d.readings().get(0).timestamp()).isEqualTo(NOW.toEpochMilli());
        MqttPayloadCodec.Decoded none =
                only.decodeAll(
                        "plant/a/b/c/d/all",
                        "{\"program\": 12}".getBytes(StandardCharsets.UTF_8),
                        false);
        assertThat(none.rejected().detail())
                .isEqualTo("none of the fields temp, pressure holds a number");
        assertThat(
                        only.decodeAll(
                                        "plant/a/b/c/d/all",
                                        "{\"temp\": 1}".getBytes(StandardCharsets.UTF_8),
                                        true)
                                .rejected()
                                .reason())
                .isEqualTo(RejectReason.RETAINED_WITHOUT_TIME);
    }

    @Test
    void fieldsAndUnitsAreForAMachinesMessageOnly() {
        assertThatThrownBy(
                        () ->
                                new PayloadFormat(
                                        "ts",
                                        "value",
                                        "unit",
                                        "quality",
                                        "seq",
                                        false,
                                        "",
                                        PayloadFormat.Type.JSON,
                                        false,
                                        List.of("temp"),
                                        java.util.Map.of(),
                                        null))
                .hasMessage("fields and units are for type fields only");
        assertThatThrownBy(
                        () -> PayloadFormat.DEFAULT.withFields(List.of("seq"), java.util.Map.of()))
                .hasMessage("fields names 'seq', which is the message's time, quality or seq");
        assertThatThrownBy(
                        () ->
                                PayloadFormat.DEFAULT.withFields(
                                        List.of(), java.util.Map.of("temp", "\u001b[2J")))
                .hasMessage("the unit of temp '?[2J' contains a control or format character");
    }

    static MqttPayloadCodec machinesWith(List<String> fields, boolean receivedTime) {
        return new MqttPayloadCodec(
                TopicTemplate.defaults(),
                ReadingLimits.defaults().withClock(Clock.fixed(NOW, ZoneOffset.UTC)),
                PayloadFormats.of(
                        receivedTime
                                ? PayloadFormat.DEFAULT
                                        .withFields(fields, java.util.Map.of())
                                        .withReceivedTime()
                                : PayloadFormat.DEFAULT.withFields(fields, java.util.Map.of())));
    }

    static MqttPayloadCodec.Decoded all(MqttPayloadCodec codec, String payload) {
        return codec.decodeAll(
                "plant/a/b/c/d/all", payload.getBytes(StandardCharsets.UTF_8), false);
    }

    /** A device's clock number, though not read as the time, is never a reading either. */
    @Test
    void theTimeFieldIsNoReadingWhenTheTimeIsReceived() {
        MqttPayloadCodec.Decoded d =
                all(machinesWith(List.of(), true), "{\"ts\": 1764064800000, \"temp\": 1}");
        assertThat(d.readings()).extracting(r -> r.sensorId().sensor()).containsExactly("temp");
    }

    @Test
    void aMessageOfMoreReadingsThanTheLimitIsRejectedWhole() {
        StringBuilder json = new StringBuilder("{\"ts\": 1764064800000");
        for (int i = 0; i <= MqttPayloadCodec.MAX_READINGS_PER_MESSAGE; i++) {
            json.append(", \"s").append(i).append("\": ").append(i);
        }
        MqttPayloadCodec.Decoded d = all(machinesWith(List.of(), false), json + "}");
        assertThat(d.readings()).isEmpty();
        assertThat(d.rejected().detail())
                .startsWith("the message holds more than 256 readings; name the fields");
        String exactly = json.substring(0, json.lastIndexOf(", \"s256\"")) + "}";
        assertThat(all(machinesWith(List.of(), false), exactly).readings()).hasSize(256);
    }

    /** Named as a reading and not a number: said in the DLQ; null is no reading this time. */
    @Test
    void aNamedFieldThatIsNotANumberIsRejectedAndNullIsNoReading() {
        MqttPayloadCodec.Decoded d =
                all(
                        machinesWith(List.of("temp", "pressure", "flow", "level"), false),
                        "{\"ts\": 1764064800000, \"temp\": \"64.5\", \"pressure\": 6,"
                                + " \"flow\": null, \"level\": {\"m\": 2}, \"state\": \"RUN\"}");
        assertThat(d.readings()).extracting(r -> r.sensorId().sensor()).containsExactly("pressure");
        assertThat(d.rejected().reason()).isEqualTo(RejectReason.WRONG_TYPE);
        assertThat(d.rejected().detail())
                .isEqualTo(
                        "temp must be a number, found a string; level must be a number, found an"
                                + " object");
    }

    @Test
    void aRejectionTellsTheFirstFiveFieldsAndHowManyMore() {
        StringBuilder json = new StringBuilder("{\"ts\": 1764064800000, \"ok\": 1");
        for (int i = 0; i < 8; i++) {
            json.append(", \"bad").append(i).append("\": NaN");
        }
        MqttPayloadCodec.Decoded d = all(machinesWith(List.of(), false), json + "}");
        assertThat(d.readings()).hasSize(1);
        assertThat(d.rejected().detail())
                .isEqualTo(
                        "bad0 is NaN, not finite; bad1 is NaN, not finite; bad2 is NaN, not"
                                + " finite; bad3 is NaN, not finite; bad4 is NaN, not finite; and 3"
                                + " more");
    }

    @Test
    void fieldsAndUnitsNameSensorsThatCanBeRead() {
        for (Object[] m :
                new Object[][] {
                    {List.of("temp", "temp"), java.util.Map.of(), "fields names 'temp' twice"},
                    {
                        List.of("a/b"),
                        java.util.Map.of(),
                        "fields names 'a/b', which cannot: the sensor name 'a/b' contains a"
                                + " forbidden character"
                    },
                    {
                        List.of("temp"),
                        java.util.Map.of("tmep", "degC"),
                        "units names 'tmep', which fields does not: it would never be read"
                    },
                    {
                        List.of(),
                        java.util.Map.of("seq", "1"),
                        "units names 'seq', which is the message's time, quality or seq"
                    }
                }) {
            @SuppressWarnings("unchecked")
            List<String> fields = (List<String>) m[0];
            @SuppressWarnings("unchecked")
            java.util.Map<String, String> units = (java.util.Map<String, String>) m[1];
            assertThatThrownBy(() -> PayloadFormat.DEFAULT.withFields(fields, units))
                    .hasMessage((String) m[2]);
        }
    }

    static final MqttPayloadCodec BERLIN =
            new MqttPayloadCodec(
                    TopicTemplate.defaults(),
                    ReadingLimits.defaults().withClock(Clock.fixed(NOW, ZoneOffset.UTC)),
                    PayloadFormat.DEFAULT.withTimeZone(java.time.ZoneId.of("Europe/Berlin")));

    static long berlin(String ts) {
        return BERLIN.decode(
                        "plant/a/b/c/d/e",
                        ("{\"ts\": \"" + ts + "\", \"value\": 1}").getBytes(StandardCharsets.UTF_8))
                .value()
                .timestamp();
    }

    /** A PLC that keeps local time: its times read in the format's zone, DST included. */
    @ParameterizedTest
    @CsvSource({
        "2026-11-25T10:15:00, 2026-11-25T09:15:00Z",
        "2026-11-25 10:15:00.250, 2026-11-25T09:15:00.250Z",
        "2026-07-01T10:15:00, 2026-07-01T08:15:00Z",
        "2026-11-25T10:15:00+01:00, 2026-11-25T09:15:00Z",
        "2026-11-25T09:15:00Z, 2026-11-25T09:15:00Z",
        // The leap second at the end of 2016 UTC, as a Berlin clock shows it.
        "2017-01-01T00:59:60, 2016-12-31T23:59:59.999Z",
        // The hour repeated when clocks go back, read long after: the earlier instant, the text
        // tells no more.
        "2026-10-25T02:30:00, 2026-10-25T00:30:00Z",
        // The hour skipped when they go forward: as the clock would show it an hour on.
        "2026-03-29T02:30:00, 2026-03-29T01:30:00Z"
    })
    void aLocalTimeIsReadInTheFormatsTimeZone(String ts, String instant) {
        assertThat(berlin(ts)).isEqualTo(Instant.parse(instant).toEpochMilli());
    }

    /**
     * A PLC on local time through the night its clock goes back (Berlin, 2026-10-25: 02:00-03:00
     * CEST, then 02:00-03:00 CET; Lord Howe Island, 2026-04-05, half an hour): each reading,
     * received as it is stamped, at its own instant, the second pass after the first instead of on
     * top of it. A first-pass reading sent on late, not so late that the second pass would be near
     * its receipt, stays on the first; so does data sent on hours later.
     */
    @ParameterizedTest
    @CsvSource({
        // zone, received at, local time, instant
        "Europe/Berlin, 2026-10-25T00:30:02Z, 2026-10-25T02:30:00, 2026-10-25T00:30:00Z",
        "Europe/Berlin, 2026-10-25T00:59:59Z, 2026-10-25T02:59:58, 2026-10-25T00:59:58Z",
        "Europe/Berlin, 2026-10-25T01:00:01Z, 2026-10-25T02:00:00, 2026-10-25T01:00:00Z",
        "Europe/Berlin, 2026-10-25T01:30:02Z, 2026-10-25T02:30:00, 2026-10-25T01:30:00Z",
        // Device clocks two minutes behind and three ahead (within the 5 min skew), second pass.
        "Europe/Berlin, 2026-10-25T01:32:00Z, 2026-10-25T02:30:00, 2026-10-25T01:30:00Z",
        "Europe/Berlin, 2026-10-25T01:27:00Z, 2026-10-25T02:30:00, 2026-10-25T01:30:00Z",
        // First-pass readings sent on 30 and 50 minutes late: the second pass would be ahead of
        // their receipt by more than a clock's skew, so they stay on the first.
        "Europe/Berlin, 2026-10-25T01:00:00Z, 2026-10-25T02:30:00, 2026-10-25T00:30:00Z",
        "Europe/Berlin, 2026-10-25T01:20:00Z, 2026-10-25T02:30:00, 2026-10-25T00:30:00Z",
        // Sent on more than half an hour after the second pass: the earlier, as before.
        "Europe/Berlin, 2026-10-25T02:01:00Z, 2026-10-25T02:30:00, 2026-10-25T00:30:00Z",
        // Outside the repeated hour nothing changes.
        "Europe/Berlin, 2026-10-25T02:15:00Z, 2026-10-25T03:15:00, 2026-10-25T02:15:00Z",
        "Australia/Lord_Howe, 2026-04-04T14:45:02Z, 2026-04-05T01:45:00, 2026-04-04T14:45:00Z",
        "Australia/Lord_Howe, 2026-04-04T15:15:02Z, 2026-04-05T01:45:00, 2026-04-04T15:15:00Z",
        // Twenty minutes late on the first pass: the second would be ten ahead of its receipt.
        "Australia/Lord_Howe, 2026-04-04T15:05:00Z, 2026-04-05T01:45:00, 2026-04-04T14:45:00Z"
    })
    void theRepeatedHourIsReadAsTheInstantNearItsReceipt(
            String zone, String received, String ts, String instant) {
        MqttPayloadCodec codec =
                new MqttPayloadCodec(
                        TopicTemplate.defaults(),
                        ReadingLimits.defaults()
                                .withClock(Clock.fixed(Instant.parse(received), ZoneOffset.UTC)),
                        PayloadFormat.DEFAULT.withTimeZone(java.time.ZoneId.of(zone)));
        long read =
                codec.decode(
                                "plant/a/b/c/d/e",
                                ("{\"ts\": \"" + ts + "\", \"value\": 1}")
                                        .getBytes(StandardCharsets.UTF_8))
                        .value()
                        .timestamp();
        assertThat(Instant.ofEpochMilli(read)).isEqualTo(Instant.parse(instant));
    }

    @Test
    void aLocalTimeWithoutATimeZoneIsRefusedSayingWhatWouldReadIt() {
        Parsed.Rejected<SensorReading> r =
                (Parsed.Rejected<SensorReading>)
                        decode("hall-1/a/b/c/d", "{\"ts\": \"2026-11-25T10:15:00\", \"value\": 1}");
        assertThat(r.detail())
                .isEqualTo(
                        "ts '2026-11-25T10:15:00' is not ISO-8601 with a zone offset (e.g."
                                + " 2026-01-31T08:15:00.250Z; a device that sends its local time"
                                + " without one needs the format's time-zone)");
        Parsed.Rejected<SensorReading> notLocal =
                (Parsed.Rejected<SensorReading>)
                        BERLIN.decode(
                                "plant/a/b/c/d/e",
                                "{\"ts\": \"25.11.2026 10:15\", \"value\": 1}"
                                        .getBytes(StandardCharsets.UTF_8));
        assertThat(notLocal.detail())
                .isEqualTo(
                        "ts '25.11.2026 10:15' is not ISO-8601 with a zone offset or a local time in"
                                + " Europe/Berlin (e.g. 2026-01-31T09:15:00.250)");
        assertThatThrownBy(
                        () ->
                                PayloadFormat.DEFAULT
                                        .withReceivedTime()
                                        .withTimeZone(java.time.ZoneOffset.UTC))
                .hasMessage("a time zone is set, but no time is read from the payload");
    }

    /** A machine's message with its PLC's local time: every reading of it at that instant. */
    @Test
    void aMachinesMessageInLocalTime() {
        MqttPayloadCodec local =
                new MqttPayloadCodec(
                        TopicTemplate.defaults(),
                        ReadingLimits.defaults().withClock(Clock.fixed(NOW, ZoneOffset.UTC)),
                        PayloadFormats.of(
                                new PayloadFormat("ts", "value", "unit", "quality", "seq", true, "")
                                        .withFields(List.of(), java.util.Map.of())
                                        .withTimeZone(java.time.ZoneId.of("Europe/Berlin"))));
        MqttPayloadCodec.Decoded d =
                all(local, "{\"ts\": \"2026-11-25 10:15:00\", \"temp\": 1, \"pressure\": 2}");
        assertThat(d.readings())
                .extracting(SensorReading::timestamp)
                .containsOnly(Instant.parse("2026-11-25T09:15:00Z").toEpochMilli());
        // Epoch seconds stay what they are.
        assertThat(all(local, "{\"ts\": 1764064800, \"temp\": 1}").readings().get(0).timestamp())
                .isEqualTo(1764064800000L);
    }

    /** Tasmota's SENSOR message: its power nested, its time local, no offset. */
    static final MqttPayloadCodec NESTED =
            new MqttPayloadCodec(
                    TopicTemplate.defaults(),
                    ReadingLimits.defaults().withClock(Clock.fixed(NOW, ZoneOffset.UTC)),
                    new PayloadFormat(
                                    "/Time", "/ENERGY/Power", "/ENERGY/Unit", "q", "n", false, "W")
                            .withTimeZone(java.time.ZoneId.of("Europe/Berlin")));

    static Parsed<SensorReading> nested(String payload) {
        return NESTED.decode("plant/a/b/c/d/power", payload.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void aNestedValueIsReadByItsJsonPointer() {
        SensorReading r =
                nested(
                                "{\"Time\": \"2026-11-25T10:15:00\", \"ENERGY\": {\"Total\": 3.2,"
                                        + " \"Power\": 45.5, \"Voltage\": 231}, \"n\": 7}")
                        .value();
        assertThat(r.timestamp()).isEqualTo(Instant.parse("2026-11-25T09:15:00Z").toEpochMilli());
        assertThat(r.value()).isEqualTo(45.5);
        assertThat(r.unit()).isEqualTo("W");
        // Not a pointer: a top-level field, as before.
        assertThat(r.seq()).isEqualTo(7);
        // A value held as an array element: /values/0.
        MqttPayloadCodec element =
                new MqttPayloadCodec(
                        TopicTemplate.defaults(),
                        ReadingLimits.defaults().withClock(Clock.fixed(NOW, ZoneOffset.UTC)),
                        new PayloadFormat(
                                "ts", "/values/0/v", "unit", "quality", "seq", false, ""));
        assertThat(
                        element.decode(
                                        "plant/a/b/c/d/e",
                                        "{\"ts\": 1764064800000, \"values\": [{\"v\": 3}, {\"v\": 4}]}"
                                                .getBytes(StandardCharsets.UTF_8))
                                .value()
                                .value())
                .isEqualTo(3.0);
    }

    @ParameterizedTest
    @CsvSource(
            delimiter = '|',
            value = {
                "{\"Time\": \"2026-11-25T10:15:00\", \"ENERGY\": {}}|missing_field|/ENERGY/Power is missing",
                "{\"Time\": \"2026-11-25T10:15:00\", \"ENERGY\": 45}|missing_field|/ENERGY/Power is missing",
                "{\"Time\": \"2026-11-25T10:15:00\", \"ENERGY\": {\"Power\": \"45\"}}|wrong_type|/ENERGY/Power must be a number, found a string",
                "{\"Time\": \"2026-11-25T10:15:00\", \"ENERGY\": {\"Power\": NaN}}|not_finite|/ENERGY/Power is NaN, not finite",
                "{\"ENERGY\": {\"Power\": 1}}|missing_field|/Time is missing",
                "{\"Time\": \"2026-11-25T10:15:00\", \"ENERGY\": {\"Power\": 1, \"Unit\": 3}}|wrong_type|/ENERGY/Unit must be a string",
                "{\"Time\": 1, \"Time\": 2}|malformed_json|Duplicate field 'Time'",
                "{\"ENERGY\": {\"Power\": 1}} {}|malformed_json|''",
                "[1]|not_an_object|''",
                "{\"Time\"|malformed_json|''"
            })
    void aNestedFieldsMistakeNamesItsPointer(String payload, String reason, String detail) {
        Parsed.Rejected<SensorReading> r = (Parsed.Rejected<SensorReading>) nested(payload);
        assertThat(r.reason().code()).as(payload).isEqualTo(reason);
        assertThat(r.detail()).as(payload).contains(detail);
    }

    @Test
    void aPointerIsForASingleReading() {
        assertThatThrownBy(
                        () ->
                                new PayloadFormat(
                                                "/Time", "value", "unit", "quality", "seq", false,
                                                "")
                                        .withFields(List.of(), java.util.Map.of()))
                .hasMessage(
                        "ts is read from '/Time', a path into the payload, but type fields reads its"
                                + " top-level fields only");
    }

    /** Read by a pointer, a value is read as the same value at the top level is. */
    @ParameterizedTest
    @CsvSource(
            delimiter = '|',
            value = {
                "-0.0|ok",
                "1e-2147483649|ok",
                "12345678901234567890123|ok",
                "0.1|ok",
                "1e400|not_finite",
                "-1e400|not_finite",
                "1e3000000000|not_finite",
                "NaN|not_finite",
                "'\"7\"'|wrong_type",
                "true|wrong_type",
                "null|wrong_type"
            })
    void aPointerReadsAValueAsTheTopLevelDoes(String value, String outcome) {
        MqttPayloadCodec top =
                new MqttPayloadCodec(
                        TopicTemplate.defaults(),
                        ReadingLimits.defaults().withClock(Clock.fixed(NOW, ZoneOffset.UTC)),
                        new PayloadFormat("ts", "value", "unit", "quality", "seq", true, ""));
        MqttPayloadCodec pointer =
                new MqttPayloadCodec(
                        TopicTemplate.defaults(),
                        ReadingLimits.defaults().withClock(Clock.fixed(NOW, ZoneOffset.UTC)),
                        new PayloadFormat("ts", "/d/value", "unit", "quality", "seq", true, ""));
        // An unread field beyond a BigDecimal's exponent changes nothing either.
        String extra = ", \"x\": 1e-2147483649, \"seq\": 3, \"ts\": 1764064800.1}";
        for (Parsed<SensorReading> p :
                List.of(
                        top.decode(
                                "plant/a/b/c/d/e",
                                ("{\"value\": " + value + extra).getBytes(StandardCharsets.UTF_8)),
                        pointer.decode(
                                "plant/a/b/c/d/e",
                                ("{\"d\": {\"value\": " + value + "}" + extra)
                                        .getBytes(StandardCharsets.UTF_8)))) {
            if (outcome.equals("ok")) {
                assertThat(p.isOk()).as(value + ": " + p).isTrue();
                assertThat(Double.doubleToRawLongBits(p.value().value()))
                        .isEqualTo(Double.doubleToRawLongBits(Double.parseDouble(value)));
                assertThat(p.value().timestamp()).isEqualTo(1764064800100L);
                assertThat(p.value().seq()).isEqualTo(3);
            } else {
                assertThat(((Parsed.Rejected<SensorReading>) p).reason().code())
                        .as(value + ": " + p)
                        .isEqualTo(outcome);
            }
        }
    }

    @Test
    void aBlankPayloadSaysSoUnderAPointerFormatToo() {
        Parsed.Rejected<SensorReading> r = (Parsed.Rejected<SensorReading>) nested("   ");
        assertThat(r.detail()).isEqualTo("payload must be a JSON object, found nothing");
    }
}
