package io.plantwatch.appliance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * The embedded broker's drops, which HiveMQ tells no one of: a console warning when they begin, a
 * line when they have stopped, and their count on the gateway's {@code /metrics}.
 */
class BrokerDropWatchTest {
    @TempDir Path dir;

    private final Logger log = (Logger) LoggerFactory.getLogger(BrokerDropWatch.class);
    private final ListAppender<ILoggingEvent> said = new ListAppender<>();

    @BeforeEach
    void listen() {
        said.start();
        log.addAppender(said);
    }

    @AfterEach
    void stopListening() {
        log.detachAppender(said);
    }

    @Test
    void anEpisodeOfDropsIsOneWarningAndItsEndOneLine() {
        AtomicLong dropped = new AtomicLong();
        BrokerDropWatch watch = new BrokerDropWatch(dropped::get, 10, 1_000, 3);
        watch.check();
        assertThat(said.list).isEmpty();
        assertThat(watch.problem()).isNull();

        dropped.set(5);
        watch.check();
        dropped.set(9);
        watch.check();
        // For the pipeline alert: the episode's drops so far.
        assertThat(watch.problem())
                .startsWith("The MQTT broker drops readings and tells no client: 9 so far.")
                .contains("mqtt.max-queue-size (10 messages)");
        watch.check();
        watch.check();
        assertThat(watch.problem()).isNotNull();
        assertThat(messages())
                .singleElement()
                .asString()
                .startsWith("The MQTT broker drops messages, and tells no client: 5 so far. ")
                .contains("a subscriber's queue is full at mqtt.max-queue-size (10 messages)")
                .contains("Raise mqtt.max-queue-size in the appliance's settings")
                .endsWith("/metrics counts them as plantwatch_mqtt_broker_dropped_total");

        watch.check();
        assertThat(messages())
                .hasSize(2)
                .last()
                .isEqualTo(
                        "The MQTT broker stopped dropping messages: 9 dropped in this episode, 9"
                                + " since the start; none for 3 s");

        assertThat(watch.problem()).isNull();

        dropped.set(12);
        watch.check();
        assertThat(messages()).hasSize(3).last().asString().contains("tells no client: 3 so far.");
        assertThat(said.list).allMatch(e -> e.getLevel() == Level.WARN);
    }

