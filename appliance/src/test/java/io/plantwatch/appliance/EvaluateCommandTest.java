package io.plantwatch.appliance;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
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
