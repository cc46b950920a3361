package io.plantwatch.appliance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.plantwatch.model.ConfigException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** config/appliance.yaml: the shipped file loads; every mistake is one line with key and fix. */
class ApplianceSettingsTest {
    @TempDir Path dir;

    private static final String FILES =
            """
            job: {config: ../config/job.yaml, rules: ../config/rules.yaml}
            gateway: {config: ../config/gateway.yaml}
            alerting: {config: ../config/alerting-demo.yaml}
            """;

    private Path file(String yaml) throws Exception {
        Path f = dir.resolve("appliance.yaml");
        Files.writeString(f, yaml);
        return f;
    }

    @Test
    void settingsComeFromTheFileThenTheFlags() throws Exception {
        ApplianceSettings s =
                ApplianceSettings.load(
                        file("mqtt: {broker: tcp://10.0.0.5:1883}\n" + FILES),
                        Map.of("kafka.bootstrap", "kafka-1:9092"));
        assertThat(s.mqttBroker()).isEqualTo("tcp://10.0.0.5:1883");
        assertThat(s.embeddedMqtt()).isFalse();
        assertThat(s.kafkaBootstrap()).isEqualTo("kafka-1:9092");
        assertThat(s.influxUrl()).isNull();
    }

    /**
     * A change of the file while the appliance runs: a comment is none; the disk's margins and how
     * long history is kept are taken; what a part took at its start is refused with its old and new
     * value, the flags over the file kept.
     */
    @Test
    void aChangeIsCheckedAgainstWhatTheApplianceRunsWith() throws Exception {
        Map<String, String> flags = Map.of("mqtt.port", "1884");
        Path f = file(FILES);
        ApplianceSettings running = ApplianceSettings.load(f, flags);
        assertThat(running.byKey().keySet()).isEqualTo(ApplianceSettings.keys());

        file("# a comment\n" + FILES);
        assertThat(ApplianceSettings.load(f, flags).checkedAsChangeOf(running, f)).isNull();

        file(FILES + "kafka: {retention: 36h}\ndisk: {warn-free-mb: 4096, stop-free-mb: 512}\n");
        ApplianceSettings live = ApplianceSettings.load(f, flags).checkedAsChangeOf(running, f);
        assertThat(live.kafkaRetention()).hasHours(36);
        assertThat(live.byKey()).containsEntry("kafka.retention", "36h");
        assertThat(live.mqttPort()).isEqualTo(1884);

        // A flag over the key hides the file's change of it.
        file("mqtt: {port: 1999}\n" + FILES);
        assertThat(ApplianceSettings.load(f, flags).checkedAsChangeOf(running, f)).isNull();

        String slowerRestarts = FILES.replace("rules.yaml}", "rules.yaml, restart: {backoff: 2s}}");
        file(slowerRestarts);
        assertThat(
                        ApplianceSettings.load(f, flags)
                                .checkedAsChangeOf(running, f)
                                .jobRestarts()
                                .backoff())
                .hasSeconds(2);

        file(
                slowerRestarts
                        + "mqtt: {bind: 0.0.0.0}\ndata-dir: elsewhere\ndisk: {stop-free-mb: 1}\n");
        assertThatThrownBy(() -> ApplianceSettings.load(f, flags).checkedAsChangeOf(running, f))
                .isInstanceOf(ConfigException.class)
                .hasMessage(
                        f
                                + ": mqtt.bind (127.0.0.1 -> 0.0.0.0), data-dir (data/plantwatch ->"
                                + " elsewhere) changed; the appliance takes them only at a start");
    }

