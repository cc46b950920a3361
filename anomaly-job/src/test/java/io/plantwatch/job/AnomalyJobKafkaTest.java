package io.plantwatch.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.plantwatch.infra.EmbeddedKafka;
import io.plantwatch.model.Alert;
import io.plantwatch.model.AlertState;
import io.plantwatch.model.AvroAlertCodec;
import io.plantwatch.model.AvroReadingCodec;
import io.plantwatch.model.SensorId;
import io.plantwatch.model.SensorReading;
import io.plantwatch.model.TopicTemplate;
import io.plantwatch.model.Topics;
import io.plantwatch.sim.fleet.AnomalyKind;
import io.plantwatch.sim.fleet.AnomalySpec;
import io.plantwatch.sim.fleet.Emission;
import io.plantwatch.sim.fleet.Fleet;
import io.plantwatch.sim.fleet.FleetSimulation;
import io.plantwatch.sim.fleet.Label;
import io.plantwatch.sim.fleet.SimulationSettings;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The job as {@code flink run} wires it (Kafka source and sinks, the shipped rules) on a
 * MiniCluster with parallelism 2, fed with the simulator's fleet (config/fleet.yaml) and one of
 * each injected anomaly kind, checked against the simulator's own labels.
 */
class AnomalyJobKafkaTest {
    private static final String PRESS1_OIL = "dresden/press-shop/line-1/press-1/oil-temp";
    private static final String PRESS1_VIB = "dresden/press-shop/line-1/press-1/bearing-vibration";
    private static final String PRESS2_OIL = "dresden/press-shop/line-1/press-2/oil-temp";
    private static final String PRESS2_PRESSURE =
            "dresden/press-shop/line-1/press-2/hydraulic-pressure";
    private static final String ZONE1 = "dresden/press-shop/line-2/oven-1/zone-1-temp";
    private static final String ZONE2 = "dresden/press-shop/line-2/oven-1/zone-2-temp";
    private static final String HUMIDITY = "dresden/press-shop/line-2/oven-1/hall-humidity";

    private static EmbeddedKafka kafka;

    @BeforeAll
    static void startKafka() {
        kafka = EmbeddedKafka.builder().defaultPartitions(2).build().start();
    }

    @AfterAll
    static void stopKafka() {
        kafka.close();
    }

    private static AnomalySpec spec(
            int atSeconds,
            String sensor,
            AnomalyKind kind,
            int seconds,
            Double magnitude,
            Duration delay) {
        return new AnomalySpec(
                Duration.ofSeconds(atSeconds),
                sensor,
                kind,
                Duration.ofSeconds(seconds),
                magnitude,
                delay);
    }

