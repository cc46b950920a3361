package io.plantwatch.appliance;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code plantwatch demo} for 90 s, in this process: the embedded MQTT broker and Kafka, the job on
 * a MiniCluster, the gateway, alerting and the simulator with the shipped demo scenario. Every
 * injected anomaly that should raise an alert does, and at most {@link #FALSE_ALERT_BOUND} alerts
 * have no injection to explain them.
 */
class DemoEndToEndTest {
    /** The stated bound for a 90-second demo (README): noise alone should raise none. */
    static final int FALSE_ALERT_BOUND = 2;

    @TempDir Path dir;

    @Test
    void aShortDemoAlertsEveryInjectedAnomalyAndPrintsItsSummary() throws Exception {
        // The settings name a live appliance's data folder; the demo keeps to its own.
        Path live = dir.resolve("live");
        Path journal = live.resolve("alerting").resolve("alerts.journal");
        Files.createDirectories(journal.getParent());
        Files.writeString(journal, "the plant's alerts\n");
        Path settings = dir.resolve("appliance.yaml");
        Files.writeString(
                settings,
                """
                mqtt: {broker: embedded, port: 0}
                kafka: {bootstrap: embedded}
                data-dir: %s
                job: {config: ../config/job.yaml, rules: ../config/rules-demo.yaml}
                gateway: {config: ../config/gateway.yaml}
                alerting: {config: ../config/alerting-demo.yaml}
                """
                        .formatted(live));
        // The shipped scenario, and one entry past the run's end that the demo must mention.
        Path scenario = dir.resolve("scenario.yaml");
        Files.writeString(
                scenario,
                Files.readString(Path.of("../config/scenario-demo.yaml"))
                        + "  - {at: 95s, sensor: \"dresden/press-shop/line-1/press-1/oil-temp\","
                        + " kind: spike}\n");
        CliRun run =
                CliRun.plantwatch(
                        "demo",
                        "--duration",
                        "90s",
                        "--config",
                        settings.toString(),
                        "--data-dir",
                        dir.resolve("data").toString(),
                        "--fleet",
                        "../config/fleet.yaml",
                        "--scenario",
                        scenario.toString());

        assertThat(run.code()).as(run.err()).isZero();
        assertThat(run.err())
                .contains("plantwatch demo: warning: ")
                .contains("starts after the run ends (--duration 90s); it is not injected");
        List<String> lines = run.out().lines().toList();
        assertThat(lines).anyMatch(l -> l.startsWith("Up in "));
        assertThat(lines).anyMatch(l -> l.startsWith("== Summary"));
        Map<String, Long> result = parse(lines.get(lines.size() - 1));
        assertThat(result.get("injected"))
                .as("spike, out-of-range, flatline, dropout and drift are injected")
                .isEqualTo(5);
        assertThat(result.get("missed")).as(run.out()).isZero();
        assertThat(result.get("false_alerts")).as(run.out()).isLessThanOrEqualTo(FALSE_ALERT_BOUND);
        assertThat(result.get("p50_ms")).isPositive();
        // Late, duplicate and malformed readings are set aside, and the summary says where.
        assertThat(lines)
                .anyMatch(
                        l ->
                                l.startsWith("Set aside by design")
                                        && !l.contains(" 0 late")
                                        && !l.contains(" 0 malformed"));
        assertThat(Files.list(dir.resolve("data").resolve("series")))
                .as("series written as line protocol")
                .isNotEmpty();
        // Every reading detected on is in the series, the last ones too: the summary waits for
        // the checkpoint before which the writer flushes its batch.
        long published = number(lines, "Readings: ([0-9,]+) published");
        long late = number(lines, "Set aside by design, not alerted: ([0-9,]+) late");
        assertThat(readingPoints(dir.resolve("data").resolve("series")))
                .isEqualTo(published - late);
        assertThat(journal).hasContent("the plant's alerts");
    }

    /**
     * {@code plantwatch demo --sparkplug}: the fleet as Sparkplug B edge nodes, read by the gateway
     * as a host application. The injected faults are alerted under the fleet's own sensor ids, and
     * the malformed payloads (protobuf that does not parse) are set aside.
     */
    @Test
    void aSparkplugDemoAlertsUnderTheFleetsSensorIdsAndSetsAsideWhatDoesNotParse()
            throws Exception {
        Path scenario = dir.resolve("scenario.yaml");
        Files.writeString(
                scenario,
                """
                anomalies:
                  - {at: 5s, sensor: "dresden/press-shop/line-1/press-1/oil-temp", kind: spike, duration: 10s, magnitude: 15}
                  - {at: 6s, sensor: "dresden/press-shop/line-1/press-1/hydraulic-pressure", kind: malformed, duration: 5s}
                  - {at: 8s, sensor: "dresden/press-shop/line-2/oven-1/hall-humidity", kind: duplicate, duration: 5s}
                  - {at: 12s, sensor: "dresden/press-shop/line-2/oven-1/zone-1-temp", kind: out-of-range, duration: 15s}
                """);
        Path settings = dir.resolve("appliance.yaml");
        Files.writeString(
                settings,
                """
                mqtt: {broker: embedded, port: 0}
                kafka: {bootstrap: embedded}
                job: {config: ../config/job.yaml, rules: ../config/rules-demo.yaml}
                gateway: {config: ../config/gateway.yaml}
                alerting: {config: ../config/alerting-demo.yaml}
                """);
        CliRun run =
                CliRun.plantwatch(
                        "demo",
                        "--duration",
                        "40s",
                        "--sparkplug=../config/gateway-demo-sparkplug.yaml",
                        "--config",
                        settings.toString(),
                        "--data-dir",
                        dir.resolve("data").toString(),
                        "--fleet",
                        "../config/fleet.yaml",
                        "--scenario",
                        scenario.toString());

        assertThat(run.code()).as(run.err()).isZero();
        List<String> lines = run.out().lines().toList();
        assertThat(lines).anyMatch(l -> l.startsWith("Up in ") && l.contains("Sparkplug B"));
        Map<String, Long> result = parse(lines.get(lines.size() - 1));
        assertThat(result.get("injected")).as(run.out()).isEqualTo(2);
        assertThat(result.get("missed")).as(run.out()).isZero();
        assertThat(result.get("false_alerts")).as(run.out()).isLessThanOrEqualTo(FALSE_ALERT_BOUND);
        assertThat(lines)
                .anyMatch(
                        l ->
                                l.startsWith("  spike ")
                                        && l.contains(
                                                "dresden/press-shop/line-1/press-1/oil-temp"));
        long malformed = number(lines, "([0-9,]+) malformed messages to sensor-readings-dlq");
        assertThat(malformed).as(run.out()).isPositive();
        assertThat(
                        number(
                                lines,
                                "published by the simulator \\(\\+[0-9,]+ duplicates, ([0-9,]+)"
                                        + " malformed\\)"))
                .as("every malformed payload the simulator sent is in the DLQ")
                .isEqualTo(malformed);
    }

    /**
     * The demo starts by deleting what its data folder holds, so it refuses a folder it did not
     * write, such as a live appliance's, and deletes nothing.
     */
    @Test
    void refusesADataFolderItDidNotWrite() throws Exception {
        Path journal = dir.resolve("alerting").resolve("alerts.journal");
        Files.createDirectories(journal.getParent());
        Files.writeString(journal, "the plant's alerts\n");
        CliRun run = refusedDemo("", dir);

        assertThat(run.code()).isEqualTo(2);
        assertThat(run.err()).contains("holds data the demo did not write").contains("--data-dir");
        assertThat(journal).hasContent("the plant's alerts");
    }

    /**
     * Gateway settings for {@code --sparkplug} that would read no edge node, or name its sensors
     * otherwise than the fleet does, would end in every injection missed: refused before anything
     * starts.
     */
    @Test
    void refusesSparkplugGatewaySettingsThatWouldNotReadTheFleet() throws Exception {
        Path other = dir.resolve("gateway-sparkplug.yaml");
        Files.writeString(other, "gateway: {id: g}\nsparkplug: {groups: dresden}\n");
        for (String[] c :
                List.of(
                        new String[] {"../config/gateway.yaml", "reads no Sparkplug B group"},
                        new String[] {other.toString(), "set sparkplug.sensor-id to"})) {
            CliRun run =
                    CliRun.plantwatch(
                            "demo",
                            "--sparkplug=" + c[0],
                            "--data-dir",
                            dir.resolve("data").toString(),
                            "--fleet",
                            "../config/fleet.yaml",
                            "--scenario",
                            "../config/scenario-demo.yaml");
            assertThat(run.code()).as(run.err()).isEqualTo(2);
            assertThat(run.err()).contains("plantwatch demo: --sparkplug ").contains(c[1]);
            assertThat(dir.resolve("data")).doesNotExist();
        }
    }

    /**
     * A plant's appliance.yaml given to the demo: its injected faults would go to the plant's
     * broker, its gateway would take the live gateway's session, its alerting would read the
     * plant's alerts and notify their receivers again. Refused before anything starts.
     */
    @Test
    void refusesAPlantsBrokerOrKafka() throws Exception {
        CliRun run =
                refusedDemo(
                        """
                        mqtt: {broker: "tcp://127.0.0.1:1"}
                        kafka: {bootstrap: embedded}
                        """,
                        dir.resolve("data"));

        assertThat(run.code()).isEqualTo(2);
        assertThat(run.err())
                .contains("mqtt.broker tcp://127.0.0.1:1")
                .contains("runs only on its own embedded ones");
        assertThat(dir.resolve("data")).doesNotExist();
    }

    /** A demo with the shipped files and {@code settings} before them, which should not start. */
    private CliRun refusedDemo(String settings, Path dataDir) throws Exception {
        Path file = dir.resolve("appliance.yaml");
        Files.writeString(
                file,
                settings
                        + """
                        job: {config: ../config/job.yaml, rules: ../config/rules-demo.yaml}
                        gateway: {config: ../config/gateway.yaml}
                        alerting: {config: ../config/alerting-demo.yaml}
                        """);
        return CliRun.plantwatch(
                "demo",
                "--config",
                file.toString(),
                "--data-dir",
                dataDir.toString(),
                "--fleet",
                "../config/fleet.yaml",
                "--scenario",
                "../config/scenario-demo.yaml");
    }

    private static Map<String, Long> parse(String line) {
        Map<String, Long> m = new HashMap<>();
        for (String kv : line.split(" ")) {
            String[] p = kv.split("=");
            m.put(p[0], Long.parseLong(p[1]));
        }
        return m;
    }

    /** The number the first line matching {@code pattern} has in its group. */
    private static long number(List<String> lines, String pattern) {
        java.util.regex.Pattern p = java.util.regex.Pattern.compile(pattern);
        return lines.stream()
                .map(p::matcher)
                .filter(java.util.regex.Matcher::find)
                .findFirst()
                .map(m -> Long.parseLong(m.group(1).replace(",", "")))
                .orElseThrow(() -> new AssertionError("no line with " + pattern));
    }

    /**
     * The readings in the series files. A run across an hour's end has gzipped the passed hour, or
     * left it whole beside a copy cut short by the stop ({@code .part}), and in a stop between the
     * copy's rename and the file's delete both: each hour is counted once, from its copy if whole.
     */
    private static long readingPoints(Path series) throws Exception {
        long n = 0;
        try (var files = Files.list(series)) {
            for (Path f : files.toList()) {
                String name = f.getFileName().toString();
                boolean gzipped = name.endsWith(".gz");
                if (name.endsWith(".part")
                        || !gzipped && Files.exists(f.resolveSibling(name + ".gz"))) {
                    continue;
                }
                java.io.InputStream raw = Files.newInputStream(f);
                try (var in =
                        new java.io.BufferedReader(
                                new java.io.InputStreamReader(
                                        gzipped ? new java.util.zip.GZIPInputStream(raw) : raw,
                                        java.nio.charset.StandardCharsets.UTF_8))) {
                    n += in.lines().filter(l -> l.startsWith("sensor_reading,")).count();
                }
            }
        }
        return n;
    }
}
