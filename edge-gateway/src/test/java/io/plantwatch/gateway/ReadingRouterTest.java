package io.plantwatch.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import io.plantwatch.model.AvroReadingCodec;
import io.plantwatch.model.MqttPayloadCodec;
import io.plantwatch.model.Parsed;
import io.plantwatch.model.PayloadFormat;
import io.plantwatch.model.RejectReason;
import io.plantwatch.model.SensorReading;
import io.plantwatch.model.Topics;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

class ReadingRouterTest {
    private final ReadingRouter router =
            new ReadingRouter(
                    MqttPayloadCodec.defaults(),
                    Topics.SENSOR_READINGS,
                    Topics.SENSOR_READINGS_DLQ,
                    "gw-1");

    @Test
    void aValidReadingIsKeyedBySensorIdInTheVersionedFormat() {
        ReadingRouter.Routed routed =
                router.route(
                        "plant/site-1/area-1/line-2/machine-3/temp-1",
                        "{\"ts\":1764000000000,\"value\":21.5,\"unit\":\"degC\",\"seq\":7}"
                                .getBytes(StandardCharsets.UTF_8),
                        1764000000100L);
        assertThat(routed.isReading()).isTrue();
        ProducerRecord<String, byte[]> r = routed.record();
        assertThat(r.topic()).isEqualTo(Topics.SENSOR_READINGS);
        assertThat(r.key()).isEqualTo("site-1/area-1/line-2/machine-3/temp-1");
        SensorReading reading =
                ((Parsed.Ok<SensorReading>) new AvroReadingCodec().decode(r.value())).value();
        assertThat(reading.value()).isEqualTo(21.5);
        assertThat(reading.seq()).isEqualTo(7);
        assertThat(reading.timestamp()).isEqualTo(1764000000000L);
        assertThat(r.headers().toArray()).isEmpty();
    }

    @Test
    void aReadingKafkaRefusesGoesToTheDlqOnceSayingWhy() {
        String topic = "plant/site-1/area-1/line-2/machine-3/temp-1";
        ReadingRouter.Routed reading =
                router.route(
                        topic,
                        "{\"ts\":1764000000000,\"value\":21.5}".getBytes(StandardCharsets.UTF_8),
                        1L);
        Exception error = new org.apache.kafka.common.InvalidRecordException("schema check");
        ReadingRouter.Routed instead = router.refused(reading, error, 99L);
        assertThat(instead.rejected()).isEqualTo(RejectReason.KAFKA_REFUSED);
        ProducerRecord<String, byte[]> r = instead.record();
        assertThat(r.topic()).isEqualTo(Topics.SENSOR_READINGS_DLQ);
        assertThat(r.key()).isEqualTo(topic);
        assertThat(r.value()).isEqualTo(reading.record().value());
        assertThat(header(r, Topics.HEADER_REASON)).isEqualTo("kafka_refused");
        assertThat(header(r, Topics.HEADER_SOURCE_TOPIC)).isEqualTo(topic);
        assertThat(header(r, Topics.HEADER_RECEIVED_AT)).isEqualTo("99");
        assertThat(header(r, Topics.HEADER_DETAIL))
                .contains("site-1/area-1/line-2/machine-3/temp-1", "schema check");
        assertThat(header(r, ReadingRouter.HEADER_KAFKA_REFUSED)).contains("schema check");
        // Refused in the DLQ too: nothing smaller to try, so the caller keeps retrying it.
        assertThat(router.refused(instead, error, 100L)).isNull();
    }

    @Test
    void aDlqRecordKafkaRefusesIsCutOnceKeepingItsHeaders() {
        byte[] payload = new byte[5000];
        java.util.Arrays.fill(payload, (byte) '{');
        ReadingRouter.Routed bad = router.route("plant/s/a/l/m/x", payload, 42L);
        Exception error = new org.apache.kafka.common.errors.RecordTooLargeException("too big");
        ReadingRouter.Routed instead = router.refused(bad, error, 99L);
        assertThat(instead.rejected()).isEqualTo(RejectReason.MALFORMED_JSON);
        ProducerRecord<String, byte[]> r = instead.record();
        assertThat(r.topic()).isEqualTo(Topics.SENSOR_READINGS_DLQ);
        assertThat(r.key()).isEqualTo("plant/s/a/l/m/x");
        assertThat(r.value()).hasSize(ReadingRouter.REFUSED_VALUE_BYTES);
        assertThat(header(r, ReadingRouter.HEADER_ORIGINAL_SIZE)).isEqualTo("5000");
        assertThat(header(r, ReadingRouter.HEADER_KAFKA_REFUSED)).contains("too big");
        assertThat(header(r, Topics.HEADER_REASON)).isEqualTo("malformed_json");
        assertThat(header(r, Topics.HEADER_RECEIVED_AT)).isEqualTo("42");
        assertThat(router.refused(instead, error, 100L)).isNull();
    }

    @Test
    void rejectedInputKeepsItsOriginalBytesAndSaysWhereFromAndWhy() {
        byte[] payload =
                "{\"ts\":1764000000000,\"value\":\"hot\"}".getBytes(StandardCharsets.UTF_8);
        ReadingRouter.Routed routed =
                router.route("plant/site-1/area-1/line-2/machine-3/temp-1", payload, 42L);
        assertThat(routed.rejected()).isEqualTo(RejectReason.WRONG_TYPE);
        ProducerRecord<String, byte[]> r = routed.record();
        assertThat(r.topic()).isEqualTo(Topics.SENSOR_READINGS_DLQ);
        assertThat(r.value()).isEqualTo(payload);
        assertThat(r.key()).isEqualTo("plant/site-1/area-1/line-2/machine-3/temp-1");
        assertThat(header(r, Topics.HEADER_REASON)).isEqualTo("wrong_type");
        assertThat(header(r, Topics.HEADER_SOURCE_TOPIC))
                .isEqualTo("plant/site-1/area-1/line-2/machine-3/temp-1");
        assertThat(header(r, Topics.HEADER_GATEWAY_ID)).isEqualTo("gw-1");
        assertThat(header(r, Topics.HEADER_RECEIVED_AT)).isEqualTo("42");
        assertThat(header(r, Topics.HEADER_DETAIL)).contains("value");
    }

