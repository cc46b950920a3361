package io.plantwatch.appliance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.plantwatch.infra.MosquittoExtension;
import io.plantwatch.model.Alert;
import io.plantwatch.model.AlertKind;
import io.plantwatch.model.AvroAlertCodec;
import io.plantwatch.model.Topics;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code plantwatch run} against Debian's mosquitto as the plant's broker, with the embedded Kafka:
 * readings published with {@code mosquitto_pub} reach Kafka through the gateway, and an excursion
 * among them is alerted by the job.
 */
class RunWithMosquittoTest {
    @RegisterExtension static final MosquittoExtension mosquitto = new MosquittoExtension();

    private static final String SENSOR = "dresden/press-shop/line-1/press-1/oil-temp";

    @TempDir Path dir;

    @Test
    void readingsPublishedWithMosquittoPubAreProcessedAndAnExcursionIsAlerted() throws Exception {
        // Idle Kafka partitions stop holding the watermark back after 1 s instead of 30 s. The
        // late readings' topic is renamed: the appliance creates the topics its configs name.
        Path job = dir.resolve("job.yaml");
        Files.writeString(job, "watermark: {idleness: 1s}\nkafka: {late-topic: line-7-late}\n");
        Path settings = dir.resolve("appliance.yaml");
        Files.writeString(
                settings,
                """
                mqtt: {broker: %s}
                kafka: {bootstrap: embedded}
                data-dir: %s
                job: {config: %s, rules: ../config/rules.yaml}
                gateway: {config: ../config/gateway.yaml}
                alerting: {config: ../config/alerting-demo.yaml}
                """
                        .formatted(mosquitto.uri(), dir.resolve("data"), job));
        Plantwatch plantwatch = new Plantwatch();
        CommandLine cli = new CommandLine(plantwatch);
        StringWriter out = new StringWriter();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(System.err, true));
        CompletableFuture<Integer> run =
                CompletableFuture.supplyAsync(
                        () -> cli.execute("run", "--config", settings.toString()));
        RunCommand command = cli.getSubcommands().get("run").getCommand();
        try {
            await().atMost(Duration.ofSeconds(90))
                    .until(() -> out.toString().contains("Plantwatch running"));
            Matcher m = Pattern.compile("Kafka (\\S+),").matcher(out.toString());
            assertThat(m.find()).isTrue();
            String bootstrap = m.group(1);

            long start = System.currentTimeMillis() - 30_000;
            for (int i = 0; i < 20; i++) {
                double value = i >= 5 && i < 10 ? 150.0 : 55.0; // five readings above 80
                publish(
                        "{\"ts\": %d, \"value\": %s, \"unit\": \"degC\", \"seq\": %d}"
                                .formatted(start + i * 1000L, value, i));
            }

            List<String> readings = new CopyOnWriteArrayList<>();
            List<Alert> alerts = new CopyOnWriteArrayList<>();
            try (KafkaConsumer<byte[], byte[]> consumer = consumer(bootstrap)) {
                consumer.subscribe(List.of(Topics.SENSOR_READINGS, Topics.ALERTS));
                AvroAlertCodec codec = new AvroAlertCodec();
                await().atMost(Duration.ofSeconds(60))
                        .until(
                                () -> {
                                    for (ConsumerRecord<byte[], byte[]> r :
                                            consumer.poll(Duration.ofMillis(200))) {
                                        if (r.topic().equals(Topics.ALERTS)) {
                                            alerts.add(codec.decode(r.value()).value());
                                        } else {
                                            readings.add(
                                                    new String(r.key(), StandardCharsets.UTF_8));
                                        }
                                    }
                                    return readings.size() >= 20
                                            && alerts.stream()
                                                    .anyMatch(
                                                            a ->
                                                                    a.kind()
                                                                            == AlertKind
                                                                                    .OUT_OF_RANGE);
                                });
            }
            assertThat(readings).hasSize(20).containsOnly(SENSOR);
            try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
                assertThat(admin.listTopics().names().get())
                        .contains("line-7-late", Topics.SENSOR_READINGS_DLQ)
                        .doesNotContain(Topics.SENSOR_READINGS_LATE);
            }
            assertThat(alerts)
                    .filteredOn(a -> a.kind() == AlertKind.OUT_OF_RANGE)
                    .allSatisfy(a -> assertThat(a.sensorId().id()).isEqualTo(SENSOR));
        } finally {
            command.stop();
        }
        assertThat(run.get()).isZero();
        assertThat(out.toString()).contains("Plantwatch stopped.");
    }

    private static void publish(String payload) throws Exception {
        Process p =
                new ProcessBuilder(
                                "mosquitto_pub",
                                "-h",
                                mosquitto.host(),
                                "-p",
                                Integer.toString(mosquitto.port()),
                                "-q",
                                "1",
                                "-t",
                                "plant/" + SENSOR,
                                "-m",
                                payload)
                        .redirectErrorStream(true)
                        .start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(output).isZero();
    }

    private static KafkaConsumer<byte[], byte[]> consumer(String bootstrap) {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("group.id", "run-test");
        p.put("auto.offset.reset", "earliest");
        p.put("isolation.level", "read_committed");
        return new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }
}
