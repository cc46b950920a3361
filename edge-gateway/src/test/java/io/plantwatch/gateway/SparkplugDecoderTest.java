package io.plantwatch.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.plantwatch.model.MqttPayloadCodec;
import io.plantwatch.model.Quality;
import io.plantwatch.model.ReadingLimits;
import io.plantwatch.model.RejectReason;
import io.plantwatch.model.SensorReading;
import java.math.BigInteger;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.eclipse.tahu.message.SparkplugBPayloadDecoder;
import org.eclipse.tahu.message.SparkplugBPayloadEncoder;
import org.eclipse.tahu.message.model.Metric;
import org.eclipse.tahu.message.model.MetricDataType;
import org.eclipse.tahu.message.model.PropertyDataType;
import org.eclipse.tahu.message.model.PropertySet;
import org.eclipse.tahu.message.model.PropertyValue;
import org.eclipse.tahu.message.model.SparkplugBPayload;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The Sparkplug B intake, fed payloads that Eclipse Tahu, Sparkplug's reference implementation,
 * encodes.
 */
class SparkplugDecoderTest {
    static final long NOW = Instant.parse("2026-11-25T10:00:00Z").toEpochMilli();
    static final long T = NOW - 60_000;

    private final List<String> commands = new ArrayList<>();
    private final GatewayMetrics metrics = new GatewayMetrics();
    private Clock clock = Clock.fixed(Instant.ofEpochMilli(NOW), ZoneOffset.UTC);

    private SparkplugDecoder decoder(SparkplugSettings settings) {
        return new SparkplugDecoder(
                settings,
                ReadingLimits.defaults()
                        .withClock(
                                new Clock() {
                                    @Override
                                    public java.time.ZoneId getZone() {
                                        return ZoneOffset.UTC;
                                    }

                                    @Override
                                    public Clock withZone(java.time.ZoneId zone) {
                                        return this;
                                    }

                                    @Override
                                    public Instant instant() {
                                        return clock.instant();
                                    }
                                }),
                (topic, payload) -> commands.add(topic + " " + rebirthOf(payload)),
                metrics);
    }

    private SparkplugDecoder decoder() {
        return decoder(settings(SparkplugSettings.DEFAULT_SENSOR_ID));
    }

    static SparkplugSettings settings(String sensorId) {
        return new SparkplugSettings(List.of("+"), sensorId, null, true, 262_144);
    }

    static byte[] encode(Long seq, Long timestamp, Metric... metrics) throws Exception {
        SparkplugBPayload.SparkplugBPayloadBuilder b =
                new SparkplugBPayload.SparkplugBPayloadBuilder();
        if (seq != null) {
            b.setSeq(seq);
        }
        if (timestamp != null) {
            b.setTimestamp(new Date(timestamp));
        }
        for (Metric m : metrics) {
            b.addMetric(m);
        }
        return new SparkplugBPayloadEncoder().getBytes(b.createPayload(), false);
    }

    static Metric metric(String name, Long alias, MetricDataType type, Object value)
            throws Exception {
        // Without a time of its own unless a test gives it one: it then has the payload's.
        Metric.MetricBuilder b = new Metric.MetricBuilder(name, type, value).timestamp(null);
        if (alias != null) {
            b.alias(alias);
        }
        return b.createMetric();
    }

    static Metric byAlias(long alias, MetricDataType type, Object value) throws Exception {
        return new Metric.MetricBuilder(alias, type, value).timestamp(null).createMetric();
    }

    static Metric withProperties(Metric m, String unit, Integer quality) throws Exception {
        PropertySet.PropertySetBuilder p = new PropertySet.PropertySetBuilder();
        if (unit != null) {
            p.addProperty("engUnit", new PropertyValue<>(PropertyDataType.String, unit));
        }
        if (quality != null) {
            p.addProperty("Quality", new PropertyValue<>(PropertyDataType.Int32, quality));
        }
        return new Metric.MetricBuilder(m).properties(p.createPropertySet()).createMetric();
    }

    static Metric bdSeq(long n) throws Exception {
        return metric("bdSeq", null, MetricDataType.Int64, n);
    }

