package io.plantwatch.appliance;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.plantwatch.sim.fleet.AnomalyKind;
import io.plantwatch.sim.fleet.Label;
import io.plantwatch.sim.fleet.LabelFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code plantwatch evaluate} on a shortened NAB file (src/test/resources/nab: three weeks around
 * the last two windows), so the suite stays fast: the real job replays it, and the JSON, report and
 * chart come out.
 */
class EvaluateCommandTest {
    @TempDir Path dir;

    @Test
    void replaysAShortenedNabFileAndWritesScoresReportAndChart() throws Exception {
        Path csv = dir.resolve("machine_temperature_short.csv");
        Files.copy(
                Path.of("src", "test", "resources", "nab", "machine_temperature_short.csv"), csv);
        Path labels = dir.resolve("labels.json");
        Files.writeString(
                labels,
                """
                {"machine_temperature_short.csv": {
                  "windows": [["2014-01-27 14:20:00.000000", "2014-01-29 13:30:00.000000"],
                              ["2014-02-07 14:55:00.000000", "2014-02-09 14:05:00.000000"]],
                  "labels": ["2014-01-28 13:55:00", "2014-02-08 14:30:00"]}}
                """);
        CliRun run =
                CliRun.plantwatch(
                        "evaluate",
                        "--series",
                        csv.toString(),
                        "--labels",
                        labels.toString(),
                        "--rules",
                        "../config/rules.yaml",
                        "--job-config",
                        "../config/job.yaml",
                        "--report",
                        dir.resolve("report").toString(),
                        "--json",
                        dir.resolve("scores.json").toString());

        assertThat(run.code()).as(run.err()).isZero();
        JsonNode scores = new ObjectMapper().readTree(dir.resolve("scores.json").toFile());
        assertThat(scores.path("windows_total").asInt()).isEqualTo(2);
        assertThat(scores.path("rows").asInt()).isGreaterThan(6000);
        assertThat(scores.path("windows_detected").asInt())
                .isEqualTo(scores.path("lead_minutes").size());
        assertThat(scores.path("nab_score").isNumber()).isTrue();
        // Every alert is either in a window or false, and counted by its kind.
        int perKind = 0;
        for (JsonNode k : scores.path("per_kind")) {
            perKind += k.path("in_windows").asInt() + k.path("false_alerts").asInt();
        }
        assertThat(perKind).isEqualTo(scores.path("alerts").asInt());
        assertThat(scores.path("alarm_management").has("flood_share")).isTrue();
        String lastLine = run.out().lines().reduce((a, c) -> c).orElse("");
        assertThat(lastLine).startsWith("windows_total=2 windows_detected=");
        assertThat(dir.resolve("report").resolve("report.md"))
                .content()
                .contains("windows detected")
                .contains("chart.png");
        byte[] png = Files.readAllBytes(dir.resolve("report").resolve("chart.png"));
        assertThat(png).hasSizeGreaterThan(10_000);
        assertThat(new String(png, 1, 3, java.nio.charset.StandardCharsets.US_ASCII))
                .isEqualTo("PNG");
    }

    private static final String NAB_LABELS =
            """
            {"machine_temperature_short.csv": {
              "windows": [["2014-01-27 14:20:00.000000", "2014-01-29 13:30:00.000000"],
                          ["2014-02-07 14:55:00.000000", "2014-02-09 14:05:00.000000"]],
              "labels": ["2014-01-28 13:55:00", "2014-02-08 14:30:00"]}}
            """;

    private Path shortCsv() throws Exception {
        Path csv = dir.resolve("machine_temperature_short.csv");
        if (!Files.exists(csv)) {
            Files.copy(
                    Path.of("src", "test", "resources", "nab", "machine_temperature_short.csv"),
                    csv);
        }
        return csv;
    }

    private static void assertOneLineExit2(CliRun run) {
        assertThat(run.code()).as(run.err()).isEqualTo(2);
        assertThat(run.err().strip())
                .startsWith("plantwatch evaluate:")
                .doesNotContain("\n")
                .doesNotContain("Exception")
                .doesNotContain("com.fasterxml");
    }

