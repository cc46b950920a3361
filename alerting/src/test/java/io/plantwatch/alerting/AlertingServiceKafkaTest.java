package io.plantwatch.alerting;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.plantwatch.infra.EmbeddedKafka;
import io.plantwatch.infra.KafkaExtension;
import io.plantwatch.model.Alert;
import io.plantwatch.model.AlertKind;
import io.plantwatch.model.AlertState;
import io.plantwatch.model.AvroAlertCodec;
import io.plantwatch.model.SensorId;
import io.plantwatch.model.Severity;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The service between a real Kafka and a real webhook endpoint: every alert state arrives signed,
 * and a restart of the service mid-stream neither re-sends nor misses one.
 */
class AlertingServiceKafkaTest {
    @RegisterExtension static final KafkaExtension kafka = new KafkaExtension();

    @TempDir Path dir;
    private HttpServer server;
    private final List<String> told = new CopyOnWriteArrayList<>();
    private final List<JsonNode> notifications = new CopyOnWriteArrayList<>();
    private final ObjectMapper json = new ObjectMapper();

    /** The secret the receiver checks signatures with. */
    private final java.util.concurrent.atomic.AtomicReference<String> hookSecret =
            new java.util.concurrent.atomic.AtomicReference<>("k3y");

    @BeforeEach
    void start() throws Exception {
        startReceiver(0);
    }

    private void startReceiver(int port) throws Exception {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 0);
        server.createContext(
                "/hook",
                ex -> {
                    byte[] body = ex.getRequestBody().readAllBytes();
                    long ts =
                            Long.parseLong(
                                    ex.getRequestHeaders()
                                            .getFirst(WebhookReceiver.TIMESTAMP_HEADER));
                    String expected =
                            "sha256="
                                    + WebhookReceiver.sign(
                                            hookSecret.get().getBytes(StandardCharsets.UTF_8),
                                            ts,
                                            body);
                    if (!expected.equals(
                            ex.getRequestHeaders().getFirst(WebhookReceiver.SIGNATURE_HEADER))) {
                        ex.sendResponseHeaders(401, -1);
                        ex.close();
                        return;
                    }
                    JsonNode n = json.readTree(body);
                    notifications.add(n);
                    n.path("alerts")
                            .forEach(
                                    a ->
                                            told.add(
                                                    a.path("alert_id").asText()
                                                            + ":"
                                                            + a.path("state").asText()));
                    ex.sendResponseHeaders(204, -1);
                    ex.close();
                });
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    /** Each test's own topic: the Kafka is shared by the class. */
    private String topic;

    private AlertingConfig config() throws Exception {
        return config(1000, -1);
    }

    /** Whether {@link #config} creates the DLQ topic too. */
    private boolean withDlq = true;

    private AlertingConfig config(int floodLimit, int apiPort) throws Exception {
        topic = "svc-alerts-" + java.util.UUID.randomUUID();
        kafka.kafka().createTopics(2, topic);
        if (withDlq) {
            kafka.kafka().createTopics(1, topic + "-dlq");
        }
        Path file = dir.resolve("alerting.yaml");
        Files.writeString(
                file,
                """
                kafka: {alerts-topic: %s, dlq-topic: %1$s-dlq}
                store: {dir: %s}
                flood: {limit: %d}
                api: {host: 127.0.0.1, port: %d}
                receivers:
                  - name: shift-lead
                    type: webhook
                    url: http://127.0.0.1:%d/hook
                    secret-env: HOOK_SECRET
                    max-backoff: 4s
                route:
                  receiver: shift-lead
                  group-wait: 200ms
                  group-interval: 200ms
                """
                        .formatted(
                                topic,
                                dir.resolve("store"),
                                floodLimit,
                                apiPort,
                                server.getAddress().getPort()));
        return AlertingConfig.load(
                file,
                kafka.bootstrapServers(),
                Map.of("HOOK_SECRET", "k3y", "PLANTWATCH_ALERTING_TOKEN", TOKEN)::get);
    }

    private static final String TOKEN = "t0ken-for-the-api";

    private static Alert alert(int i, AlertState state) {
        return new Alert(
                "alert-" + i,
                SensorId.parse("dresden/press-shop/line-1/press-" + (i % 3) + "/s-" + i),
                "spike",
                AlertKind.SPIKE,
                Severity.WARNING,
                state,
                1_000,
                state == AlertState.OPEN ? 1_000 : 2_000,
                3_000,
                List.of(1.0),
                "m");
    }

