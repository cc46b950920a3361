package io.plantwatch.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.plantwatch.model.SensorReading;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.ExceptionUtils;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A savepoint of an earlier version restores into this one, as a plant upgrades the job without
 * losing baselines, open alerts and sequence windows: restored from the savepoint {@link
 * SavepointFixture} wrote with that version's code over the first half of a scenario, and fed the
 * second half, the job sends the alerts this version sends over the whole scenario without a stop,
 * none twice, and counts every reading once. The fixtures are days old by the time this runs, so
 * the restore also comes long after the savepoint, as after real downtime.
 */
class SavepointUpgradeTest {
    /** A Kafka of its own per savepoint: each restores into the same topics and group. */
    private JobKafka kafka;

    @BeforeEach
    void startKafka() {
        kafka = new JobKafka();
    }

    @AfterEach
    void stopKafka() {
        kafka.close();
    }

    /**
     * @param version the commit whose code wrote the savepoint: 062764c had a shuffle and a task
     *     per CEP pattern shape, before they shared one; 0fa290e shuffled every reading to the
     *     detectors, before they ran in place, and restores with {@code
     *     kafka.readings-keyed-by-sensor: false} (its {@code settings.properties})
     * @param backend the state backend restored into: the savepoints are in Flink's canonical
     *     format, so a job that moves to RocksDB keeps its state too, and what changed since (the
     *     signals waiting in the lifecycle, the sensors' state layout) is read there as well
     */
    @ParameterizedTest(name = "{0} into {1}")
    @CsvSource({"062764c, hashmap", "0fa290e, hashmap", "062764c, rocksdb"})
    void aSavepointOfAnEarlierVersionRestoresWithNothingLostNorDoubled(
            String version, String backend) throws Exception {
        Path fixture = Path.of("src", "test", "resources", "savepoints", version);
        List<SensorReading> data = SavepointFixture.data();
        long start = SavepointFixture.START;
        Map<String, String> restoreWith = new HashMap<>();
        Path properties = fixture.resolve("settings.properties");
        if (Files.exists(properties)) {
            java.util.Properties p = new java.util.Properties();
            try (var in = Files.newInputStream(properties)) {
                p.load(in);
            }
            p.stringPropertyNames().forEach(k -> restoreWith.put(k, p.getProperty(k)));
        }
        restoreWith.put("state.backend", backend);

        // This version over the whole scenario, without a stop.
        JobSettings refSettings = settings("upgrade-ref-" + version + "-", restoreWith);
        kafka.createTopics(refSettings);
        List<String> reference;
        Map<String, List<Map<String, Long>>> refReports = new HashMap<>();
        JobClient ref =
                SavepointFixture.start(
                        refSettings,
                        StreamExecutionEnvironment.getExecutionEnvironment(
                                AnomalyJob.flinkConfiguration(refSettings)));
        try {
            kafka.produce(refSettings.readingsTopic(), data);
            kafka.finishStream(refSettings, data, start, refReports);
            reference = kafka.awaitAlertEvents(refSettings.alertsTopic());
            SavepointFixture.readAllCompleteness(kafka, refSettings, refReports);
        } finally {
            ref.cancel().get();
        }

        // The savepoint's job, same topics: the whole scenario is in Kafka, and the restored source
        // resumes at the offsets the savepoint holds, past the first half.
        JobSettings settings = settings(SavepointFixture.PREFIX, restoreWith);
        kafka.createTopics(settings);
        kafka.produce(settings.readingsTopic(), data);
        Configuration conf = AnomalyJob.flinkConfiguration(settings);
        conf.set(
                StateRecoveryOptions.SAVEPOINT_PATH,
                fixture.resolve(SavepointFixture.SAVEPOINT).toAbsolutePath().toUri().toString());
        List<String> after;
        Map<String, List<Map<String, Long>>> reports = new HashMap<>();
        JobClient restored =
                SavepointFixture.start(
                        settings, StreamExecutionEnvironment.getExecutionEnvironment(conf));
        try {
            kafka.finishStream(settings, data, start, reports);
            after = kafka.awaitAlertEvents(settings.alertsTopic());
            SavepointFixture.readAllCompleteness(kafka, settings, reports);
        } finally {
            restored.cancel().get();
        }

        List<String> before = Files.readAllLines(fixture.resolve(SavepointFixture.ALERTS));
        List<String> all = new ArrayList<>(before);
        all.addAll(after);
        System.out.printf(
                "savepoint of %s: %d alert events before it, %d after the restore; %d without a"
                        + " stop%n",
                version, before.size(), after.size(), reference.size());
        assertThat(reference).isNotEmpty().doesNotHaveDuplicates();
        assertThat(before).as("alert events before the savepoint").isNotEmpty();
        assertThat(after).as("alert events after the restore").isNotEmpty();
        assertThat(all).doesNotHaveDuplicates();
        assertThat(Set.copyOf(all)).isEqualTo(Set.copyOf(reference));

        // Per sensor, received, missing and duplicates: the minute open at the savepoint is
        // reported once, with the readings from both sides of it. The totals sent before the
        // savepoint count as one more report per sensor.
        for (String line : Files.readAllLines(fixture.resolve(SavepointFixture.COMPLETENESS))) {
            String[] f = line.split(" ");
            reports.computeIfAbsent(f[0], k -> new ArrayList<>())
                    .add(
                            Map.of(
                                    "received", Long.parseLong(f[1]),
                                    "missing", Long.parseLong(f[2]),
                                    "duplicates", Long.parseLong(f[3])));
        }
        assertThat(SavepointFixture.completenessTotals(reports))
                .isEqualTo(SavepointFixture.completenessTotals(refReports));
    }

