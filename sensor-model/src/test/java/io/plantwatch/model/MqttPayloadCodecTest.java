package io.plantwatch.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class MqttPayloadCodecTest {

    static final Instant NOW = Instant.parse("2026-11-25T10:00:00Z");
    static final String TOPIC = "plant/dresden/press-shop/line-1/press-3/temp-1";
    static final MqttPayloadCodec CODEC =
            new MqttPayloadCodec(
                    TopicTemplate.defaults(),
                    ReadingLimits.defaults().withClock(Clock.fixed(NOW, ZoneOffset.UTC)));

    static Parsed<SensorReading> decode(String json) {
        return CODEC.decode(TOPIC, json.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void parsesTheFullContractWithEpochMillis() {
        SensorReading r =
                decode(
                                "{\"ts\": 1764064800000, \"value\": 71.25, \"unit\": \"degC\","
                                        + " \"quality\": \"UNCERTAIN\", \"seq\": 42}")
                        .value();
        assertThat(r.sensorId())
                .isEqualTo(new SensorId("dresden", "press-shop", "line-1", "press-3", "temp-1"));
        assertThat(r.timestamp()).isEqualTo(1764064800000L);
        assertThat(r.value()).isEqualTo(71.25);
        assertThat(r.unit()).isEqualTo("degC");
        assertThat(r.quality()).isEqualTo(Quality.UNCERTAIN);
        assertThat(r.seq()).isEqualTo(42);
    }

    /**
     * A PLC bridge's own names: time in epoch seconds (a fraction to the millisecond), the value
     * under its own name, a unit it never sends; design.md's names then mean nothing, and the
     * errors name the fields as the device does.
     */
    @Test
    void readsAPayloadWithItsOwnFieldNamesEpochSecondsAndADefaultUnit() {
        MqttPayloadCodec plc =
                new MqttPayloadCodec(
                        TopicTemplate.defaults(),
                        ReadingLimits.defaults().withClock(Clock.fixed(NOW, ZoneOffset.UTC)),
                        new PayloadFormat("timestamp", "temp", "u", "q", "n", true, "degC"));
        SensorReading r =
                plc.decode(
                                TOPIC,
                                "{\"timestamp\": 1764064800.25, \"temp\": 21.5, \"ts\": \"x\", \"n\": 7}"
                                        .getBytes(StandardCharsets.UTF_8))
                        .value();
        assertThat(r.timestamp()).isEqualTo(1764064800250L);
        assertThat(r.value()).isEqualTo(21.5);
        assertThat(r.unit()).isEqualTo("degC");
        assertThat(r.seq()).isEqualTo(7);
        assertThat(
                        plc.decode(
                                        TOPIC,
                                        "{\"timestamp\": 1764064800, \"u\": \"degF\", \"temp\": 70}"
                                                .getBytes(StandardCharsets.UTF_8))
                                .value()
                                .unit())
                .isEqualTo("degF");
        Parsed<SensorReading> missing =
                plc.decode(
                        TOPIC,
                        "{\"ts\": 1764064800000, \"value\": 1}".getBytes(StandardCharsets.UTF_8));
        assertThat(missing.isOk()).isFalse();
        assertThat(((Parsed.Rejected<SensorReading>) missing).detail())
                .isEqualTo("timestamp is missing");
        Parsed<SensorReading> wrong =
                plc.decode(
                        TOPIC,
                        "{\"timestamp\": 1764064800, \"temp\": \"hot\"}"
                                .getBytes(StandardCharsets.UTF_8));
        assertThat(((Parsed.Rejected<SensorReading>) wrong).detail())
                .startsWith("temp must be a number");
        // To the millisecond exactly, an empty unit as none, the limits' codes as ever.
        assertThat(
                        plc.decode(
                                        TOPIC,
                                        "{\"timestamp\": 1764064800.1, \"temp\": 1, \"u\": \"\"}"
                                                .getBytes(StandardCharsets.UTF_8))
                                .value())
                .extracting(SensorReading::timestamp, SensorReading::unit)
                .containsExactly(1764064800100L, "degC");
        assertThat(
                        ((Parsed.Rejected<SensorReading>)
                                        plc.decode(
                                                TOPIC,
                                                "{\"timestamp\": NaN, \"temp\": 1}"
                                                        .getBytes(StandardCharsets.UTF_8)))
                                .reason())
                .isEqualTo(RejectReason.NOT_FINITE);
        assertThat(
                        ((Parsed.Rejected<SensorReading>)
                                        plc.decode(
                                                TOPIC,
                                                "{\"timestamp\": -1e300, \"temp\": 1}"
                                                        .getBytes(StandardCharsets.UTF_8)))
                                .reason())
                .isEqualTo(RejectReason.TIMESTAMP_TOO_OLD);
        // A dozen characters whose exact rounding would take ten to the power of their exponent.
        for (String huge : List.of("1e500000000", "1e-500000000", "-1e500000000")) {
            assertThat(
                            plc.decode(
                                            TOPIC,
                                            ("{\"timestamp\": " + huge + ", \"temp\": 1}")
                                                    .getBytes(StandardCharsets.UTF_8))
                                    .isOk())
                    .isFalse();
        }
        Parsed.Rejected<SensorReading> ms =
                (Parsed.Rejected<SensorReading>)
                        plc.decode(
                                TOPIC,
                                "{\"timestamp\": 1764064800000, \"temp\": 1}"
                                        .getBytes(StandardCharsets.UTF_8));
        assertThat(ms.reason()).isEqualTo(RejectReason.TIMESTAMP_IN_FUTURE);
        assertThat(
                        ((Parsed.Rejected<SensorReading>)
                                        plc.decode(
                                                TOPIC,
                                                "{\"timestamp\": 1764064800, \"temp\": 1, \"n\": -1}"
                                                        .getBytes(StandardCharsets.UTF_8)))
                                .detail())
                .isEqualTo("n must be >= 0, was -1");
        org.assertj.core.api.Assertions.assertThatThrownBy(
                        () -> new PayloadFormat("t", "t", "unit", "quality", "seq", false, ""))
                .hasMessage("ts and value are both read from field 't'");
    }

    @Test
    void parsesIsoTimestampsWithOffsetsAndDefaultsOptionalFields() {
        SensorReading r =
                decode("{\"value\": -3, \"ts\": \"2026-11-25T10:30:00.250+01:00\"}").value();
        assertThat(r.eventTime()).isEqualTo(Instant.parse("2026-11-25T09:30:00.250Z"));
        assertThat(r.value()).isEqualTo(-3.0);
        assertThat(r.unit()).isEmpty();
        assertThat(r.quality()).isEqualTo(Quality.GOOD);
        assertThat(r.hasSeq()).isFalse();
    }

    @Test
    void ignoresUnknownFieldsOfAnyShape() {
        Parsed<SensorReading> p =
                decode(
                        "{\"fw\": {\"v\": [1, 2, {\"x\": null}]}, \"ts\": 1764064800000,"
                                + " \"value\": 1.5, \"battery\": 0.9}");
        assertThat(p.isOk()).isTrue();
        assertThat(p.value().value()).isEqualTo(1.5);
    }

    @Test
    void roundTripsWhatItEncodes() {
        SensorReading r =
                new SensorReading(
                        SensorId.parse("dresden/press-shop/line-1/press-3/temp-1"),
                        1764064800123L,
                        21.125,
                        "degC",
                        Quality.BAD,
                        7);
        assertThat(CODEC.decode(TOPIC, CODEC.encode(r)).value()).isEqualTo(r);
        assertThat(CODEC.decode(TOPIC, CODEC.encode(r, true)).value()).isEqualTo(r);
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(
            delimiter = '|',
            textBlock =
                    """
            {"ts": 1764064800000, "value": 1                         | malformed_json      | Unexpected end-of-input
            not json at all                                          | malformed_json      | Unrecognized token
            {"ts": 1764064800000, "value": 1} trailing               | malformed_json      | Unrecognized token
            {"ts": 1764064800000, "value": 1, "value": 2}            | malformed_json      | Duplicate field
            [1, 2]                                                   | not_an_object       | found an array
            "just a string"                                          | not_an_object       | found a string
            {"value": 1}                                             | missing_field       | ts is missing
            {"ts": 1764064800000}                                    | missing_field       | value is missing
            {"ts": 1764064800000, "value": "21.5"}                   | wrong_type          | value must be a number, found a string
            {"ts": 1764064800000, "value": true}                     | wrong_type          | value must be a number, found a boolean
            {"ts": 1764064800000, "value": null}                     | wrong_type          | value must be a number, found null
            {"ts": 1764064800000, "value": NaN}                      | not_finite          | value is NaN
            {"ts": 1764064800000, "value": -Infinity}                | not_finite          | not finite
            {"ts": 1764064800000, "value": 1e999}                    | not_finite          | not finite
            {"ts": true, "value": 1}                                 | wrong_type          | ts must be an ISO-8601 string or epoch milliseconds
            {"ts": 1764064800000.5, "value": 1}                      | wrong_type          | not a fraction
            {"ts": "yesterday", "value": 1}                          | invalid_field       | is not ISO-8601 with a zone offset
            {"ts": "2026-11-25T10:00:00", "value": 1}                | invalid_field       | is not ISO-8601 with a zone offset
            {"ts": "+999999999-12-31T23:59:59Z", "value": 1}         | invalid_field       | ts '+999999999-12-31T23:59:59Z' is out of range
            {"ts": 1795604400000, "value": 1}                        | timestamp_in_future | ahead of this clock
            {"ts": 99999999999999999999999, "value": 1}              | timestamp_in_future | out of range
            {"ts": 1764064800, "value": 1}                           | timestamp_too_old   | epoch seconds instead of milliseconds?
            {"ts": "1999-12-31T23:59:59Z", "value": 1}               | timestamp_too_old   | before 2000-01-01T00:00:00Z
            {"ts": 1764064800000, "value": 1, "quality": "MEH"}      | invalid_field       | is not GOOD, UNCERTAIN or BAD
            {"ts": 1764064800000, "value": 1, "quality": 1}          | wrong_type          | quality must be a string
            {"ts": 1764064800000, "value": 1, "seq": -5}             | invalid_field       | seq must be >= 0
            {"ts": 1764064800000, "value": 1, "seq": 1.5}            | wrong_type          | seq must be an integer
            {"ts": 1764064800000, "value": 1, "seq": 99999999999999999999} | invalid_field | seq does not fit in 64 bits
            {"ts": 1764064800000, "value": 1, "unit": 5}             | wrong_type          | unit must be a string
            {"ts": 1764064800000, "value": 1, "unit": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"} | invalid_field | unit is longer than 32
            """)
    void rejectsBadPayloadsWithAReasonAPersonCanRead(String json, String code, String detail) {
        Parsed<SensorReading> p = decode(json);
        assertThat(p).isInstanceOf(Parsed.Rejected.class);
        Parsed.Rejected<SensorReading> r = (Parsed.Rejected<SensorReading>) p;
        assertThat(r.reason().code()).isEqualTo(code);
        assertThat(r.detail()).contains(detail);
    }

    @Test
    void rejectsEmptyAndOversizedPayloadsBeforeParsing() {
        assertThat(reason(CODEC.decode(TOPIC, new byte[0]))).isEqualTo(RejectReason.MALFORMED_JSON);
        byte[] big = new byte[ReadingLimits.DEFAULT_MAX_PAYLOAD_BYTES + 1];
        java.util.Arrays.fill(big, (byte) ' ');
        Parsed<SensorReading> p = CODEC.decode(TOPIC, big);
        assertThat(reason(p)).isEqualTo(RejectReason.OVERSIZED);
        assertThat(((Parsed.Rejected<?>) p).detail()).contains("16385 bytes, the limit is 16384");
    }

    @Test
    void rejectsInvalidUtf8AsMalformed() {
        byte[] bad = {'{', '"', 't', 's', '"', ':', '"', (byte) 0xC3, (byte) 0x28, '"', '}'};
        assertThat(reason(CODEC.decode(TOPIC, bad))).isEqualTo(RejectReason.MALFORMED_JSON);
    }

    /**
     * The contract is UTF-8 JSON; Jackson detects UTF-16 and UTF-32 on its own and took them, so a
     * device that sent them looked fine here and broke any other consumer of the topic.
     */
    @Test
    void rejectsJsonInUtf16OrUtf32() {
        String json = "{\"ts\": 1764064800000, \"value\": 1}";
        for (java.nio.charset.Charset other :
                List.of(
                        StandardCharsets.UTF_16BE,
                        StandardCharsets.UTF_16LE,
                        StandardCharsets.UTF_16,
                        java.nio.charset.Charset.forName("UTF-32"))) {
            Parsed<SensorReading> p = CODEC.decode(TOPIC, json.getBytes(other));
            assertThat(reason(p)).as(other.name()).isEqualTo(RejectReason.MALFORMED_JSON);
            assertThat(((Parsed.Rejected<?>) p).detail()).contains("not UTF-8");
        }
        assertThat(CODEC.decode(TOPIC, json.getBytes(StandardCharsets.UTF_8)).isOk()).isTrue();
    }

    @Test
    void rejectsTopicsOutsideTheNamespace() {
        byte[] ok = "{\"ts\": 1764064800000, \"value\": 1}".getBytes(StandardCharsets.UTF_8);
        Parsed<SensorReading> p = CODEC.decode("factory/a/b/c/d/e", ok);
        assertThat(reason(p)).isEqualTo(RejectReason.TOPIC_MISMATCH);
        assertThat(((Parsed.Rejected<?>) p).detail()).contains("does not start with 'plant/'");
        assertThat(reason(CODEC.decode("plant/a/b/c/d", ok)))
                .isEqualTo(RejectReason.TOPIC_MISMATCH);
    }

    @Test
    void futureSkewIsConfigurable() {
        MqttPayloadCodec lenient =
                new MqttPayloadCodec(
                        TopicTemplate.defaults(),
                        ReadingLimits.defaults()
                                .withClock(Clock.fixed(NOW, ZoneOffset.UTC))
                                .withMaxFutureSkew(Duration.ofHours(2)));
        byte[] inAnHour =
                ("{\"ts\": " + NOW.plus(Duration.ofHours(1)).toEpochMilli() + ", \"value\": 1}")
                        .getBytes(StandardCharsets.UTF_8);
        assertThat(lenient.decode(TOPIC, inAnHour).isOk()).isTrue();
        assertThat(reason(CODEC.decode(TOPIC, inAnHour)))
                .isEqualTo(RejectReason.TIMESTAMP_IN_FUTURE);
    }

    /**
     * Text that rewrites what shows around it: an ANSI escape erases a console line, CR/LF forge
     * one, a bidi override reverses a name, U+2028 breaks a line. None may name a sensor or be a
     * unit; printable non-ASCII may. Each case is written as JSON's escape of the characters.
     */
    @ParameterizedTest
    @CsvSource({
        "'\\u001b[1A\\u001b[2K\\rdegC', '\u001b[1A\u001b[2K\rdegC'",
        "'degC\\r\\n00:00:00  RESOLVED', 'degC\r\n00:00:00  RESOLVED'",
        "'deg\\u202eC', 'deg\u202eC'",
        "'deg\\u2028C', 'deg\u2028C'",
        "'deg\\u200bC', 'deg\u200bC'",
        "'deg\\udb40\\udc41C', 'deg\udb40\udc41C'"
    })
    void unitsAndNamesMayNotRewriteTheTextAroundThem(String inJson, String hostile) {
        Parsed<SensorReading> unit =
                decode("{\"ts\": 1764064800000, \"value\": 1, \"unit\": \"" + inJson + "\"}");
        assertThat(reason(unit)).isEqualTo(RejectReason.INVALID_FIELD);
        assertThat(((Parsed.Rejected<?>) unit).detail())
                .contains("contains a control or format character")
                .doesNotContain("\r", "\n", "\u001b", "\u202e", "\u2028");
        byte[] ok = "{\"ts\": 1764064800000, \"value\": 1}".getBytes(StandardCharsets.UTF_8);
        assertThat(reason(CODEC.decode("plant/a/b/c/d/t" + hostile, ok)))
                .isEqualTo(RejectReason.TOPIC_MISMATCH);
        assertThat(CODEC.decode("plant/a/b/c/d/Temperatur-\u00fc\u00df-\u6e29\u5ea6", ok).isOk())
                .isTrue();
    }

    /** A leap second is valid ISO-8601: taken as the last millisecond before it. */
    @Test
    void aLeapSecondIsTheLastMillisecondBeforeIt() {
        MqttPayloadCodec then =
                new MqttPayloadCodec(
                        TopicTemplate.defaults(),
                        ReadingLimits.defaults()
                                .withClock(
                                        Clock.fixed(
                                                Instant.parse("2017-01-01T00:00:00Z"),
                                                ZoneOffset.UTC)));
        Parsed<SensorReading> r =
                then.decode(
                        TOPIC,
                        "{\"ts\": \"2016-12-31T23:59:60.250Z\", \"value\": 1}"
                                .getBytes(StandardCharsets.UTF_8));
        assertThat(r.isOk()).as(r.toString()).isTrue();
        assertThat(r.value().timestamp())
                .isEqualTo(Instant.parse("2016-12-31T23:59:59.999Z").toEpochMilli());
        assertThat(reason(decode("{\"ts\": \"2026-11-25T09:59:61Z\", \"value\": 1}")))
                .isEqualTo(RejectReason.INVALID_FIELD);
    }

    static RejectReason reason(Parsed<?> p) {
        return p instanceof Parsed.Rejected<?> r ? r.reason() : null;
    }
}