    @Test
    void everyInjectedFaultIsAlertedOnceLateReadingsAreSetAsideAndLossShows() throws Exception {
        String prefix = "it1-";
        JobSettings settings = settings(prefix);
        kafka.createTopics(
                2,
                settings.readingsTopic(),
                settings.alertsTopic(),
                settings.lateTopic(),
                settings.completenessTopic());

        // 9 sensors at 1 Hz for 15 minutes of event time, ending a minute ago; faults after the
        // baseline's two-minute warm-up.
        long start =
                (System.currentTimeMillis() - Duration.ofMinutes(16).toMillis()) / 60_000 * 60_000;
        List<AnomalySpec> scenario =
                List.of(
                        spec(200, PRESS1_OIL, AnomalyKind.SPIKE, 10, 15.0, null),
                        spec(260, ZONE1, AnomalyKind.OUT_OF_RANGE, 30, null, null),
                        spec(320, PRESS2_PRESSURE, AnomalyKind.FLATLINE, 120, null, null),
                        spec(400, PRESS1_VIB, AnomalyKind.DROPOUT, 30, null, null),
                        spec(450, ZONE2, AnomalyKind.DRIFT, 200, 20.0, null),
                        spec(700, PRESS2_OIL, AnomalyKind.LATE, 10, null, Duration.ofMinutes(3)),
                        spec(760, HUMIDITY, AnomalyKind.DUPLICATE, 10, null, null));
        List<Label> labels = new CopyOnWriteArrayList<>();
        FleetSimulation sim =
                new FleetSimulation(
                        Fleet.load(Path.of("..", "config", "fleet.yaml")),
                        new SimulationSettings(
                                9,
                                start,
                                Duration.ofMinutes(15),
                                Double.POSITIVE_INFINITY,
                                42,
                                scenario,
                                Set.of(),
                                0,
                                false,
                                new TopicTemplate(
                                        TopicTemplate.DEFAULT_PREFIX,
                                        TopicTemplate.DEFAULT_TEMPLATE)),
                        labels::add);
        List<SensorReading> onTime = new ArrayList<>();
        List<SensorReading> late = new ArrayList<>();
        while (sim.hasNext()) {
            Emission e = sim.next();
            if (e.type() == Emission.Type.MALFORMED) {
                continue; // the gateway's business: it never reaches Kafka
            }
            boolean isLate =
                    e.reading().key().equals(PRESS2_OIL) && isInLateWindow(e.reading(), start);
            (isLate ? late : onTime).add(e.reading());
        }
        sim.finish();

        StreamExecutionEnvironment env =
                StreamExecutionEnvironment.getExecutionEnvironment(
                        AnomalyJob.flinkConfiguration(settings));
        env.setParallelism(2);
        AnomalyJob.wire(env, settings, AnomalyJob.loadRules(Path.of("..", "config", "rules.yaml")));
        JobClient job = env.executeAsync("anomaly-job kafka test");
        try {
            produce(settings.readingsTopic(), onTime);
            // Once every sensor's minute 13 is reported, the watermark is past 14:00 everywhere:
            // the readings of 11:40 that a gateway held back three minutes are late for sure.
            Map<String, List<Map<String, Long>>> completeness = new HashMap<>();
            await().atMost(Duration.ofSeconds(90))
                    .until(
                            () -> {
                                readCompleteness(settings.completenessTopic(), completeness);
                                long minute13 = start + 13 * 60_000;
                                return completeness.size() == 9
                                        && completeness.values().stream()
                                                .allMatch(
                                                        l ->
                                                                l.stream()
                                                                        .anyMatch(
                                                                                m ->
                                                                                        m.get(
                                                                                                        "minute")
                                                                                                >= minute13));
                            });
            produce(settings.readingsTopic(), late);
            // One more reading per sensor, past the end, closes the last minute's reports.
            long after = start + Duration.ofMinutes(15).plusSeconds(5).toMillis();
            produce(
                    settings.readingsTopic(),
                    completeness.keySet().stream()
                            .map(id -> SensorReading.of(SensorId.parse(id), after, 1.0))
                            .toList());

            List<ConsumerRecord<byte[], byte[]>> lateRecords = new ArrayList<>();
            await().atMost(Duration.ofSeconds(60))
                    .until(
                            () -> {
                                lateRecords.addAll(poll(settings.lateTopic()));
                                return lateRecords.size() >= late.size();
                            });
            assertThat(lateRecords).hasSize(late.size());
            assertThat(lateRecords)
                    .allSatisfy(
                            r -> {
                                assertThat(new String(r.key(), StandardCharsets.UTF_8))
                                        .isEqualTo(PRESS2_OIL);
                                assertThat(
                                                new String(
                                                        r.headers()
                                                                .lastHeader(
                                                                        Topics.HEADER_LATE_REASON)
                                                                .value(),
                                                        StandardCharsets.UTF_8))
                                        .isEqualTo("late");
                            });

            List<Alert> alerts = new ArrayList<>();
            AvroAlertCodec codec = new AvroAlertCodec();
            await().atMost(Duration.ofSeconds(60))
                    .until(
                            () -> {
                                poll(settings.alertsTopic())
                                        .forEach(r -> alerts.add(codec.decode(r.value()).value()));
                                Set<String> opened =
                                        alerts.stream()
                                                .filter(a -> a.state() == AlertState.OPEN)
                                                .map(a -> a.sensorId().id() + " " + a.kind())
                                                .collect(Collectors.toSet());
                                return opened.containsAll(
                                        List.of(
                                                PRESS1_OIL + " SPIKE",
                                                ZONE1 + " OUT_OF_RANGE",
                                                PRESS2_PRESSURE + " FLATLINE",
                                                ZONE2 + " DRIFT"));
                            });
            await().atMost(Duration.ofSeconds(30))
                    .until(
                            () -> {
                                readCompleteness(settings.completenessTopic(), completeness);
                                return sum(completeness, PRESS2_OIL, "late") >= late.size();
                            });

            // No alert state twice for one id.
            Map<String, Long> perIdAndState =
                    alerts.stream()
                            .collect(
                                    Collectors.groupingBy(
                                            a -> a.alertId() + " " + a.state(),
                                            Collectors.counting()));
            assertThat(perIdAndState.values()).containsOnly(1L);
            // Every alert belongs to an injected fault: its sensor and its time.
            for (Alert a : alerts) {
                assertThat(labels)
                        .as("a label explaining %s", a)
                        .anySatisfy(
                                l -> {
                                    assertThat(l.sensor()).isEqualTo(a.sensorId().id());
                                    assertThat(a.episodeStart())
                                            .isBetween(
                                                    l.startMillis() - 60_000,
                                                    l.endMillis() + 120_000);
                                });
            }
            // Loss and doubling upstream show in the completeness reports.
            assertThat(sum(completeness, PRESS1_VIB, "missing"))
                    .isEqualTo(labelReadings(labels, AnomalyKind.DROPOUT));
            assertThat(sum(completeness, HUMIDITY, "duplicates"))
                    .isEqualTo(labelReadings(labels, AnomalyKind.DUPLICATE));
            assertThat(sum(completeness, PRESS2_OIL, "late")).isEqualTo(late.size());
            // Set aside as late, they never reached detection: counted missing, and late.
            assertThat(sum(completeness, PRESS2_OIL, "missing")).isEqualTo(late.size());
        } finally {
            job.cancel().get();
        }
    }

