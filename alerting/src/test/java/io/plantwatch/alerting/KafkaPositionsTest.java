package io.plantwatch.alerting;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.plantwatch.infra.EmbeddedKafka;
import io.plantwatch.infra.KafkaExtension;
import io.plantwatch.infra.KafkaTopics;
import io.plantwatch.model.Alert;
import io.plantwatch.model.AlertKind;
import io.plantwatch.model.AlertState;
import io.plantwatch.model.AvroAlertCodec;
import io.plantwatch.model.SensorId;
import io.plantwatch.model.Severity;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * A journal whose positions Kafka no longer has: past the log's end (a broker that lost its tail in
 * a power cut) or before its start (retention). The service says so, counts it, and applies every
 * record Kafka still holds from there on, none skipped.
 */
class KafkaPositionsTest {
    @RegisterExtension static final KafkaExtension kafka = new KafkaExtension();

    private static final String TOKEN = "t0ken-for-the-api";
    private static final Duration DEADLINE = Duration.ofSeconds(60);

    @TempDir Path dir;
    private String topic;
    private int apiPort;
    private final ObjectMapper json = new ObjectMapper();
    private final HttpClient http = HttpClient.newHttpClient();
    private final ListAppender<ILoggingEvent> log = new ListAppender<>();
    private final ch.qos.logback.classic.Logger alertingLog =
            (ch.qos.logback.classic.Logger) LoggerFactory.getLogger("io.plantwatch.alerting");

    @BeforeEach
    void capture() {
        log.start();
        alertingLog.addAppender(log);
    }

    @AfterEach
    void release() {
        alertingLog.detachAppender(log);
    }

    /**
     * Kafka lost the tail of both partitions (15 records each, applied by the service) and kept 5.
     * The service warns per partition with the journal's position and the log's end, counts 30
     * lost, and applies every record written after its start.
     */
    @Test
    void aJournalPastTheLogsEndResumesAtTheEndAsItIsAtStartWithAWarning() throws Exception {
        AlertingConfig c = config(kafka.kafka(), 2);
        List<List<Alert>> applied = new ArrayList<>();
        try (Running one = start(c)) {
            for (int p = 0; p < 2; p++) {
                applied.add(alerts("old", p, 20));
                produce(kafka.kafka(), p, applied.get(p));
            }
            awaitApplied("old", 2, 20);
        }

        // The broker's crash: the topic holds only the first 5 of each partition again.
        recreate(kafka.kafka(), 2);
        for (int p = 0; p < 2; p++) {
            produce(kafka.kafka(), p, applied.get(p).subList(0, 5));
        }
        try (Running two = start(c)) {
            await().atMost(DEADLINE).until(() -> lostWarnings().size() == 2);
            for (int p = 0; p < 2; p++) {
                assertThat(lostWarnings())
                        .anySatisfy(
                                w ->
                                        assertThat(w)
                                                .startsWith(
                                                        "Kafka lost 15 alert records this service"
                                                                + " had applied")
                                                .contains(topic + "-")
                                                .contains("resuming at 5, the log's end")
                                                .contains("position 20"));
            }
            for (int p = 0; p < 2; p++) {
                produce(kafka.kafka(), p, alerts("new", p, 30));
            }
            awaitApplied("new", 2, 30);
            assertThat(metric("plantwatch_alerting_kafka_lost_records_total")).isEqualTo(30);
            assertThat(metric("plantwatch_alerting_kafka_deleted_unread_records_total")).isZero();
        }
        assertThat(lostWarnings()).as("one line per partition").hasSize(2);
    }

