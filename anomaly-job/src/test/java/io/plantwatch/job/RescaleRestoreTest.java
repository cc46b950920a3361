package io.plantwatch.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.plantwatch.job.rules.RuleBook;
import io.plantwatch.model.Alert;
import io.plantwatch.model.AlertState;
import io.plantwatch.model.AvroAlertCodec;
import io.plantwatch.model.SensorId;
import io.plantwatch.model.SensorReading;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The job stopped with a savepoint at parallelism 2 and resumed from it at 3: the detectors keyed
 * in place start every sensor's state afresh (their readings and state no longer meet), and the
 * alerts open at the savepoint still resolve once their conditions are gone. Before, a stuck sensor
 * that moved again and a silent one that sent again both kept their alerts open for good.
 */
class RescaleRestoreTest {
    private static final String RULES =
            "defaults: {flatline: {epsilon: 0.01, duration: 5s, count: 3, name: stuck},"
                    + " missing-data: {after: 2s, name: silent}}";
    private static final SensorId STUCK = SensorId.parse("plant/area/line/press-1/oil-temp");
    private static final SensorId SILENT = SensorId.parse("plant/area/line/press-2/oil-temp");
    private static final SensorId STILL_STUCK = SensorId.parse("plant/area/line/press-3/oil-temp");

    @Test
    void alertsOpenAtASavepointResolveAfterARestoreAtAnotherParallelism(@TempDir Path dir)
            throws Exception {
        RuleBook rules = RuleBook.parse(RULES, "test rules");
        try (JobKafka kafka = new JobKafka()) {
            Map<String, String> m = kafka.settingsMap("rescale-", "at-least-once");
            m.put("watermark.idleness", "1s");
            JobSettings settings = JobSettings.load(null, Map.of(), m);
            kafka.createTopics(settings);
            Map<SensorId, Long> seqs = new HashMap<>();
            Map<String, Alert> alerts = new HashMap<>();

            JobClient first = start(settings, rules, 2, new Configuration());
            String savepoint;
            try {
                // The silent sensor sends for 5 s of the 30; the stuck one holds 4.0 throughout.
                kafka.produce(settings.readingsTopic(), readings(seqs, 0, 30, 5, 0));
                await().atMost(Duration.ofSeconds(60))
                        .until(
                                () -> {
                                    read(kafka, settings, alerts);
                                    return alerts.containsKey("stuck " + AlertState.OPEN)
                                            && alerts.containsKey("still " + AlertState.OPEN)
                                            && alerts.containsKey("silent " + AlertState.OPEN);
                                });
                savepoint =
                        first.stopWithSavepoint(
                                        false,
                                        dir.toUri().toString(),
                                        SavepointFormatType.CANONICAL)
                                .get();
            } catch (Throwable t) {
                first.cancel();
                throw t;
            }

            Configuration restore = new Configuration();
            restore.set(StateRecoveryOptions.SAVEPOINT_PATH, savepoint);
            JobClient rescaled = start(settings, rules, 3, restore);
            try {
                // Both sensors speak again, the stuck one moving, and stuck again from 50 s.
                kafka.produce(settings.readingsTopic(), readings(seqs, 31, 60, 60, 50));
                await().atMost(Duration.ofSeconds(60))
                        .until(
                                () -> {
                                    read(kafka, settings, alerts);
                                    return alerts.containsKey("stuck " + AlertState.RESOLVED)
                                            && alerts.containsKey("silent " + AlertState.RESOLVED)
                                            && alerts.containsKey("stuck-again " + AlertState.OPEN);
                                });
                // The sensor stuck throughout is seen again by its fresh flatline (at 37.3 s, 6 s
                // after the restore's first reading at 31.3 s, within twice the 5.6 s its
                // detection took before, not within once): its alert goes on. The lifecycle's
                // watermark is past 55 s by now (the second flatline of the sensor that moved
                // opened), well past the end of that wait at 42.5 s.
                await().during(Duration.ofSeconds(3))
                        .atMost(Duration.ofSeconds(10))
                        .until(
                                () -> {
                                    read(kafka, settings, alerts);
                                    return !alerts.containsKey("still " + AlertState.RESOLVED);
                                });
            } finally {
                rescaled.cancel().get();
            }
            assertThat(alerts.get("still " + AlertState.OPEN).eventTime())
                    .as("one episode, opened before the savepoint")
                    .isLessThan(Harnesses.T0 + 30_000);
            for (String rule : List.of("stuck", "silent")) {
                assertThat(alerts.get(rule + " " + AlertState.RESOLVED).alertId())
                        .as("%s resolves the alert it opened", rule)
                        .isEqualTo(alerts.get(rule + " " + AlertState.OPEN).alertId());
            }
            assertThat(alerts.get("silent " + AlertState.RESOLVED).message())
                    .endsWith("sends again");
            assertThat(alerts.get("stuck " + AlertState.RESOLVED))
                    .as("cleared by the first reading that broke its fresh flatline's run")
                    .satisfies(
                            a -> {
                                assertThat(a.message()).contains("back to normal");
                                assertThat(a.eventTime()).isEqualTo(Harnesses.T0 + 32_000);
                            });
        }
    }

