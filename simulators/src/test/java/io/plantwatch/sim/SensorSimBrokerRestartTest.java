package io.plantwatch.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.hivemq.client.mqtt.MqttClient;
import com.hivemq.client.mqtt.MqttGlobalPublishFilter;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5AsyncClient;
import io.plantwatch.infra.EmbeddedMqttBroker;
import io.plantwatch.infra.MosquittoBroker;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A broker restart in the middle of a run: the simulator reconnects by itself, as field devices do,
 * sends again what the broker had not acknowledged, and ends its run with nothing failed. Before,
 * every publish after the restart failed at once and the run ended with exit 5.
 */
class SensorSimBrokerRestartTest {
    private static final Pattern SUMMARY =
            Pattern.compile("published=(\\d+) duplicates=(\\d+) malformed=(\\d+) failed=(\\d+) .*");

    /** 5 sensors, 100 readings/s, 60 s of simulated time at 4 times real speed: 15 s. */
    private static final String[] RUN = {
        "run", "--sensors", "5", "--rate", "100", "--duration", "60s", "--speed", "4", "--seed", "3"
    };

    private static final long READINGS = 6_000;

    /**
     * HiveMQ keeping sessions on disk, as the appliance runs it: a subscriber's persistent session
     * outlives the restart, so it must end up with every reading the simulator sent.
     */
    @Test
    void everyReadingReachesASubscriberThroughAHiveMqRestart(@TempDir Path dir) throws Exception {
        try (EmbeddedMqttBroker broker =
                EmbeddedMqttBroker.builder().dataDirectory(dir.resolve("mqtt")).build().start()) {
            String prefix = "restart-" + UUID.randomUUID().toString().substring(0, 8);
            Set<String> received = ConcurrentHashMap.newKeySet();
            AtomicInteger messages = new AtomicInteger();
            Mqtt5AsyncClient subscriber =
                    subscribe(broker.host(), broker.port(), prefix, received, messages);
            try {
                Run run =
                        runThroughRestart(
                                broker.uri(), prefix, messages::get, broker::stop, broker::start);
                assertThat(run.failed()).as(run.err()).isZero();
                assertThat(run.published()).isEqualTo(READINGS);
                // Distinct messages: a reading the broker took twice arrives twice.
                await().atMost(Duration.ofSeconds(60))
                        .until(() -> received.size() >= run.published() + run.duplicates());
                assertThat(received).hasSize((int) (run.published() + run.duplicates()));
            } finally {
                subscriber.disconnect();
            }
        }
    }

    /**
     * As Sparkplug B edge nodes: a new MQTT session after the restart, so the node is born again,
     * and its command subscription is renewed, so a rebirth request made after the restart is
     * answered too.
     */
    @Test
    void sparkplugNodesAreBornAgainAfterARestartAndStillAnswerRebirths(@TempDir Path dir)
            throws Exception {
        try (EmbeddedMqttBroker broker =
                EmbeddedMqttBroker.builder().dataDirectory(dir.resolve("mqtt")).build().start()) {
            List<String> topics = new java.util.concurrent.CopyOnWriteArrayList<>();
            Mqtt5AsyncClient subscriber =
                    MqttClient.builder()
                            .useMqttVersion5()
                            .identifier("sparkplug-subscriber")
                            .serverHost(broker.host())
                            .serverPort(broker.port())
                            .automaticReconnect()
                            .initialDelay(100, java.util.concurrent.TimeUnit.MILLISECONDS)
                            .maxDelay(1, java.util.concurrent.TimeUnit.SECONDS)
                            .applyAutomaticReconnect()
                            .buildAsync();
            subscriber.publishes(
                    MqttGlobalPublishFilter.ALL, p -> topics.add(p.getTopic().toString()));
            subscriber.connectWith().cleanStart(false).sessionExpiryInterval(600).send().join();
            subscriber
                    .subscribeWith()
                    .topicFilter("spBv1.0/site-1/+/area-1")
                    .qos(MqttQos.AT_LEAST_ONCE)
                    .send()
                    .join();
            IntSupplier births =
                    () -> (int) topics.stream().filter(t -> t.contains("/NBIRTH/")).count();
            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            // 20 s in real time: room for the broker's restart and the rebirth asked after it.
            List<String> args =
                    List.of(
                            "run",
                            "--sensors",
                            "5",
                            "--rate",
                            "20",
                            "--duration",
                            "20s",
                            "--seed",
                            "3",
                            "--broker",
                            broker.uri(),
                            "--sparkplug",
                            "-q");
            CompletableFuture<Integer> exit =
                    CompletableFuture.supplyAsync(
                            () ->
                                    SensorSim.mainWithExitCode(
                                            new PrintWriter(out, true),
                                            new PrintWriter(err, true),
                                            args.toArray(String[]::new)));
            try {
                await().atMost(Duration.ofSeconds(30)).until(() -> births.getAsInt() == 1);
                broker.stop();
                await().atMost(Duration.ofSeconds(20))
                        .until(() -> err.toString().contains("lost") || exit.isDone());
                broker.start();
                await().atMost(Duration.ofSeconds(30))
                        .until(() -> err.toString().contains("reconnected to"));
                await().atMost(Duration.ofSeconds(30)).until(() -> births.getAsInt() >= 2);
                int before = births.getAsInt();
                subscriber
                        .publishWith()
                        .topic("spBv1.0/site-1/NCMD/area-1")
                        .payload(
                                new org.eclipse.tahu.message.SparkplugBPayloadEncoder()
                                        .getBytes(
                                                new org.eclipse.tahu.message.model.SparkplugBPayload
                                                                .SparkplugBPayloadBuilder()
                                                        .addMetric(
                                                                new org.eclipse.tahu.message.model
                                                                                .Metric
                                                                                .MetricBuilder(
                                                                                "Node Control/Rebirth",
                                                                                org.eclipse.tahu
                                                                                        .message
                                                                                        .model
                                                                                        .MetricDataType
                                                                                        .Boolean,
                                                                                true)
                                                                        .createMetric())
                                                        .createPayload(),
                                                false))
                        .send()
                        .join();
                await().atMost(Duration.ofSeconds(30)).until(() -> births.getAsInt() > before);
                assertThat(exit.get(120, java.util.concurrent.TimeUnit.SECONDS))
                        .as(err.toString())
                        .isZero();
                await().atMost(Duration.ofSeconds(30))
                        .untilAsserted(
                                () ->
                                        assertThat(topics.get(topics.size() - 1))
                                                .isEqualTo("spBv1.0/site-1/NDEATH/area-1"));
            } finally {
                subscriber.disconnect();
            }
        }
    }