    /**
     * Retention deleted offsets 20..24 of both partitions while the service was away, before it
     * read them; 25..29 are still there. It resumes at 25 with a warning, and 25..29 are applied.
     */
    @Test
    void aJournalBeforeTheLogsStartResumesAtTheStartWithAWarning() throws Exception {
        AlertingConfig c = config(kafka.kafka(), 2);
        try (Running one = start(c)) {
            for (int p = 0; p < 2; p++) {
                produce(kafka.kafka(), p, alerts("old", p, 20));
            }
            awaitApplied("old", 2, 20);
        }
        for (int p = 0; p < 2; p++) {
            produce(kafka.kafka(), p, alerts("away", p, 10));
        }
        try (Admin admin = kafka.kafka().createAdmin()) {
            admin.deleteRecords(
                            Map.of(
                                    new TopicPartition(topic, 0),
                                    RecordsToDelete.beforeOffset(25),
                                    new TopicPartition(topic, 1),
                                    RecordsToDelete.beforeOffset(25)))
                    .all()
                    .get(30, TimeUnit.SECONDS);
        }
        try (Running two = start(c)) {
            await().atMost(DEADLINE).until(() -> deletedWarnings().size() == 2);
            assertThat(deletedWarnings())
                    .allSatisfy(
                            w ->
                                    assertThat(w)
                                            .startsWith("Kafka deleted 5 alert records on " + topic)
                                            .contains("resuming at 25, the log's start")
                                            .contains("position 20"));
            for (int p = 0; p < 2; p++) {
                produce(kafka.kafka(), p, alerts("new", p, 10));
            }
            awaitApplied("new", 2, 10);
            await().atMost(DEADLINE)
                    .untilAsserted(
                            () -> {
                                Set<String> ids = applied();
                                for (int p = 0; p < 2; p++) {
                                    for (int i = 0; i < 10; i++) {
                                        assertThat(ids.contains(id("away", p, i)))
                                                .as("%s applied", id("away", p, i))
                                                .isEqualTo(i >= 5);
                                    }
                                }
                            });
            assertThat(metric("plantwatch_alerting_kafka_deleted_unread_records_total"))
                    .isEqualTo(10);
            assertThat(metric("plantwatch_alerting_kafka_lost_records_total")).isZero();
        }
    }

    /**
     * The review's case: the broker lost offsets 5..19, which the service had applied, and the
     * anomaly job wrote 20 new alerts at 5..24 before the service started, so the journal's 20 is
     * inside the log. Only the leader epoch of the last applied record shows that the log was
     * written again from 5. Every new alert is applied, none skipped.
     */
    @Test
    void aTailLostAndWrittenAgainBeforeTheStartIsFoundByItsLeaderEpoch() throws Exception {
        try (EmbeddedKafka own = EmbeddedKafka.builder().build().start()) {
            AlertingConfig c = config(own, 1);
            List<Alert> old = alerts("old", 0, 20);
            try (Running one = start(c)) {
                produce(own, 0, old);
                awaitApplied("old", 1, 20);
            }
            recreate(own, 1);
            produce(own, 0, old.subList(0, 5));
            // Its restart: a new leader epoch, as after the power cut.
            own.stop();
            own.start();
            produce(own, 0, alerts("refill", 0, 20));
            try (Running two = start(c)) {
                awaitApplied("refill", 1, 20);
                assertThat(lostWarnings())
                        .singleElement()
                        .satisfies(
                                w ->
                                        assertThat(w)
                                                .startsWith(
                                                        "Kafka lost 15 alert records this service"
                                                                + " had applied on "
                                                                + topic
                                                                + "-0")
                                                .contains("written again from offset 5")
                                                .contains("resuming at 5"));
                assertThat(metric("plantwatch_alerting_kafka_lost_records_total")).isEqualTo(15);
            }
        }
    }

    /**
     * A partition added to the topic while the service runs holds only new alerts: it is read from
     * its start. The service assigned its partitions once, and never read one added later.
     */
    @Test
    void aPartitionAddedWhileRunningIsReadFromItsStart() throws Exception {
        // The consumer learns of new partitions with its metadata, every 5 minutes by default.
        AlertingConfig c = config(kafka.kafka(), 1, "{metadata.max.age.ms: '500'}");
        try (Running one = start(c)) {
            produce(kafka.kafka(), 0, alerts("first", 0, 5));
            awaitApplied("first", 1, 5);
            try (Admin admin = kafka.kafka().createAdmin()) {
                admin.createPartitions(Map.of(topic, NewPartitions.increaseTo(2)))
                        .all()
                        .get(30, TimeUnit.SECONDS);
                KafkaTopics.awaitWritable(admin, List.of(topic), DEADLINE);
            }
            produce(kafka.kafka(), 1, alerts("added", 1, 5));
            produce(kafka.kafka(), 0, alerts("added", 0, 5));
            awaitApplied("added", 2, 5);
        }
    }

    /** A running service; closing it stops it and waits for its loop to end. */
    private record Running(AlertingService service, CompletableFuture<Void> loop)
            implements AutoCloseable {
        @Override
        public void close() throws Exception {
            service.close();
            loop.get(60, TimeUnit.SECONDS);
        }
    }

