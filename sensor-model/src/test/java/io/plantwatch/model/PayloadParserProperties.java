package io.plantwatch.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Random and mutated payloads: the parser never throws, and whatever it accepts is a reading that
 * satisfies every rule of the contract.
 */
class PayloadParserProperties {

    static final Instant NOW = Instant.parse("2026-11-25T10:00:00Z");
    static final ReadingLimits LIMITS =
            ReadingLimits.defaults().withClock(Clock.fixed(NOW, ZoneOffset.UTC));
    static final MqttPayloadCodec CODEC = new MqttPayloadCodec(TopicTemplate.defaults(), LIMITS);
    static final String TOPIC = "plant/s/a/l/m/temp";

    @Property(tries = 3000)
    void randomBytesNeverThrowAndAreNeverAccepted(@ForAll byte[] payload) {
        Parsed<SensorReading> p = CODEC.decode(TOPIC, payload);
        // Random bytes are almost never a valid object with ts and value; if one ever is, it
        // still has to satisfy the contract.
        if (p.isOk()) {
            assertValid(p.value());
        }
    }

    @Property(tries = 3000)
    void mutatedValidPayloadsAreRejectedOrValid(@ForAll("mutatedPayloads") byte[] payload) {
        Parsed<SensorReading> p = CODEC.decode(TOPIC, payload);
        if (p.isOk()) {
            assertValid(p.value());
        } else {
            Parsed.Rejected<SensorReading> r = (Parsed.Rejected<SensorReading>) p;
            assertThat(r.detail()).isNotBlank().doesNotContain("\n");
        }
    }

    @Property(tries = 2000)
    void randomJsonObjectsAreAcceptedOnlyWhenTheyFollowTheContract(
            @ForAll("jsonObjects") String json) {
        Parsed<SensorReading> p = CODEC.decode(TOPIC, json.getBytes(StandardCharsets.UTF_8));
        if (p.isOk()) {
            assertValid(p.value());
            assertThat(json).contains("\"ts\"").contains("\"value\"");
        }
    }

    @Property(tries = 1000)
    void validReadingsRoundTrip(@ForAll("readings") SensorReading r) {
        assertThat(CODEC.decode(TOPIC, CODEC.encode(r)).value()).isEqualTo(r);
        assertThat(new AvroReadingCodec().decode(new AvroReadingCodec().encode(r)).value())
                .isEqualTo(r);
    }

    @Property(tries = 2000)
    void randomTopicsNeverThrow(@ForAll String topic) {
        Parsed<SensorId> p = TopicTemplate.defaults().parse(topic);
        if (p.isOk()) {
            assertThat(TopicTemplate.defaults().topicFor(p.value())).isEqualTo(topic);
        }
    }

    @Property(tries = 2000)
    void randomAvroBytesNeverThrow(@ForAll byte[] bytes) {
        byte[] framed = new byte[bytes.length + 2];
        framed[0] = AvroFrame.MAGIC;
        framed[1] = 1;
        System.arraycopy(bytes, 0, framed, 2, bytes.length);
        Parsed<SensorReading> p = new AvroReadingCodec().decode(framed);
        if (p.isOk()) {
            assertThat(Double.isFinite(p.value().value())).isTrue();
        }
        new AvroAlertCodec().decode(framed);
        framed[1] = (byte) AvroAlertCodec.history().currentVersion();
        new AvroAlertCodec().decode(framed);
    }

    static void assertValid(SensorReading r) {
        assertThat(Double.isFinite(r.value())).isTrue();
        assertThat(r.timestamp())
                .isBetween(
                        LIMITS.earliest().toEpochMilli(),
                        NOW.toEpochMilli() + LIMITS.maxFutureSkew().toMillis());
        assertThat(r.seq()).isGreaterThanOrEqualTo(SensorReading.NO_SEQ);
        assertThat(r.unit().length()).isLessThanOrEqualTo(SensorReading.MAX_UNIT_LENGTH);
    }

    @Provide
    Arbitrary<SensorReading> readings() {
        return Combinators.combine(
                        Arbitraries.longs()
                                .between(LIMITS.earliest().toEpochMilli(), NOW.toEpochMilli()),
                        Arbitraries.doubles().between(-1e12, 1e12),
                        Arbitraries.strings().alpha().ofMaxLength(8),
                        Arbitraries.of(Quality.class),
                        Arbitraries.longs().between(-1, Long.MAX_VALUE))
                .as(
                        (ts, v, unit, q, seq) ->
                                new SensorReading(
                                        new SensorId("s", "a", "l", "m", "temp"),
                                        ts,
                                        v,
                                        unit,
                                        q,
                                        seq));
    }

    @Provide
    Arbitrary<byte[]> mutatedPayloads() {
        Arbitrary<byte[]> valid = readings().map(r -> CODEC.encode(r, r.seq() % 2 == 0));
        return Combinators.combine(
                        valid,
                        Arbitraries.integers().between(0, 200),
                        Arbitraries.integers().between(0, 255),
                        Arbitraries.integers().between(0, 3))
                .as(
                        (bytes, pos, b, op) -> {
                            int at = pos % bytes.length;
                            return switch (op) {
                                case 0 -> { // flip one byte
                                    byte[] c = bytes.clone();
                                    c[at] = (byte) b.intValue();
                                    yield c;
                                }
                                case 1 -> java.util.Arrays.copyOf(bytes, at); // truncate
                                case 2 -> { // delete one byte
                                    byte[] c = new byte[bytes.length - 1];
                                    System.arraycopy(bytes, 0, c, 0, at);
                                    System.arraycopy(bytes, at + 1, c, at, bytes.length - at - 1);
                                    yield c;
                                }
                                default -> { // insert one byte
                                    byte[] c = new byte[bytes.length + 1];
                                    System.arraycopy(bytes, 0, c, 0, at);
                                    c[at] = (byte) b.intValue();
                                    System.arraycopy(bytes, at, c, at + 1, bytes.length - at);
                                    yield c;
                                }
                            };
                        });
    }

    @Provide
    Arbitrary<String> jsonObjects() {
        Arbitrary<String> keys = Arbitraries.of("ts", "value", "unit", "quality", "seq", "x");
        Arbitrary<String> values =
                Arbitraries.oneOf(
                        Arbitraries.longs().map(String::valueOf),
                        Arbitraries.doubles().map(String::valueOf),
                        Arbitraries.of(
                                "null",
                                "true",
                                "\"GOOD\"",
                                "\"bad\"",
                                "NaN",
                                "Infinity",
                                "\"2026-11-25T09:00:00Z\"",
                                "\"2026-11-25 09:00\"",
                                "[]",
                                "{}",
                                "1764064800000",
                                "-1",
                                "1e400"));
        Arbitrary<String> entry =
                Combinators.combine(keys, values).as((k, v) -> "\"" + k + "\":" + v);
        return entry.list().ofMaxSize(6).map(l -> "{" + String.join(",", l) + "}");
    }
}
