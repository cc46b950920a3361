package io.plantwatch.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.plantwatch.infra.EmbeddedQuestDb;
import io.plantwatch.job.series.LineProtocol;
import io.plantwatch.job.series.QuestDbTables;
import io.plantwatch.model.SensorReading;
import io.plantwatch.sim.fleet.AnomalyKind;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The job as {@code flink run} wires it, with {@code influx.url} set: the storage server stops for
 * 30 s in the middle of the stream and comes back. The job does not fail, goes on detecting while
 * the server is away, and afterwards every reading is stored, once.
 */
class AnomalyJobInfluxOutageTest {
    @TempDir Path spool;

    @Test
    void aThirtySecondOutageOfTheServerLosesNoPointAndDoesNotFailTheJob() throws Exception {
        long start =
                (System.currentTimeMillis() - Duration.ofMinutes(17).toMillis()) / 60_000 * 60_000;
        // A spike in the half sent while the server is away.
        List<SensorReading> data =
                JobKafka.simulate(
                        start,
                        List.of(
                                JobKafka.spec(
                                        600,
                                        JobKafka.PRESS1_OIL,
                                        AnomalyKind.SPIKE,
                                        10,
                                        15.0,
                                        null)),
                        new ArrayList<>());
        try (JobKafka kafka = new JobKafka();
                EmbeddedQuestDb db = new EmbeddedQuestDb().start()) {
            QuestDbTables.create(db);
            Map<String, String> flags = kafka.settingsMap("influx-", "at-least-once");
            flags.put("influx.url", db.url());
            flags.put("influx.max-retry-delay", "2s");
            flags.put("influx.spool-dir", spool.toString());
            JobSettings settings = JobSettings.load(null, Map.of(), flags);
            kafka.createTopics(settings);
            StreamExecutionEnvironment env =
                    StreamExecutionEnvironment.getExecutionEnvironment(
                            AnomalyJob.flinkConfiguration(settings));
            env.setParallelism(2);
            AnomalyJob.wire(
                    env, settings, AnomalyJob.loadRules(Path.of("..", "config", "rules.yaml")));
            JobClient job = env.executeAsync("influx outage test");
            try {
                int half = data.size() / 2;
                kafka.produce(settings.readingsTopic(), data.subList(0, half));
                await().atMost(Duration.ofSeconds(60)).until(() -> readings(db) > 0);

                kafka.pollAlertEvents(settings.alertsTopic());
                db.stop();
                long outageStart = System.nanoTime();
                kafka.produce(settings.readingsTopic(), data.subList(half, data.size()));
                // The outage is the scenario, not a synchronisation: 30 s of server downtime,
                // checked every second that the job keeps running meanwhile, and detecting.
                List<String> alertsMeanwhile = new ArrayList<>();
                await().pollDelay(Duration.ofSeconds(30))
                        .atMost(Duration.ofSeconds(40))
                        .pollInterval(Duration.ofSeconds(1))
                        .until(
                                () -> {
                                    assertThat(job.getJobStatus().get())
                                            .isEqualTo(JobStatus.RUNNING);
                                    alertsMeanwhile.addAll(
                                            kafka.pollAlertEvents(settings.alertsTopic()));
                                    return System.nanoTime() - outageStart
                                            >= Duration.ofSeconds(30).toNanos();
                                });
                // Storage used to hold the detectors back with it: no alert until it was back.
                assertThat(alertsMeanwhile).anyMatch(e -> e.endsWith(" OPEN"));
                db.start();

                kafka.finishStream(settings, data, start);
                // The closing readings wait for a watermark past them, as any newest reading does.
                int expected = data.size();
                await().atMost(Duration.ofSeconds(60))
                        .untilAsserted(() -> assertThat(readings(db)).isEqualTo(expected));
                assertThat(job.getJobStatus().get()).isEqualTo(JobStatus.RUNNING);
                // Every sensor's minutes 0 to 14 are stored as statistics too.
                await().atMost(Duration.ofSeconds(30))
                        .untilAsserted(
                                () ->
                                        assertThat(count(db, LineProtocol.STATS))
                                                .isGreaterThanOrEqualTo(9 * 15));
            } finally {
                job.cancel().get();
            }
        }
    }

    private static long readings(EmbeddedQuestDb db) throws Exception {
        if (!db.isRunning()) {
            return -1;
        }
        return count(db, LineProtocol.READING);
    }

    private static long count(EmbeddedQuestDb db, String table) throws Exception {
        db.awaitTable(table);
        return db.rows("select count() from " + table).get(0).get(0).asLong();
    }
}