    @Test
    void mistakesNameTheFileTheKeyAndTheFix() throws Exception {
        assertThatThrownBy(
                        () -> ApplianceSettings.load(file("mqtt: {brokr: x}\n" + FILES), Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("appliance.yaml: mqtt.brokr is not a setting; known:");
        assertThatThrownBy(
                        () ->
                                ApplianceSettings.load(
                                        file("mqtt: {port: 99999}\n" + FILES), Map.of()))
                .hasMessageContaining("mqtt.port '99999' is not a port");
        assertThatThrownBy(
                        () ->
                                ApplianceSettings.load(
                                        file("mqtt: {broker: localhost:1883}\n" + FILES), Map.of()))
                .hasMessageContaining("neither 'embedded' nor a tcp:// or ssl:// URI");
        assertThatThrownBy(
                        () ->
                                ApplianceSettings.load(
                                        file(
                                                FILES.replace(
                                                        "../config/rules.yaml",
                                                        "nowhere/rules.yaml")),
                                        Map.of()))
                .hasMessageContaining("job.rules names")
                .hasMessageContaining("does not exist; run from the repository's top folder");
        assertThatThrownBy(() -> ApplianceSettings.load(file(FILES), Map.of("colour", "red")))
                .hasMessageContaining("--set colour: colour is not a setting");
        // A flag's mistake is the flag's, not the file's.
        assertThatThrownBy(
                        () -> ApplianceSettings.load(file(FILES), Map.of("mqtt.broker", "h:1883")))
                .hasMessageStartingWith("--set: mqtt.broker 'h:1883' is neither");
        assertThatThrownBy(
                        () ->
                                ApplianceSettings.load(
                                        file("mqtt: tcp://10.0.0.5:1883\n" + FILES), Map.of()))
                .hasMessageContaining("mqtt is a section of settings, e.g. mqtt: {broker: ...}");
        // YAML would keep the second section and forget the first without a word.
        assertThatThrownBy(
                        () ->
                                ApplianceSettings.load(
                                        file("mqtt: {port: 1884}\n" + FILES + "mqtt: {port: 0}\n"),
                                        Map.of()))
                .hasMessageContaining("Duplicate field 'mqtt'");
        assertThatThrownBy(() -> ApplianceSettings.load(file("- mqtt\n- kafka\n"), Map.of()))
                .hasMessageContaining("the top level must be a mapping of settings");
        assertThatThrownBy(
                        () -> ApplianceSettings.load(Path.of("nowhere/appliance.yaml"), Map.of()))
                .hasMessage("nowhere/appliance.yaml does not exist");
    }

    @Test
    void anEmbeddedBrokerPortThatIsTakenIsOneLineWithExit2() throws Exception {
        try (java.net.ServerSocket taken =
                new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            CliRun run =
                    CliRun.plantwatch(
                            "run",
                            "--config",
                            file("mqtt: {port: %d}\ndata-dir: %s\n"
                                                    .formatted(
                                                            taken.getLocalPort(),
                                                            dir.resolve("data"))
                                            + FILES)
                                    .toString());
            assertThat(run.code()).isEqualTo(2);
            assertThat(run.err().strip())
                    .startsWith("plantwatch run: mqtt.port " + taken.getLocalPort() + " is taken")
                    .contains("set mqtt.port")
                    .doesNotContain("\n");
        }
        assertThatThrownBy(
                        () -> ApplianceSettings.load(file(FILES), Map.of("mqtt.bind", "10.0.0.5")))
                .hasMessageContaining("mqtt.bind '10.0.0.5' is neither 127.0.0.1");
    }

    /**
     * A module's file is read before any broker starts: its mistake is reported at once, and
     * nothing was started for it (no Kafka data written).
     */
    @Test
    void aModulesMistakeStopsTheRunBeforeAnythingStarts() throws Exception {
        Path alerting = dir.resolve("alerting.yaml");
        Files.writeString(
                alerting,
                Files.readString(Path.of("../config/alerting-demo.yaml"))
                        .replace("limit: 100", "limt: 100"));
        CliRun run =
                CliRun.plantwatch(
                        "run",
                        "--config",
                        file("data-dir: %s\n".formatted(dir.resolve("data"))
                                        + FILES.replace(
                                                "../config/alerting-demo.yaml",
                                                alerting.toString()))
                                .toString());
        assertThat(run.code()).isEqualTo(2);
        assertThat(run.err().strip())
                .startsWith("plantwatch run: ")
                .contains("flood.limt is not a flood setting")
                .doesNotContain("\n");
        assertThat(dir.resolve("data").resolve("kafka")).doesNotExist();
    }

    /**
     * {@code plantwatch check} reads every file as {@code run} does, each on its own line, and
     * starts nothing: it can run beside the appliance whose files it checks, before a change is
     * saved in their place. A broken rules file and a broken alerting file are both named.
     */
    @Test
    void checkReportsEachFileAndStartsNothing() throws Exception {
        String settings = "data-dir: %s\n".formatted(dir.resolve("data")) + FILES;
        CliRun valid = CliRun.plantwatch("check", "--config", file(settings).toString());
        assertThat(valid.code()).as(valid.err()).isZero();
        assertThat(valid.out().lines())
                .containsExactly(
                        "valid     settings  " + dir.resolve("appliance.yaml"),
                        "valid     rules     ../config/rules.yaml",
                        "valid     job       ../config/job.yaml",
                        "valid     gateway   ../config/gateway.yaml",
                        "valid     alerting  ../config/alerting-demo.yaml");

        Path rules =
                Files.writeString(dir.resolve("rules.yaml"), "defaults: {spike: {delta: lots}}\n");
        Path alerting = dir.resolve("alerting.yaml");
        Files.writeString(
                alerting,
                Files.readString(Path.of("../config/alerting-demo.yaml"))
                        .replace("limit: 100", "limt: 100"));
        CliRun broken =
                CliRun.plantwatch(
                        "check",
                        "--config",
                        file(settings.replace("../config/rules.yaml", rules.toString())
                                        .replace(
                                                "../config/alerting-demo.yaml",
                                                alerting.toString()))
                                .toString());
        assertThat(broken.code()).isEqualTo(2);
        List<String> lines = broken.out().lines().toList();
        assertThat(lines).hasSize(5);
        assertThat(lines.get(1)).startsWith("INVALID   rules     ").contains("'delta' (lots)");
        assertThat(lines.get(2)).startsWith("valid     job");
        assertThat(lines.get(4))
                .startsWith("INVALID   alerting  ")
                .contains("flood.limt is not a flood setting");
        assertThat(dir.resolve("data")).doesNotExist();

        CliRun badSettings =
                CliRun.plantwatch(
                        "check",
                        "--config",
                        file("influx: {url: influx:8086}\n" + FILES).toString());
        assertThat(badSettings.code()).isEqualTo(2);
        assertThat(badSettings.out().lines())
                .containsExactly("INVALID   settings  " + dir.resolve("appliance.yaml"));
        assertThat(badSettings.err()).contains("influx.url must start with http://");
    }

    @Test
    void runWithABadFileExitsWithCode2AndOneLine() throws Exception {
        CliRun run =
                CliRun.plantwatch(
                        "run", "--config", file("influx: {url: influx:8086}\n" + FILES).toString());
        assertThat(run.code()).isEqualTo(2);
        assertThat(run.err().strip())
                .startsWith("plantwatch run: ")
                .contains("influx.url must start with http://")
                .doesNotContain("\n");
    }

    /**
     * InfluxDB's token may come from a file (a mounted secret) as well as from the environment: the
     * file reaches the job's settings, which read and check it before anything starts.
     */
    @Test
    void influxsTokenMayComeFromAFileWhichTheJobChecks() throws Exception {
        Path token = Files.writeString(dir.resolve("influx-token"), "\n");
        CliRun run =
                CliRun.plantwatch(
                        "run",
                        "--config",
                        file("influx: {url: http://127.0.0.1:18086, token-file: %s}\ndata-dir: %s\n"
                                                .formatted(token, dir.resolve("data"))
                                        + FILES)
                                .toString());
        assertThat(run.code()).isEqualTo(2);
        assertThat(run.err().strip())
                .contains("influx.token-file")
                .contains("names an empty file")
                .doesNotContain("\n");
        assertThat(dir.resolve("data").resolve("kafka")).doesNotExist();
    }

    /**
     * An exactly-once transaction timeout above the brokers' limit would fail every write inside
     * the running job; it is asked of the brokers and refused before the job starts.
     */
    @Test
    void aTransactionTimeoutAboveTheBrokersLimitIsOneLineBeforeTheJobStarts() throws Exception {
        Path job =
                Files.writeString(
                        dir.resolve("job.yaml"),
                        "kafka: {delivery: exactly-once, transaction-timeout: 1h}\n");
        CliRun run =
                CliRun.plantwatch(
                        "run",
                        "--config",
                        file("mqtt: {port: 0}\ndata-dir: %s\n".formatted(dir.resolve("data"))
                                        + FILES.replace("../config/job.yaml", job.toString()))
                                .toString());
        assertThat(run.code()).as(run.err()).isEqualTo(2);
        assertThat(run.err().strip())
                .startsWith(
                        "plantwatch run: kafka.transaction-timeout PT1H is above the brokers'"
                                + " transaction.max.timeout.ms (PT15M)")
                .doesNotContain("\n");
    }

    /**
     * A switch of state.backend with checkpoints to restore is refused at the next start; check
     * said valid. Now it says what the start would.
     */
    @Test
    void checkSaysANewStateBackendCannotRestoreTheCheckpoints() throws Exception {
        Path data = dir.resolve("data");
        Path checkpoints = data.resolve("checkpoints");
        Files.createDirectories(checkpoints.resolve("run-1").resolve("chk-3"));
        Files.writeString(checkpoints.resolve("run-1").resolve("chk-3").resolve("_metadata"), "x");
        Files.writeString(checkpoints.resolve("state-backend"), "rocksdb\n");
        String settings = "data-dir: %s\n".formatted(data) + FILES;

        CliRun check = CliRun.plantwatch("check", "--config", file(settings).toString());
        assertThat(check.code()).isEqualTo(2);
        assertThat(check.out().lines().toList().get(2))
                .startsWith("INVALID   job       ")
                .contains("hold rocksdb state, which state.backend hashmap cannot restore");

        // A stop's savepoint, newer than the checkpoint, is in Flink's canonical format, which
        // every backend restores.
        Path savepoint = checkpoints.resolve("savepoints").resolve("savepoint-1a2b3c-0123456789ab");
        Files.createDirectories(savepoint);
        Files.writeString(savepoint.resolve("_metadata"), "x");
        Files.setLastModifiedTime(
                savepoint.resolve("_metadata"),
                java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 60_000));
        CliRun fromSavepoint = CliRun.plantwatch("check", "--config", file(settings).toString());
        assertThat(fromSavepoint.code()).as(fromSavepoint.out()).isZero();
        DemoCommand.deleteTree(checkpoints.resolve("savepoints"));

        Files.writeString(checkpoints.resolve("state-backend"), "hashmap\n");
        CliRun same = CliRun.plantwatch("check", "--config", file(settings).toString());
        assertThat(same.code()).as(same.out()).isZero();
    }

    /** Checkpoints of one state backend are not restored by the other: refused, with what to do. */
    @Test
    void checkpointsOfAnotherStateBackendAreRefusedWithWhatToDo() throws Exception {
        Path checkpoints = dir.resolve("checkpoints");
        LocalJob.requireSameStateBackend(checkpoints, "HASHMAP", false);
        assertThat(checkpoints.resolve("state-backend")).hasContent("hashmap");
        // The same backend restores; with nothing to restore, any backend may start.
        LocalJob.requireSameStateBackend(checkpoints, "HASHMAP", true);
        assertThatThrownBy(() -> LocalJob.requireSameStateBackend(checkpoints, "ROCKSDB", true))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("hold hashmap state, which state.backend rocksdb cannot")
                .hasMessageContaining("set state.backend back to hashmap (a stop of plantwatch run")
                .hasMessageContaining("or move " + checkpoints);
        LocalJob.requireSameStateBackend(checkpoints, "ROCKSDB", false);
        assertThat(checkpoints.resolve("state-backend")).hasContent("rocksdb");
    }

    @Test
    void kafkaSyncsEveryWriteUnlessToldNotToAndTakesOnlyTrueOrFalse() throws Exception {
        assertThat(ApplianceSettings.load(file(FILES), Map.of()).kafkaSyncWrites()).isTrue();
        assertThat(
                        ApplianceSettings.load(file(FILES), Map.of("kafka.sync-writes", "false"))
                                .kafkaSyncWrites())
                .isFalse();
        assertThatThrownBy(
                        () ->
                                ApplianceSettings.load(
                                        file(FILES), Map.of("kafka.sync-writes", "yes")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("--set")
                .hasMessageContaining("kafka.sync-writes 'yes' must be true or false");
    }

    @Test
    void retentionSettingsAreCheckedAndHaveDefaults() throws Exception {
        ApplianceSettings s = ApplianceSettings.load(file(FILES), Map.of());
        assertThat(s.kafkaRetention()).isEqualTo(java.time.Duration.ofDays(7));
        assertThat(s.seriesFilesKeepDays()).isEqualTo(14);
        assertThatThrownBy(
                        () -> ApplianceSettings.load(file(FILES), Map.of("kafka.retention", "5m")))
                .hasMessageContaining("kafka.retention '5m' must be at least 1h");
        assertThatThrownBy(
                        () ->
                                ApplianceSettings.load(
                                        file(FILES), Map.of("influx.files-keep-days", "0")))
                .hasMessageContaining("influx.files-keep-days '0' must be a whole number");
    }

    /**
     * The embedded broker's queue per client: a mistake is refused at start, not found out as
     * readings HiveMQ dropped while the gateway was away.
     */
    @Test
    void theBrokersQueueSizeIsCheckedAndHasTheBrokersDefault() throws Exception {
        assertThat(ApplianceSettings.load(file(FILES), Map.of()).mqttMaxQueueSize())
                .isEqualTo(io.plantwatch.infra.EmbeddedMqttBroker.DEFAULT_MAX_QUEUE_SIZE)
                .isEqualTo(100_000);
        assertThat(
                        ApplianceSettings.load(
                                        file("mqtt: {max-queue-size: 2000000}\n" + FILES), Map.of())
                                .mqttMaxQueueSize())
                .isEqualTo(2_000_000);
        for (String wrong : new String[] {"0", "-5", "ten", "1.5", "1e6", ""}) {
            assertThatThrownBy(
                            () ->
                                    ApplianceSettings.load(
                                            file(
                                                    "mqtt: {max-queue-size: '"
                                                            + wrong
                                                            + "'}\n"
                                                            + FILES),
                                            Map.of()))
                    .isInstanceOf(ConfigException.class)
                    .hasMessage(
                            dir.resolve("appliance.yaml")
                                    + ": mqtt.max-queue-size '"
                                    + wrong
                                    + "' must be a whole number of messages, at least 1 (100000 by"
                                    + " default)");
        }
        assertThatThrownBy(
                        () ->
                                ApplianceSettings.load(
                                        file(FILES), Map.of("mqtt.max-queue-size", "0")))
                .hasMessage(
                        "--set: mqtt.max-queue-size '0' must be a whole number of messages, at"
                                + " least 1 (100000 by default)");
    }

    @Test
    void theJobsRestartPolicyIsCheckedAndHasDefaults() throws Exception {
        ApplianceSettings s = ApplianceSettings.load(file(FILES), Map.of());
        assertThat(s.jobRestarts())
                .isEqualTo(
                        new ApplianceSettings.RestartPolicy(
                                10,
                                java.time.Duration.ofSeconds(1),
                                java.time.Duration.ofSeconds(30),
                                java.time.Duration.ofMinutes(5)));
        String nested =
                FILES.replace(
                        "rules: ../config/rules.yaml}",
                        "rules: ../config/rules.yaml, restart: {max-restarts: 3, backoff: 2s}}");
        ApplianceSettings.RestartPolicy fromFile =
                ApplianceSettings.load(file(nested), Map.of()).jobRestarts();
        assertThat(fromFile.maxRestarts()).isEqualTo(3);
        assertThat(fromFile.backoff()).isEqualTo(java.time.Duration.ofSeconds(2));
        assertThat(
                        ApplianceSettings.load(file(FILES), Map.of("job.restart.max-restarts", "0"))
                                .jobRestarts()
                                .maxRestarts())
                .isZero();
        assertThatThrownBy(
                        () ->
                                ApplianceSettings.load(
                                        file(FILES), Map.of("job.restart.max-restarts", "-1")))
                .hasMessageContaining(
                        "job.restart.max-restarts '-1' must be a whole number from 0 (stop at the"
                                + " first failure) to 10000");
        assertThatThrownBy(
                        () ->
                                ApplianceSettings.load(
                                        file(FILES), Map.of("job.restart.backoff", "1ms")))
                .hasMessageContaining("job.restart.backoff '1ms' must be from 10ms to 1d");
        assertThatThrownBy(
                        () ->
                                ApplianceSettings.load(
                                        file(FILES),
                                        Map.of(
                                                "job.restart.backoff",
                                                "1m",
                                                "job.restart.max-backoff",
                                                "30s")))
                .hasMessageContaining(
                        "job.restart.max-backoff '30s' is below job.restart.backoff '1m'");
        assertThatThrownBy(
                        () ->
                                ApplianceSettings.load(
                                        file(FILES), Map.of("job.restart.reset-after", "soon")))
                .hasMessageContaining("job.restart.reset-after");
    }
}