    /** What a rebirth request asks, as Tahu reads it. */
    static String rebirthOf(byte[] payload) {
        try {
            SparkplugBPayload p = new SparkplugBPayloadDecoder().buildFromByteArray(payload, null);
            Metric m = p.getMetrics().get(0);
            return m.getName() + "=" + m.getValue();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    /** A message as the broker sends it live (not its topic's retained one). */
    static MqttPayloadCodec.Decoded live(SparkplugDecoder decoder, String topic, byte[] payload) {
        return decoder.decode(topic, payload, false);
    }

    private static Map<String, String> byId(MqttPayloadCodec.Decoded d) {
        Map<String, String> out = new LinkedHashMap<>();
        for (SensorReading r : d.readings()) {
            out.put(
                    r.sensorId().id(),
                    r.value() + " " + r.unit() + " " + r.quality() + " " + (r.timestamp() - T));
        }
        return out;
    }

    private double skipped(String why) {
        return metrics.sparkplugSkipped.labelValues(why).get();
    }

    @Test
    void aBirthCertificateYieldsEveryNumericMetricAsTahuEncodesIt() throws Exception {
        MqttPayloadCodec.Decoded d =
                live(
                        decoder(),
                        "spBv1.0/hall-3/NBIRTH/line-2",
                        encode(
                                0L,
                                T,
                                bdSeq(0),
                                metric("Node Control/Rebirth", null, MetricDataType.Boolean, false),
                                metric("i8", 1L, MetricDataType.Int8, (byte) -5),
                                metric("i16", 2L, MetricDataType.Int16, (short) -300),
                                metric("i32", 3L, MetricDataType.Int32, -70_000),
                                metric("i64", 4L, MetricDataType.Int64, -5_000_000_000L),
                                metric("u8", 5L, MetricDataType.UInt8, (short) 250),
                                metric("u16", 6L, MetricDataType.UInt16, 65_000),
                                metric("u32", 7L, MetricDataType.UInt32, 4_000_000_000L),
                                metric(
                                        "u64",
                                        8L,
                                        MetricDataType.UInt64,
                                        new BigInteger("18000000000000000000")),
                                metric("f", 9L, MetricDataType.Float, 21.5f),
                                metric("d", 10L, MetricDataType.Double, -0.125),
                                metric("running", 11L, MetricDataType.Boolean, true),
                                metric("recipe", 12L, MetricDataType.String, "A-7")));
        assertThat(d.rejected()).isNull();
        String node = "hall-3/default/line-2/default/";
        assertThat(byId(d))
                .containsExactly(
                        Map.entry(node + "i8", "-5.0  GOOD 0"),
                        Map.entry(node + "i16", "-300.0  GOOD 0"),
                        Map.entry(node + "i32", "-70000.0  GOOD 0"),
                        Map.entry(node + "i64", "-5.0E9  GOOD 0"),
                        Map.entry(node + "u8", "250.0  GOOD 0"),
                        Map.entry(node + "u16", "65000.0  GOOD 0"),
                        Map.entry(node + "u32", "4.0E9  GOOD 0"),
                        Map.entry(node + "u64", "1.8E19  GOOD 0"),
                        Map.entry(node + "f", "21.5  GOOD 0"),
                        Map.entry(node + "d", "-0.125  GOOD 0"),
                        Map.entry(node + "running", "1.0  GOOD 0"));
        assertThat(d.readings()).allMatch(r -> r.seq() == SensorReading.NO_SEQ);
        assertThat(skipped("control")).isEqualTo(2);
        assertThat(skipped("not_numeric")).isEqualTo(1);
        assertThat(metrics.sparkplugMessages.labelValues("NBIRTH").get()).isEqualTo(1);
        assertThat(commands).isEmpty();
    }

    @Test
    void dataSentByAliasIsReadWithTheNameDataTypeAndUnitOfTheBirth() throws Exception {
        SparkplugDecoder decoder = decoder();
        live(decoder, "spBv1.0/hall-3/NBIRTH/line-2", encode(0L, T, bdSeq(3)));
        MqttPayloadCodec.Decoded birth =
                live(
                        decoder,
                        "spBv1.0/hall-3/DBIRTH/line-2/press-7",
                        encode(
                                1L,
                                T,
                                withProperties(
                                        metric(
                                                "Hydraulics/Oil Temp",
                                                20L,
                                                MetricDataType.Float,
                                                40f),
                                        "degC",
                                        192),
                                metric("Strokes", 21L, MetricDataType.UInt32, 7L)));
        assertThat(byId(birth))
                .containsExactly(
                        Map.entry(
                                "hall-3/default/line-2/press-7/Hydraulics.Oil Temp",
                                "40.0 degC GOOD 0"),
                        Map.entry("hall-3/default/line-2/press-7/Strokes", "7.0  GOOD 0"));
        MqttPayloadCodec.Decoded data =
                live(
                        decoder,
                        "spBv1.0/hall-3/DDATA/line-2/press-7",
                        encode(
                                2L,
                                T + 1000,
                                withProperties(byAlias(20, MetricDataType.Float, 41.5f), null, 64),
                                byAlias(21, MetricDataType.UInt32, 8L)));
        assertThat(data.rejected()).isNull();
        assertThat(byId(data))
                .containsExactly(
                        Map.entry(
                                "hall-3/default/line-2/press-7/Hydraulics.Oil Temp",
                                "41.5 degC UNCERTAIN 1000"),
                        Map.entry("hall-3/default/line-2/press-7/Strokes", "8.0  GOOD 1000"));
        assertThat(metrics.sparkplugSequenceGaps.get()).isZero();
        assertThat(commands).isEmpty();
        assertThat(decoder.nodesOnline()).isEqualTo(1);
    }

    @Test
    void aNodeWhoseBirthWasNotSeenIsAskedForItOnceAndItsAliasesGoToTheDlq() throws Exception {
        SparkplugDecoder decoder = decoder();
        MqttPayloadCodec.Decoded data =
                live(
                        decoder,
                        "spBv1.0/hall-3/DDATA/line-2/press-7",
                        encode(
                                17L,
                                T,
                                byAlias(20, MetricDataType.Float, 41.5f),
                                metric("Strokes", null, MetricDataType.UInt32, 8L)));
        assertThat(byId(data))
                .containsExactly(Map.entry("hall-3/default/line-2/press-7/Strokes", "8.0  GOOD 0"));
        assertThat(data.rejected().reason()).isEqualTo(RejectReason.UNKNOWN_ALIAS);
        assertThat(data.rejected().detail())
                .isEqualTo("metric alias 20 is not in a birth certificate this gateway has seen");
        assertThat(commands)
                .containsExactly("spBv1.0/hall-3/NCMD/line-2 Node Control/Rebirth=true");

        // Within the interval: not asked again, however many messages come.
        clock = Clock.offset(clock, java.time.Duration.ofSeconds(5));
        live(
                decoder,
                "spBv1.0/hall-3/DDATA/line-2/press-7",
                encode(18L, T, byAlias(20, MetricDataType.Float, 42f)));
        assertThat(commands).hasSize(1);
        clock = Clock.offset(clock, java.time.Duration.ofSeconds(6));
        live(
                decoder,
                "spBv1.0/hall-3/DDATA/line-2/press-7",
                encode(19L, T, byAlias(20, MetricDataType.Float, 42f)));
        assertThat(commands).hasSize(2);
        assertThat(metrics.sparkplugRebirthRequests.get()).isEqualTo(2);

        // The rebirth answers it: from then on the alias is known.
        live(decoder, "spBv1.0/hall-3/NBIRTH/line-2", encode(0L, T, bdSeq(4)));
        live(
                decoder,
                "spBv1.0/hall-3/DBIRTH/line-2/press-7",
                encode(1L, T, metric("Oil Temp", 20L, MetricDataType.Float, 42f)));
        MqttPayloadCodec.Decoded after =
                live(
                        decoder,
                        "spBv1.0/hall-3/DDATA/line-2/press-7",
                        encode(2L, T, byAlias(20, MetricDataType.Float, 43f)));
        assertThat(after.rejected()).isNull();
        assertThat(byId(after))
                .containsExactly(
                        Map.entry("hall-3/default/line-2/press-7/Oil Temp", "43.0  GOOD 0"));
        assertThat(commands).hasSize(2);
    }

    @Test
    void aSequenceGapIsCountedAndAsksForABirth() throws Exception {
        SparkplugDecoder decoder = decoder();
        live(
                decoder,
                "spBv1.0/g/NBIRTH/n",
                encode(254L, T, bdSeq(0), metric("t", 1L, MetricDataType.Double, 1.0)));
        live(decoder, "spBv1.0/g/NDATA/n", encode(255L, T, byAlias(1, MetricDataType.Double, 2.0)));
        // 255 wraps to 0.
        live(decoder, "spBv1.0/g/NDATA/n", encode(0L, T, byAlias(1, MetricDataType.Double, 3.0)));
        assertThat(metrics.sparkplugSequenceGaps.get()).isZero();
        MqttPayloadCodec.Decoded afterGap =
                live(
                        decoder,
                        "spBv1.0/g/NDATA/n",
                        encode(3L, T, byAlias(1, MetricDataType.Double, 4.0)));
        assertThat(byId(afterGap))
                .containsExactly(Map.entry("g/default/n/default/t", "4.0  GOOD 0"));
        assertThat(metrics.sparkplugSequenceGaps.get()).isEqualTo(1);
        assertThat(commands).containsExactly("spBv1.0/g/NCMD/n Node Control/Rebirth=true");
    }

    @Test
    void aDeathOfTheCurrentSessionTakesTheNodeOfflineAndALateOneOfAnEarlierSessionDoesNot()
            throws Exception {
        SparkplugDecoder decoder = decoder();
        live(decoder, "spBv1.0/g/NBIRTH/n", encode(0L, T, bdSeq(7)));
        live(decoder, "spBv1.0/g/NBIRTH/m", encode(0L, T, bdSeq(1)));
        assertThat(decoder.nodesOnline()).isEqualTo(2);
        assertThat(live(decoder, "spBv1.0/g/NDEATH/n", encode(null, T, bdSeq(6))).readings())
                .isEmpty();
        assertThat(decoder.nodesOnline()).isEqualTo(2);
        MqttPayloadCodec.Decoded death =
                live(decoder, "spBv1.0/g/NDEATH/n", encode(null, T, bdSeq(7)));
        assertThat(death.readings()).isEmpty();
        assertThat(death.rejected()).isNull();
        assertThat(decoder.nodesOnline()).isEqualTo(1);
        // Born again: online, with a new session.
        live(decoder, "spBv1.0/g/NBIRTH/n", encode(0L, T, bdSeq(8)));
        assertThat(decoder.nodesOnline()).isEqualTo(2);
        assertThat(commands).isEmpty();
    }

    @Test
    void badMetricsGoToTheDlqOnceWhileTheOthersAreRead() throws Exception {
        SparkplugDecoder decoder = decoder();
        MqttPayloadCodec.Decoded d =
                live(
                        decoder,
                        "spBv1.0/g/NBIRTH/n",
                        encode(
                                0L,
                                T,
                                bdSeq(0),
                                metric("ok", null, MetricDataType.Double, 2.0),
                                metric("nan", null, MetricDataType.Float, Float.NaN),
                                new Metric.MetricBuilder(
                                                metric("future", null, MetricDataType.Double, 3.0))
                                        .timestamp(new Date(NOW + 3_600_000))
                                        .createMetric(),
                                metric("x".repeat(70), null, MetricDataType.Double, 4.0),
                                withProperties(
                                        metric("escape", null, MetricDataType.Double, 5.0),
                                        "\u001b[2J",
                                        null),
                                new Metric.MetricBuilder(
                                                metric(
                                                        "historical",
                                                        null,
                                                        MetricDataType.Double,
                                                        6.0))
                                        .timestamp(new Date(T - 86_400_000))
                                        .isHistorical(true)
                                        .createMetric(),
                                new Metric.MetricBuilder(
                                                metric(
                                                        "transient",
                                                        null,
                                                        MetricDataType.Double,
                                                        7.0))
                                        .isTransient(true)
                                        .createMetric(),
                                metric("null", null, MetricDataType.Double, null)));
        assertThat(byId(d))
                .containsExactly(
                        Map.entry("g/default/n/default/ok", "2.0  GOOD 0"),
                        Map.entry("g/default/n/default/historical", "6.0  GOOD -86400000"));
        assertThat(d.rejected().reason()).isEqualTo(RejectReason.NOT_FINITE);
        assertThat(d.rejected().detail())
                .startsWith(
                        "metric 'nan' is NaN, not finite; metric 'future''s timestamp 2026-11-25T11:00:00Z is 3600000 ms ahead")
                .contains(
                        "; metric '"
                                + "x".repeat(70)
                                + "' cannot name a sensor: sensor is longer than 64 characters")
                .endsWith(
                        "; metric 'escape''s engUnit '?[2J' contains a control or format character");
        assertThat(skipped("transient")).isEqualTo(1);
        assertThat(skipped("null")).isEqualTo(1);
    }

    @Test
    void aMetricWithoutTimeTakesThePayloadsAndWithoutEitherIsRefused() throws Exception {
        SparkplugDecoder decoder = decoder();
        MqttPayloadCodec.Decoded d =
                live(
                        decoder,
                        "spBv1.0/g/NDATA/n",
                        encode(null, null, metric("t", null, MetricDataType.Double, 1.0)));
        assertThat(d.readings()).isEmpty();
        assertThat(d.rejected().reason()).isEqualTo(RejectReason.MISSING_FIELD);
        assertThat(d.rejected().detail())
                .isEqualTo("metric 't' has no timestamp, and neither has the payload");
    }

    @ParameterizedTest
    @CsvSource({
        "spBv1.0/g/NDATA, topic_mismatch",
        "spBv1.0/g/DDATA/n, topic_mismatch",
        "spBv1.0/g/NDATA/n/d, topic_mismatch",
        "spBv1.0/g/XDATA/n, topic_mismatch",
        "spBv1.0/STATE/NDATA/n, topic_mismatch",
        "spBv1.0/g/NDATA/n, malformed_protobuf",
    })
    void whatIsNotSparkplugBIsRefusedSayingWhy(String topic, String reason) {
        MqttPayloadCodec.Decoded d = live(decoder(), topic, new byte[] {(byte) 0xFF, 0x01, 0x02});
        assertThat(d.readings()).isEmpty();
        assertThat(d.rejected().reason().code()).isEqualTo(reason);
    }

    /**
     * A payload cut short inside a metric, even where what is left parses (a metric of alias 5
     * whose length claims 127 bytes), is refused, not read as a shorter metric: protobuf's array
     * reader holds the payload's end as its outermost limit, so a nested length past it is a
     * truncated message. So are the simulator's malformed payloads.
     */
    @ParameterizedTest
    @CsvSource({"127f", "127f1005", "127f08", "0f01", "08ffffffffffffffffffffff"})
    void aPayloadCutShortOrNotProtobufIsMalformed(String hex) throws Exception {
        SparkplugDecoder decoder = decoder();
        byte[] payload = java.util.HexFormat.of().parseHex(hex);
        MqttPayloadCodec.Decoded d = live(decoder, "spBv1.0/g/DDATA/n/d", payload);
        assertThat(d.readings()).isEmpty();
        assertThat(d.rejected().reason()).isEqualTo(RejectReason.MALFORMED_PROTOBUF);
        assertThat(decoder.nodesOnline()).isZero();
        // The whole payload cut one byte short is refused too.
        byte[] whole = encode(0L, T, metric("t", 5L, MetricDataType.Double, 1.0));
        assertThat(SparkplugPayload.parse(whole).metrics()).hasSize(1);
        assertThatThrownBy(
                        () ->
                                SparkplugPayload.parse(
                                        java.util.Arrays.copyOf(whole, whole.length - 1)))
                .isInstanceOf(java.io.IOException.class);
    }

    @Test
    void commandsAndHostStatesAreNotReadings() throws Exception {
        SparkplugDecoder decoder = decoder();
        byte[] rebirth = SparkplugPayload.rebirthRequest(NOW);
        assertThat(live(decoder, "spBv1.0/g/NCMD/n", rebirth).readings()).isEmpty();
        assertThat(live(decoder, "spBv1.0/g/NCMD/n", rebirth).rejected()).isNull();
        assertThat(live(decoder, "spBv1.0/STATE/scada", "{\"online\":true}".getBytes()).rejected())
                .isNull();
        assertThat(rebirthOf(rebirth)).isEqualTo("Node Control/Rebirth=true");
    }

    @Test
    void anOversizedPayloadIsRefusedBeforeItIsRead() throws Exception {
        SparkplugDecoder decoder =
                decoder(
                        new SparkplugSettings(
                                List.of("+"), SparkplugSettings.DEFAULT_SENSOR_ID, null, true, 64));
        MqttPayloadCodec.Decoded d =
                live(
                        decoder,
                        "spBv1.0/g/NDATA/n",
                        encode(0L, T, metric("a".repeat(60), null, MetricDataType.Double, 1.0)));
        assertThat(d.rejected().reason()).isEqualTo(RejectReason.OVERSIZED);
    }

    @Test
    void theSensorIdTemplatePlacesTheNamesWhereThePlantWantsThem() throws Exception {
        SparkplugDecoder decoder = decoder(settings("dresden/{group}/{node}/{device}/{metric}"));
        MqttPayloadCodec.Decoded d =
                live(
                        decoder,
                        "spBv1.0/press-shop/DBIRTH/line-1/press-3",
                        encode(0L, T, metric("Motor/Amps", 1L, MetricDataType.Double, 12.5)));
        assertThat(byId(d)).containsOnlyKeys("dresden/press-shop/line-1/press-3/Motor.Amps");
    }

    @ParameterizedTest
    @CsvSource({
        "192, GOOD",
        "0, BAD",
        "500, UNCERTAIN",
        "2, BAD",
        "200, GOOD",
        "64, UNCERTAIN",
        "1073742080, UNCERTAIN",
        "-2147483132, BAD",
        "-1073741056, BAD",
        "8, BAD",
        "24, BAD",
    })
    void qualityCodesOfIgnitionAndOpcDaAreRead(int code, Quality expected) {
        assertThat(SparkplugDecoder.quality(Integer.toUnsignedLong(code))).isEqualTo(expected);
        // Sent as an Int64 property, a negative code is sign-extended.
        assertThat(SparkplugDecoder.quality(code)).isEqualTo(expected);
    }

    @Test
    void aBirthOfMoreMetricsThanAMessageMayYieldKeepsEveryAliasAndSaysWhatWasNotRead()
            throws Exception {
        SparkplugDecoder decoder = decoder();
        int n = SparkplugDecoder.MAX_READINGS_PER_MESSAGE + 2;
        Metric[] metrics = new Metric[n];
        for (int i = 0; i < n; i++) {
            metrics[i] = metric("m" + i, (long) i, MetricDataType.Int16, (short) i);
        }
        MqttPayloadCodec.Decoded birth =
                live(decoder, "spBv1.0/g/NBIRTH/n", encode(0L, T, metrics));
        assertThat(birth.readings()).hasSize(SparkplugDecoder.MAX_READINGS_PER_MESSAGE);
        assertThat(birth.rejected().detail())
                .isEqualTo(
                        "the message holds 10002 numeric metrics; the first 10000 were read, the rest"
                                + " are in this record only");
        MqttPayloadCodec.Decoded data =
                live(
                        decoder,
                        "spBv1.0/g/NDATA/n",
                        encode(1L, T, byAlias(n - 1, MetricDataType.Int16, (short) 7)));
        assertThat(data.rejected()).isNull();
        assertThat(byId(data))
                .containsExactly(Map.entry("g/default/n/default/m10001", "7.0  GOOD 0"));
        assertThat(commands).isEmpty();
    }

    @Test
    void aRetainedBirthOrDataIsNotReadAndLeavesTheNodesStateAlone() throws Exception {
        SparkplugDecoder decoder = decoder();
        live(
                decoder,
                "spBv1.0/g/NBIRTH/n",
                encode(0L, T, bdSeq(2), metric("t", 1L, MetricDataType.Double, 1.0)));
        MqttPayloadCodec.Decoded retained =
                decoder.decode(
                        "spBv1.0/g/NBIRTH/n",
                        encode(0L, T, bdSeq(1), metric("t", 9L, MetricDataType.Double, 0.5)),
                        true);
        assertThat(retained.readings()).isEmpty();
        assertThat(retained.rejected().reason()).isEqualTo(RejectReason.INVALID_FIELD);
        assertThat(retained.rejected().detail())
                .startsWith("a retained NBIRTH, which Sparkplug B forbids");
        MqttPayloadCodec.Decoded data =
                live(
                        decoder,
                        "spBv1.0/g/NDATA/n",
                        encode(1L, T, byAlias(1, MetricDataType.Double, 2.0)));
        assertThat(byId(data)).containsExactly(Map.entry("g/default/n/default/t", "2.0  GOOD 0"));
        assertThat(metrics.sparkplugSequenceGaps.get()).isZero();
    }

    /**
     * Tahu sends a UInt32 in long_value; the specification puts it in int_value, whose 32 bits are
     * then unsigned, and a signed Int32 there too.
     */
    @Test
    void integersInTheSpecificationsIntValueAreReadAsTheirDataTypeSays() throws Exception {
        java.io.ByteArrayOutputStream payload = new java.io.ByteArrayOutputStream();
        com.google.protobuf.CodedOutputStream out =
                com.google.protobuf.CodedOutputStream.newInstance(payload);
        out.writeUInt64(1, T);
        out.writeByteArray(2, intMetric("u32", SparkplugPayload.UINT32, -1));
        out.writeByteArray(2, intMetric("i32", SparkplugPayload.INT32, -2));
        out.writeByteArray(2, intMetric("u16", SparkplugPayload.UINT16, 65_535));
        out.writeUInt64(3, 0);
        out.flush();
        MqttPayloadCodec.Decoded d = live(decoder(), "spBv1.0/g/NBIRTH/n", payload.toByteArray());
        assertThat(d.rejected()).isNull();
        assertThat(byId(d))
                .containsExactly(
                        Map.entry("g/default/n/default/u32", "4.294967295E9  GOOD 0"),
                        Map.entry("g/default/n/default/i32", "-2.0  GOOD 0"),
                        Map.entry("g/default/n/default/u16", "65535.0  GOOD 0"));
    }

    private static byte[] intMetric(String name, int datatype, int bits) throws Exception {
        java.io.ByteArrayOutputStream metric = new java.io.ByteArrayOutputStream();
        com.google.protobuf.CodedOutputStream out =
                com.google.protobuf.CodedOutputStream.newInstance(metric);
        out.writeString(1, name);
        out.writeUInt32(4, datatype);
        out.writeUInt32(SparkplugPayload.INT_VALUE, bits);
        out.flush();
        return metric.toByteArray();
    }

    @Test
    void aBornNodeIsNotAskedAgainForAnAliasItsBirthDidNotDefine() throws Exception {
        SparkplugDecoder decoder = decoder();
        live(
                decoder,
                "spBv1.0/g/NBIRTH/n",
                encode(0L, T, bdSeq(0), metric("t", 1L, MetricDataType.Double, 1.0)));
        MqttPayloadCodec.Decoded data =
                live(
                        decoder,
                        "spBv1.0/g/NDATA/n",
                        encode(1L, T, byAlias(2, MetricDataType.Double, 2.0)));
        assertThat(data.rejected().reason()).isEqualTo(RejectReason.UNKNOWN_ALIAS);
        MqttPayloadCodec.Decoded birthWithoutName =
                live(
                        decoder,
                        "spBv1.0/g/DBIRTH/n/d",
                        encode(2L, T, byAlias(3, MetricDataType.Double, 3.0)));
        assertThat(birthWithoutName.rejected().detail())
                .isEqualTo("metric alias 3 has no name in a birth certificate");
        assertThat(commands).isEmpty();
    }

    @Test
    void aDeviceBornAgainForgetsWhatItsEarlierBirthDefined() throws Exception {
        SparkplugDecoder decoder = decoder();
        live(decoder, "spBv1.0/g/NBIRTH/n", encode(0L, T, bdSeq(0)));
        live(
                decoder,
                "spBv1.0/g/DBIRTH/n/d",
                encode(1L, T, metric("old", 5L, MetricDataType.Double, 1.0)));
        live(
                decoder,
                "spBv1.0/g/DBIRTH/n/d",
                encode(2L, T, metric("new", 6L, MetricDataType.Double, 1.0)));
        MqttPayloadCodec.Decoded data =
                live(
                        decoder,
                        "spBv1.0/g/DDATA/n/d",
                        encode(
                                3L,
                                T,
                                byAlias(5, MetricDataType.Double, 2.0),
                                byAlias(6, MetricDataType.Double, 3.0)));
        assertThat(byId(data)).containsExactly(Map.entry("g/default/n/d/new", "3.0  GOOD 0"));
        assertThat(data.rejected().detail())
                .isEqualTo("metric alias 5 is not in a birth certificate this gateway has seen");
    }

    @Test
    void aShorterTemplateTakesTheLevelsItLeavesFromTheMetricsFolders() throws Exception {
        SparkplugDecoder decoder = decoder(settings("{group}/{node}/{device}/{metric}"));
        MqttPayloadCodec.Decoded d =
                live(
                        decoder,
                        "spBv1.0/dresden/DBIRTH/press-shop/line-1",
                        encode(
                                0L,
                                T,
                                metric("press-3/temp-1", 1L, MetricDataType.Double, 70.5),
                                metric("temp", 2L, MetricDataType.Double, 1.0),
                                metric("a/b/c", 3L, MetricDataType.Double, 1.0)));
        assertThat(byId(d)).containsOnlyKeys("dresden/press-shop/line-1/press-3/temp-1");
        assertThat(d.rejected().detail())
                .isEqualTo(
                        "metric 'temp' cannot name a sensor: its name has 1 level (folders and name),"
                                + " and sparkplug.sensor-id '{group}/{node}/{device}/{metric}' takes 2"
                                + " from it; metric 'a/b/c' cannot name a sensor: its name has 3 levels"
                                + " (folders and name), and sparkplug.sensor-id"
                                + " '{group}/{node}/{device}/{metric}' takes 2 from it");
        assertThat(
                        byId(
                                live(
                                        decoder(settings("{group}/{metric}")),
                                        "spBv1.0/dresden/NBIRTH/edge-1",
                                        encode(
                                                0L,
                                                T,
                                                metric(
                                                        "press-shop/line-1/press-3/temp-1",
                                                        null,
                                                        MetricDataType.Double,
                                                        70.5)))))
                .containsOnlyKeys("dresden/press-shop/line-1/press-3/temp-1");
    }

    @Test
    void beyondTheMostNodesKeptANewNodeIsReadWithoutStateAndNeverAsked() throws Exception {
        SparkplugDecoder decoder = decoder();
        byte[] birth = encode(0L, T, bdSeq(0));
        for (int i = 0; i < SparkplugDecoder.MAX_NODES; i++) {
            live(decoder, "spBv1.0/g/NBIRTH/n" + i, birth);
        }
        assertThat(decoder.nodesOnline()).isEqualTo(SparkplugDecoder.MAX_NODES);
        MqttPayloadCodec.Decoded newBirth =
                live(
                        decoder,
                        "spBv1.0/g/NBIRTH/extra",
                        encode(0L, T, bdSeq(0), metric("t", 1L, MetricDataType.Double, 1.0)));
        assertThat(byId(newBirth)).containsOnlyKeys("g/default/extra/default/t");
        assertThat(decoder.nodesOnline()).isEqualTo(SparkplugDecoder.MAX_NODES);
        for (int i = 0; i < 3; i++) {
            MqttPayloadCodec.Decoded data =
                    live(
                            decoder,
                            "spBv1.0/g/NDATA/other",
                            encode((long) i, T, byAlias(1, MetricDataType.Double, 2.0)));
            assertThat(data.rejected().reason()).isEqualTo(RejectReason.UNKNOWN_ALIAS);
        }
        assertThat(commands).isEmpty();
    }
}