    private void produce(List<Alert> alerts) {
        produce(Map.of("bootstrap.servers", kafka.bootstrapServers()), alerts);
    }

    /** A record on the alerts topic that is not an alert event. */
    private void produceUndecodable() {
        Properties p = new Properties();
        p.put("bootstrap.servers", kafka.bootstrapServers());
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            producer.send(
                    new ProducerRecord<>(
                            topic,
                            "line-1".getBytes(StandardCharsets.UTF_8),
                            "not an alert".getBytes(StandardCharsets.UTF_8)));
            producer.flush();
        }
    }

    private void produce(Map<String, Object> client, List<Alert> alerts) {
        Properties p = new Properties();
        p.putAll(client);
        AvroAlertCodec codec = new AvroAlertCodec();
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            for (Alert a : alerts) {
                producer.send(
                        new ProducerRecord<>(
                                topic,
                                a.sensorId().id().getBytes(StandardCharsets.UTF_8),
                                codec.encode(a)));
            }
            producer.flush();
        }
    }

    private CompletableFuture<Void> runService(AlertingService service, AlertingConfig c) {
        return CompletableFuture.runAsync(
                () -> {
                    try {
                        service.run(c);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                });
    }

    /**
     * The service on its own ({@code java -jar alerting.jar --config ...}, as in the docker stack)
     * applies a saved change of its file while it runs, as the appliance does: a webhook secret
     * rotated in its secret file restarts it from its journal, and the next notification is signed
     * with the new secret; a file with a mistake is refused and the service goes on as it is.
     */
    /**
     * The service's API at {@code port} with the test's token: a GET, or a POST of {@code body}.
     */
    private static java.net.http.HttpResponse<String> api(int port, String path, String body)
            throws Exception {
        java.net.http.HttpRequest.Builder request =
                java.net.http.HttpRequest.newBuilder(
                                java.net.URI.create("http://127.0.0.1:" + port + path))
                        .header("Authorization", "Bearer metrics-reader");
        if (body != null) {
            request.POST(java.net.http.HttpRequest.BodyPublishers.ofString(body));
        }
        return java.net.http.HttpClient.newHttpClient()
                .send(request.build(), java.net.http.HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void onItsOwnTheServiceAppliesARotatedSecretWhileItRuns() throws Exception {
        topic = "svc-alerts-" + java.util.UUID.randomUUID();
        kafka.kafka().createTopics(2, topic);
        kafka.kafka().createTopics(1, topic + "-dlq");
        Path secret = Files.writeString(dir.resolve("hook-secret"), "first-secret\n");
        hookSecret.set("first-secret");
        Path file = dir.resolve("alerting.yaml");
        int apiPort;
        try (java.net.ServerSocket free = new java.net.ServerSocket(0)) {
            apiPort = free.getLocalPort();
        }
        String yaml =
                """
                kafka: {alerts-topic: %s, dlq-topic: %1$s-dlq}
                store: {dir: %s}
                api: {host: 127.0.0.1, port: %d, token-file: %s}
                receivers:
                  - {name: shift-lead, type: webhook, url: 'http://127.0.0.1:%d/hook',
                     secret-file: %s, max-backoff: 1s}
                route: {receiver: shift-lead, group-wait: 200ms, group-interval: 200ms}
                """
                        .formatted(
                                topic,
                                dir.resolve("store"),
                                apiPort,
                                Files.writeString(dir.resolve("api-token"), "metrics-reader\n"),
                                server.getAddress().getPort(),
                                secret);
        Files.writeString(file, yaml);
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> log =
                new ch.qos.logback.core.read.ListAppender<>();
        ch.qos.logback.classic.Logger watchLog =
                (ch.qos.logback.classic.Logger)
                        org.slf4j.LoggerFactory.getLogger(io.plantwatch.model.ConfigWatch.class);
        log.start();
        watchLog.addAppender(log);
        AlertingService command = new AlertingService(new java.io.PrintWriter(System.err, true));
        CompletableFuture<Integer> exit =
                CompletableFuture.supplyAsync(
                        () ->
                                new picocli.CommandLine(command)
                                        .execute(
                                                "--config",
                                                file.toString(),
                                                "--kafka-bootstrap",
                                                kafka.bootstrapServers()));
        try {
            // Before the alert, so a restart resumes past it: counted once, by the first service.
            produceUndecodable();
            produce(List.of(alert(1, AlertState.OPEN)));
            await().atMost(Duration.ofSeconds(60)).until(() -> told.contains("alert-1:OPEN"));
            // Prometheus' alerts are taken while pipeline alerts are on (by default).
            String emptyBatch = "[]";
            assertThat(api(apiPort, "/api/v2/alerts", emptyBatch).statusCode()).isEqualTo(200);

            Files.writeString(file, yaml.replace("port: " + apiPort, "port: lots"));
            await().atMost(Duration.ofSeconds(30))
                    .until(() -> logged(log, "The changed alerting file is not applied"));
            assertThat(exit).isNotDone();

            // The file whole again, the secret rotated: alerting restarts and signs with it. And
            // pipeline alerts switched off: Prometheus is told its alerts reach nobody.
            Files.writeString(file, yaml + "pipeline-alerts: {enabled: false}\n");
            Files.writeString(secret, "second-secret\n");
            hookSecret.set("second-secret");
            produce(List.of(alert(2, AlertState.OPEN)));
            await().atMost(Duration.ofSeconds(60)).until(() -> told.contains("alert-2:OPEN"));
            assertThat(exit).isNotDone();
            assertThat(api(apiPort, "/api/v2/alerts", emptyBatch).statusCode()).isEqualTo(404);
            // The restarted service's /metrics count the file's changes, and its counters go on:
            // each service read and delivered one alert. The count of a delivery follows the
            // receiver's answer, which the hook gives after it recorded the alert.
            java.util.concurrent.Callable<String> scrape =
                    () -> api(apiPort, "/metrics", null).body();
            String metrics =
                    await().atMost(Duration.ofSeconds(10))
                            .until(
                                    scrape,
                                    m ->
                                            m.contains(
                                                    "plantwatch_alerting_notifications_total{receiver"
                                                            + "=\"shift-lead\",outcome=\"delivered\"}"
                                                            + " 2\n"));
            // Restored, the file is what the service runs with, so the rotated secret is the one
            // change applied. A check that reads a file half written refuses it once more.
            assertThat(metrics)
                    .contains("plantwatch_alerting_events_total 2\n")
                    .contains("plantwatch_alerting_undecodable_records_total 1\n")
                    .containsPattern("(?m)^plantwatch_alerting_config_changes_applied_total 1$")
                    .containsPattern("(?m)^plantwatch_alerting_config_changes_refused_total [12]$");
        } finally {
            command.close();
            watchLog.detachAppender(log);
        }
        assertThat(exit.get(60, java.util.concurrent.TimeUnit.SECONDS)).isZero();
        assertThat(told).containsExactlyInAnyOrder("alert-1:OPEN", "alert-2:OPEN");
    }

    /**
     * A Kafka that asks for a login and allows only what its ACLs say: the service logs in with its
     * {@code kafka.consumer} settings, the login from the environment, and needs only READ and
     * DESCRIBE on the alerts topic (it assigns partitions and keeps positions in its journal, so no
     * consumer group rights).
     */
    @Test
    void readsASecuredKafkaWithItsLoginFromTheEnvironment() throws Exception {
        try (EmbeddedKafka secured =
                EmbeddedKafka.builder()
                        .saslPlain(Map.of("alerting", UUID.randomUUID().toString()))
                        .build()
                        .start()) {
            topic = "secured-alerts";
            secured.createTopic(topic, 2);
            secured.allow("alerting", topic, AclOperation.READ, AclOperation.DESCRIBE);
            Path file = dir.resolve("secured.yaml");
            Files.writeString(
                    file,
                    """
                    kafka:
                      alerts-topic: %s
                      consumer:
                        security.protocol: SASL_PLAINTEXT
                        sasl.mechanism: PLAIN
                        sasl.jaas.config-env: ALERTING_KAFKA_LOGIN
                    store: {dir: %s}
                    api: {port: -1}
                    receivers:
                      - {name: shift-lead, type: webhook, url: 'http://127.0.0.1:%d/hook', secret-env: HOOK_SECRET}
                    route: {receiver: shift-lead, group-wait: 200ms, group-interval: 200ms}
                    """
                            .formatted(
                                    topic,
                                    dir.resolve("secured-store"),
                                    server.getAddress().getPort()));
            Object login = secured.clientProperties("alerting").get("sasl.jaas.config");
            AlertingConfig c =
                    AlertingConfig.load(
                            file,
                            secured.bootstrapServers(),
                            Map.of("HOOK_SECRET", "k3y", "ALERTING_KAFKA_LOGIN", (String) login)
                                    ::get);
            List<Alert> alerts = new ArrayList<>();
            List<String> expected = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                alerts.add(alert(i, AlertState.OPEN));
                expected.add("alert-" + i + ":OPEN");
            }
            AlertingService service =
                    new AlertingService(new java.io.PrintWriter(System.err, true));
            CompletableFuture<Void> running = runService(service, c);
            produce(secured.clientProperties(EmbeddedKafka.ADMIN), alerts);
            await().atMost(Duration.ofSeconds(30)).until(() -> told.size() >= expected.size());
            service.close();
            running.get();
            assertThat(told).containsExactlyInAnyOrderElementsOf(expected);
            assertThat(c.toString()).doesNotContain((String) login);
        }
    }

    /**
     * A record that is not an alert event, while the DLQ topic does not exist yet: its partition
     * waits at it, and the other partition's alert is told meanwhile, sooner than the 10 s the
     * first try to keep it waits for the topic (the loop does not wait with it). Once the topic is
     * there, the record is kept in it as it came and the alert behind it is told; its position is
     * journaled, so a restart does not keep it again.
     */
    @Test
    void aRecordTheDlqCannotTakeHoldsItsPartitionUntilItCan() throws Exception {
        withDlq = false;
        AlertingConfig c = config();
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> log =
                new ch.qos.logback.core.read.ListAppender<>();
        ch.qos.logback.classic.Logger serviceLog =
                (ch.qos.logback.classic.Logger)
                        org.slf4j.LoggerFactory.getLogger(AlertDeadLetters.class);
        ch.qos.logback.classic.Logger startLog =
                (ch.qos.logback.classic.Logger)
                        org.slf4j.LoggerFactory.getLogger(AlertingService.class);
        log.start();
        serviceLog.addAppender(log);
        startLog.addAppender(log);
        AlertingService service = new AlertingService(new java.io.PrintWriter(System.err, true));
        CompletableFuture<Void> running = runService(service, c);
        long junkAt;
        try {
            // The 8 s below are the loop's, not the start's.
            await().atMost(Duration.ofSeconds(60)).until(() -> logged(log, "alerting started"));
            ProducerRecord<byte[], byte[]> junk =
                    new ProducerRecord<>(topic, 0, "line-1".getBytes(), "not an alert".getBytes());
            junk.headers().add("origin", "test".getBytes());
            junkAt = send(junk);
            send(alertAt(0, alert(1, AlertState.OPEN)));
            send(alertAt(1, alert(2, AlertState.OPEN)));
            await().atMost(Duration.ofSeconds(8)).until(() -> told.contains("alert-2:OPEN"));
            await().atMost(Duration.ofSeconds(30))
                    .until(() -> logged(log, "Alerting holds " + topic + "-0 at offset " + junkAt));
            assertThat(told).doesNotContain("alert-1:OPEN");

            kafka.kafka().createTopics(1, c.dlqTopic());
            await().atMost(Duration.ofSeconds(60)).until(() -> told.contains("alert-1:OPEN"));
            // A second one, with nothing after it: kept at once.
            long lastAt = send(new ProducerRecord<>(topic, 0, null, "nor this".getBytes()));
            await().atMost(Duration.ofSeconds(30))
                    .until(
                            () ->
                                    logged(
                                            log,
                                            "Skipped an undecodable record at "
                                                    + topic
                                                    + "-0@"
                                                    + lastAt));
        } finally {
            service.close();
            running.get();
            serviceLog.detachAppender(log);
            startLog.detachAppender(log);
        }
        // Started again: the last kept record's position was journaled, so it is not kept again.
        AlertingService again = new AlertingService(new java.io.PrintWriter(System.err, true));
        CompletableFuture<Void> runningAgain = runService(again, c);
        try {
            send(alertAt(0, alert(3, AlertState.OPEN)));
            await().atMost(Duration.ofSeconds(60)).until(() -> told.contains("alert-3:OPEN"));
        } finally {
            again.close();
            runningAgain.get();
        }
        List<org.apache.kafka.clients.consumer.ConsumerRecord<byte[], byte[]>> kept =
                readAll(c.dlqTopic());
        assertThat(kept).hasSize(2);
        assertThat(new String(kept.get(1).value())).isEqualTo("nor this");
        var r = kept.get(0);
        assertThat(new String(r.value())).isEqualTo("not an alert");
        assertThat(new String(r.key())).isEqualTo("line-1");
        assertThat(header(r, "origin")).isEqualTo("test");
        assertThat(header(r, io.plantwatch.model.Topics.HEADER_REASON)).isEqualTo("unknown_schema");
        assertThat(header(r, io.plantwatch.model.Topics.HEADER_SOURCE_TOPIC)).isEqualTo(topic);
        assertThat(header(r, io.plantwatch.model.Topics.HEADER_SOURCE_PARTITION)).isEqualTo("0");
        assertThat(header(r, io.plantwatch.model.Topics.HEADER_SOURCE_OFFSET))
                .isEqualTo(Long.toString(junkAt));
        assertThat(header(r, io.plantwatch.model.Topics.HEADER_REJECTED_BY)).isEqualTo("alerting");
        assertThat(told).containsExactlyInAnyOrder("alert-1:OPEN", "alert-2:OPEN", "alert-3:OPEN");
    }

    private ProducerRecord<byte[], byte[]> alertAt(int partition, Alert a) {
        return new ProducerRecord<>(topic, partition, null, new AvroAlertCodec().encode(a));
    }

    /** Writes {@code r} and returns its offset. */
    private static long send(ProducerRecord<byte[], byte[]> r) throws Exception {
        Properties p = new Properties();
        p.put("bootstrap.servers", kafka.bootstrapServers());
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            return producer.send(r).get().offset();
        }
    }

    /** Whether a line containing {@code text} was logged, read under the appender's lock. */
    private static boolean logged(
            ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> log,
            String text) {
        synchronized (log) {
            return log.list.stream().anyMatch(e -> e.getFormattedMessage().contains(text));
        }
    }

    /** Every record of partition 0 of {@code name}, up to its end. */
    private static List<org.apache.kafka.clients.consumer.ConsumerRecord<byte[], byte[]>> readAll(
            String name) {
        Properties p = new Properties();
        p.put("bootstrap.servers", kafka.bootstrapServers());
        List<org.apache.kafka.clients.consumer.ConsumerRecord<byte[], byte[]>> all =
                new ArrayList<>();
        try (var consumer =
                new org.apache.kafka.clients.consumer.KafkaConsumer<>(
                        p,
                        new org.apache.kafka.common.serialization.ByteArrayDeserializer(),
                        new org.apache.kafka.common.serialization.ByteArrayDeserializer())) {
            var tp = new org.apache.kafka.common.TopicPartition(name, 0);
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            long end = consumer.endOffsets(List.of(tp)).get(tp);
            await().atMost(Duration.ofSeconds(30))
                    .until(
                            () -> {
                                consumer.poll(Duration.ofMillis(200)).forEach(all::add);
                                return consumer.position(tp) >= end;
                            });
        }
        return all;
    }

    private static String header(
            org.apache.kafka.clients.consumer.ConsumerRecord<byte[], byte[]> r, String name) {
        var h = r.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    /** The last alert state told of sensor {@code id} in {@code state}, or null. */
    private JsonNode pipelineAlert(String id, AlertState state) {
        JsonNode found = null;
        for (JsonNode n : notifications) {
            for (JsonNode a : n.path("alerts")) {
                if (a.path("sensor").asText().equals(id)
                        && a.path("state").asText().equals(state.name())) {
                    found = a;
                }
            }
        }
        return found;
    }

    /**
     * {@code /health} is 200 while alerting reads Kafka, 503 naming Kafka once its consumer has had
     * no answer for {@code api.health-kafka-grace}, and 200 again once Kafka is back. Before, it
     * answered UP throughout: Kafka's consumer waits without a word while the brokers are away.
     * Meanwhile its receivers are told, by a pipeline alert that opens and resolves once, and its
     * heartbeat goes on (the service runs); it stops with the service.
     */
    @Test
    void healthIsDownWhileKafkaIsAwayAndUpOnceItIsBack() throws Exception {
        int apiPort;
        try (java.net.ServerSocket free = new java.net.ServerSocket(0)) {
            apiPort = free.getLocalPort();
        }
        config(1000, apiPort);
        Path file = dir.resolve("alerting.yaml");
        Files.writeString(
                file,
                Files.readString(file)
                                .replace(
                                        "port: " + apiPort + "}",
                                        "port: " + apiPort + ", health-kafka-grace: 5s}")
                        + "heartbeat: {url-env: BEAT_URL, every: 1s}\n"
                        + "pipeline-alerts: {after: 5s}\n");
        java.util.concurrent.atomic.AtomicInteger beats =
                new java.util.concurrent.atomic.AtomicInteger();
        server.createContext(
                "/beat",
                ex -> {
                    beats.incrementAndGet();
                    ex.sendResponseHeaders(200, -1);
                    ex.close();
                });
        AlertingConfig c =
                AlertingConfig.load(
                        file,
                        kafka.bootstrapServers(),
                        Map.of(
                                        "HOOK_SECRET",
                                        "k3y",
                                        "PLANTWATCH_ALERTING_TOKEN",
                                        TOKEN,
                                        "BEAT_URL",
                                        "http://127.0.0.1:"
                                                + server.getAddress().getPort()
                                                + "/beat")
                                ::get);
        assertThat(c.healthKafkaGrace()).isEqualTo(Duration.ofSeconds(5));
        java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
        java.net.http.HttpRequest health =
                java.net.http.HttpRequest.newBuilder(
                                java.net.URI.create("http://127.0.0.1:" + apiPort + "/health"))
                        .timeout(Duration.ofSeconds(5))
                        .build();
        java.util.function.Supplier<java.net.http.HttpResponse<String>> get =
                () -> {
                    try {
                        return http.send(
                                health, java.net.http.HttpResponse.BodyHandlers.ofString());
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new IllegalStateException(e);
                    }
                };
        AlertingService service = new AlertingService(new java.io.PrintWriter(System.err, true));
        CompletableFuture<Void> running = runService(service, c);
        try {
            await().atMost(Duration.ofSeconds(60))
                    .ignoreExceptions()
                    .until(() -> get.get().statusCode() == 200);
            assertThat(json.readTree(get.get().body()).path("status").asText()).isEqualTo("UP");
            await().atMost(Duration.ofSeconds(10)).until(() -> beats.get() >= 2);
            kafka.kafka().stop();
            await().atMost(Duration.ofSeconds(30)).until(() -> get.get().statusCode() == 503);
            JsonNode down = json.readTree(get.get().body());
            assertThat(down.path("status").asText()).isEqualTo("DOWN");
            assertThat(down.path("problems").get(0).asText())
                    .startsWith("no answer from Kafka for ")
                    .endsWith("longer than api.health-kafka-grace: alerts are not read");
            // Told while Kafka is away: the pipeline's own alerts do not go through it.
            String reading = "plantwatch/pipeline/appliance/alerting/reading-alerts";
            await().atMost(Duration.ofSeconds(30))
                    .until(() -> pipelineAlert(reading, AlertState.OPEN) != null);
            JsonNode open = pipelineAlert(reading, AlertState.OPEN);
            assertThat(open.path("severity").asText()).isEqualTo("CRITICAL");
            assertThat(open.path("rule").asText()).isEqualTo(PipelineAlerts.RULE);
            assertThat(open.path("message").asText())
                    .startsWith("Alerting cannot read the alerts: no answer from Kafka for ");
            // Its loop comes round: the heartbeat says alerting is there, the alert what it lacks.
            int beatsWhileAway = beats.get();
            await().atMost(Duration.ofSeconds(10)).until(() -> beats.get() > beatsWhileAway);
            kafka.kafka().start();
            await().atMost(Duration.ofSeconds(60)).until(() -> get.get().statusCode() == 200);
            // Reading again: an alert sent now is told.
            produce(List.of(alert(1, AlertState.OPEN)));
            await().atMost(Duration.ofSeconds(60)).until(() -> told.contains("alert-1:OPEN"));
            await().atMost(Duration.ofSeconds(30))
                    .until(() -> pipelineAlert(reading, AlertState.RESOLVED) != null);
            assertThat(
                            told.stream()
                                    .filter(t -> t.startsWith(open.path("alert_id").asText()))
                                    .toList())
                    .as("one episode, told opening and ending once each")
                    .containsExactly(
                            open.path("alert_id").asText() + ":OPEN",
                            open.path("alert_id").asText() + ":RESOLVED");
            String metrics =
                    http.send(
                                    java.net.http.HttpRequest.newBuilder(
                                                    java.net.URI.create(
                                                            "http://127.0.0.1:"
                                                                    + apiPort
                                                                    + "/metrics"))
                                            .header("Authorization", "Bearer " + TOKEN)
                                            .build(),
                                    java.net.http.HttpResponse.BodyHandlers.ofString())
                            .body();
            assertThat(metrics)
                    .contains("plantwatch_alerting_pipeline_events_total 2\n")
                    .contains("plantwatch_alerting_heartbeats_failed_total 0\n")
                    .containsPattern("plantwatch_alerting_heartbeats_sent_total [1-9][0-9]*\n");
        } finally {
            if (!kafka.kafka().isRunning()) {
                kafka.kafka().start();
            }
            service.close();
            running.get();
        }
        int closed = beats.get();
        await().during(Duration.ofSeconds(2))
                .atMost(Duration.ofSeconds(4))
                .until(() -> beats.get() <= closed + 1);
    }

    @Test
    void aRestartMidStreamNeitherResendsNorMisses() throws Exception {
        AlertingConfig c = config();
        List<String> expected = new ArrayList<>();
        List<Alert> first = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            first.add(alert(i, AlertState.OPEN));
            expected.add("alert-" + i + ":OPEN");
        }
        AlertingService one = new AlertingService(new java.io.PrintWriter(System.err, true));
        CompletableFuture<Void> running = runService(one, c);
        produce(first);
        await().atMost(Duration.ofSeconds(30)).until(() -> told.size() >= 30);
        one.close();
        running.get();

        // While it is down: resolutions of the first ten and ten new alerts.
        List<Alert> second = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            second.add(alert(i, AlertState.RESOLVED));
            expected.add("alert-" + i + ":RESOLVED");
            second.add(alert(100 + i, AlertState.OPEN));
            expected.add("alert-" + (100 + i) + ":OPEN");
        }
        produce(second);
        AlertingService two = new AlertingService(new java.io.PrintWriter(System.err, true));
        CompletableFuture<Void> again = runService(two, c);
        await().atMost(Duration.ofSeconds(30)).until(() -> told.size() >= expected.size());
        two.close();
        again.get();
        assertThat(told).containsExactlyInAnyOrderElementsOf(expected);
    }

    /**
     * With every partition already applied, a restart must read on from the journal's positions: no
     * event applied again, so no history line added and nothing counted as a duplicate.
     */
    @Test
    void aRestartWithEveryPartitionAppliedAppliesNothingAgain() throws Exception {
        AlertingConfig c = config();
        List<Alert> first = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            first.add(alert(i, AlertState.OPEN));
        }
        for (int i = 0; i < 5; i++) {
            first.add(alert(i, AlertState.RESOLVED));
        }
        AlertingService one = new AlertingService(new java.io.PrintWriter(System.err, true));
        CompletableFuture<Void> running = runService(one, c);
        produce(first);
        await().atMost(Duration.ofSeconds(30)).until(() -> told.size() >= 20);
        one.close();
        running.get();
        Map<String, List<String>> before = new java.util.HashMap<>();
        try (AlertStore store = new AlertStore(dir.resolve("store"))) {
            assertThat(store.nextOffsets()).as("both partitions applied").hasSize(2);
            store.all().forEach(e -> before.put(e.alert().alertId(), e.history()));
        }
        int toldBefore = told.size();

        // One new alert on each partition: once both are told, both partitions were read on.
        AlertingService two = new AlertingService(new java.io.PrintWriter(System.err, true));
        CompletableFuture<Void> again = runService(two, c);
        produceToEachPartition(List.of(alert(200, AlertState.OPEN), alert(201, AlertState.OPEN)));
        await().atMost(Duration.ofSeconds(30)).until(() -> told.size() >= toldBefore + 2);
        two.close();
        again.get();
        try (AlertStore store = new AlertStore(dir.resolve("store"))) {
            for (AlertStore.Entry e : store.all()) {
                if (before.containsKey(e.alert().alertId())) {
                    assertThat(e.history())
                            .as("history of %s", e.alert().alertId())
                            .isEqualTo(before.get(e.alert().alertId()));
                }
            }
        }
        assertThat(told.subList(toldBefore, told.size()))
                .containsExactlyInAnyOrder("alert-200:OPEN", "alert-201:OPEN");
    }

    private void produceToEachPartition(List<Alert> alerts) {
        Properties p = new Properties();
        p.put("bootstrap.servers", kafka.bootstrapServers());
        AvroAlertCodec codec = new AvroAlertCodec();
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            for (int i = 0; i < alerts.size(); i++) {
                producer.send(new ProducerRecord<>(topic, i, null, codec.encode(alerts.get(i))));
            }
            producer.flush();
        }
    }

    @Test
    void aThousandEventsFromFiveMachinesStayWithinTheFloodLimitAndAllAreInTheApi()
            throws Exception {
        int apiPort;
        try (java.net.ServerSocket free = new java.net.ServerSocket(0)) {
            apiPort = free.getLocalPort();
        }
        AlertingConfig c = config(3, apiPort);
        List<Alert> burst = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            burst.add(
                    new Alert(
                            "burst-" + i,
                            SensorId.parse(
                                    "dresden/press-shop/line-1/press-" + (i % 5) + "/s-" + i),
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
        AlertingService service = new AlertingService(new java.io.PrintWriter(System.err, true));
        CompletableFuture<Void> running = runService(service, c);
        long start = System.nanoTime();
        produce(burst);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofMinutes(1));

        java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
        java.net.http.HttpRequest all =
                java.net.http.HttpRequest.newBuilder(
                                java.net.URI.create("http://127.0.0.1:" + apiPort + "/api/alerts"))
                        .header("Authorization", "Bearer " + TOKEN)
                        .build();
        await().atMost(Duration.ofSeconds(60))
                .ignoreExceptions()
                .until(
                        () ->
                                json.readTree(
                                                        http.send(
                                                                        all,
                                                                        java.net.http.HttpResponse
                                                                                .BodyHandlers
                                                                                .ofString())
                                                                .body())
                                                .path("count")
                                                .asInt()
                                        == 1000);
        // Three notifications (the limit), then one summary; every other group is held.
        await().atMost(Duration.ofSeconds(30)).until(() -> notifications.size() >= 4);
        service.close();
        running.get();
        assertThat(notifications).hasSize(4);
        assertThat(notifications.stream().filter(n -> n.path("status").asText().equals("SUMMARY")))
                .hasSize(1);
        for (JsonNode n : notifications) {
            java.util.Set<String> machines = new java.util.HashSet<>();
            n.path("alerts").forEach(a -> machines.add(a.path("machine").asText()));
            assertThat(machines).as("one machine per notification").hasSize(1);
        }
    }

    @Test
    void aReceiverDownFor30SecondsGetsEveryNotificationAfterwardsAndNoneTwice() throws Exception {
        AlertingConfig c = config();
        int port = server.getAddress().getPort();
        server.stop(0); // down: connections refused
        AlertingService service = new AlertingService(new java.io.PrintWriter(System.err, true));
        CompletableFuture<Void> running = runService(service, c);
        List<Alert> events = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            events.add(alert(i, AlertState.OPEN));
        }
        produce(events);
        long downSince = System.nanoTime();
        // Resolutions while it is still down.
        List<Alert> resolved = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            resolved.add(alert(i, AlertState.RESOLVED));
        }
        produce(resolved);
        // Every alert's last state must arrive; an open state that resolved before its group was
        // first flushed is told as resolved only (as Alertmanager does).
        List<String> last = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            last.add("alert-" + i + (i < 5 ? ":RESOLVED" : ":OPEN"));
        }
        await().pollDelay(Duration.ofSeconds(30).minusNanos(System.nanoTime() - downSince))
                .atMost(Duration.ofSeconds(40))
                .until(() -> true);
        assertThat(told).isEmpty();
        startReceiver(port);

        await().atMost(Duration.ofSeconds(30))
                .untilAsserted(() -> assertThat(told).containsAll(last));
        service.close();
        running.get();
        assertThat(told).doesNotHaveDuplicates();
        assertThat(told)
                .allSatisfy(
                        t ->
                                assertThat(last.contains(t) || t.matches("alert-[0-4]:OPEN"))
                                        .isTrue());
        assertThat(notifications.stream().map(n -> n.path("id").asText())).doesNotHaveDuplicates();
    }
}
