package io.plantwatch.appliance;

import io.plantwatch.model.ConfigException;
import io.plantwatch.model.Durations;
import io.plantwatch.model.Topics;
import io.plantwatch.sim.SensorSim;
import io.plantwatch.sim.fleet.Label;
import io.plantwatch.sim.fleet.LabelFile;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code plantwatch demo}: the whole appliance in this process on an embedded default, fed by the
 * simulator with a scripted scenario of every anomaly kind. Alerts print as they open and resolve
 * (alerting's console receiver); at the end a summary scores the alerts against what was injected,
 * its last line machine-readable.
 */
@Command(
        name = "demo",
        mixinStandardHelpOptions = true,
        description = {
            "Run the whole appliance on an embedded default: MQTT broker, Kafka, the anomaly job on"
                    + " a local Flink, the gateway, alerting with a console receiver, and the"
                    + " simulator with a scripted scenario of every anomaly kind.",
            "Ends after --duration or on Ctrl-C with a summary; its last line is"
                    + " injected=N detected=N missed=N false_alerts=N p50_ms=N p99_ms=N."
        })
final class DemoCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(
            names = "--duration",
            defaultValue = "2m",
            description = "How long the simulator publishes (default: ${DEFAULT-VALUE}).")
    String duration;

    @Option(
            names = "--config",
            description =
                    "Appliance settings (config/appliance.yaml) instead of the demo's embedded"
                            + " defaults, e.g. to name an InfluxDB or more receivers. Its"
                            + " mqtt.broker and kafka.bootstrap must be embedded; its data-dir and"
                            + " mqtt.port are not used (the demo deletes and writes only"
                            + " --data-dir, on a free port); its job.rules and alerting.config"
                            + " are, so name config/rules-demo.yaml (missing data after 15 s)"
                            + " and a receiver that prints, such as config/alerting-demo.yaml's.")
    Path config;

    @Option(names = "--fleet", defaultValue = "config/fleet.yaml", description = "The plant.")
    Path fleet;

    @Option(
            names = "--scenario",
            defaultValue = "config/scenario-demo.yaml",
            description = "Anomalies at fixed times (default: ${DEFAULT-VALUE}).")
    Path scenario;

    @Option(
            names = "--rate",
            defaultValue = "90",
            description = "Readings per second across the fleet (default: ${DEFAULT-VALUE}).")
    double rate;

    @Option(names = "--seed", defaultValue = "42", description = "Simulator seed.")
    long seed;

    @Option(
            names = "--sparkplug",
            arity = "0..1",
            paramLabel = "GATEWAY_FILE",
            fallbackValue = "config/gateway-demo-sparkplug.yaml",
            description =
                    "The plant as Sparkplug B edge nodes (site = group, area = node, line ="
                            + " device, machine/sensor = metric), as Ignition or a groov EPIC"
                            + " publishes them, read by the gateway as a host application with"
                            + " the gateway settings of GATEWAY_FILE (default: ${FALLBACK-VALUE};"
                            + " it replaces --config's gateway.config). Malformed anomalies are"
                            + " then protobuf that does not parse.")
    Path sparkplugGateway;

    @Option(
            names = "--data-dir",
            defaultValue = "data/demo",
            description =
                    "Where the demo keeps Kafka, the alert journal and the series, deleted at"
                            + " each run; a folder holding other data is refused (default:"
                            + " ${DEFAULT-VALUE}).")
    Path dataDir;

    /** Most time the summary waits for the last alerts after the simulator stopped. */
    static final Duration SETTLE = Duration.ofSeconds(8);

    /** Longer than the shipped checkpoint interval (10 s) and one checkpoint's duration. */
    static final Duration CHECKPOINT_WAIT = Duration.ofSeconds(20);

    private final CountDownLatch wake = new CountDownLatch(1);
    private final CountDownLatch stopNow = new CountDownLatch(1);
    private final CountDownLatch finished = new CountDownLatch(1);
    private final AtomicBoolean interrupted = new AtomicBoolean();

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Duration d;
        ApplianceSettings settings;
        try {
            d = Durations.parse(duration);
            requireFile(fleet, "--fleet");
            requireFile(scenario, "--scenario");
            // With a config file too, the demo keeps to its own folder (it starts afresh by
            // deleting what is there, and a plant's file names the live appliance's data) and to
            // a free port of its own broker, beside a running appliance's 1883.
            Map<String, String> own = new java.util.HashMap<>();
            own.put("mqtt.port", "0");
            own.put("data-dir", dataDir.toString());
            if (config == null) {
                own.put("job.rules", "config/rules-demo.yaml");
                own.put("alerting.config", "config/alerting-demo.yaml");
            }
            if (sparkplug()) {
                requireFile(sparkplugGateway, "--sparkplug");
                requireSparkplugGateway(sparkplugGateway);
                own.put("gateway.config", sparkplugGateway.toString());
            }
            settings = ApplianceSettings.load(config, own);
            if (!settings.embeddedMqtt() || !settings.embeddedKafka()) {
                // Its injected faults would reach a plant's broker, its gateway would take the
                // live gateway's MQTT session, and its alerting would read the plant's alerts.
                err.println(
                        "plantwatch demo: "
                                + config
                                + " names a broker or Kafka of a plant (mqtt.broker "
                                + settings.mqttBroker()
                                + ", kafka.bootstrap "
                                + settings.kafkaBootstrap()
                                + "); the demo injects faults and runs only on its own embedded"
                                + " ones: set both to embedded in a copy of the file");
                return 2;
            }
        } catch (ConfigException | IllegalArgumentException e) {
            err.println("plantwatch demo: " + e.getMessage());
            return 2;
        }
        Path data = settings.dataDir();
        if (!ownFolder(data)) {
            err.println(
                    "plantwatch demo: "
                            + data
                            + " holds data the demo did not write, and the demo starts by"
                            + " deleting it; give the demo a folder of its own with --data-dir");
            return 2;
        }
        Files.createDirectories(data);
        Files.writeString(data.resolve(OWN_FOLDER), "plantwatch demo data; deleted at each run\n");
        System.setProperty("plantwatch.log.file", data.resolve("plantwatch.log").toString());
        for (String fresh :
                List.of("kafka", "mqtt", "alerting", "checkpoints", "series", "influx-spool")) {
            deleteTree(data.resolve(fresh));
        }
        Path labels = data.resolve("labels.jsonl");
        Files.deleteIfExists(labels);

        Thread hook = new Thread(this::onCtrlC, "plantwatch-demo-stop");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            return run(out, err, settings, d, labels);
        } finally {
            finished.countDown();
            if (!interrupted.get()) {
                Runtime.getRuntime().removeShutdownHook(hook);
            }
        }
    }

    private int run(
            PrintWriter out, PrintWriter err, ApplianceSettings settings, Duration d, Path labels)
            throws Exception {
        long t0 = System.nanoTime();
        out.println(
                "Plantwatch demo: starting the MQTT broker, Kafka, the anomaly job on a local"
                        + " Flink, the gateway and alerting...");
        out.flush();
        Appliance appliance;
        try {
            appliance = Appliance.start(settings, err);
            appliance.cancelJobOnStop();
        } catch (ConfigException e) {
            err.println("plantwatch demo: " + e.getMessage());
            return 2;
        } catch (Appliance.CannotStart e) {
            err.println("plantwatch demo: " + e.getMessage());
            return 1;
        }
        try (appliance;
                TopicWatcher watcher = new TopicWatcher(appliance.bootstrap())) {
            out.printf(
                    Locale.ROOT,
                    "Up in %.1f s. MQTT %s (topics %s), Kafka %s; series to %s; log in %s%n",
                    Appliance.since(t0).toMillis() / 1000.0,
                    appliance.mqttUri(),
                    sparkplug() ? "spBv1.0/#, Sparkplug B" : "plant/#",
                    appliance.bootstrap(),
                    appliance.seriesTarget(),
                    settings.dataDir().resolve("plantwatch.log"));
            StringWriter simOut = new StringWriter();
            SimulatorErr simErr = new SimulatorErr(err);
            AtomicInteger simExit = new AtomicInteger(-1);
            List<String> simArgs =
                    new java.util.ArrayList<>(
                            List.of(
                                    "run",
                                    "--broker",
                                    appliance.mqttUri(),
                                    "--fleet",
                                    fleet.toString(),
                                    "--scenario",
                                    scenario.toString(),
                                    "--rate",
                                    Double.toString(rate),
                                    "--duration",
                                    duration,
                                    "--seed",
                                    Long.toString(seed),
                                    "--labels",
                                    labels.toString(),
                                    "--quiet"));
            if (sparkplug()) {
                simArgs.add("--sparkplug");
            }
            Thread sim =
                    new Thread(
                            () ->
                                    simExit.set(
                                            SensorSim.mainWithExitCode(
                                                    new PrintWriter(simOut, true),
                                                    new PrintWriter(simErr, true),
                                                    simArgs.toArray(new String[0]))),
                            "demo-simulator");
            sim.setDaemon(true);
            sim.start();
            out.printf(
                    Locale.ROOT,
                    "Publishing %s readings/s for %s with the anomalies of %s. Alerts as they"
                            + " open and resolve:%n",
                    fmt(rate),
                    duration,
                    scenario);
            out.flush();
            Thread waker =
                    new Thread(
                            () -> {
                                try {
                                    sim.join();
                                } catch (InterruptedException e) {
                                    Thread.currentThread().interrupt();
                                }
                                wake.countDown();
                            },
                            "demo-wait");
            waker.setDaemon(true);
            waker.start();
            appliance.failure().thenRun(wake::countDown);
            wake.await(d.toMillis() + 120_000, TimeUnit.MILLISECONDS);
            String failed = appliance.failure().getNow(null);
            if (failed != null) {
                err.println(
                        "plantwatch demo: "
                                + failed
                                + "; see "
                                + settings.dataDir().resolve("plantwatch.log"));
                return 1;
            }
            if (!interrupted.get()) {
                settle(watcher);
                awaitCheckpoint(settings.dataDir().resolve("checkpoints"));
            }
            if (simExit.get() > 0) {
                err.println("plantwatch demo: the simulator failed: " + simErr.toString().strip());
                return 1;
            }
            List<Label> injected = Files.exists(labels) ? LabelFile.read(labels) : List.of();
            DetectionScore score =
                    new DetectionScore(
                            injected,
                            watcher.alerts.stream().map(TopicWatcher.Seen::alert).toList());
            summary(out, appliance, watcher, score, simOut.toString());
            return 0;
        }
    }

    /**
     * Waits for the job's next checkpoint, at most {@link #CHECKPOINT_WAIT}: the series writer
     * flushes its batch before each, so the summary's series then hold every reading detected on.
     */
    private void awaitCheckpoint(Path checkpoints) throws Exception {
        java.util.Optional<Path> before = LocalJob.latestCheckpoint(checkpoints);
        long deadline = System.nanoTime() + CHECKPOINT_WAIT.toNanos();
        while (System.nanoTime() < deadline
                && LocalJob.latestCheckpoint(checkpoints).equals(before)) {
            if (stopNow.await(200, TimeUnit.MILLISECONDS)) {
                return;
            }
        }
    }

    /** Waits until alerts stop arriving for a few seconds, at most {@link #SETTLE}. */
    private void settle(TopicWatcher watcher) throws InterruptedException {
        long deadline = System.nanoTime() + SETTLE.toNanos();
        int seen = watcher.alerts.size();
        long quietSince = System.nanoTime();
        while (System.nanoTime() < deadline) {
            if (stopNow.await(200, TimeUnit.MILLISECONDS)) {
                return;
            }
            if (watcher.alerts.size() != seen) {
                seen = watcher.alerts.size();
                quietSince = System.nanoTime();
            } else if (System.nanoTime() - quietSince > 3_000_000_000L) {
                return;
            }
        }
    }

    private void summary(
            PrintWriter out,
            Appliance appliance,
            TopicWatcher watcher,
            DetectionScore score,
            String simOut) {
        out.println();
        out.println("== Summary");
        Map<String, String> sim = new java.util.HashMap<>();
        simOut.lines()
                .filter(l -> l.startsWith("published="))
                .findFirst()
                .ifPresent(
                        l -> {
                            for (String kv : l.split(" ")) {
                                int eq = kv.indexOf('=');
                                if (eq > 0) {
                                    sim.put(kv.substring(0, eq), kv.substring(eq + 1));
                                }
                            }
                        });
        if (interrupted.get()) {
            out.println(
                    "Cut short: anomalies the simulator had not finished injecting are left out"
                            + " of the scores, and alerts about them may count as false.");
        }
        if (sim.containsKey("published")) {
            out.printf(
                    Locale.ROOT,
                    "Readings: %s published by the simulator (+%s duplicates, %s malformed); %,d"
                            + " through the gateway to Kafka %s%n",
                    grouped(sim.get("published")),
                    grouped(sim.getOrDefault("duplicates", "0")),
                    grouped(sim.getOrDefault("malformed", "0")),
                    appliance.gateway().metrics().produced(),
                    Topics.SENSOR_READINGS);
        } else {
            out.printf(
                    Locale.ROOT,
                    "Readings: %,d through the gateway to Kafka %s%n",
                    appliance.gateway().metrics().produced(),
                    Topics.SENSOR_READINGS);
        }
        if (appliance.mqttDropped() > 0) {
            out.printf(
                    Locale.ROOT,
                    "The MQTT broker dropped %,d messages, most likely for a full subscriber"
                            + " queue (mqtt.max-queue-size)%n",
                    appliance.mqttDropped());
        }
        out.printf(
                Locale.ROOT,
                "Alerts: %d opened (%s), %d resolved%n",
                score.opened,
                score.openedByKind.entrySet().stream()
                        .map(e -> e.getKey() + " " + e.getValue())
                        .collect(Collectors.joining(", ")),
                score.resolved);
        out.printf(
                Locale.ROOT,
                "Injected anomalies to detect: %d, found %d, missed %d%n",
                score.injected(),
                score.detected(),
                score.injected() - score.detected());
        score.findings.stream()
                .sorted(Comparator.comparingLong(f -> f.label().startMillis()))
                .forEach(
                        f ->
                                out.printf(
                                        Locale.ROOT,
                                        "  %-13s %-52s %s%n",
                                        f.label().kind().cliName(),
                                        f.label().sensor(),
                                        f.describe()));
        long late = watcher.lateBySensor.values().stream().mapToLong(v -> v.get()).sum();
        long dups = watcher.duplicatesBySensor.values().stream().mapToLong(v -> v.get()).sum();
        out.printf(
                Locale.ROOT,
                "Set aside by design, not alerted: %d late readings to %s, %d duplicates dropped,"
                        + " %d malformed messages to %s (%s injected)%n",
                late,
                Topics.SENSOR_READINGS_LATE,
                dups,
                watcher.dlq.get(),
                Topics.SENSOR_READINGS_DLQ,
                score.setAside.stream()
                        .map(l -> l.kind().cliName())
                        .distinct()
                        .collect(Collectors.joining(", ")));
        out.printf(Locale.ROOT, "False alerts: %d%n", score.falseAlerts.size());
        score.falseAlerts.forEach(
                a -> out.println("  " + a.kind() + " " + a.sensorId().id() + ": " + a.message()));
        if (score.detected() == 0) {
            out.println("Detection latency (anomaly start to alert): none detected");
        } else {
            out.printf(
                    Locale.ROOT,
                    "Detection latency (anomaly start to alert): p50 %,d ms, p99 %,d ms%n",
                    score.latencyPercentile(0.5),
                    score.latencyPercentile(0.99));
        }
        LineProtocolFiles files = appliance.files();
        out.printf(
                Locale.ROOT,
                "Data: Kafka %s (topics %s); series to %s%s%n",
                appliance.bootstrap(),
                String.join(", ", appliance.topics()),
                appliance.seriesTarget(),
                files == null
                        ? ""
                        : String.format(
                                Locale.ROOT,
                                " (%,d points; import with: influx write --bucket plantwatch"
                                        + " --precision ns --file <file>)",
                                files.points()));
        out.println(score.machineLine());
        out.flush();
    }

    /** Ctrl-C: cut the run short, print the summary, shut down, then let the JVM go. */
    private void onCtrlC() {
        interrupted.set(true);
        stopNow.countDown();
        wake.countDown();
        try {
            finished.await(90, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private boolean sparkplug() {
        return sparkplugGateway != null;
    }

    /** The simulator's edge nodes name their metrics so that this gives the fleet's ids. */
    static final String FLEET_SENSOR_IDS = "{group}/{node}/{device}/{metric}";

    /**
     * Refuses gateway settings that would not read the simulator's edge nodes under the fleet's
     * sensor ids, by which the demo scores its alerts: the run would end with every injection
     * missed and its alerts counted false.
     */
    private static void requireSparkplugGateway(Path file) {
        io.plantwatch.gateway.SparkplugSettings s =
                io.plantwatch.gateway.GatewayConfig.load(file, System.getenv(), Map.of())
                        .sparkplug();
        if (!s.enabled()) {
            throw new ConfigException(
                    "--sparkplug "
                            + file
                            + " reads no Sparkplug B group: set sparkplug.groups (\"+\" for every"
                            + " one)");
        }
        if (!s.sensorId().equals(FLEET_SENSOR_IDS)) {
            throw new ConfigException(
                    "--sparkplug "
                            + file
                            + " names sensors "
                            + s.sensorId()
                            + "; the demo finds its injections by the fleet's ids: set"
                            + " sparkplug.sensor-id to "
                            + FLEET_SENSOR_IDS);
        }
    }

    private static void requireFile(Path p, String option) {
        if (!Files.isRegularFile(p)) {
            throw new ConfigException(
                    option
                            + " "
                            + p
                            + " does not exist; run from the repository's top folder or give"
                            + " the file's path");
        }
    }

    /** Marks a folder as the demo's, so that a later demo may delete what is in it. */
    static final String OWN_FOLDER = ".plantwatch-demo";

    /**
     * Whether {@code data} is the demo's to delete: missing or empty, marked as the demo's, or the
     * default folder (which demos before the mark wrote to).
     */
    static boolean ownFolder(Path data) throws IOException {
        if (!Files.isDirectory(data)
                || Files.exists(data.resolve(OWN_FOLDER))
                || data.normalize().equals(Path.of("data", "demo"))) {
            return true;
        }
        try (Stream<Path> entries = Files.list(data)) {
            return entries.findAny().isEmpty();
        }
    }

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(p)) {
            for (Path x : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(x);
            }
        }
    }

    /** A count the simulator printed, with thousands separators as the summary's others. */
    private static String grouped(String count) {
        try {
            return String.format(Locale.ROOT, "%,d", Long.parseLong(count));
        } catch (NumberFormatException e) {
            return count;
        }
    }

    private static String fmt(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }

    /**
     * The simulator's error output: kept whole for the message if it fails, and its warnings shown
     * as they come, so that scenario entries a shorter {@code --duration} leaves out are not
     * silently missing from the summary.
     */
    private static final class SimulatorErr extends Writer {
        private static final String WARNING = "sensor-sim: warning: ";
        private final StringBuilder all = new StringBuilder();
        private final PrintWriter err;
        private int lineStart;

        SimulatorErr(PrintWriter err) {
            this.err = err;
        }

        @Override
        public synchronized void write(char[] chars, int off, int len) {
            all.append(chars, off, len);
            for (int nl = all.indexOf("\n", lineStart);
                    nl >= 0;
                    nl = all.indexOf("\n", lineStart)) {
                String line = all.substring(lineStart, nl);
                lineStart = nl + 1;
                if (line.startsWith(WARNING)) {
                    err.println("plantwatch demo: warning: " + line.substring(WARNING.length()));
                    err.flush();
                }
            }
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}

        @Override
        public synchronized String toString() {
            return all.toString();
        }
    }
}
