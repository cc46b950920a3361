package io.plantwatch.alerting;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
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
    private final ObjectMapper json = new ObjectMapper();

    @BeforeEach
    void start() throws Exception {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
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
                                            "k3y".getBytes(StandardCharsets.UTF_8), ts, body);
                    if (!expected.equals(
                            ex.getRequestHeaders().getFirst(WebhookReceiver.SIGNATURE_HEADER))) {
                        ex.sendResponseHeaders(401, -1);
                        ex.close();
                        return;
                    }
                    JsonNode n = json.readTree(body);
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

    private AlertingConfig config() throws Exception {
        Path file = dir.resolve("alerting.yaml");
        Files.writeString(
                file,
                """
                kafka: {alerts-topic: svc-alerts}
                store: {dir: %s}
                flood: {limit: 1000}
                api: {port: -1}
                receivers:
                  - name: shift-lead
                    type: webhook
                    url: http://127.0.0.1:%d/hook
                    secret-env: HOOK_SECRET
                route:
                  receiver: shift-lead
                  group-wait: 200ms
                  group-interval: 200ms
                """
                        .formatted(dir.resolve("store"), server.getAddress().getPort()));
        return AlertingConfig.load(
                file, kafka.bootstrapServers(), Map.of("HOOK_SECRET", "k3y")::get);
    }

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
        Properties p = new Properties();
        p.put("bootstrap.servers", kafka.bootstrapServers());
        AvroAlertCodec codec = new AvroAlertCodec();
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            for (Alert a : alerts) {
                producer.send(
                        new ProducerRecord<>(
                                "svc-alerts",
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

    @Test
    void aRestartMidStreamNeitherResendsNorMisses() throws Exception {
        kafka.kafka().createTopics(2, "svc-alerts");
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
}
