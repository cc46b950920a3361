package io.plantwatch.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.hivemq.client.mqtt.MqttGlobalPublishFilter;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import com.hivemq.client.mqtt.mqtt5.Mqtt5ClientBuilder;
import io.plantwatch.model.MqttPayloadCodec;
import io.plantwatch.model.Parsed;
import io.plantwatch.model.RejectReason;
import io.plantwatch.model.SensorReading;
import io.plantwatch.model.TopicTemplate;
import io.plantwatch.sim.fleet.AnomalyKind;
import io.plantwatch.sim.fleet.Emission;
import io.plantwatch.sim.fleet.Fleet;
import io.plantwatch.sim.fleet.FleetSimulation;
import io.plantwatch.sim.fleet.Label;
import io.plantwatch.sim.fleet.LabelFile;
import io.plantwatch.sim.fleet.SimulationSettings;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What {@code sensor-sim} must do against any real broker: a subscriber receives exactly what the
 * simulator says it sent. Subclasses supply the broker.
 */
abstract class SensorSimBrokerContract {
    private static final Instant START = Instant.parse("2026-01-01T00:00:00Z");
    private static final Pattern SUMMARY =
            Pattern.compile(
                    "published=(\\d+) duplicates=(\\d+) malformed=(\\d+) failed=(\\d+) rate=\\S+"
                            + " anomalies=(\\d+) seed=(-?\\d+)");

    @TempDir Path dir;

    abstract String host();

    abstract int port();

    /** What the simulator's {@code --broker} names: {@code tcp://host:port} unless overridden. */
    String brokerUri() {
        return "tcp://" + host() + ":" + port();
    }

    /** Options every command needs for this broker besides {@code --broker}, e.g. credentials. */
    List<String> loginArgs() {
        return List.of();
    }

    /** The same login (and TLS, if the broker needs it) for the test's own subscriber. */
    Mqtt5ClientBuilder login(Mqtt5ClientBuilder builder) {
        return builder;
    }

    @Test
    void subscriberReceivesExactlyTheStreamTheSimulatorReports() throws Exception {
        String prefix = "run-" + UUID.randomUUID().toString().substring(0, 8);
        Set<AnomalyKind> kinds = EnumSet.complementOf(EnumSet.of(AnomalyKind.LABELLED));
        Path labels = dir.resolve("labels.jsonl");
        List<Received> received = subscribe(prefix + "/#");

        Run run =
                sim(
                        "run",
                        "--sensors",
                        "8",
                        "--rate",
                        "40",
                        "--duration",
                        "10m",
                        "--speed",
                        "max",
                        "--seed",
                        "7",
                        "--start-time",
                        START.toString(),
                        "--anomalies",
                        kinds.stream().map(AnomalyKind::cliName).collect(Collectors.joining(",")),
                        "--anomaly-rate",
                        "60",
                        "--labels",
                        labels.toString(),
                        "--topic-prefix",
                        prefix,
                        "-q");
        assertThat(run.exitCode).as(run.err).isZero();
        Matcher summary = SUMMARY.matcher(run.lastLine());
        assertThat(summary.matches()).as(run.out).isTrue();
        long published = Long.parseLong(summary.group(1));
        long duplicates = Long.parseLong(summary.group(2));
        long malformed = Long.parseLong(summary.group(3));
        assertThat(Long.parseLong(summary.group(4))).as("failed").isZero();
        long total = published + duplicates + malformed;
        await().atMost(Duration.ofSeconds(60)).until(() -> received.size() >= total);

        // The same seed in this JVM: the stream the CLI must have sent, message for message.
        List<Label> expectedLabels = new ArrayList<>();
        List<Emission> expected = new ArrayList<>();
        FleetSimulation replica =
                new FleetSimulation(
                        Fleet.generated(8),
                        new SimulationSettings(
                                40,
                                START.toEpochMilli(),
                                Duration.ofMinutes(10),
                                Double.POSITIVE_INFINITY,
                                7,
                                List.of(),
                                kinds,
                                60,
                                false,
                                new TopicTemplate(prefix, TopicTemplate.DEFAULT_TEMPLATE)),
                        expectedLabels::add);
        replica.forEachRemaining(expected::add);
        replica.finish();

        assertThat(received).hasSize((int) total);
        assertThat(expected).hasSize((int) total);
        assertThat(count(expected, Emission.Type.READING)).isEqualTo(published);
        assertThat(count(expected, Emission.Type.DUPLICATE)).isEqualTo(duplicates);
        assertThat(count(expected, Emission.Type.MALFORMED)).isEqualTo(malformed);
        // Per topic (per sensor) the broker keeps publish order, so the lists must be equal.
        assertThat(byTopic(received)).isEqualTo(byTopicExpected(expected));

        MqttPayloadCodec codec =
                new MqttPayloadCodec(
                        new TopicTemplate(prefix, TopicTemplate.DEFAULT_TEMPLATE),
                        io.plantwatch.model.ReadingLimits.defaults());
        Map<RejectReason, Integer> rejections = new LinkedHashMap<>();
        for (Emission e : expected) {
            Parsed<SensorReading> parsed = codec.decode(e.topic(), e.payload());
            if (e.type() == Emission.Type.MALFORMED) {
                assertThat(parsed)
                        .as(new String(e.payload(), StandardCharsets.UTF_8))
                        .isInstanceOfSatisfying(
                                Parsed.Rejected.class,
                                r -> assertThat(r.reason()).isEqualTo(e.expectedRejection()));
                rejections.merge(e.expectedRejection(), 1, Integer::sum);
            } else {
                assertThat(parsed).isEqualTo(new Parsed.Ok<>(e.reading()));
            }
        }
        assertThat(rejections.keySet())
                .as("malformed payloads cover several reasons")
                .hasSizeGreaterThan(2);

        List<Label> written = LabelFile.read(labels);
        // JSON turns parameter numbers into their narrowest type, so compare what is labelled.
        assertThat(written.stream().map(SensorSimBrokerContract::describe).toList())
                .isEqualTo(expectedLabels.stream().map(SensorSimBrokerContract::describe).toList());
        assertThat(written.stream().map(Label::kind).collect(Collectors.toSet()))
                .as("every kind was injected at least once")
                .containsAll(kinds);
        assertThat(Long.parseLong(summary.group(5))).isEqualTo(written.size());
        assertLabelsMatchWhatArrived(written, received, codec);
    }

