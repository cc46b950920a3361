package io.plantwatch.gateway;

import io.plantwatch.model.AvroReadingCodec;
import io.plantwatch.model.MqttPayloadCodec;
import io.plantwatch.model.Parsed;
import io.plantwatch.model.RejectReason;
import io.plantwatch.model.SensorReading;
import io.plantwatch.model.Topics;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * Turns one MQTT message into the one Kafka record it becomes: a reading for {@code
 * sensor-readings} keyed by sensor id, or the original bytes for the DLQ with headers saying where
 * they came from and why they were rejected. Pure, so every rule is unit-tested.
 */
public final class ReadingRouter {
    /**
     * DLQ values are cut to this size: a message larger than a Kafka request would fail forever and
     * block its MQTT acknowledgement, while its head is enough to see what was sent.
     */
    public static final int MAX_DLQ_VALUE_BYTES = 64 * 1024;

    public static final String HEADER_ORIGINAL_SIZE = "dlq.original.size";

    private final MqttPayloadCodec json;
    private final AvroReadingCodec avro = new AvroReadingCodec();
    private final String readingsTopic;
    private final String dlqTopic;
    private final byte[] gatewayId;

    public ReadingRouter(
            MqttPayloadCodec json, String readingsTopic, String dlqTopic, String gatewayId) {
        this.json = json;
        this.readingsTopic = readingsTopic;
        this.dlqTopic = dlqTopic;
        this.gatewayId = gatewayId.getBytes(StandardCharsets.UTF_8);
    }

    /** The record for a message, and the reason when it goes to the DLQ (null for a reading). */
    public record Routed(ProducerRecord<String, byte[]> record, RejectReason rejected) {
        public boolean isReading() {
            return rejected == null;
        }
    }

    public Routed route(String topic, byte[] payload, long receivedAtMillis) {
        Parsed<SensorReading> parsed = json.decode(topic, payload);
        if (parsed instanceof Parsed.Ok<SensorReading> ok) {
            SensorReading r = ok.value();
            return new Routed(
                    new ProducerRecord<>(readingsTopic, r.sensorId().id(), avro.encode(r)), null);
        }
        Parsed.Rejected<SensorReading> rejected = (Parsed.Rejected<SensorReading>) parsed;
        RecordHeaders headers = new RecordHeaders();
        headers.add(Topics.HEADER_SOURCE_TOPIC, topic.getBytes(StandardCharsets.UTF_8));
        headers.add(
                Topics.HEADER_REASON, rejected.reason().code().getBytes(StandardCharsets.UTF_8));
        headers.add(Topics.HEADER_DETAIL, utf8(rejected.detail()));
        headers.add(Topics.HEADER_GATEWAY_ID, gatewayId);
        headers.add(
                Topics.HEADER_RECEIVED_AT,
                Long.toString(receivedAtMillis).getBytes(StandardCharsets.UTF_8));
        byte[] value = payload == null ? new byte[0] : payload;
        if (value.length > MAX_DLQ_VALUE_BYTES) {
            headers.add(
                    HEADER_ORIGINAL_SIZE,
                    Integer.toString(value.length).getBytes(StandardCharsets.UTF_8));
            value = Arrays.copyOf(value, MAX_DLQ_VALUE_BYTES);
        }
        // Keyed by topic: a sensor's bad messages stay in order next to each other.
        return new Routed(
                new ProducerRecord<>(dlqTopic, null, null, topic, value, headers),
                rejected.reason());
    }

    private static byte[] utf8(String s) {
        return (s == null ? "" : s).getBytes(StandardCharsets.UTF_8);
    }
}
