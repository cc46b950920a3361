package io.plantwatch.sim;

import static org.assertj.core.api.Assertions.assertThat;

import io.plantwatch.sim.fleet.AnomalyKind;
import io.plantwatch.sim.fleet.Label;
import io.plantwatch.sim.fleet.LabelFile;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mistakes in the command line and the input files, without a broker: each is one line naming the
 * file and what is wrong, and exit code 2, before anything is published. The broker given is a
 * closed port, so a mistake that slipped through ends in exit code 3, not in a hang.
 */
class SensorSimInputTest {

    static final Path FLEET = Path.of("..", "config", "fleet.yaml");

    @TempDir Path dir;

    final String broker = "tcp://127.0.0.1:" + io.plantwatch.infra.Loopback.freePorts(1)[0];

    record Run(int exitCode, String out, String err) {
        /** The error line: the one line on stderr after the banner, if any. */
        String lastErrLine() {
            List<String> lines = err.strip().lines().toList();
            return lines.isEmpty() ? "" : lines.get(lines.size() - 1);
        }
    }

    Run sim(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code =
                SensorSim.mainWithExitCode(
                        new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Run(code, out.toString(), err.toString());
    }

    Run run(String... args) {
        List<String> all = new ArrayList<>(List.of("run", "--broker", broker, "-q"));
        all.addAll(List.of(args));
        return sim(all.toArray(String[]::new));
    }

    Run replay(String... args) throws IOException {
        List<String> all =
                new ArrayList<>(
                        List.of(
                                "replay",
                                copyResource("replay/machine_temperature_sample.csv").toString(),
                                "--broker",
                                broker,
                                "-q"));
        all.addAll(List.of(args));
        return sim(all.toArray(String[]::new));
    }

    Path scenario(String yaml) throws IOException {
        Path f = dir.resolve("scenario.yaml");
        Files.writeString(f, yaml);
        return f;
    }

    static void assertOneLineExit2(Run r) {
        assertThat(r.exitCode()).as(r.err()).isEqualTo(2);
        assertThat(r.err().strip())
                .as("one line, no stack trace")
                .doesNotContain("\n")
                .startsWith("sensor-sim: ")
                .doesNotContain("Exception")
                .doesNotContain("io.plantwatch")
                .doesNotContain("java.");
        assertThat(r.out()).isEmpty();
    }

    @Test
    void aScenarioGlobMatchingNoSensorOfTheFleetIsRefused() throws IOException {
        Path s = scenario("anomalies:\n  - {at: 1s, sensor: \"munich/**\", kind: spike}\n");
        Run r = run("--fleet", FLEET.toString(), "--scenario", s.toString(), "--duration", "3s");
        assertOneLineExit2(r);
        assertThat(r.err())
                .contains(s.toString())
                .contains("anomalies[0] (at 1s, spike)")
                .contains("\"munich/**\" matches no sensor of " + FLEET)
                .contains("e.g. dresden/");
    }

    @Test
    void aScenarioEntryAfterTheEndOfTheRunIsWarnedAbout() throws IOException {
        Path s =
                scenario(
                        "anomalies:\n"
                                + "  - {at: 1s, sensor: \"**/oil-temp\", kind: spike}\n"
                                + "  - {at: 10m, sensor: \"**/oil-temp\", kind: spike}\n");
        Run r = run("--fleet", FLEET.toString(), "--scenario", s.toString(), "--duration", "3s");
        // Not refused: the run goes on to the (closed) broker.
        assertThat(r.exitCode()).as(r.err()).isEqualTo(3);
        assertThat(r.err().lines().filter(l -> l.contains("warning")))
                .containsExactly(
                        "sensor-sim: warning: "
                                + s
                                + ": anomalies[1] (at 10m, spike) starts after the run ends"
                                + " (--duration 3s); it is not injected");
    }

    @Test
    void anOptionTheKindDoesNotTakeIsRefusedNamingTheOptionsItTakes() throws IOException {
        Path s = scenario("anomalies:\n  - {at: 1s, sensor: \"**\", kind: spike, delay: 3s}\n");
        Run r = run("--fleet", FLEET.toString(), "--scenario", s.toString(), "--duration", "3s");
        assertOneLineExit2(r);
        assertThat(r.lastErrLine())
                .isEqualTo(
                        "sensor-sim: "
                                + s
                                + ": anomalies[0] (at 1s, spike): delay does not apply to spike,"
                                + " which takes at, sensor, kind, duration, magnitude");

        Path dropout =
                scenario("anomalies:\n  - {at: 1s, sensor: \"**\", kind: dropout, magnitude: 3}\n");
        assertThat(
                        run(
                                        "--fleet",
                                        FLEET.toString(),
                                        "--scenario",
                                        dropout.toString(),
                                        "--duration",
                                        "3s")
                                .lastErrLine())
                .endsWith(
                        "magnitude does not apply to dropout, which takes at, sensor, kind,"
                                + " duration");
    }

    @Test
    void aTypoedScenarioKeyNamesTheLineAndTheKnownKeys() throws IOException {
        Path s = scenario("anomalies:\n  - at: 1s\n    sensr: \"**\"\n    kind: spike\n");
        Run r = run("--fleet", FLEET.toString(), "--scenario", s.toString());
        assertOneLineExit2(r);
        assertThat(r.lastErrLine())
                .isEqualTo(
                        "sensor-sim: "
                                + s
                                + " line 3: unknown key sensr (known: at, sensor, kind, duration,"
                                + " magnitude, delay)");
    }

    @Test
    void aKeyWrittenTwiceAndAWrongTypeAreOneLineWithTheLine() throws IOException {
        Path twice =
                scenario(
                        "anomalies:\n  - at: 1s\n    sensor: \"**\"\n    at: 2s\n    kind: spike\n");
        Run r = run("--fleet", FLEET.toString(), "--scenario", twice.toString());
        assertOneLineExit2(r);
        assertThat(r.lastErrLine()).contains(twice + " is not valid YAML (line 4)").contains("at");

        Path wrongType =
                scenario("anomalies:\n  - {at: 1s, sensor: \"**\", kind: spike, magnitude: big}\n");
        Run w = run("--fleet", FLEET.toString(), "--scenario", wrongType.toString());
        assertOneLineExit2(w);
        assertThat(w.lastErrLine())
                .isEqualTo("sensor-sim: " + wrongType + " line 2: magnitude: expected a number");
    }

    @Test
    void aMissingFleetOrScenarioFileSaysItDoesNotExist() {
        Path nofile = dir.resolve("nofile.yaml");
        Run r = run("--fleet", nofile.toString());
        assertOneLineExit2(r);
        assertThat(r.lastErrLine()).isEqualTo("sensor-sim: " + nofile + " does not exist");

        Run s = run("--fleet", FLEET.toString(), "--scenario", nofile.toString());
        assertOneLineExit2(s);
        assertThat(s.lastErrLine()).isEqualTo("sensor-sim: " + nofile + " does not exist");
    }

    @Test
    void anUnknownFleetKeyNamesTheLine() throws IOException {
        Path f = dir.resolve("fleet.yaml");
        Files.writeString(
                f,
                """
                sites:
                  - name: s
                    areas:
                      - name: a
                        lines:
                          - name: l
                            machines:
                              - name: m
                                sensors:
                                  - {name: t, kind: temperature, meen: 60}
                """);
        Run r = run("--fleet", f.toString());
        assertOneLineExit2(r);
        assertThat(r.lastErrLine())
                .startsWith("sensor-sim: " + f + " line 10: unknown key meen (known: ")
                .contains("mean");
    }

    @Test
    void replayLabelsInThatAreNotLabelsAreOneLine() throws IOException {
        Path out = dir.resolve("out.jsonl");
        Run yaml = replay("--labels-in", FLEET.toString(), "--labels", out.toString());
        assertOneLineExit2(yaml);
        assertThat(yaml.lastErrLine())
                .contains(FLEET.toString())
                .contains("neither NAB's labels.json nor a sensor-sim label file");

        Path brokenJson = dir.resolve("labels.json");
        Files.writeString(brokenJson, "{\"machine_temperature_sample.csv\": {\"windows\": [\n");
        Run json = replay("--labels-in", brokenJson.toString(), "--labels", out.toString());
        assertOneLineExit2(json);
        assertThat(json.lastErrLine()).contains(brokenJson + " is not valid JSON");

        Path badLabel = dir.resolve("labels.jsonl");
        Files.writeString(
                badLabel,
                "{\"sensor\":\"a/b/c/d/e\",\"kind\":\"spike\",\"start_ms\":1,\"end_ms\":2,\"readings\":1}\n"
                        + "{\"sensor\":\"a/b/c/d/e\",\"kind\":\"spike\"}\n");
        Run label = replay("--labels-in", badLabel.toString(), "--labels", out.toString());
        assertOneLineExit2(label);
        assertThat(label.lastErrLine()).contains(badLabel + " line 2: not a sensor-sim label");
        assertThat(out).as("nothing written from bad labels").doesNotExist();
    }

    @Test
    void replayLabelsInMissingOrWithoutLabelsIsOneLine() throws IOException {
        Path nope = dir.resolve("nope.json");
        Run missing = replay("--labels-in", nope.toString(), "--labels", "o3.jsonl");
        assertOneLineExit2(missing);
        assertThat(missing.lastErrLine())
                .isEqualTo("sensor-sim: " + nope + " (--labels-in) does not exist");

        Path labels = copyResource("replay/labels.json");
        Run alone = replay("--labels-in", labels.toString());
        assertOneLineExit2(alone);
        assertThat(alone.lastErrLine()).contains("--labels-in").contains("add --labels FILE");
    }

    @Test
    void aLabelFileOfOneLabelPassesThroughReplay() throws IOException {
        Path in = dir.resolve("one.jsonl");
        Files.writeString(
                in,
                "{\"sensor\":\"a/b/c/d/e\",\"kind\":\"spike\",\"start_ms\":1000,\"end_ms\":2000,"
                        + "\"readings\":3,\"params\":{\"magnitude\":5.0}}\n");
        Path out = dir.resolve("out.jsonl");
        // Labels are written before the broker is reached, so the closed port still shows them.
        Run r = replay("--labels-in", in.toString(), "--labels", out.toString());
        assertThat(r.exitCode()).as(r.err()).isEqualTo(3);
        assertThat(LabelFile.read(out))
                .containsExactly(
                        new Label(
                                "a/b/c/d/e",
                                AnomalyKind.SPIKE,
                                1000,
                                2000,
                                3,
                                java.util.Map.of("magnitude", 5.0)));
    }

    @Test
    void noSubcommandIsAUsageErrorAndHelpIsNot() {
        Run none = sim();
        assertThat(none.exitCode()).isEqualTo(2);
        assertThat(none.err()).startsWith("Usage: sensor-sim");
        Run help = sim("--help");
        assertThat(help.exitCode()).isZero();
        assertThat(help.out()).startsWith("Usage: sensor-sim");
    }

    @Test
    void aMissingReplayFileSaysItDoesNotExist() {
        Path nope = dir.resolve("nope.csv");
        Run r = sim("replay", nope.toString(), "--broker", broker);
        assertOneLineExit2(r);
        assertThat(r.lastErrLine()).isEqualTo("sensor-sim: " + nope + " does not exist");
    }

    private Path copyResource(String name) throws IOException {
        Path target = dir.resolve(Path.of(name).getFileName().toString());
        if (Files.exists(target)) {
            return target;
        }
        try (InputStream in = getClass().getClassLoader().getResourceAsStream(name)) {
            assertThat(in).as(name).isNotNull();
            Files.copy(in, target);
        }
        return target;
    }
}