    /** Labelled windows against the readings the subscriber saw, not against the generator. */
    private static void assertLabelsMatchWhatArrived(
            List<Label> labels, List<Received> received, MqttPayloadCodec codec) {
        Map<String, List<SensorReading>> arrived = new LinkedHashMap<>();
        for (Received r : received) {
            if (codec.decode(r.topic, r.payload.getBytes(StandardCharsets.UTF_8))
                    instanceof Parsed.Ok<SensorReading> ok) {
                arrived.computeIfAbsent(ok.value().sensorId().id(), k -> new ArrayList<>())
                        .add(ok.value());
            }
        }
        for (Label label : labels) {
            List<SensorReading> inWindow =
                    arrived.getOrDefault(label.sensor(), List.of()).stream()
                            .filter(
                                    r ->
                                            r.timestamp() >= label.startMillis()
                                                    && r.timestamp() <= label.endMillis())
                            .toList();
            switch (label.kind()) {
                case DROPOUT -> assertThat(inWindow).as(label.toString()).isEmpty();
                case SPIKE, OUT_OF_RANGE, FLATLINE, DRIFT ->
                        assertThat(inWindow).as(label.toString()).hasSize(label.readings());
                case DUPLICATE ->
                        assertThat(inWindow.size())
                                .as(label.toString())
                                .isEqualTo(2 * label.readings());
                default -> {
                    // late and malformed change delivery; FleetSimulationTest checks their shape
                }
            }
        }
    }

    @Test
    void replaysANabFileWithItsLabels() throws Exception {
        String prefix = "replay-" + UUID.randomUUID().toString().substring(0, 8);
        Path csv = copyResource("replay/machine_temperature_sample.csv");
        Path labelsIn = copyResource("replay/labels.json");
        Path labelsOut = dir.resolve("replayed-labels.jsonl");
        List<Received> received = subscribe(prefix + "/#");

        Run run =
                sim(
                        "replay",
                        csv.toString(),
                        "--sensor",
                        "site-9/area-1/line-2/machine-3/temp-1",
                        "--unit",
                        "degF",
                        "--labels-in",
                        labelsIn.toString(),
                        "--labels",
                        labelsOut.toString(),
                        "--topic-prefix",
                        prefix,
                        "-q");
        assertThat(run.exitCode).as(run.err).isZero();
        assertThat(run.lastLine()).startsWith("published=288 failed=0 ");
        await().atMost(Duration.ofSeconds(30)).until(() -> received.size() >= 288);
        assertThat(received).hasSize(288);

        MqttPayloadCodec codec =
                new MqttPayloadCodec(
                        new TopicTemplate(prefix, TopicTemplate.DEFAULT_TEMPLATE),
                        io.plantwatch.model.ReadingLimits.defaults());
        List<SensorReading> readings =
                received.stream()
                        .map(r -> codec.decode(r.topic, r.payload.getBytes(StandardCharsets.UTF_8)))
                        .map(p -> ((Parsed.Ok<SensorReading>) p).value())
                        .toList();
        SensorReading first = readings.get(0);
        assertThat(first.sensorId().id()).isEqualTo("site-9/area-1/line-2/machine-3/temp-1");
        assertThat(first.unit()).isEqualTo("degF");
        assertThat(first.timestamp())
                .isEqualTo(Instant.parse("2024-03-01T00:00:00Z").toEpochMilli());
        assertThat(first.value()).isEqualTo(70.0);
        assertThat(readings.get(287).timestamp())
                .isEqualTo(Instant.parse("2024-03-01T23:55:00Z").toEpochMilli());
        for (int i = 1; i < readings.size(); i++) {
            assertThat(readings.get(i).timestamp() - readings.get(i - 1).timestamp())
                    .isEqualTo(300_000);
        }

        List<Label> labels = LabelFile.read(labelsOut);
        assertThat(labels).hasSize(1);
        Label window = labels.get(0);
        assertThat(window.sensor()).isEqualTo("site-9/area-1/line-2/machine-3/temp-1");
        assertThat(window.kind()).isEqualTo(AnomalyKind.LABELLED);
        assertThat(window.startMillis())
                .isEqualTo(Instant.parse("2024-03-01T12:00:00Z").toEpochMilli());
        assertThat(window.endMillis())
                .isEqualTo(Instant.parse("2024-03-01T13:00:00Z").toEpochMilli());
    }

