package io.plantwatch.alerting;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.plantwatch.infra.EmbeddedKafka;
import io.plantwatch.model.Alert;
import io.plantwatch.model.AlertKind;
import io.plantwatch.model.AlertState;
import io.plantwatch.model.AvroAlertCodec;
import io.plantwatch.model.SensorId;
import io.plantwatch.model.Severity;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * How fast the alerting service takes in an alert storm: N alerts opened and then resolved (2N
 * events) wait in Kafka, the service starts, and the time until a webhook has been told every
 * resolution is printed, per round, with the events per second. Every journal record is forced to
 * the disk {@code dir} is on, as in the product. It prints numbers and asserts nothing.
 *
 * <pre>
 * java -cp ... io.plantwatch.alerting.AlertStormIngest [alerts] [rounds] [dir]
 * </pre>
 */
public final class AlertStormIngest {
    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0].replace("_", "")) : 10_000;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        Path base =
                args.length > 2 ? Path.of(args[2]) : Path.of(System.getProperty("java.io.tmpdir"));
        java.util.Set<String> resolved = java.util.concurrent.ConcurrentHashMap.newKeySet();
        AtomicLong notifications = new AtomicLong();
        ObjectMapper json = new ObjectMapper();
        HttpServer hook = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        hook.createContext(
                "/hook",
                ex -> {
                    JsonNode body = json.readTree(ex.getRequestBody().readAllBytes());
                    for (JsonNode a : body.path("alerts")) {
                        if (a.path("state").asText().equals("RESOLVED")) {
                            resolved.add(a.path("alert_id").asText());
                        }
                    }
                    notifications.incrementAndGet();
                    ex.sendResponseHeaders(204, -1);
                    ex.close();
                });
        hook.start();
        System.out.printf(
                Locale.ROOT,
                "alerts %,d (%,d events), rounds %d, store in %s%n",
                n,
                2 * n,
                rounds,
                base);
        try (EmbeddedKafka kafka = EmbeddedKafka.builder().build().start()) {
            for (int round = 1; round <= rounds; round++) {
                String topic = "storm-" + round;
                kafka.createTopics(2, topic);
                produce(kafka.bootstrapServers(), topic, n);
                Path dir = Files.createTempDirectory(base, "alert-storm");
                try {
                    resolved.clear();
                    notifications.set(0);
                    AlertingConfig c = config(dir, topic, kafka.bootstrapServers(), hook);
                    AlertingService service =
                            new AlertingService(new PrintWriter(System.err, true));
                    long start = System.nanoTime();
                    CompletableFuture<Void> running =
                            CompletableFuture.runAsync(
                                    () -> {
                                        try {
                                            service.run(c);
                                        } catch (Exception e) {
                                            throw new IllegalStateException(e);
                                        }
                                    });
                    while (resolved.size() < n && !running.isDone()) {
                        Thread.sleep(10); // a measurement's poll, not a test's synchronisation
                    }
                    double seconds = (System.nanoTime() - start) / 1e9;
                    service.close();
                    running.get();
                    long bytes = Files.size(dir.resolve("store").resolve("alerts.journal"));
                    System.out.printf(
                            Locale.ROOT,
                            "round %d: all %,d resolutions told in %.2f s (%,d notifications),"
                                    + " %,.0f events/s; journal %,d bytes%n",
                            round,
                            resolved.size(),
                            seconds,
                            notifications.get(),
                            2 * n / seconds,
                            bytes);
                } finally {
                    try (Stream<Path> files = Files.walk(dir)) {
                        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                    }
                }
            }
        } finally {
            hook.stop(0);
        }
        System.exit(0);
    }

    private static void produce(String bootstrap, String topic, int n) {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("linger.ms", "20");
        AvroAlertCodec codec = new AvroAlertCodec();
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            for (AlertState state : List.of(AlertState.OPEN, AlertState.RESOLVED)) {
                for (int i = 0; i < n; i++) {
                    Alert a = alert(i, state);
                    producer.send(
                            new ProducerRecord<>(
                                    topic,
                                    a.sensorId().id().getBytes(StandardCharsets.UTF_8),
                                    codec.encode(a)));
                }
            }
            producer.flush();
        }
    }

    /** Sensors of 200 machines on 50 lines, grouped per machine: a storm over a whole site. */
    private static Alert alert(int i, AlertState state) {
        return new Alert(
                "storm-" + i,
                SensorId.parse(
                        "dresden/hall-1/line-" + (i % 50) + "/machine-" + (i % 200) + "/t-" + i),
                "out-of-range",
                AlertKind.OUT_OF_RANGE,
                Severity.CRITICAL,
                state,
                1_000,
                state == AlertState.OPEN ? 1_000 : 2_000,
                3_000,
                List.of(120.0),
                "m");
    }

    private static AlertingConfig config(Path dir, String topic, String bootstrap, HttpServer hook)
            throws Exception {
        Path file = dir.resolve("alerting.yaml");
        Files.writeString(
                file,
                """
                kafka: {alerts-topic: %s}
                store: {dir: %s}
                flood: {limit: 10000000}
                flapping: {max-changes: 1000}
                api: {port: -1}
                receivers:
                  - name: hook
                    type: webhook
                    url: http://127.0.0.1:%d/hook
                    secret-env: HOOK_SECRET
                route:
                  receiver: hook
                  group-wait: 100ms
                  group-interval: 100ms
                """
                        .formatted(topic, dir.resolve("store"), hook.getAddress().getPort()));
        return AlertingConfig.load(file, bootstrap, Map.of("HOOK_SECRET", "k3y")::get);
    }
}
