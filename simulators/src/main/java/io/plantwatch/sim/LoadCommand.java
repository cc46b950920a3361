package io.plantwatch.sim;

import io.plantwatch.model.Durations;
import io.plantwatch.sim.fleet.Fleet;
import io.plantwatch.sim.fleet.FleetSimulation;
import io.plantwatch.sim.fleet.SimulationSettings;
import io.plantwatch.sim.mqtt.MqttSettings;
import io.plantwatch.sim.mqtt.SimulatorException;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code sensor-sim load}: as many readings per second as the broker accepts. */
@Command(
        name = "load",
        mixinStandardHelpOptions = true,
        description =
                "Publish valid readings as fast as the broker accepts them and print the throughput.")
final class LoadCommand implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Mixin MqttOptions mqtt;

    @Option(
            names = "--sensors",
            defaultValue = "100",
            description = "Number of sensors the readings rotate over (default: ${DEFAULT-VALUE}).")
    int sensors;

    @Option(
            names = "--duration",
            defaultValue = "10s",
            description = "How long to publish (default: ${DEFAULT-VALUE}).")
    String duration;

    @Option(names = "--count", description = "Stop after this many readings instead.")
    Long count;

    @Mixin PublishOptions publishing;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Duration d = Durations.parse(duration);
        // A nominal 1,000,000 readings/s of event time, unpaced, so the broker sets the real
        // rate: event time runs slower than the clock, so no reading is stamped in the future.
        // Below 1,000 sensors a sensor's readings share milliseconds; their seq tells them apart.
        double nominalRate = 1_000_000;
        Duration covered =
                count != null ? Duration.ofNanos((long) (count / nominalRate * 1e9) + 1) : null;
        SimulationSettings settings =
                new SimulationSettings(
                        nominalRate,
                        System.currentTimeMillis() - 60_000,
                        covered,
                        Double.POSITIVE_INFINITY,
                        1,
                        List.of(),
                        Set.of(),
                        0,
                        false,
                        mqtt.topics());
        FleetSimulation sim = new FleetSimulation(Fleet.generated(sensors), settings, l -> {});
        MqttSettings ms = mqtt.settings();
        long deadline = System.nanoTime() + d.toNanos();
        PublishRun.Result r =
                PublishRun.execute(
                        ms,
                        count != null ? limit(sim, count) : sim,
                        false,
                        publishing.maxInFlight,
                        count != null ? count : 0,
                        publishing.quiet,
                        err,
                        () -> count == null && System.nanoTime() > deadline);
        out.printf(
                Locale.ROOT,
                "sensor-sim load: %,d readings to %s in %.2f s: %,.0f msg/s, %,d failed%n",
                r.stats().acknowledged(),
                ms.describe(),
                r.stats().elapsedNanos() / 1e9,
                r.stats().ratePerSecond(),
                r.stats().failed());
        out.printf(
                Locale.ROOT,
                "published=%d failed=%d seconds=%.3f rate=%.1f qos=%d mqtt=%d%n",
                r.stats().acknowledged(),
                r.stats().failed(),
                r.stats().elapsedNanos() / 1e9,
                r.stats().ratePerSecond(),
                ms.qos(),
                ms.mqttVersion());
        out.flush();
        if (r.stats().failed() > 0) {
            throw new SimulatorException(
                    SimulatorException.EXIT_PUBLISH_FAILED,
                    r.stats().failed() + " publishes failed, first: " + r.stats().firstError(),
                    null);
        }
        return 0;
    }

    private static <T> java.util.Iterator<T> limit(java.util.Iterator<T> it, long n) {
        return new java.util.Iterator<>() {
            long left = n;

            @Override
            public boolean hasNext() {
                return left > 0 && it.hasNext();
            }

            @Override
            public T next() {
                left--;
                return it.next();
            }
        };
    }
}