    /**
     * The appliance with a queue of 10 and a client that keeps a session while away, as the gateway
     * does: 25 messages for it, and the 15 beyond its queue are said and counted.
     */
    @Test
    void theApplianceWarnsOfItsBrokersDropsAndCountsThemOnTheGatewaysMetricsWithTheJobs()
            throws Exception {
        Path settings =
                Files.writeString(
                        dir.resolve("appliance.yaml"),
                        """
                        mqtt: {port: 0, max-queue-size: 10}
                        data-dir: %s
                        job: {config: ../config/job.yaml, rules: ../config/rules.yaml}
                        gateway: {config: ../config/gateway.yaml}
                        alerting: {config: ../config/alerting-demo.yaml}
                        """
                                .formatted(dir.resolve("data")));
        try (Appliance appliance =
                Appliance.start(
                        ApplianceSettings.load(settings, Map.of()),
                        new PrintWriter(new StringWriter(), true))) {
            URI mqtt = URI.create(appliance.mqttUri());
            String away = "scada-" + UUID.randomUUID();
            Mqtt5BlockingClient subscriber = client(mqtt, away);
            subscriber.connectWith().cleanStart(false).sessionExpiryInterval(3600).send();
            // Outside the gateway's plant/#, so the gateway's own queue stays empty.
            subscriber.subscribeWith().topicFilter("scada/#").qos(MqttQos.AT_LEAST_ONCE).send();
            subscriber.disconnect();

            Mqtt5BlockingClient sensor = client(mqtt, "sensor-" + UUID.randomUUID());
            sensor.connect();
            for (int i = 0; i < 25; i++) {
                sensor.publishWith()
                        .topic("scada/line-1")
                        .qos(MqttQos.AT_LEAST_ONCE)
                        .payload(("m-" + i).getBytes(StandardCharsets.UTF_8))
                        .send();
            }
            sensor.disconnect();

            Pattern counted =
                    Pattern.compile(
                            "^plantwatch_mqtt_broker_dropped_total 15(\\.0)?$", Pattern.MULTILINE);
            await().atMost(Duration.ofSeconds(20))
                    .until(() -> counted.matcher(metrics(appliance)).find());
            await().atMost(Duration.ofSeconds(30))
                    .until(() -> messages().stream().anyMatch(m -> m.contains("stopped dropping")));
            assertThat(messages()).hasSize(2);
            assertThat(messages().get(0))
                    .startsWith("The MQTT broker drops messages, and tells no client: ")
                    .contains("mqtt.max-queue-size (10 messages)");
            assertThat(messages().get(1))
                    .isEqualTo(
                            "The MQTT broker stopped dropping messages: 15 dropped in this"
                                    + " episode, 15 since the start; none for 10 s");
            assertThat(appliance.mqttDropped()).isEqualTo(15);

            // The same endpoint carries the job's metrics, named as Flink's Prometheus reporter
            // names them in the docker stack, so the pipeline-health dashboard reads either.
            Pattern deserializer =
                    Pattern.compile(
                            "^flink_taskmanager_job_task_operator_deserializer_readingsDeletedUnread"
                                    + "\\{.*job_name=\"[^\"]+\".*subtask_index=\"[01]\".*\\}"
                                    + " 0(\\.0)?$",
                            Pattern.MULTILINE);
            // A partition's metrics keep their topic and partition (key-value groups) as labels.
            Pattern partition =
                    Pattern.compile(
                            "^flink_taskmanager_job_task_operator_KafkaSourceReader_topic_partition"
                                    + "_currentOffset\\{.*partition=\"0\".*topic=\"sensor_readings\".*\\}",
                            Pattern.MULTILINE);
            // A sink's numRecordsOut is registered again as numRecordsSend: both are there. And
            // the Kafka client's records-consumed-total keeps its _total, as in Flink's reporter.
            Pattern twice =
                    Pattern.compile(
                            "^flink_taskmanager_job_task_operator_numRecordsSend\\{",
                            Pattern.MULTILINE);
            Pattern total =
                    Pattern.compile(
                            "^flink_taskmanager_job_task_operator_KafkaSourceReader_KafkaConsumer"
                                    + "_records_consumed_total\\{",
                            Pattern.MULTILINE);
            Pattern checkpoints =
                    Pattern.compile(
                            "^flink_jobmanager_job_numberOfCompletedCheckpoints\\{.*\\} [0-9]",
                            Pattern.MULTILINE);
            await().atMost(Duration.ofSeconds(60))
                    .until(
                            () -> {
                                String m = metrics(appliance);
                                return deserializer.matcher(m).find()
                                        && partition.matcher(m).find()
                                        && twice.matcher(m).find()
                                        && total.matcher(m).find()
                                        && checkpoints.matcher(m).find();
                            });
        }
    }

    private List<String> messages() {
        // Under the appender's lock: the watch's thread appends while a test polls.
        synchronized (said) {
            return said.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
        }
    }

    private static Mqtt5BlockingClient client(URI broker, String id) {
        return Mqtt5Client.builder()
                .identifier(id)
                .serverHost(broker.getHost())
                .serverPort(broker.getPort())
                .buildBlocking();
    }

    private static String metrics(Appliance appliance) throws Exception {
        return HttpClient.newHttpClient()
                .send(
                        HttpRequest.newBuilder(
                                        URI.create(
                                                "http://127.0.0.1:"
                                                        + appliance.gateway().httpPort()
                                                        + "/metrics"))
                                .build(),
                        HttpResponse.BodyHandlers.ofString())
                .body();
    }
}
