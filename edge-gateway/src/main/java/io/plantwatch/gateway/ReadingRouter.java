package io.plantwatch.gateway;

import io.plantwatch.model.AvroReadingCodec;
import io.plantwatch.model.MqttPayloadCodec;
import io.plantwatch.model.Parsed;
import io.plantwatch.model.RejectReason;
import io.plantwatch.model.SensorReading;
import io.plantwatch.model.Topics;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * Turns one MQTT message into the Kafka records it becomes: a reading for {@code sensor-readings}
 * keyed by sensor id, or the original bytes for the DLQ with headers saying where they came from
 * and why they were rejected; a machine's message of several readings ({@code type: fields}, a
 * Sparkplug B message) one record per reading, and the DLQ record for the parts that were not. Pure
 * but for the Sparkplug B edge nodes' births it keeps, so every rule is unit-tested.
 */
public final class ReadingRouter {
    /**
     * DLQ values are cut to this size: a message larger than a Kafka request would fail forever and
     * block its MQTT acknowledgement, while its head is enough to see what was sent.
     */
    public static final int MAX_DLQ_VALUE_BYTES = 64 * 1024;

    public static final String HEADER_ORIGINAL_SIZE = "dlq.original.size";

    /** A DLQ record's detail is cut to this many characters. */
    static final int MAX_DETAIL_CHARS = 1024;

    /**
     * What a DLQ record keeps of its value once Kafka refused it whole: enough to see what was
     * sent, under any topic limit an operator would set.
     */
    public static final int REFUSED_VALUE_BYTES = 512;

    /** On a record Kafka refused whole and the gateway sent again cut: Kafka's error. */
    public static final String HEADER_KAFKA_REFUSED = "dlq.kafka.refused";

    private final MqttPayloadCodec json;
    private final SparkplugDecoder sparkplug;
    private final AvroReadingCodec avro = new AvroReadingCodec();
    private final String readingsTopic;
    private final String dlqTopic;
    private final byte[] gatewayId;

    public ReadingRouter(
            MqttPayloadCodec json, String readingsTopic, String dlqTopic, String gatewayId) {
        this(json, null, readingsTopic, dlqTopic, gatewayId);
    }

    /**
     * @param sparkplug reads Sparkplug B topics; null when the gateway reads none
     */
    ReadingRouter(
            MqttPayloadCodec json,
            SparkplugDecoder sparkplug,
            String readingsTopic,
            String dlqTopic,
            String gatewayId) {
        this.json = json;
        this.sparkplug = sparkplug;
        this.readingsTopic = readingsTopic;
        this.dlqTopic = dlqTopic;
        this.gatewayId = gatewayId.getBytes(StandardCharsets.UTF_8);
    }

    /**
     * The record for a message from MQTT topic {@code source}, and the reason when it goes to the
     * DLQ (null for a reading).
     */
    public record Routed(
            ProducerRecord<String, byte[]> record, RejectReason rejected, String source) {
        public boolean isReading() {
            return rejected == null;
        }
    }

    /** For a test of a message of one record. */
    Routed route(String topic, byte[] payload, long receivedAtMillis) {
        return route(topic, payload, false, receivedAtMillis);
    }

    /**
     * As {@link #route(String, byte[], long)}; {@code retained} when the broker sent the message as
     * its topic's retained one (see {@link MqttPayloadCodec#decode(String, byte[], boolean)}).
     */
    Routed route(String topic, byte[] payload, boolean retained, long receivedAtMillis) {
        List<Routed> all = routeAll(topic, payload, retained, receivedAtMillis);
        if (all.size() != 1) {
            throw new IllegalStateException(
                    topic + " holds " + all.size() + " records, which only routeAll keeps");
        }
        return all.get(0);
    }