    @Test
    void anUnreachableBrokerGivesOneLineAndExitCode3() {
        int closedPort = io.plantwatch.infra.Loopback.freePorts(1)[0];
        Run run =
                simAt(
                        "tcp://127.0.0.1:" + closedPort,
                        "run",
                        "--sensors",
                        "1",
                        "--duration",
                        "1s",
                        "-q");
        assertThat(run.exitCode).isEqualTo(3);
        assertThat(run.err.strip().lines())
                .as(run.err)
                .hasSize(2) // the banner line, then the one error line
                .last()
                .asString()
                .startsWith("sensor-sim: ")
                .contains("127.0.0.1:" + closedPort)
                .doesNotContain("Exception");
    }

    private List<Received> subscribe(String filter) {
        Mqtt5BlockingClient subscriber =
                login(
                                Mqtt5Client.builder()
                                        .identifier("sub-" + UUID.randomUUID())
                                        .serverHost(host())
                                        .serverPort(port()))
                        .buildBlocking();
        subscriber.connect();
        List<Received> received = new CopyOnWriteArrayList<>();
        subscriber
                .toAsync()
                .publishes(
                        MqttGlobalPublishFilter.ALL,
                        p ->
                                received.add(
                                        new Received(
                                                p.getTopic().toString(),
                                                new String(
                                                        p.getPayloadAsBytes(),
                                                        StandardCharsets.UTF_8))));
        subscriber.subscribeWith().topicFilter(filter).qos(MqttQos.AT_LEAST_ONCE).send();
        subscribers.add(subscriber);
        return received;
    }

    private final List<Mqtt5BlockingClient> subscribers = new ArrayList<>();

    @org.junit.jupiter.api.AfterEach
    void disconnectSubscribers() {
        subscribers.forEach(
                s -> {
                    if (s.getState().isConnected()) {
                        s.disconnect();
                    }
                });
    }

    Run sim(String... args) {
        return simAt(brokerUri(), args);
    }

    Run simAt(String broker, String... args) {
        List<String> all = new ArrayList<>(List.of(args).subList(0, 1));
        all.add("--broker");
        all.add(broker);
        all.addAll(loginArgs());
        all.addAll(List.of(args).subList(1, args.length));
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code =
                SensorSim.mainWithExitCode(
                        new PrintWriter(out, true),
                        new PrintWriter(err, true),
                        all.toArray(String[]::new));
        return new Run(code, out.toString(), err.toString());
    }

    private Path copyResource(String name) throws IOException {
        Path target = dir.resolve(Path.of(name).getFileName().toString());
        try (InputStream in = getClass().getClassLoader().getResourceAsStream(name)) {
            assertThat(in).as(name).isNotNull();
            Files.copy(in, target);
        }
        return target;
    }

    private static String describe(Label l) {
        return l.sensor()
                + " "
                + l.kind()
                + " "
                + l.startMillis()
                + ".."
                + l.endMillis()
                + " n="
                + l.readings()
                + " "
                + new java.util.TreeSet<>(l.params().keySet());
    }

    private static long count(List<Emission> emissions, Emission.Type type) {
        return emissions.stream().filter(e -> e.type() == type).count();
    }

    private static Map<String, List<String>> byTopic(List<Received> received) {
        return received.stream()
                .collect(
                        Collectors.groupingBy(
                                r -> r.topic,
                                Collectors.mapping(r -> r.payload, Collectors.toList())));
    }

    private static Map<String, List<String>> byTopicExpected(List<Emission> emissions) {
        return emissions.stream()
                .collect(
                        Collectors.groupingBy(
                                Emission::topic,
                                Collectors.mapping(
                                        e -> new String(e.payload(), StandardCharsets.UTF_8),
                                        Collectors.toList())));
    }

    record Received(String topic, String payload) {}

    record Run(int exitCode, String out, String err) {
        String lastLine() {
            List<String> lines = out.strip().lines().toList();
            return lines.isEmpty() ? "" : lines.get(lines.size() - 1);
        }
    }
}
