package io.plantwatch.appliance;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.plantwatch.infra.EmbeddedKafka;
import io.plantwatch.job.JobSettings;
import io.plantwatch.model.Alert;
import io.plantwatch.model.AvroAlertCodec;
import io.plantwatch.model.AvroReadingCodec;
import io.plantwatch.model.Quality;
import io.plantwatch.model.SensorId;
import io.plantwatch.model.SensorReading;
import io.plantwatch.model.Topics;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.flink.core.execution.JobClient;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Replays a series through the real pipeline as fast as it goes: readings into an embedded Kafka,
 * the anomaly job on a local MiniCluster (event time from the file), alerts read back from Kafka.
 * One partition per topic, so one sensor's watermark is the topic's.
 */
final class Evaluation {
    /** The sensor the replayed series is published as. */
    static final String SENSOR_PREFIX = "evaluation/replay/series/machine/";

    private Evaluation() {}

    /**
     * @return every alert event the job produced for the series, in order
     */
    static List<Alert> run(
            LabelledSeries series,
            String sensor,
            String unit,
            Path jobConfig,
            Path rules,
            Path work)
            throws Exception {
        try (EmbeddedKafka kafka =
                EmbeddedKafka.builder()
                        .defaultPartitions(1)
                        .dataDirectory(work.resolve("kafka"))
                        .build()
                        .start()) {
            kafka.createTopics(
                    1,
                    Topics.SENSOR_READINGS,
                    Topics.SENSOR_READINGS_LATE,
                    Topics.SENSOR_COMPLETENESS,
                    Topics.ALERTS);
            Map<String, String> flags = new HashMap<>();
            flags.put("kafka.bootstrap", kafka.bootstrapServers());
            flags.put("rules.file", rules.toString());
            flags.put("kafka.starting-offsets", "earliest");
            flags.put("job.parallelism", "1");
            flags.put("checkpoint.interval", "0");
            JobClient job = LocalJob.start(JobSettings.load(jobConfig, System.getenv(), flags));
            try {
                produce(kafka.bootstrapServers(), series, sensor, unit);
                return collect(kafka.bootstrapServers(), series, sensor);
            } finally {
                job.cancel().get();
            }
        }
    }

    private static void produce(String bootstrap, LabelledSeries s, String sensor, String unit) {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("linger.ms", "5");
        AvroReadingCodec codec = new AvroReadingCodec();
        SensorId id = SensorId.parse(sensor);
        byte[] key = sensor.getBytes(StandardCharsets.UTF_8);
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            for (int i = 0; i < s.timestamps().length; i++) {
                SensorReading r =
                        new SensorReading(
                                id, s.timestamps()[i], s.values()[i], unit, Quality.GOOD, i);
                producer.send(new ProducerRecord<>(Topics.SENSOR_READINGS, key, codec.encode(r)));
            }
            // Another sensor a day later moves the watermark past the series' end, so every
            // pattern and timer waiting on it fires.
            long after = java.util.Arrays.stream(s.timestamps()).max().orElseThrow() + 86_400_000L;
            SensorReading end = SensorReading.of(SensorId.parse(SENSOR_PREFIX + "end"), after, 0);
            producer.send(
                    new ProducerRecord<>(
                            Topics.SENSOR_READINGS,
                            end.key().getBytes(StandardCharsets.UTF_8),
                            codec.encode(end)));
            producer.flush();
        }
    }

    /**
     * Reads alerts until the job has reported the series' last minute complete (so the watermark
     * passed it) and no alert came for two seconds after that.
     */
    private static List<Alert> collect(String bootstrap, LabelledSeries s, String sensor)
            throws Exception {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("group.id", "evaluation");
        p.put("auto.offset.reset", "earliest");
        p.put("isolation.level", "read_committed");
        long lastMinute =
                java.util.Arrays.stream(s.timestamps()).max().orElseThrow() / 60_000 * 60_000;
        List<Alert> alerts = new ArrayList<>();
        AvroAlertCodec codec = new AvroAlertCodec();
        ObjectMapper json = new ObjectMapper();
        long deadline = System.nanoTime() + Duration.ofMinutes(10).toNanos();
        long doneAt = -1;
        long lastAlertAt = System.nanoTime();
        try (KafkaConsumer<byte[], byte[]> c =
                new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            c.subscribe(List.of(Topics.ALERTS, Topics.SENSOR_COMPLETENESS));
            while (System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                    if (r.topic().equals(Topics.ALERTS)) {
                        alerts.add(codec.decode(r.value()).value());
                        lastAlertAt = System.nanoTime();
                    } else {
                        JsonNode report = json.readTree(r.value());
                        if (report.path("sensor").asText().equals(sensor)
                                && report.path("minute").asLong() >= lastMinute
                                && doneAt < 0) {
                            doneAt = System.nanoTime();
                        }
                    }
                }
                long quietFrom = Math.max(doneAt, lastAlertAt);
                if (doneAt > 0 && System.nanoTime() - quietFrom > 2_000_000_000L) {
                    return alerts;
                }
            }
        }
        throw new IllegalStateException(
                "the job did not finish the series within 10 minutes; see the log");
    }
}
