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
            new PayloadFormat(
                    "ts",
                    "v",
                    "unit",
                    "quality",
                    "seq",
                    false,
                    "bar",
                    PayloadFormat.Type.JSON,
                    true);

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
    void theChoiceKeptPerSensorIsBounded() {
        PayloadFormats formats =
                new PayloadFormats(
                        PayloadFormat.DEFAULT,
                        List.of(
                                new PayloadFormats.Named(
                                        "odd", new SensorGlob("*/*/*/*/s-*1"), SHELLY)));
        for (int i = 0; i < PayloadFormats.MAX_KEPT + 10; i++) {
            SensorId id = new SensorId("s", "a", "l", "m", "s-" + i);
            assertThat(formats.formatFor(id).format())
                    .isEqualTo(i % 10 == 1 ? SHELLY : PayloadFormat.DEFAULT);
        }
        assertThat(formats.kept()).isLessThanOrEqualTo(PayloadFormats.MAX_KEPT);
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
                                        false))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("carries no time");
    }
}