    /** 15 minutes of the shipped fleet at 1 Hz each, ending a few minutes ago. */
    private static List<SensorReading> simulate(
            long start, List<AnomalySpec> scenario, List<Label> labels) {
        FleetSimulation sim =
                new FleetSimulation(
                        Fleet.load(Path.of("..", "config", "fleet.yaml")),
                        new SimulationSettings(
                                9,
                                start,
                                Duration.ofMinutes(15),
                                Double.POSITIVE_INFINITY,
                                42,
                                scenario,
                                Set.of(),
                                0,
                                false,
                                new TopicTemplate(
                                        TopicTemplate.DEFAULT_PREFIX,
                                        TopicTemplate.DEFAULT_TEMPLATE)),
                        labels::add);
        List<SensorReading> out = new ArrayList<>();
        while (sim.hasNext()) {
            Emission e = sim.next();
            if (e.type() != Emission.Type.MALFORMED) {
                out.add(e.reading());
            }
        }
        sim.finish();
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"at-least-once", "exactly-once"})
    void aFailureAfterACheckpointLosesNoAlertAndExactlyOnceDoublesNone(String delivery)
            throws Exception {
        long start =
                (System.currentTimeMillis() - Duration.ofMinutes(17).toMillis()) / 60_000 * 60_000;
        List<SensorReading> data =
                simulate(
                        start,
                        List.of(
                                spec(200, PRESS1_OIL, AnomalyKind.SPIKE, 10, 15.0, null),
                                spec(300, ZONE1, AnomalyKind.OUT_OF_RANGE, 30, null, null),
                                spec(500, PRESS2_PRESSURE, AnomalyKind.FLATLINE, 120, null, null),
                                spec(600, ZONE2, AnomalyKind.DRIFT, 200, 20.0, null),
                                spec(700, HUMIDITY, AnomalyKind.SPIKE, 10, 20.0, null)),
                        new ArrayList<>());
        List<String> reference = runOnce("ref-" + delivery + "-", delivery, data, start, false);
        List<String> recovered = runOnce("rec-" + delivery + "-", delivery, data, start, true);

        System.out.printf(
                "%s: %d alert events without failure; %d with a failure and restore, %d distinct%n",
                delivery, reference.size(), recovered.size(), Set.copyOf(recovered).size());
        assertThat(FailOnceAfterCheckpoint.FAILED).isTrue();
        assertThat(reference).isNotEmpty().doesNotHaveDuplicates();
        assertThat(Set.copyOf(recovered)).isEqualTo(Set.copyOf(reference));
        if (delivery.equals("exactly-once")) {
            assertThat(recovered).doesNotHaveDuplicates();
        }
    }

    /** Runs the job over {@code data}; returns every alert event as "id state", in topic order. */
    private static List<String> runOnce(
            String prefix, String delivery, List<SensorReading> data, long start, boolean fail)
            throws Exception {
        JobSettings settings = settings(prefix, delivery);
        kafka.createTopics(
                2,
                settings.readingsTopic(),
                settings.alertsTopic(),
                settings.lateTopic(),
                settings.completenessTopic());
        FailOnceAfterCheckpoint.reset();
        StreamExecutionEnvironment env =
                StreamExecutionEnvironment.getExecutionEnvironment(
                        AnomalyJob.flinkConfiguration(settings));
        env.setParallelism(2);
        DataStream<SensorReading> readings = AnomalyJob.source(env, settings);
        if (fail) {
            readings =
                    readings.map(new FailOnceAfterCheckpoint())
                            .returns(SensorReading.class)
                            .uid("fail-once");
        }
        AnomalyJob.sinks(
                AnomalyPipeline.build(
                        readings,
                        settings.pipelineSettings(),
                        AnomalyJob.loadRules(Path.of("..", "config", "rules.yaml"))),
                settings);
        JobClient job = env.executeAsync(prefix + "job");
        try {
            int half = data.size() / 2;
            produce(settings.readingsTopic(), data.subList(0, half));
            if (fail) {
                await().atMost(Duration.ofSeconds(60))
                        .untilTrue(FailOnceAfterCheckpoint.CHECKPOINTED);
                FailOnceAfterCheckpoint.ARMED.set(true);
            }
            produce(settings.readingsTopic(), data.subList(half, data.size()));
            if (fail) {
                await().atMost(Duration.ofSeconds(60)).untilTrue(FailOnceAfterCheckpoint.FAILED);
            }
            long after = start + Duration.ofMinutes(16).toMillis();
            produce(
                    settings.readingsTopic(),
                    data.stream()
                            .map(SensorReading::sensorId)
                            .distinct()
                            .map(id -> SensorReading.of(id, after, 1.0))
                            .toList());
            Map<String, List<Map<String, Long>>> completeness = new HashMap<>();
            long lastMinute = start + 14 * 60_000;
            await().atMost(Duration.ofSeconds(120))
                    .until(
                            () -> {
                                readCompleteness(settings.completenessTopic(), completeness);
                                return completeness.size() == 9
                                        && completeness.values().stream()
                                                .allMatch(
                                                        l ->
                                                                l.stream()
                                                                        .anyMatch(
                                                                                m ->
                                                                                        m.get(
                                                                                                        "minute")
                                                                                                >= lastMinute));
                            });
            AvroAlertCodec codec = new AvroAlertCodec();
            List<String> alerts = new CopyOnWriteArrayList<>();
            // Done when no new alert event arrived for three seconds (three checkpoints).
            java.util.concurrent.atomic.AtomicInteger seen =
                    new java.util.concurrent.atomic.AtomicInteger(-1);
            await().atMost(Duration.ofSeconds(60))
                    .pollInterval(Duration.ofMillis(500))
                    .during(Duration.ofSeconds(3))
                    .until(
                            () -> {
                                poll(settings.alertsTopic())
                                        .forEach(
                                                r -> {
                                                    Alert a = codec.decode(r.value()).value();
                                                    alerts.add(a.alertId() + " " + a.state());
                                                });
                                return seen.getAndSet(alerts.size()) == alerts.size();
                            });
            return alerts;
        } finally {
            job.cancel().get();
        }
    }

    private static boolean isInLateWindow(SensorReading r, long start) {
        return r.timestamp() >= start + 700_000 && r.timestamp() < start + 710_000;
    }

    private static long labelReadings(List<Label> labels, AnomalyKind kind) {
        return labels.stream().filter(l -> l.kind() == kind).mapToLong(Label::readings).sum();
    }

    private static long sum(Map<String, List<Map<String, Long>>> c, String sensor, String field) {
        return c.getOrDefault(sensor, List.of()).stream().mapToLong(m -> m.get(field)).sum();
    }

    static JobSettings settings(String prefix) {
        return settings(prefix, "at-least-once");
    }

    static JobSettings settings(String prefix, String delivery) {
        Map<String, String> s = new HashMap<>();
        s.put("kafka.delivery", delivery);
        s.put("kafka.transactional-id-prefix", prefix + "tx");
        s.put("kafka.bootstrap", kafka.bootstrapServers());
        s.put("kafka.group-id", prefix + "job");
        s.put("kafka.readings-topic", prefix + Topics.SENSOR_READINGS);
        s.put("kafka.alerts-topic", prefix + Topics.ALERTS);
        s.put("kafka.late-topic", prefix + Topics.SENSOR_READINGS_LATE);
        s.put("kafka.completeness-topic", prefix + Topics.SENSOR_COMPLETENESS);
        s.put("checkpoint.interval", "1s");
        s.put("state.backend", "hashmap");
        s.put("watermark.out-of-orderness", "2s");
        return JobSettings.load(null, Map.of(), s);
    }

    static void produce(String topic, List<SensorReading> readings) {
        Properties p = new Properties();
        p.put("bootstrap.servers", kafka.bootstrapServers());
        p.put("acks", "all");
        AvroReadingCodec codec = new AvroReadingCodec();
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            for (SensorReading r : readings) {
                producer.send(
                        new ProducerRecord<>(
                                topic, r.key().getBytes(StandardCharsets.UTF_8), codec.encode(r)));
            }
            producer.flush();
        }
    }

    private static final Map<String, KafkaConsumer<byte[], byte[]>> CONSUMERS = new HashMap<>();

    static List<ConsumerRecord<byte[], byte[]>> poll(String topic) {
        KafkaConsumer<byte[], byte[]> c =
                CONSUMERS.computeIfAbsent(
                        topic,
                        t -> {
                            Properties p = new Properties();
                            p.put("bootstrap.servers", kafka.bootstrapServers());
                            p.put("group.id", "test-" + t);
                            p.put("auto.offset.reset", "earliest");
                            p.put("isolation.level", "read_committed");
                            KafkaConsumer<byte[], byte[]> consumer =
                                    new KafkaConsumer<>(
                                            p,
                                            new ByteArrayDeserializer(),
                                            new ByteArrayDeserializer());
                            consumer.subscribe(List.of(t));
                            return consumer;
                        });
        List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
        c.poll(Duration.ofMillis(500)).forEach(out::add);
        return out;
    }

    private static final Pattern FIELD = Pattern.compile("\"(\\w+)\":(\\d+)");

    static void readCompleteness(String topic, Map<String, List<Map<String, Long>>> into) {
        for (ConsumerRecord<byte[], byte[]> r : poll(topic)) {
            String json = new String(r.value(), StandardCharsets.UTF_8);
            Map<String, Long> fields = new HashMap<>();
            Matcher m = FIELD.matcher(json);
            while (m.find()) {
                fields.put(m.group(1), Long.parseLong(m.group(2)));
            }
            into.computeIfAbsent(
                            new String(r.key(), StandardCharsets.UTF_8), k -> new ArrayList<>())
                    .add(fields);
        }
    }
}
