package io.plantwatch.sim;

import io.plantwatch.model.Durations;
import io.plantwatch.sim.fleet.AnomalyKind;
import io.plantwatch.sim.fleet.AnomalySpec;
import io.plantwatch.sim.fleet.Fleet;
import io.plantwatch.sim.fleet.FleetSimulation;
import io.plantwatch.sim.fleet.LabelFile;
import io.plantwatch.sim.fleet.Scenario;
import io.plantwatch.sim.fleet.SimulationSettings;
import io.plantwatch.sim.fleet.SparkplugEdgeNodes;
import io.plantwatch.sim.mqtt.MqttSettings;
import io.plantwatch.sim.mqtt.SimulatorException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Collectors;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code sensor-sim run}: a fleet of simulated sensors, with anomalies and their labels. */
@Command(
        name = "run",
        mixinStandardHelpOptions = true,
        description = "Publish readings of a simulated sensor fleet, injecting anomalies.")
final class RunCommand implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Mixin MqttOptions mqtt;

    @ArgGroup(exclusive = true)
    FleetChoice fleet = new FleetChoice();

    static final class FleetChoice {
        @Option(names = "--sensors", description = "Number of generated sensors (default: 10).")
        Integer sensors;

        @Option(names = "--fleet", description = "Fleet file (see config/fleet.yaml).")
        Path file;
    }

    @Option(
            names = "--rate",
            defaultValue = "100",
            description = "Readings per second across the fleet (default: ${DEFAULT-VALUE}).")
    double rate;

    @Option(
            names = "--duration",
            description = "How long to run, e.g. 30s, 10m (default: until Ctrl-C).")
    String duration;

    @Option(
            names = "--seed",
            description =
                    "Random seed: the same seed gives the same readings (default: random, printed).")
    Long seed;

    @Option(
            names = "--start-time",
            description = "Event time of the first reading, ISO-8601 (default: now).")
    Instant startTime;

    @Option(
            names = "--speed",
            defaultValue = "1",
            description =
                    "Event time per wall time: 1 is real time, 60 is a minute per second, max (default: ${DEFAULT-VALUE}).")
    String speed;

    @Option(
            names = "--scenario",
            description = "Anomalies at fixed times (see config/scenario-demo.yaml).")
    Path scenario;

    @Option(
            names = "--anomalies",
            split = ",",
            description =
                    "Anomalies to inject at random: spike, out-of-range, flatline, dropout, drift, late, duplicate, malformed.")
    List<String> anomalies;

    @Option(
            names = "--anomaly-rate",
            defaultValue = "1",
            description =
                    "Random anomalies per sensor and hour of event time (default: ${DEFAULT-VALUE}).")
    double anomalyRate;

    @Option(
            names = "--labels",
            description = "Write ground truth of every injected anomaly here (JSON lines).")
    Path labels;

    @Option(
            names = "--iso-timestamps",
            description = "Send ts as ISO-8601 instead of epoch milliseconds.")
    boolean isoTimestamps;

    @Option(
            names = "--sparkplug",
            description =
                    "Publish as Sparkplug B edge nodes: site = group, area = edge node, line = device,"
                            + " machine/sensor = metric (births, aliases, seq; answers rebirth requests)."
                            + " Read by the gateway with sparkplug.groups and sparkplug.sensor-id"
                            + " \"{group}/{node}/{device}/{metric}\".")
    boolean sparkplug;

    @Mixin PublishOptions publishing;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Fleet f =
                fleet.file != null
                        ? Fleet.load(fleet.file)
                        : Fleet.generated(fleet.sensors != null ? fleet.sensors : 10);
        Set<AnomalyKind> random = EnumSet.noneOf(AnomalyKind.class);
        if (anomalies != null) {
            for (String a : anomalies) {
                AnomalyKind k = AnomalyKind.parse(a);
                if (k == AnomalyKind.LABELLED) {
                    throw new IllegalArgumentException("'labelled' cannot be injected");
                }
                random.add(k);
            }
        }
        List<AnomalySpec> scheduled = scenario != null ? Scenario.load(scenario) : List.of();
        long effectiveSeed = seed != null ? seed : ThreadLocalRandom.current().nextLong();
        Duration d = duration != null ? Durations.parse(duration) : null;
        checkScenario(f, scheduled, d, err);
        double sp = Speed.parse(speed);
        SimulationSettings settings =
                new SimulationSettings(
                        rate,
                        (startTime != null ? startTime : Instant.now()).toEpochMilli(),
                        d,
                        sp,
                        effectiveSeed,
                        scheduled,
                        random,
                        anomalyRate,
                        isoTimestamps,
                        mqtt.topics());
        MqttSettings ms = mqtt.settings();
        try (LabelFile labelFile = labels != null ? LabelFile.create(labels) : null) {
            FleetSimulation sim =
                    new FleetSimulation(
                            f,
                            settings,
                            l -> {
                                if (labelFile != null) {
                                    labelFile.write(l);
                                }
                            },
                            sparkplug);
            err.printf(
                    Locale.ROOT,
                    "sensor-sim: %d sensors, %s readings/s, %s, seed %d%n",
                    f.size(),
                    fmt(rate),
                    d == null ? "until Ctrl-C" : "for " + duration,
                    effectiveSeed);
            SparkplugEdgeNodes nodes = sparkplug ? new SparkplugEdgeNodes(f, sim) : null;
            PublishRun.Result r =
                    PublishRun.execute(
                            ms,
                            nodes != null ? nodes : sim,
                            !Double.isInfinite(sp),
                            publishing.maxInFlight,
                            d == null ? 0 : settings.totalReadings(),
                            publishing.quiet,
                            err,
                            () -> false,
                            publisher -> {
                                if (nodes != null) {
                                    publisher.subscribe(
                                            SparkplugEdgeNodes.commandFilter(),
                                            nodes::rebirthRequested);
                                    publisher.whenReconnected(nodes::reconnected);
                                }
                            });
            sim.finish();
            Map<AnomalyKind, Integer> injected = sim.injected();
            out.printf(
                    Locale.ROOT,
                    "sensor-sim: published %,d readings (+%,d duplicates, %,d malformed) to %s in %.1f s: %s readings/s (asked %s); %,d failed%n",
                    r.readings(),
                    r.duplicates(),
                    r.malformed(),
                    ms.describe(),
                    r.stats().elapsedNanos() / 1e9,
                    fmt(r.stats().ratePerSecond()),
                    Double.isInfinite(sp) ? "max" : fmt(rate * sp),
                    r.stats().failed());
            out.println(
                    "sensor-sim: anomalies injected: "
                            + (injected.isEmpty()
                                    ? "none"
                                    : injected.entrySet().stream()
                                            .map(e -> e.getKey().cliName() + "=" + e.getValue())
                                            .collect(Collectors.joining(" ")))
                            + (labels != null ? " (labels in " + labels + ")" : ""));
            out.printf(
                    Locale.ROOT,
                    "published=%d duplicates=%d malformed=%d failed=%d rate=%.1f anomalies=%d seed=%d%n",
                    r.readings(),
                    r.duplicates(),
                    r.malformed(),
                    r.stats().failed(),
                    r.stats().ratePerSecond(),
                    injected.values().stream().mapToInt(Integer::intValue).sum(),
                    effectiveSeed);
            out.flush();
            if (r.stats().failed() > 0) {
                throw new SimulatorException(
                        SimulatorException.EXIT_PUBLISH_FAILED,
                        r.stats().failed() + " publishes failed, first: " + r.stats().firstError(),
                        null);
            }
            return 0;
        }
    }

    /**
     * A glob that matches no sensor is a typo or the wrong fleet: refused, since the run would
     * inject nothing and say so only in its summary. An entry after the end is only warned about: a
     * scenario is reused with shorter runs (the demo's with {@code --duration 30s}), and its label
     * file still holds exactly what was injected.
     */
    private void checkScenario(Fleet f, List<AnomalySpec> scheduled, Duration d, PrintWriter err) {
        for (int i = 0; i < scheduled.size(); i++) {
            AnomalySpec a = scheduled.get(i);
            if (f.sensors().stream().noneMatch(s -> a.matches(s.id().id()))) {
                throw new IllegalArgumentException(
                        scenario
                                + ": "
                                + Scenario.describe(i, a)
                                + ": sensor \""
                                + a.sensorGlob()
                                + "\" matches no sensor of "
                                + (fleet.file != null ? fleet.file : "the generated fleet")
                                + ", e.g. "
                                + f.sensors().get(0).id().id());
            }
            if (d != null && a.at().compareTo(d) >= 0) {
                err.println(
                        "sensor-sim: warning: "
                                + scenario
                                + ": "
                                + Scenario.describe(i, a)
                                + " starts after the run ends (--duration "
                                + duration
                                + "); it is not injected");
            }
        }
        err.flush();
    }

    static String fmt(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15
                ? String.format(Locale.ROOT, "%,d", (long) v)
                : String.format(Locale.ROOT, "%,.1f", v);
    }
}