    private static Running start(AlertingConfig c) {
        AlertingService service = new AlertingService(new PrintWriter(System.err, true));
        return new Running(
                service,
                CompletableFuture.runAsync(
                        () -> {
                            try {
                                service.run(c);
                            } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                            } catch (IOException e) {
                                throw new UncheckedIOException(e);
                            }
                        }));
    }

    private AlertingConfig config(EmbeddedKafka k, int partitions) throws Exception {
        return config(k, partitions, "{}");
    }

    private AlertingConfig config(EmbeddedKafka k, int partitions, String consumer)
            throws Exception {
        topic = "positions-" + UUID.randomUUID();
        k.createTopics(partitions, topic);
        try (ServerSocket free = new ServerSocket(0)) {
            apiPort = free.getLocalPort();
        }
        Path file = dir.resolve("alerting.yaml");
        Files.writeString(
                file,
                """
                kafka: {alerts-topic: %s, consumer: %s}
                store: {dir: %s}
                api: {host: 127.0.0.1, port: %d}
                receivers:
                  - {name: console, type: console}
                route: {receiver: console, group-wait: 200ms, group-interval: 200ms}
                """
                        .formatted(topic, consumer, dir.resolve("store"), apiPort));
        return AlertingConfig.load(
                file, k.bootstrapServers(), Map.of("PLANTWATCH_ALERTING_TOKEN", TOKEN)::get);
    }

    /** Deletes the topic and creates it again, empty: what a broker that lost its log holds. */
    private void recreate(EmbeddedKafka k, int partitions) throws Exception {
        try (Admin admin = k.createAdmin()) {
            admin.deleteTopics(List.of(topic)).all().get(30, TimeUnit.SECONDS);
            await().atMost(DEADLINE).until(() -> !admin.listTopics().names().get().contains(topic));
            // Until the deletion has reached every part of the broker, creating it may be refused.
            await().atMost(DEADLINE)
                    .ignoreExceptions()
                    .until(
                            () -> {
                                admin.createTopics(
                                                List.of(new NewTopic(topic, partitions, (short) 1)))
                                        .all()
                                        .get(30, TimeUnit.SECONDS);
                                return true;
                            });
            KafkaTopics.awaitWritable(admin, List.of(topic), DEADLINE);
        }
    }

    private static String id(String label, int partition, int i) {
        return label + "-" + partition + "-" + i;
    }

    private static List<Alert> alerts(String label, int partition, int n) {
        List<Alert> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(
                    new Alert(
                            id(label, partition, i),
                            SensorId.parse(
                                    "dresden/press-shop/line-1/press-"
                                            + partition
                                            + "/"
                                            + label
                                            + "-"
                                            + i),
                            "spike",
                            AlertKind.SPIKE,
                            Severity.WARNING,
                            AlertState.OPEN,
                            1_000,
                            1_000,
                            3_000,
                            List.of(1.0),
                            "m"));
        }
        return out;
    }

    private void produce(EmbeddedKafka k, int partition, List<Alert> alerts) {
        Properties p = new Properties();
        p.put("bootstrap.servers", k.bootstrapServers());
        AvroAlertCodec codec = new AvroAlertCodec();
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            for (Alert a : alerts) {
                producer.send(new ProducerRecord<>(topic, partition, null, codec.encode(a)));
            }
            producer.flush();
        }
    }

    private void awaitApplied(String label, int partitions, int n) {
        Set<String> expected = new HashSet<>();
        for (int p = 0; p < partitions; p++) {
            for (int i = 0; i < n; i++) {
                expected.add(id(label, p, i));
            }
        }
        await().atMost(DEADLINE)
                .ignoreExceptions()
                .untilAsserted(() -> assertThat(applied()).containsAll(expected));
    }

    /** The ids of the alerts in the service's store, from its API (one page holds them all). */
    private Set<String> applied() throws Exception {
        JsonNode body = json.readTree(get("/api/alerts?limit=1000"));
        Set<String> ids = new HashSet<>();
        body.path("alerts").forEach(a -> ids.add(a.path("alert_id").asText()));
        return ids;
    }

    private long metric(String name) throws Exception {
        for (String line : get("/metrics").split("\n")) {
            if (line.startsWith(name + " ")) {
                return Long.parseLong(line.substring(name.length() + 1).trim());
            }
        }
        throw new AssertionError(name + " is not in /metrics");
    }

    private String get(String path) throws Exception {
        HttpResponse<String> r =
                http.send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + apiPort + path))
                                .header("Authorization", "Bearer " + TOKEN)
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as("GET %s", path).isEqualTo(200);
        return r.body();
    }

    private List<String> warnings(String start) {
        // Under the appender's lock: the service's thread appends while a test polls.
        synchronized (log) {
            return log.list.stream()
                    .filter(e -> e.getLevel() == Level.WARN)
                    .map(ILoggingEvent::getFormattedMessage)
                    .filter(m -> m.startsWith(start))
                    .toList();
        }
    }

    private List<String> lostWarnings() {
        return warnings("Kafka lost ");
    }

    private List<String> deletedWarnings() {
        return warnings("Kafka deleted ");
    }
}