    /**
     * Every record one message becomes, in the order they go to Kafka: its readings, then the DLQ
     * record of what was rejected. Empty only for a Sparkplug B message that holds no reading (a
     * death certificate, a command).
     */
    public List<Routed> routeAll(
            String topic, byte[] payload, boolean retained, long receivedAtMillis) {
        MqttPayloadCodec.Decoded decoded =
                sparkplug != null && SparkplugDecoder.reads(topic)
                        ? sparkplug.decode(topic, payload == null ? new byte[0] : payload, retained)
                        : json.decodeAll(topic, payload, retained);
        List<Routed> routed = new ArrayList<>(decoded.readings().size() + 1);
        for (SensorReading r : decoded.readings()) {
            routed.add(
                    new Routed(
                            new ProducerRecord<>(readingsTopic, r.sensorId().id(), avro.encode(r)),
                            null,
                            topic));
        }
        Parsed.Rejected<SensorReading> rejected = decoded.rejected();
        if (rejected != null) {
            routed.add(
                    deadLetter(
                            topic,
                            rejected.reason(),
                            rejected.detail(),
                            receivedAtMillis,
                            payload == null ? new byte[0] : payload,
                            MAX_DLQ_VALUE_BYTES,
                            null));
        }
        return routed;
    }

    /**
     * What to send instead of a record Kafka refused for good ({@code error}: larger than its topic
     * takes, say), so that it stops holding back every message after it: a reading goes to the DLQ
     * as {@link RejectReason#KAFKA_REFUSED}, a DLQ record goes again with its value cut to {@link
     * #REFUSED_VALUE_BYTES}; both say why in {@link #HEADER_KAFKA_REFUSED}. Null when {@code r} is
     * such a record already: nothing smaller is left to try.
     */
    public Routed refused(Routed r, Exception error, long nowMillis) {
        byte[] why = utf8(error.toString());
        ProducerRecord<String, byte[]> record = r.record();
        if (r.isReading()) {
            return deadLetter(
                    r.source(),
                    RejectReason.KAFKA_REFUSED,
                    "Kafka refused the reading for " + record.key() + ": " + error,
                    nowMillis,
                    record.value(),
                    REFUSED_VALUE_BYTES,
                    why);
        }
        if (record.headers().lastHeader(HEADER_KAFKA_REFUSED) != null) {
            return null;
        }
        RecordHeaders headers = new RecordHeaders(record.headers().toArray());
        byte[] value = record.value();
        if (value.length > REFUSED_VALUE_BYTES
                && headers.lastHeader(HEADER_ORIGINAL_SIZE) == null) {
            headers.add(HEADER_ORIGINAL_SIZE, utf8(Integer.toString(value.length)));
        }
        headers.add(HEADER_KAFKA_REFUSED, why);
        return new Routed(
                new ProducerRecord<>(
                        record.topic(),
                        null,
                        null,
                        record.key(),
                        Arrays.copyOf(value, Math.min(value.length, REFUSED_VALUE_BYTES)),
                        headers),
                r.rejected(),
                r.source());
    }

    private Routed deadLetter(
            String topic,
            RejectReason reason,
            String detail,
            long receivedAtMillis,
            byte[] value,
            int maxValueBytes,
            byte[] refusedBecause) {
        RecordHeaders headers = new RecordHeaders();
        headers.add(Topics.HEADER_SOURCE_TOPIC, utf8(topic));
        headers.add(Topics.HEADER_REASON, utf8(reason.code()));
        // Bounded, as the value is: Kafka would refuse a record whose headers are larger than its
        // topic takes, and a record cut to size would still carry them.
        headers.add(
                Topics.HEADER_DETAIL,
                utf8(
                        detail != null && detail.length() > MAX_DETAIL_CHARS
                                ? detail.substring(0, MAX_DETAIL_CHARS) + "..."
                                : detail));
        headers.add(Topics.HEADER_GATEWAY_ID, gatewayId);
        headers.add(Topics.HEADER_RECEIVED_AT, utf8(Long.toString(receivedAtMillis)));
        if (value.length > maxValueBytes) {
            headers.add(HEADER_ORIGINAL_SIZE, utf8(Integer.toString(value.length)));
            value = Arrays.copyOf(value, maxValueBytes);
        }
        if (refusedBecause != null) {
            headers.add(HEADER_KAFKA_REFUSED, refusedBecause);
        }
        // Keyed by topic: a sensor's bad messages stay in order next to each other.
        return new Routed(
                new ProducerRecord<>(dlqTopic, null, null, topic, value, headers), reason, topic);
    }

    private static byte[] utf8(String s) {
        return (s == null ? "" : s).getBytes(StandardCharsets.UTF_8);
    }
}
