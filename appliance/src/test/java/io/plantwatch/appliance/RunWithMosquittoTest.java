package io.plantwatch.appliance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.plantwatch.infra.EmbeddedKafka;
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
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.acl.AclOperation;
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
        StringWriter out = new StringWriter();
        Running running = Running.start(settings, out);
        try {
            Matcher m = Pattern.compile("Kafka (\\S+),").matcher(out.toString());
            assertThat(m.find()).isTrue();
            String bootstrap = m.group(1);

            publishExcursion();

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
            running.command().stop();
        }
        assertThat(running.exit().get()).isZero();
        assertThat(out.toString()).contains("Plantwatch stopped.");
    }

    /**
     * {@code plantwatch run} against the plant's own Kafka, which asks for a login (SASL/PLAIN) and
     * allows only what its ACLs say, with its topics created by the plant: the gateway's, the job's
     * and alerting's Kafka settings log each in, the appliance's own admin client uses the
     * gateway's login, and readings become alerts as with the embedded Kafka.
     */
    @Test
    void runsAgainstTheRightsOfASecuredKafka() throws Exception {
        String user = "plantwatch";
        try (EmbeddedKafka plant =
                EmbeddedKafka.builder()
                        .saslPlain(Map.of(user, UUID.randomUUID().toString()))
                        .build()
                        .start()) {
            plant.createTopics(
                    4,
                    Topics.SENSOR_READINGS,
                    Topics.SENSOR_READINGS_DLQ,
                    Topics.SENSOR_READINGS_LATE,
                    Topics.SENSOR_COMPLETENESS,
                    Topics.ALERTS);
            plant.allow(
                    user,
                    Topics.SENSOR_READINGS,
                    AclOperation.READ,
                    AclOperation.WRITE,
                    AclOperation.DESCRIBE);
            plant.allow(
                    user,
                    Topics.ALERTS,
                    AclOperation.READ,
                    AclOperation.WRITE,
                    AclOperation.DESCRIBE);
            for (String t :
                    List.of(
                            Topics.SENSOR_READINGS_DLQ,
                            Topics.SENSOR_READINGS_LATE,
                            Topics.SENSOR_COMPLETENESS)) {
                plant.allow(user, t, AclOperation.WRITE, AclOperation.DESCRIBE);
            }
            plant.allowGroup(user, "plantwatch-anomaly-job", AclOperation.READ);

            // A test's random password in its own files; a plant's comes from the environment.
            String login = (String) plant.clientProperties(user).get("sasl.jaas.config");
            String security =
                    "{security.protocol: SASL_PLAINTEXT, sasl.mechanism: PLAIN,"
                            + " sasl.jaas.config: '%s'}".formatted(login);
            Path loginFile = dir.resolve("kafka-login");
            Files.writeString(loginFile, login);
            Path gateway = dir.resolve("gateway.yaml");
            Files.writeString(gateway, "kafka: {producer: %s}\n".formatted(security));
            Path job = dir.resolve("job.yaml");
            Files.writeString(
                    job,
                    "watermark: {idleness: 1s}\nkafka: {consumer: %s, producer: %s}\n"
                            .formatted(security, security));
            Path alerting = dir.resolve("alerting.yaml");
            Files.writeString(
                    alerting,
                    Files.readString(Path.of("../config/alerting-demo.yaml"))
                            + """
                            kafka:
                              consumer:
                                security.protocol: SASL_PLAINTEXT
                                sasl.mechanism: PLAIN
                                sasl.jaas.config-file: %s
                            """
                                    .formatted(loginFile));
            Path settings = dir.resolve("appliance.yaml");
            Files.writeString(
                    settings,
                    """
                    mqtt: {broker: %s}
                    kafka: {bootstrap: '%s'}
                    data-dir: %s
                    job: {config: %s, rules: ../config/rules.yaml}
                    gateway: {config: %s}
                    alerting: {config: %s}
                    """
                            .formatted(
                                    mosquitto.uri(),
                                    plant.bootstrapServers(),
                                    dir.resolve("data"),
                                    job,
                                    gateway,
                                    alerting));
            StringWriter out = new StringWriter();
            Running running = Running.start(settings, out);
            try {
                publishExcursion();
                List<Alert> alerts = new CopyOnWriteArrayList<>();
                try (KafkaConsumer<byte[], byte[]> consumer =
                        consumer(plant.clientProperties(EmbeddedKafka.ADMIN))) {
                    consumer.subscribe(List.of(Topics.ALERTS));
                    AvroAlertCodec codec = new AvroAlertCodec();
                    await().atMost(Duration.ofSeconds(60))
                            .until(
                                    () -> {
                                        consumer.poll(Duration.ofMillis(200))
                                                .forEach(
                                                        r ->
                                                                alerts.add(
                                                                        codec.decode(r.value())
                                                                                .value()));
                                        return alerts.stream()
                                                .anyMatch(a -> a.kind() == AlertKind.OUT_OF_RANGE);
                                    });
                }
                // Alerting read it too, with its own login: its journal holds the alert.
                String id =
                        alerts.stream()
                                .filter(a -> a.kind() == AlertKind.OUT_OF_RANGE)
                                .findFirst()
                                .orElseThrow()
                                .alertId();
                Path journal = dir.resolve("data").resolve("alerting");
                await().atMost(Duration.ofSeconds(30))
                        .ignoreExceptions()
                        .until(() -> journalMentions(journal, id));
            } finally {
                running.command().stop();
            }
            assertThat(running.exit().get()).isZero();
            assertThat(out.toString()).doesNotContain(login);
        }
    }

    /** {@code plantwatch run} in this JVM, its output to {@code out}, once it says it runs. */
    private record Running(CompletableFuture<Integer> exit, RunCommand command) {
        static Running start(Path settings, StringWriter out) {
            CommandLine cli = new CommandLine(new Plantwatch());
            cli.setOut(new PrintWriter(out, true));
            cli.setErr(new PrintWriter(System.err, true));
            CompletableFuture<Integer> exit =
                    CompletableFuture.supplyAsync(
                            () -> cli.execute("run", "--config", settings.toString()));
            await().atMost(Duration.ofSeconds(90))
                    .until(() -> out.toString().contains("Plantwatch running") || exit.isDone());
            assertThat(exit).as(out.toString()).isNotDone();
            return new Running(exit, cli.getSubcommands().get("run").getCommand());
        }
    }

    /** Twenty readings of {@link #SENSOR} a second apart, the sixth to the tenth above 80. */
    private static void publishExcursion() throws Exception {
        long start = System.currentTimeMillis() - 30_000;
        for (int i = 0; i < 20; i++) {
            double value = i >= 5 && i < 10 ? 150.0 : 55.0;
            publish(
                    "{\"ts\": %d, \"value\": %s, \"unit\": \"degC\", \"seq\": %d}"
                            .formatted(start + i * 1000L, value, i));
        }
    }

    private static boolean journalMentions(Path dir, String text) throws Exception {
        try (var files = Files.walk(dir)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                if (Files.readString(f).contains(text)) {
                    return true;
                }
            }
        }
        return false;
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
        return consumer(Map.of("bootstrap.servers", bootstrap));
    }

    private static KafkaConsumer<byte[], byte[]> consumer(Map<String, Object> client) {
        Properties p = new Properties();
        p.putAll(client);
        p.put("group.id", "run-test");
        p.put("auto.offset.reset", "earliest");
        p.put("isolation.level", "read_committed");
        return new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }
}