    /**
     * The savepoint from before detection in place, restored in the default in-place mode: the
     * detectors' state there has another uid and key type, so Flink refuses to leave it out unless
     * told to; told to, the job runs on with every sensor's detector state started afresh.
     */
    @Test
    void aShuffledSavepointRestoredInPlaceIsRefusedUnlessItsSensorStateMayBeLeftOut()
            throws Exception {
        Path savepoint =
                Path.of("src", "test", "resources", "savepoints", "0fa290e")
                        .resolve(SavepointFixture.SAVEPOINT);
        List<SensorReading> data = SavepointFixture.data();
        JobSettings settings = kafka.settings(SavepointFixture.PREFIX);
        assertThat(settings.pipelineSettings().keyedInPlace()).isTrue();
        kafka.createTopics(settings);
        kafka.produce(settings.readingsTopic(), data);
        Configuration conf = AnomalyJob.flinkConfiguration(settings);
        conf.set(
                StateRecoveryOptions.SAVEPOINT_PATH, savepoint.toAbsolutePath().toUri().toString());

        Throwable refused =
                catchThrowable(
                        () ->
                                SavepointFixture.start(
                                                settings,
                                                StreamExecutionEnvironment.getExecutionEnvironment(
                                                        conf))
                                        .getJobExecutionResult()
                                        .get(60, TimeUnit.SECONDS));
        assertThat(ExceptionUtils.stringifyException(refused)).contains("allowNonRestoredState");

        conf.set(StateRecoveryOptions.SAVEPOINT_IGNORE_UNCLAIMED_STATE, true);
        JobClient restored =
                SavepointFixture.start(
                        settings, StreamExecutionEnvironment.getExecutionEnvironment(conf));
        try {
            // Every sensor's readings after the savepoint are read and reported on.
            kafka.finishStream(settings, data, SavepointFixture.START);
        } finally {
            restored.cancel().get();
        }
    }

    /** The tests' settings for topics named with {@code prefix}, with {@code overrides}. */
    private JobSettings settings(String prefix, Map<String, String> overrides) {
        Map<String, String> m = kafka.settingsMap(prefix, "at-least-once");
        m.putAll(overrides);
        return JobSettings.load(null, Map.of(), m);
    }
}
