package io.plantwatch.job;

import static io.plantwatch.job.JobKafka.PRESS1_OIL;
import static io.plantwatch.job.JobKafka.PRESS2_PRESSURE;
import static io.plantwatch.job.JobKafka.ZONE1;
import static io.plantwatch.job.JobKafka.ZONE2;
import static io.plantwatch.job.JobKafka.spec;

import io.plantwatch.job.rules.RuleBook;
import io.plantwatch.model.SensorReading;
import io.plantwatch.sim.fleet.AnomalyKind;
import io.plantwatch.sim.fleet.AnomalySpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.FileUtils;

/**
 * Writes the savepoint that {@link SavepointUpgradeTest} restores: the job runs over the first half
 * of a fixed scenario and stops with a savepoint, and what it had sent by then is written beside
 * it. Run it with the code of the version whose savepoint is to be kept, from {@code anomaly-job/}
 * (see {@code src/test/resources/savepoints/README.md}):
 *
 * <pre>java -cp target/test-classes:target/classes:$(cat cp.txt) \
 *     io.plantwatch.job.SavepointFixture src/test/resources/savepoints/VERSION</pre>
 *
 * <p>The scenario's time is fixed, so the data, its Kafka partitions and offsets are the same in
 * every run: the restored source resumes at the offsets it had read up to.
 */
final class SavepointFixture {
    /** 2026-11-25T00:00:00Z: the scenario's first reading. */
    static final long START = Harnesses.T0;

    /** The prefix of the topics, group and transactions of the job that wrote the savepoint. */
    static final String PREFIX = "upgrade-";

    /** The savepoint's directory inside the fixture. */
    static final String SAVEPOINT = "savepoint";

    /** Each alert event sent before the savepoint, as "id state", in topic order. */
    static final String ALERTS = "alerts-before.txt";

    /** Per sensor, the received, missing and duplicate readings reported before the savepoint. */
    static final String COMPLETENESS = "completeness-before.txt";

    private SavepointFixture() {}

    /**
     * Faults on both sides of the savepoint: the spike and the excursion are over before it, the
     * flatline is open across it, and the drift starts after it.
     */
    static List<AnomalySpec> scenario() {
        return List.of(
                spec(200, PRESS1_OIL, AnomalyKind.SPIKE, 10, 15.0, null),
                spec(300, ZONE1, AnomalyKind.OUT_OF_RANGE, 30, null, null),
                spec(380, PRESS2_PRESSURE, AnomalyKind.FLATLINE, 200, null, null),
                spec(600, ZONE2, AnomalyKind.DRIFT, 200, 20.0, null));
    }

    static List<SensorReading> data() {
        return JobKafka.simulate(START, scenario(), new ArrayList<>());
    }

    /** The readings before the savepoint: the first half. */
    static int half(List<SensorReading> data) {
        return data.size() / 2;
    }

    /** The job as {@code flink run} wires it, with these settings. */
    static JobClient start(JobSettings settings, StreamExecutionEnvironment env) throws Exception {
        env.setParallelism(2);
        RuleBook rules = AnomalyJob.loadRules(Path.of("..", "config", "rules.yaml"));
        AnomalyJob.sinks(
                AnomalyPipeline.build(
                        AnomalyJob.source(env, settings), settings.pipelineSettings(), rules),
                settings,
                rules);
        return env.executeAsync(PREFIX + "job");
    }

    /** Sums the completeness reports per sensor: "sensor received missing duplicates" lines. */
    static List<String> completenessTotals(Map<String, List<Map<String, Long>>> reports) {
        Map<String, long[]> totals = new TreeMap<>();
        reports.forEach(
                (sensor, list) -> {
                    long[] t = totals.computeIfAbsent(sensor, s -> new long[3]);
                    for (Map<String, Long> m : list) {
                        t[0] += m.get("received");
                        t[1] += m.get("missing");
                        t[2] += m.get("duplicates");
                    }
                });
        List<String> lines = new ArrayList<>();
        totals.forEach((s, t) -> lines.add(s + " " + t[0] + " " + t[1] + " " + t[2]));
        return lines;
    }

    /** Adds the completeness reports left on the topic: polls until one brings nothing new. */
    static void readAllCompleteness(
            JobKafka kafka, JobSettings settings, Map<String, List<Map<String, Long>>> into) {
        int seen = -1;
        while (count(into) != seen) {
            seen = count(into);
            kafka.readCompleteness(settings.completenessTopic(), into);
        }
    }

    private static int count(Map<String, List<Map<String, Long>>> reports) {
        return reports.values().stream().mapToInt(List::size).sum();
    }

    public static void main(String[] args) throws Exception {
        Path out = Path.of(args[0]).toAbsolutePath();
        FileUtils.deleteDirectory(out.toFile());
        Files.createDirectories(out);
        List<SensorReading> data = data();
        try (JobKafka kafka = new JobKafka()) {
            JobSettings settings = kafka.settings(PREFIX);
            kafka.createTopics(settings);
            JobClient job =
                    start(
                            settings,
                            StreamExecutionEnvironment.getExecutionEnvironment(
                                    AnomalyJob.flinkConfiguration(settings)));
            kafka.produce(settings.readingsTopic(), data.subList(0, half(data)));
            // Everything the first half makes the job say, then the savepoint.
            List<String> alerts = kafka.awaitAlertEvents(settings.alertsTopic());
            Path written =
                    Path.of(
                            java.net.URI.create(
                                    job.stopWithSavepoint(
                                                    false,
                                                    out.resolve("tmp").toUri().toString(),
                                                    SavepointFormatType.CANONICAL)
                                            .get()));
            Files.move(written, out.resolve(SAVEPOINT));
            Files.delete(out.resolve("tmp"));
            // What the savepoint flushed, then every report: until a poll brings nothing new.
            for (List<String> more = List.of(""); !more.isEmpty(); ) {
                more = kafka.pollAlertEvents(settings.alertsTopic());
                alerts.addAll(more);
            }
            Map<String, List<Map<String, Long>>> reports = new HashMap<>();
            readAllCompleteness(kafka, settings, reports);
            Files.write(out.resolve(ALERTS), alerts);
            Files.write(out.resolve(COMPLETENESS), completenessTotals(reports));
            try (Stream<Path> files = Files.walk(out)) {
                files.forEach(System.out::println);
            }
        }
        System.exit(0);
    }
}
