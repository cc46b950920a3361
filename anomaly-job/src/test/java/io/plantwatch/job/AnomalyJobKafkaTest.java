package io.plantwatch.job;

import static io.plantwatch.job.JobKafka.HUMIDITY;
import static io.plantwatch.job.JobKafka.PRESS1_OIL;
import static io.plantwatch.job.JobKafka.PRESS1_VIB;
import static io.plantwatch.job.JobKafka.PRESS2_OIL;
import static io.plantwatch.job.JobKafka.PRESS2_PRESSURE;
import static io.plantwatch.job.JobKafka.ZONE1;
import static io.plantwatch.job.JobKafka.ZONE2;
import static io.plantwatch.job.JobKafka.spec;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.plantwatch.job.rules.RuleBook;
import io.plantwatch.model.Alert;
import io.plantwatch.model.AlertState;
import io.plantwatch.model.AvroAlertCodec;
import io.plantwatch.model.SensorId;
import io.plantwatch.model.SensorReading;
import io.plantwatch.model.Topics;
import io.plantwatch.sim.fleet.AnomalyKind;
import io.plantwatch.sim.fleet.AnomalySpec;
import io.plantwatch.sim.fleet.Label;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.ConsumerRecord;
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
    private static JobKafka kafka;

    @BeforeAll
    static void startKafka() {
        kafka = new JobKafka();
    }

    @AfterAll
    static void stopKafka() {
        kafka.close();
    }

    @Test
    void everyInjectedFaultIsAlertedOnceLateReadingsAreSetAsideAndLossShows() throws Exception {
        String prefix = "it1-";
        JobSettings settings = kafka.settings(prefix);
        kafka.createTopics(settings);

        // 9 sensors at 1 Hz for 15 minutes of event time, ending a minute ago; the drift starts
        // after the baseline's five-minute warm-up (300 readings).
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
        List<SensorReading> onTime = new ArrayList<>();
        List<SensorReading> late = new ArrayList<>();
        for (SensorReading r : JobKafka.simulate(start, scenario, labels)) {
            (r.key().equals(PRESS2_OIL) && isInLateWindow(r, start) ? late : onTime).add(r);
        }

        StreamExecutionEnvironment env =
                StreamExecutionEnvironment.getExecutionEnvironment(
                        AnomalyJob.flinkConfiguration(settings));
        env.setParallelism(2);
        AnomalyJob.wire(env, settings, AnomalyJob.loadRules(Path.of("..", "config", "rules.yaml")));
        JobClient job = env.executeAsync("anomaly-job kafka test");
        try {
            kafka.produce(settings.readingsTopic(), onTime);
            // Once every sensor's minute 13 is reported, the watermark is past 14:00 everywhere:
            // the readings of 11:40 that a gateway held back three minutes are late for sure.
            Map<String, List<Map<String, Long>>> completeness = new HashMap<>();
            await().atMost(Duration.ofSeconds(90))
                    .until(
                            () -> {
                                kafka.readCompleteness(settings.completenessTopic(), completeness);
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
            kafka.produce(settings.readingsTopic(), late);
            // One more reading per sensor, past the end, closes the last minute's reports.
            long after = start + Duration.ofMinutes(15).plusSeconds(5).toMillis();
            kafka.produce(
                    settings.readingsTopic(),
                    completeness.keySet().stream()
                            .map(id -> SensorReading.of(SensorId.parse(id), after, 1.0))
                            .toList());

            List<ConsumerRecord<byte[], byte[]>> lateRecords = new ArrayList<>();
            await().atMost(Duration.ofSeconds(60))
                    .until(
                            () -> {
                                lateRecords.addAll(kafka.poll(settings.lateTopic()));
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
            await().atMost(Duration.ofSeconds(60))
                    .until(
                            () -> {
                                pollAlerts(settings, alerts);
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
                                kafka.readCompleteness(settings.completenessTopic(), completeness);
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

    @ParameterizedTest
    @ValueSource(strings = {"at-least-once", "exactly-once"})
    void aFailureAfterACheckpointLosesNoAlertAndExactlyOnceDoublesNone(String delivery)
            throws Exception {
        long start =
                (System.currentTimeMillis() - Duration.ofMinutes(17).toMillis()) / 60_000 * 60_000;
        List<SensorReading> data =
                JobKafka.simulate(
                        start,
                        List.of(
                                spec(200, PRESS1_OIL, AnomalyKind.SPIKE, 10, 15.0, null),
                                spec(300, ZONE1, AnomalyKind.OUT_OF_RANGE, 30, null, null),
                                spec(500, PRESS2_PRESSURE, AnomalyKind.FLATLINE, 120, null, null),
                                spec(600, ZONE2, AnomalyKind.DRIFT, 200, 20.0, null),
                                spec(700, HUMIDITY, AnomalyKind.SPIKE, 10, 20.0, null)),
                        new ArrayList<>());
        List<String> reference =
                kafka.runOnMiniCluster("ref-" + delivery + "-", delivery, data, start, false);
        List<String> recovered =
                kafka.runOnMiniCluster("rec-" + delivery + "-", delivery, data, start, true);

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

    /**
     * A sensor the rules list as expected that never sends raised nothing before: missing data
     * counted from a last reading it never had. Now it is alerted once its wait has passed, and its
     * first reading resolves that alert; a listed sensor that sends is not alerted so.
     */
    @Test
    void aListedSensorThatNeverSendsIsAlertedMissingUntilItsFirstReading() throws Exception {
        // Idle partitions (one sensor each here) stop holding the watermark back soon, so the
        // first watermark, not the fallback, starts the waits.
        JobSettings settings =
                kafka.settings("it3-", "at-least-once", Map.of("watermark.idleness", "1s"));
        kafka.createTopics(settings);
        String silent = "dresden/press-shop/line-1/press-9/oil-temp";
        RuleBook book =
                RuleBook.parse(
                        "defaults: {missing-data: {after: 3s, name: no-signal}}\n"
                                + "expected: ["
                                + PRESS1_OIL
                                + ", "
                                + silent
                                + "]",
                        "test rules");
        StreamExecutionEnvironment env =
                StreamExecutionEnvironment.getExecutionEnvironment(
                        AnomalyJob.flinkConfiguration(settings));
        env.setParallelism(2);
        AnomalyJob.wire(env, settings, book);
        JobClient job = env.executeAsync("anomaly-job expected sensors test");
        try {
            kafka.produce(settings.readingsTopic(), fiveSeconds(PRESS1_OIL));
            List<Alert> alerts = new ArrayList<>();
            await().atMost(Duration.ofSeconds(60))
                    .until(
                            () -> {
                                pollAlerts(settings, alerts);
                                return alerts.stream()
                                        .anyMatch(a -> a.sensorId().id().equals(silent));
                            });
            Alert open =
                    alerts.stream().filter(a -> a.sensorId().id().equals(silent)).findFirst().get();
            assertThat(open.state()).isEqualTo(AlertState.OPEN);
            assertThat(open.kind()).isEqualTo(io.plantwatch.model.AlertKind.MISSING_DATA);
            assertThat(open.rule()).isEqualTo("no-signal");
            assertThat(open.message()).contains("never heard");

            kafka.produce(settings.readingsTopic(), fiveSeconds(silent));
            await().atMost(Duration.ofSeconds(60))
                    .until(
                            () -> {
                                pollAlerts(settings, alerts);
                                return alerts.stream()
                                        .anyMatch(
                                                a ->
                                                        a.alertId().equals(open.alertId())
                                                                && a.state()
                                                                        == AlertState.RESOLVED);
                            });
            assertThat(alerts)
                    .filteredOn(a -> a.message().contains("never heard"))
                    .extracting(Alert::alertId)
                    .as("only the silent sensor, once")
                    .containsExactly(open.alertId());
        } finally {
            job.cancel().get();
        }
    }

    /**
     * A submission to a Kafka without the job's DLQ or completeness topic is refused with one line
     * naming them: the job stopped only at its first record for that topic, and at every restart.
     */
    @Test
    void aSubmissionToAKafkaWithoutTheJobsTopicsIsRefusedNamingThem() {
        JobSettings settings = kafka.settings("it4-");
        kafka.createTopics(settings);
        java.io.StringWriter err = new java.io.StringWriter();
        int code =
                AnomalyJob.mainWithExitCode(
                        new java.io.PrintWriter(new java.io.StringWriter(), true),
                        new java.io.PrintWriter(err, true),
                        "--kafka-bootstrap",
                        settings.kafkaBootstrap(),
                        "--set",
                        "kafka.readings-topic=" + settings.readingsTopic(),
                        "--set",
                        "kafka.alerts-topic=" + settings.alertsTopic(),
                        "--set",
                        "kafka.late-topic=" + settings.lateTopic(),
                        "--set",
                        "kafka.completeness-topic=it4-minutes",
                        "--set",
                        "kafka.dlq-topic=it4-dead-letters");
        assertThat(code).isEqualTo(2);
        assertThat(err.toString().strip())
                .startsWith("anomaly-job: Kafka at " + settings.kafkaBootstrap())
                .contains("has no topic it4-minutes, it4-dead-letters;")
                .doesNotContain("\n");
    }

    private static final AvroAlertCodec ALERTS = new AvroAlertCodec();

    /** What the job wrote to its alerts topic since the last poll, added to {@code into}. */
    private static void pollAlerts(JobSettings settings, List<Alert> into) {
        kafka.poll(settings.alertsTopic()).forEach(r -> into.add(ALERTS.decode(r.value()).value()));
    }

    /** Five readings a second apart, ending now: the watermark passes the first ones. */
    private static List<SensorReading> fiveSeconds(String sensor) {
        long now = System.currentTimeMillis();
        List<SensorReading> out = new ArrayList<>();
        for (int i = 4; i >= 0; i--) {
            out.add(
                    new SensorReading(
                            SensorId.parse(sensor),
                            now - i * 1_000L,
                            20.0,
                            "degC",
                            io.plantwatch.model.Quality.GOOD,
                            4 - i));
        }
        return out;
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
}