    /**
     * mosquitto as Debian ships it keeps no session across a restart: what was in flight fails with
     * the session's end and is sent again.
     */
    @Test
    void mosquittoRestartedMidRunLosesTheSimulatorNothing() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(
                MosquittoBroker.isInstalled(), "mosquitto is not installed");
        try (MosquittoBroker broker = MosquittoBroker.builder().build().start()) {
            String prefix = "restart-" + UUID.randomUUID().toString().substring(0, 8);
            AtomicInteger messages = new AtomicInteger();
            Mqtt5AsyncClient subscriber =
                    subscribe(
                            broker.host(),
                            broker.port(),
                            prefix,
                            ConcurrentHashMap.newKeySet(),
                            messages);
            try {
                Run run =
                        runThroughRestart(
                                broker.uri(), prefix, messages::get, broker::stop, broker::start);
                assertThat(run.failed()).as(run.err()).isZero();
                assertThat(run.published()).isEqualTo(READINGS);
            } finally {
                subscriber.disconnect();
            }
        }
    }

    /**
     * A subscriber to {@code prefix/#} that keeps its session (where the broker keeps sessions) and
     * reconnects: {@code received} gets each distinct "topic payload", {@code messages} counts
     * every delivery.
     */
    private static Mqtt5AsyncClient subscribe(
            String host, int port, String prefix, Set<String> received, AtomicInteger messages) {
        Mqtt5AsyncClient subscriber =
                MqttClient.builder()
                        .useMqttVersion5()
                        .identifier("subscriber-" + prefix)
                        .serverHost(host)
                        .serverPort(port)
                        .automaticReconnectWithDefaultConfig()
                        .buildAsync();
        subscriber.publishes(
                MqttGlobalPublishFilter.ALL,
                p -> {
                    messages.incrementAndGet();
                    received.add(
                            p.getTopic()
                                    + " "
                                    + new String(p.getPayloadAsBytes(), StandardCharsets.UTF_8));
                });
        subscriber.connectWith().cleanStart(false).sessionExpiryInterval(600).send().join();
        subscriber
                .subscribeWith()
                .topicFilter(prefix + "/#")
                .qos(MqttQos.AT_LEAST_ONCE)
                .send()
                .join();
        return subscriber;
    }

    record Run(
            int exitCode, String out, String err, long published, long duplicates, long failed) {}

    /**
     * Runs the simulator, {@code stop}s the broker once {@code delivered} has passed 500 messages,
     * {@code start}s it again once the simulator says the connection is lost, and returns the
     * finished run.
     */
    private static Run runThroughRestart(
            String uri, String prefix, IntSupplier delivered, Runnable stop, Runnable start)
            throws Exception {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        List<String> args = new java.util.ArrayList<>(List.of(RUN));
        args.addAll(List.of("--broker", uri, "--topic-prefix", prefix, "-q"));
        CompletableFuture<Integer> exit =
                CompletableFuture.supplyAsync(
                        () ->
                                SensorSim.mainWithExitCode(
                                        new PrintWriter(out, true),
                                        new PrintWriter(err, true),
                                        args.toArray(String[]::new)));
        // Some way into the run: readings flow when the broker goes.
        await().atMost(Duration.ofSeconds(30)).until(() -> delivered.getAsInt() > 500);
        stop.run();
        await().atMost(Duration.ofSeconds(20))
                .until(() -> err.toString().contains("lost") || exit.isDone());
        start.run();
        int code = exit.get(120, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(err.toString()).as(err.toString()).contains("lost").contains("reconnected to");
        String last = out.toString().strip().lines().reduce((a, b) -> b).orElse("");
        Matcher m = SUMMARY.matcher(last);
        assertThat(m.matches()).as(out.toString()).isTrue();
        assertThat(code).as(err.toString()).isZero();
        return new Run(
                code,
                out.toString(),
                err.toString(),
                Long.parseLong(m.group(1)),
                Long.parseLong(m.group(2)),
                Long.parseLong(m.group(4)));
    }
}