    /** The job at {@code parallelism}, with {@code rules}. */
    private static JobClient start(
            JobSettings settings, RuleBook rules, int parallelism, Configuration extra)
            throws Exception {
        Configuration conf = AnomalyJob.flinkConfiguration(settings);
        conf.addAll(extra);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(parallelism);
        AnomalyJob.sinks(
                AnomalyPipeline.build(
                        AnomalyJob.source(env, settings), settings.pipelineSettings(), rules),
                settings,
                rules);
        return env.executeAsync("rescale-job");
    }

    /**
     * One reading a second from {@code from} to {@code to} s of event time for the sensors watched
     * and eight others that keep both partitions' watermarks going; the silent sensor only until
     * {@code silentAfter}, the stuck one moving until {@code stuckFrom}.
     */
    private static List<SensorReading> readings(
            Map<SensorId, Long> seqs, int from, int to, int silentAfter, int stuckFrom) {
        List<SensorReading> out = new ArrayList<>();
        for (int t = from; t <= to; t++) {
            long at = Harnesses.T0 + t * 1000L;
            out.add(reading(seqs, STUCK, at, t >= stuckFrom ? 4.0 : 4.0 + t % 2));
            // Unevenly spaced: its fresh flatline decides at a reading past the 5 s, not at them.
            out.add(reading(seqs, STILL_STUCK, at + (t % 3) * 300L, 3.0));
            if (t <= silentAfter) {
                out.add(reading(seqs, SILENT, at, 5.0 + t % 2));
            }
            for (int i = 0; i < 8; i++) {
                out.add(
                        reading(
                                seqs,
                                SensorId.parse("plant/area/line/press-9/t-" + i),
                                at,
                                6.0 + t % 2));
            }
        }
        return out;
    }

    private static SensorReading reading(
            Map<SensorId, Long> seqs, SensorId sensor, long at, double value) {
        long seq = seqs.merge(sensor, 1L, Long::sum);
        return new SensorReading(sensor, at, value, "degC", io.plantwatch.model.Quality.GOOD, seq);
    }

    /**
     * The first event of each state of the stuck sensor's flatline and the silent sensor's missing
     * data so far, as "rule STATE" (every sensor goes silent after the last reading), and the last
     * of the flatline of the sensor stuck throughout, as "still STATE".
     */
    private static void read(JobKafka kafka, JobSettings settings, Map<String, Alert> into) {
        AvroAlertCodec codec = new AvroAlertCodec();
        kafka.poll(settings.alertsTopic())
                .forEach(
                        r -> {
                            Alert a = codec.decode(r.value()).value();
                            if (a.sensorId().equals(STUCK)
                                    && a.rule().equals("stuck")
                                    && a.eventTime() >= Harnesses.T0 + 50_000) {
                                into.putIfAbsent("stuck-again " + a.state(), a);
                            } else if (a.sensorId().equals(STUCK) && a.rule().equals("stuck")
                                    || a.sensorId().equals(SILENT) && a.rule().equals("silent")) {
                                into.putIfAbsent(a.rule() + " " + a.state(), a);
                            } else if (a.sensorId().equals(STILL_STUCK)
                                    && a.rule().equals("stuck")) {
                                // A second OPEN would be a new episode: the last one is kept.
                                into.put("still " + a.state(), a);
                            }
                        });
    }
}
