package io.plantwatch.job;

import static io.plantwatch.job.JobKafka.spec;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.plantwatch.infra.FlinkSessionCluster;
import io.plantwatch.model.SensorReading;
import io.plantwatch.sim.fleet.AnomalyKind;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The shaded {@code anomaly-job.jar}, as a plant would deploy it: uploaded to a standalone Flink
 * session cluster (JobManager and TaskManager in their own JVMs) through the REST API and run with
 * the same flags as {@code flink run}, on RocksDB with checkpoints on disk. Its TaskManager is then
 * killed with SIGKILL and another started; the job restores from its last checkpoint, and the
 * alerts it wrote in the end, read committed, are exactly those of an undisturbed run.
 *
 * <p>Runs in the integration-test phase (failsafe), after the jar is packaged.
 */
class AnomalyJobOnFlinkClusterTest {
    private static JobKafka kafka;

    @BeforeAll
    static void startKafka() {
        kafka = new JobKafka();
    }

    @AfterAll
    static void stopKafka() {
        kafka.close();
    }

    /**
     * {@code java -jar} has no Flink: one line on how to run the job, not a NoClassDefFoundError.
     */
    @Test
    void theJarStartedWithoutFlinkSaysHowToRunIt() throws Exception {
        Path jar = Path.of(System.getProperty("plantwatch.job.jar", "target/anomaly-job.jar"));
        Process p =
                new ProcessBuilder(
                                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                                "-jar",
                                jar.toString(),
                                "--kafka-bootstrap",
                                "127.0.0.1:9092")
                        .redirectErrorStream(true)
                        .start();
        String output =
                new String(
                        p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(output).isEqualTo(2);
        assertThat(output.strip())
                .contains("flink run anomaly-job.jar", "plantwatch job")
                .doesNotContain("Exception")
                .hasLineCount(1);
    }

    @Test
    void theShadedJarRestoresFromItsLastCheckpointAfterTheTaskManagerIsKilled() throws Exception {
        Path jar = Path.of(System.getProperty("plantwatch.job.jar", "target/anomaly-job.jar"));
        assertThat(jar).as("the shaded job jar, built by the package phase").exists();
        long start =
                (System.currentTimeMillis() - Duration.ofMinutes(17).toMillis()) / 60_000 * 60_000;
        List<SensorReading> data =
                JobKafka.simulate(
                        start,
                        List.of(
                                spec(200, JobKafka.PRESS1_OIL, AnomalyKind.SPIKE, 10, 15.0, null),
                                spec(300, JobKafka.ZONE1, AnomalyKind.OUT_OF_RANGE, 30, null, null),
                                spec(
                                        500,
                                        JobKafka.PRESS2_PRESSURE,
                                        AnomalyKind.FLATLINE,
                                        120,
                                        null,
                                        null),
                                spec(600, JobKafka.ZONE2, AnomalyKind.DRIFT, 200, 20.0, null),
                                spec(700, JobKafka.HUMIDITY, AnomalyKind.SPIKE, 10, 20.0, null)),
                        new ArrayList<>());
        List<String> reference =
                kafka.runOnMiniCluster("cluster-ref-", "exactly-once", data, start, false);

        String prefix = "cluster-";
        Map<String, String> settings = kafka.settingsMap(prefix, "exactly-once");
        JobSettings parsed = kafka.settings(prefix, "exactly-once");
        kafka.createTopics(parsed);
        try (FlinkSessionCluster flink = FlinkSessionCluster.builder().slots(2).build().start()) {
            settings.put("state.backend", "rocksdb");
            settings.put(
                    "checkpoint.dir", flink.directory().resolve("checkpoints").toUri().toString());
            List<String> args =
                    new ArrayList<>(List.of("--kafka-bootstrap", kafka.bootstrapServers()));
            settings.forEach((k, v) -> args.addAll(List.of("--set", k + "=" + v)));
            String jobId = flink.runJar(flink.uploadJar(jar), args, 2);

            List<String> alerts = new ArrayList<>();
            int half = data.size() / 2;
            kafka.produce(parsed.readingsTopic(), data.subList(0, half));
            // Alerts out (committed by a checkpoint), and a checkpoint after them to restore from.
            await().atMost(Duration.ofSeconds(120))
                    .until(
                            () -> {
                                alerts.addAll(kafka.pollAlertEvents(parsed.alertsTopic()));
                                return !alerts.isEmpty();
                            });
            long completedBefore = completed(flink, jobId);
            await().atMost(Duration.ofSeconds(60))
                    .until(() -> completed(flink, jobId) >= completedBefore + 2);

            flink.killTaskManagers();
            await().atMost(Duration.ofSeconds(30)).until(() -> flink.slotsTotal() == 0);
            flink.startTaskManager();
            await().atMost(Duration.ofSeconds(120)).until(() -> flink.allTasksRunning(jobId));
            JsonNode restored = flink.checkpoints(jobId).path("latest").path("restored");
            assertThat(restored.path("id").asLong())
                    .as("restored from a checkpoint: %s", restored)
                    .isGreaterThan(0);
            assertThat(restored.path("is_savepoint").asBoolean()).isFalse();

            kafka.produce(parsed.readingsTopic(), data.subList(half, data.size()));
            kafka.finishStream(parsed, data, start);
            alerts.addAll(kafka.awaitAlertEvents(parsed.alertsTopic()));
            flink.cancel(jobId);

            System.out.printf(
                    "Flink session cluster: %d alert events before the kill and after the restore"
                            + " from checkpoint %d; %d in the undisturbed reference run%n",
                    alerts.size(), restored.path("id").asLong(), reference.size());
            assertThat(reference).isNotEmpty().doesNotHaveDuplicates();
            assertThat(alerts).doesNotHaveDuplicates();
            assertThat(Set.copyOf(alerts)).isEqualTo(Set.copyOf(reference));
        }
    }

    private static long completed(FlinkSessionCluster flink, String jobId) throws Exception {
        return flink.checkpoints(jobId).path("counts").path("completed").asLong();
    }
}
