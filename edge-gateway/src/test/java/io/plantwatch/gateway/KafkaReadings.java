package io.plantwatch.gateway;

import static org.awaitility.Awaitility.await;

import io.plantwatch.model.AvroReadingCodec;
import io.plantwatch.model.Parsed;
import io.plantwatch.model.SensorReading;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/** Reads what the gateway wrote to Kafka, for assertions. */
final class KafkaReadings implements AutoCloseable {
    private final KafkaConsumer<String, byte[]> consumer;
    private final List<ConsumerRecord<String, byte[]>> records = new ArrayList<>();

    KafkaReadings(String bootstrap, String topic) {
        this(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap), topic);
    }

    /**
     * With the client settings {@code client}: bootstrap servers, and a login if Kafka asks one.
     */
    KafkaReadings(Map<String, Object> client, String topic) {
        Properties p = new Properties();
        p.putAll(client);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, "test-" + UUID.randomUUID());
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(
                ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG,
                ByteArrayDeserializer.class.getName());
        consumer = new KafkaConsumer<>(p);
        consumer.subscribe(List.of(topic));
    }

    /** Polls until {@code done} holds for everything read so far, or fails at the deadline. */
    List<ConsumerRecord<String, byte[]>> readUntil(
            Duration deadline, Predicate<List<ConsumerRecord<String, byte[]>>> done) {
        try {
            await().atMost(deadline)
                    .pollInterval(Duration.ofMillis(1))
                    .until(
                            () -> {
                                consumer.poll(Duration.ofMillis(200)).forEach(records::add);
                                return done.test(records);
                            });
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            throw new AssertionError(
                    "only " + records.size() + " records arrived within " + deadline, e);
        }
        return records;
    }

    /**
     * Polls until {@code distinctReadings} different (sensor, seq) pairs arrived, duplicates aside;
     * by sensor, in the order Kafka holds them.
     */
    Map<String, List<SensorReading>> readDistinct(long distinctReadings, Duration deadline) {
        return bySensor(
                readUntil(deadline, r -> GatewayHarness.distinct(bySensor(r)) >= distinctReadings));
    }

    List<ConsumerRecord<String, byte[]>> readAtLeast(int count, Duration deadline) {
        return readUntil(deadline, r -> r.size() >= count);
    }

    /** Readings by sensor id in the order Kafka holds them (per partition, so per sensor). */
    static Map<String, List<SensorReading>> bySensor(List<ConsumerRecord<String, byte[]>> records) {
        AvroReadingCodec codec = new AvroReadingCodec();
        Map<String, List<SensorReading>> out = new LinkedHashMap<>();
        for (ConsumerRecord<String, byte[]> r : records) {
            SensorReading reading = ((Parsed.Ok<SensorReading>) codec.decode(r.value())).value();
            if (!reading.sensorId().id().equals(r.key())) {
                throw new AssertionError("key " + r.key() + " != sensor " + reading.sensorId());
            }
            out.computeIfAbsent(r.key(), k -> new ArrayList<>()).add(reading);
        }
        return out;
    }

    @Override
    public void close() {
        consumer.close();
    }
}