    @Test
    void labelsThatAreNotJsonAreOneLineAndExitCode2() throws Exception {
        CliRun yaml =
                CliRun.plantwatch(
                        "evaluate",
                        "--series",
                        shortCsv().toString(),
                        "--labels",
                        "../config/fleet.yaml",
                        "--rules",
                        "../config/rules.yaml",
                        "--job-config",
                        "../config/job.yaml");
        assertOneLineExit2(yaml);
        assertThat(yaml.err())
                .contains("../config/fleet.yaml is neither NAB's labels.json nor the simulator's");

        Path jsonl = dir.resolve("labels.jsonl");
        Files.writeString(jsonl, "{\"sensor\": \"a/b/c/d/e\", \"kind\": \"spike\"}\n");
        CliRun partial =
                CliRun.plantwatch(
                        "evaluate",
                        "--series",
                        shortCsv().toString(),
                        "--labels",
                        jsonl.toString(),
                        "--rules",
                        "../config/rules.yaml",
                        "--job-config",
                        "../config/job.yaml");
        assertOneLineExit2(partial);
        assertThat(partial.err()).contains(jsonl.toString());
    }

    @Test
    void aReportPathThatIsAFileIsRefusedBeforeTheReplay() throws Exception {
        Path labels = dir.resolve("labels.json");
        Files.writeString(labels, NAB_LABELS);
        Path file = dir.resolve("report.txt");
        Files.writeString(file, "not a folder");
        long t0 = System.nanoTime();
        CliRun run =
                CliRun.plantwatch(
                        "evaluate",
                        "--series",
                        shortCsv().toString(),
                        "--labels",
                        labels.toString(),
                        "--rules",
                        "../config/rules.yaml",
                        "--job-config",
                        "../config/job.yaml",
                        "--report",
                        file.toString());
        assertOneLineExit2(run);
        assertThat(run.err()).contains("--report " + file + " is a file");
        assertThat(run.out()).as("nothing replayed").isEmpty();
        assertThat((System.nanoTime() - t0) / 1e9)
                .as("seconds: refused before the replay")
                .isLessThan(5);
        assertThat(file).hasContent("not a folder");
    }

    /**
     * NAB's labels.json and the label file {@code sensor-sim replay --labels-in labels.json} writes
     * from it (its windows, without NAB's points) give the same lead times: both measure from NAB's
     * labelled point, the middle of each window. An injected anomaly's is its start.
     */
    @Test
    void nabLabelsAndTheSimulatorsCopyOfThemMeasureLeadFromTheSamePoint() throws Exception {
        Path nab = dir.resolve("labels.json");
        Files.writeString(nab, NAB_LABELS);
        LabelledSeries fromNab = LabelledSeries.load(shortCsv(), nab);

        Path copy = dir.resolve("nab-labels.jsonl");
        try (LabelFile f = LabelFile.create(copy)) {
            for (LabelledSeries.Window w : fromNab.windows()) {
                f.write(
                        new Label(
                                "replay/area-1/line-1/machine-1/machine_temperature_short",
                                AnomalyKind.LABELLED,
                                w.start(),
                                w.end(),
                                1,
                                Map.of("source", "machine_temperature_short.csv")));
            }
            long spike = LabelledSeries.time("2014-02-10 00:00:00");
            f.write(new Label("s/a/l/m/t", AnomalyKind.SPIKE, spike, spike + 600_000, 2, Map.of()));
        }
        LabelledSeries fromCopy = LabelledSeries.load(shortCsv(), copy);

        assertThat(fromCopy.windows().subList(0, 2)).isEqualTo(fromNab.windows());
        assertThat(fromNab.windows().get(0).point())
                .isEqualTo(LabelledSeries.time("2014-01-28 13:55:00"));
        assertThat(fromCopy.windows().get(2).point())
                .as("an injected anomaly's lead is measured from its start")
                .isEqualTo(LabelledSeries.time("2014-02-10 00:00:00"));
    }

    @Test
    void aMissingSeriesIsOneLineAndExitCode2() {
        CliRun run =
                CliRun.plantwatch(
                        "evaluate",
                        "--series",
                        dir.resolve("nope.csv").toString(),
                        "--labels",
                        dir.resolve("nope.json").toString());
        assertThat(run.code()).isEqualTo(2);
        assertThat(run.err().strip()).startsWith("plantwatch evaluate:").doesNotContain("\n");
    }
}