    @Test
    void topicsOutsideTheTemplateGoToTheDlq() {
        ReadingRouter.Routed routed =
                router.route(
                        "plant/too/short",
                        "{\"ts\":1764000000000,\"value\":1}".getBytes(StandardCharsets.UTF_8),
                        0);
        assertThat(routed.rejected()).isEqualTo(RejectReason.TOPIC_MISMATCH);
        assertThat(header(routed.record(), Topics.HEADER_SOURCE_TOPIC))
                .isEqualTo("plant/too/short");
    }

    @Test
    void hugePayloadsAreCutForTheDlqAndTheirSizeIsKept() {
        byte[] huge = new byte[ReadingRouter.MAX_DLQ_VALUE_BYTES * 3];
        java.util.Arrays.fill(huge, (byte) 'x');
        ReadingRouter.Routed routed =
                router.route("plant/site-1/area-1/line-2/machine-3/temp-1", huge, 0);
        assertThat(routed.rejected()).isEqualTo(RejectReason.OVERSIZED);
        assertThat(routed.record().value()).hasSize(ReadingRouter.MAX_DLQ_VALUE_BYTES);
        assertThat(header(routed.record(), ReadingRouter.HEADER_ORIGINAL_SIZE))
                .isEqualTo(Integer.toString(huge.length));
    }

    @Test
    void emptyAndNotFinitePayloadsAreRejectedNotThrown() {
        assertThat(router.route("plant/a/b/c/d/e", new byte[0], 0).rejected())
                .isEqualTo(RejectReason.MALFORMED_JSON);
        assertThat(
                        router.route(
                                        "plant/a/b/c/d/e",
                                        "{\"ts\":1764000000000,\"value\":1e999}"
                                                .getBytes(StandardCharsets.UTF_8),
                                        0)
                                .rejected())
                .isIn(RejectReason.NOT_FINITE, RejectReason.INVALID_FIELD);
    }

    private static String header(ProducerRecord<String, byte[]> r, String name) {
        var h = r.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    /**
     * A machine's message becomes a record per reading, then the DLQ record of the fields that were
     * not, in that order: the bridge acknowledges the message with its last record.
     */
    @Test
    void aMachinesMessageBecomesItsReadingsThenTheDlqRecordOfWhatWasNot() {
        PayloadFormat fields =
                PayloadFormat.DEFAULT.withFields(java.util.List.of(), java.util.Map.of());
        ReadingRouter machines =
                new ReadingRouter(
                        new MqttPayloadCodec(
                                io.plantwatch.model.TopicTemplate.defaults(),
                                io.plantwatch.model.ReadingLimits.defaults(),
                                fields),
                        Topics.SENSOR_READINGS,
                        Topics.SENSOR_READINGS_DLQ,
                        "gw-1");
        String topic = "plant/s/a/l/m/all";
        byte[] payload =
                "{\"ts\":1764000000000,\"b\":2,\"bad\":NaN,\"a\":1}"
                        .getBytes(StandardCharsets.UTF_8);
        java.util.List<ReadingRouter.Routed> all = machines.routeAll(topic, payload, false, 5L);
        assertThat(all)
                .extracting(r -> r.record().topic() + " " + r.record().key() + " " + r.rejected())
                .containsExactly(
                        Topics.SENSOR_READINGS + " s/a/l/m/b null",
                        Topics.SENSOR_READINGS + " s/a/l/m/a null",
                        Topics.SENSOR_READINGS_DLQ + " " + topic + " NOT_FINITE");
        assertThat(all.get(2).record().value()).isEqualTo(payload);
        // A detail is bounded, as the value is, so Kafka never refuses a DLQ record for its
        // headers.
        StringBuilder longNames = new StringBuilder("{\"ts\":1764000000000");
        for (int i = 0; i < 50; i++) {
            longNames.append(",\"").append(i).append("x".repeat(200)).append("\":1");
        }
        java.util.List<ReadingRouter.Routed> named =
                machines.routeAll(
                        topic, (longNames + "}").getBytes(StandardCharsets.UTF_8), false, 5L);
        assertThat(named).hasSize(1);
        assertThat(header(named.get(0).record(), Topics.HEADER_DETAIL))
                .hasSizeLessThanOrEqualTo(ReadingRouter.MAX_DETAIL_CHARS + 3)
                .startsWith("field '0xxx")
                .endsWith("; and 45 more");
        assertThat(header(all.get(2).record(), Topics.HEADER_DETAIL))
                .isEqualTo("bad is NaN, not finite");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> machines.route(topic, payload, 5L))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("holds 3 records, which only routeAll keeps");
        assertThat(
                        machines.routeAll(
                                "plant/s/a/l/m/all",
                                "{\"ts\":1764000000000}".getBytes(StandardCharsets.UTF_8),
                                false,
                                5L))
                .singleElement()
                .extracting(ReadingRouter.Routed::rejected)
                .isEqualTo(RejectReason.MISSING_FIELD);
    }
}
