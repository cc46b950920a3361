package io.plantwatch.appliance;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.plantwatch.model.Alert;
import io.plantwatch.model.AvroAlertCodec;
import io.plantwatch.model.Topics;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Reads what the appliance produced, for the demo's summary: alert events (read_committed, as the
 * alerting service reads them), readings set aside as late, DLQ records, and the job's completeness
 * reports (duplicates dropped). Each alert is stamped with the time it was read.
 */
final class TopicWatcher implements AutoCloseable {
    /** An alert event and when this process read it from Kafka. */
    record Seen(Alert alert, long readAtMillis) {}

    private final KafkaConsumer<byte[], byte[]> consumer;
    private final Thread thread;
    private final AtomicBoolean running = new AtomicBoolean(true);
    final List<Seen> alerts = new CopyOnWriteArrayList<>();
    final Map<String, AtomicLong> lateBySensor = new ConcurrentHashMap<>();
    final Map<String, AtomicLong> duplicatesBySensor = new ConcurrentHashMap<>();
    final AtomicLong dlq = new AtomicLong();

    TopicWatcher(String bootstrap) {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("isolation.level", "read_committed");
        p.put("enable.auto.commit", "false");
        p.put("client.id", "plantwatch-demo-watcher");
        consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        List<TopicPartition> parts = new ArrayList<>();
        for (String t :
                List.of(
                        Topics.ALERTS,
                        Topics.SENSOR_READINGS_LATE,
                        Topics.SENSOR_READINGS_DLQ,
                        Topics.SENSOR_COMPLETENESS)) {
            for (PartitionInfo pi : consumer.partitionsFor(t, Duration.ofSeconds(30))) {
                parts.add(new TopicPartition(t, pi.partition()));
            }
        }
        consumer.assign(parts);
        consumer.seekToBeginning(parts);
        thread = new Thread(this::loop, "demo-topic-watcher");
        thread.setDaemon(true);
        thread.start();
    }

    private void loop() {
        AvroAlertCodec codec = new AvroAlertCodec();
        ObjectMapper json = new ObjectMapper();
        while (running.get()) {
            for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) {
                String key = r.key() == null ? "" : new String(r.key(), StandardCharsets.UTF_8);
                try {
                    switch (r.topic()) {
                        case Topics.ALERTS ->
                                alerts.add(
                                        new Seen(
                                                codec.decode(r.value()).value(),
                                                System.currentTimeMillis()));
                        case Topics.SENSOR_READINGS_LATE ->
                                lateBySensor
                                        .computeIfAbsent(key, k -> new AtomicLong())
                                        .incrementAndGet();
                        case Topics.SENSOR_READINGS_DLQ -> dlq.incrementAndGet();
                        default -> {
                            JsonNode c = json.readTree(r.value());
                            long d = c.path("duplicates").asLong();
                            if (d > 0) {
                                duplicatesBySensor
                                        .computeIfAbsent(
                                                c.path("sensor").asText(), k -> new AtomicLong())
                                        .addAndGet(d);
                            }
                        }
                    }
                } catch (Exception e) {
                    // Not ours to judge here: the summary counts what it can read.
                }
            }
        }
        consumer.close(Duration.ofSeconds(2));
    }

    @Override
    public void close() throws InterruptedException {
        running.set(false);
        thread.join(5_000);
    }
}
