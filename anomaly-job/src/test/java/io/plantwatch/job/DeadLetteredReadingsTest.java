package io.plantwatch.job;

import static io.plantwatch.job.Harnesses.reading;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.plantwatch.infra.EmbeddedKafka;
import io.plantwatch.model.AvroReadingCodec;
import io.plantwatch.model.SensorReading;
import io.plantwatch.model.Topics;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

/** Records of the readings topic the job cannot take end in the DLQ, whatever happens meanwhile. */
class DeadLetteredReadingsTest {

    /**
     * Junk among readings while the DLQ topic does not exist yet: the job's checkpoints cannot pass
     * the junk, so once the topic is there every junk record is in it, as it came, with why.
     */
    @Test
    void rejectedRecordsReachTheDlqEvenWhenItWasMissingAtFirst() throws Exception {
        try (JobKafka kafka = new JobKafka()) {
            JobSettings settings = kafka.settings(SavepointFixture.PREFIX);
            kafka.kafka.createTopics(
                    2,
                    settings.readingsTopic(),
                    settings.alertsTopic(),
                    settings.lateTopic(),
                    settings.completenessTopic());
            JobClient job =
                    SavepointFixture.start(
                            settings,
                            StreamExecutionEnvironment.getExecutionEnvironment(
                                    JobCounters.reportTo(AnomalyJob.flinkConfiguration(settings))));
            try {
                SensorReading good = reading(1_000, 20.0, 1);
                byte[] frame = new AvroReadingCodec().encode(good);
                byte[] key = good.key().getBytes(StandardCharsets.UTF_8);
                Map<String, String> reasons = new HashMap<>();
                try (KafkaProducer<byte[], byte[]> producer = producer(kafka)) {
                    send(producer, settings, key, frame, null);
                    reasons.put(
                            send(producer, settings, key, "{not avro".getBytes(), "a-header"),
                            "unknown_schema");
                    reasons.put(
                            send(producer, settings, key, java.util.Arrays.copyOf(frame, 9), null),
                            "corrupt_record");
                    reasons.put(send(producer, settings, key, null, null), "corrupt_record");
                    reasons.put(
                            send(producer, settings, "someone-else".getBytes(), frame, null),
                            "not_keyed_by_sensor");
                    send(
                            producer,
                            settings,
                            key,
                            new AvroReadingCodec().encode(reading(2_000, 20.5, 2)),
                            null);
                }
                String name = SavepointFixture.PREFIX + "job";
                // The first try to keep the junk waits 10 s for the topic, and then the job must
                // not check a position past it.
                await().atMost(Duration.ofSeconds(60))
                        .until(() -> JobCounters.sum(name, "", "numRestarts") >= 1);
                assertThat(JobCounters.sum(name, "Source", "readingsDeadLettered")).isZero();
                kafka.kafka.createTopics(2, settings.dlqTopic());

                Map<String, ConsumerRecord<byte[], byte[]>> kept = new ConcurrentHashMap<>();
                try (KafkaConsumer<byte[], byte[]> dlq =
                        new KafkaConsumer<>(
                                consumer(kafka),
                                new ByteArrayDeserializer(),
                                new ByteArrayDeserializer())) {
                    dlq.subscribe(List.of(settings.dlqTopic()));
                    await().atMost(Duration.ofSeconds(120))
                            .until(
                                    () -> {
                                        for (ConsumerRecord<byte[], byte[]> r :
                                                dlq.poll(Duration.ofMillis(200))) {
                                            kept.put(
                                                    header(r, Topics.HEADER_SOURCE_PARTITION)
                                                            + "@"
                                                            + header(
                                                                    r, Topics.HEADER_SOURCE_OFFSET),
                                                    r);
                                        }
                                        return kept.keySet().containsAll(reasons.keySet());
                                    });
                }
                assertThat(kept.keySet()).isEqualTo(reasons.keySet());
                await().atMost(Duration.ofSeconds(30))
                        .until(
                                () ->
                                        JobCounters.sum(name, "Source", "readingsDeadLettered")
                                                >= reasons.size());
                reasons.forEach(
                        (at, reason) -> {
                            ConsumerRecord<byte[], byte[]> r = kept.get(at);
                            assertThat(header(r, Topics.HEADER_REASON)).as(at).isEqualTo(reason);
                            assertThat(header(r, Topics.HEADER_SOURCE_TOPIC))
                                    .isEqualTo(settings.readingsTopic());
                            assertThat(header(r, Topics.HEADER_REJECTED_BY))
                                    .isEqualTo("anomaly-job");
                            assertThat(header(r, Topics.HEADER_DETAIL)).isNotBlank();
                        });
                ConsumerRecord<byte[], byte[]> first = kept.get(firstOf(reasons, "unknown_schema"));
                assertThat(first.value()).isEqualTo("{not avro".getBytes());
                assertThat(first.key()).isEqualTo(key);
                assertThat(header(first, "origin")).isEqualTo("a-header");
                assertThat(kept.get(firstOf(reasons, "not_keyed_by_sensor")).value())
                        .isEqualTo(frame);
            } finally {
                job.cancel().get();
            }
        }
    }

    /**
     * A record larger than the DLQ topic takes is refused for itself: counted, and the wait for the
     * DLQ passes, so the job is not stopped over one record; the next record is kept.
     */
    @Test
    void aRecordTheDlqRefusesForItselfIsCountedAndTheNextIsKept() throws Exception {
        try (JobKafka kafka = new JobKafka();
                org.apache.kafka.clients.admin.Admin admin = kafka.kafka.createAdmin()) {
            String dlq = "small-dlq";
            admin.createTopics(
                            List.of(
                                    new org.apache.kafka.clients.admin.NewTopic(dlq, 1, (short) 1)
                                            .configs(Map.of("max.message.bytes", "2048"))))
                    .all()
                    .get();
            try (io.plantwatch.model.DeadLetters letters =
                    new io.plantwatch.model.DeadLetters(
                            kafka.bootstrapServers(), new Properties(), dlq, "test")) {
                // Random, so that compression cannot bring it under the topic's limit.
                byte[] big = new byte[8192];
                new java.util.Random(1).nextBytes(big);
                letters.keep(
                        new ConsumerRecord<>("readings", 0, 5L, null, big),
                        io.plantwatch.model.RejectReason.CORRUPT_RECORD,
                        "big");
                letters.awaitKept();
                assertThat(letters.refused()).isEqualTo(1);
                assertThat(letters.kept()).isZero();
                letters.keep(
                        new ConsumerRecord<>("readings", 0, 6L, null, new byte[16]),
                        io.plantwatch.model.RejectReason.CORRUPT_RECORD,
                        "small");
                letters.awaitKept();
                assertThat(letters.kept()).isEqualTo(1);
            }
        }
    }

    private static String firstOf(Map<String, String> reasons, String reason) {
        return reasons.entrySet().stream()
                .filter(e -> e.getValue().equals(reason))
                .findFirst()
                .orElseThrow()
                .getKey();
    }

    /** Writes one record to partition 0 and returns its "partition@offset". */
    private static String send(
            KafkaProducer<byte[], byte[]> producer,
            JobSettings settings,
            byte[] key,
            byte[] value,
            String origin)
            throws Exception {
        ProducerRecord<byte[], byte[]> r =
                new ProducerRecord<>(settings.readingsTopic(), 0, key, value);
        if (origin != null) {
            r.headers().add("origin", origin.getBytes(StandardCharsets.UTF_8));
        }
        RecordMetadata m = producer.send(r).get();
        return m.partition() + "@" + m.offset();
    }

    private static KafkaProducer<byte[], byte[]> producer(JobKafka kafka) {
        Properties p = new Properties();
        p.putAll(kafka.kafka.clientProperties(EmbeddedKafka.ADMIN));
        p.put("acks", "all");
        return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    }

    private static Properties consumer(JobKafka kafka) {
        Properties p = new Properties();
        p.putAll(kafka.kafka.clientProperties(EmbeddedKafka.ADMIN));
        p.put("group.id", "dlq-reader");
        p.put("auto.offset.reset", "earliest");
        return p;
    }

    private static String header(ConsumerRecord<byte[], byte[]> r, String name) {
        Header h = r.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }
}
