package io.plantwatch.sim;

import io.plantwatch.sim.fleet.Emission;
import io.plantwatch.sim.mqtt.MqttPublisher;
import io.plantwatch.sim.mqtt.MqttSettings;
import io.plantwatch.sim.mqtt.PublishLoop;
import io.plantwatch.sim.mqtt.PublishStats;
import java.io.PrintWriter;
import java.util.Iterator;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;

/**
 * Runs one stream of emissions against a broker: connect, publish with progress, stop cleanly on
 * Ctrl-C (in-flight publishes are still acknowledged), disconnect. Shared by every command.
 */
final class PublishRun {

    record Result(PublishStats stats, long readings, long duplicates, long malformed) {}

    private PublishRun() {}

    static Result execute(
            MqttSettings settings,
            Iterator<Emission> emissions,
            boolean paced,
            int maxInFlight,
            long expectedTotal,
            boolean quiet,
            PrintWriter err,
            BooleanSupplier extraStop)
            throws InterruptedException {
        return execute(
                settings,
                emissions,
                paced,
                maxInFlight,
                expectedTotal,
                quiet,
                err,
                extraStop,
                publisher -> {});
    }

    /**
     * As above; {@code connected} is given the publisher once it is connected, before the first
     * publish (a Sparkplug B fleet subscribes to its commands there).
     */
    static Result execute(
            MqttSettings settings,
            Iterator<Emission> emissions,
            boolean paced,
            int maxInFlight,
            long expectedTotal,
            boolean quiet,
            PrintWriter err,
            BooleanSupplier extraStop,
            java.util.function.Consumer<MqttPublisher> connected)
            throws InterruptedException {
        AtomicBoolean interrupted = new AtomicBoolean();
        CountDownLatch finished = new CountDownLatch(1);
        Thread hook =
                new Thread(
                        () -> {
                            interrupted.set(true);
                            try {
                                finished.await(15, TimeUnit.SECONDS);
                            } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                            }
                        },
                        "sensor-sim-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try (MqttPublisher publisher =
                MqttPublisher.connect(
                        settings,
                        line -> {
                            err.println("sensor-sim: " + line);
                            err.flush();
                        })) {
            err.println("sensor-sim: connected to " + settings.describe());
            err.flush();
            connected.accept(publisher);
            PublishLoop loop = new PublishLoop(publisher, maxInFlight, paced);
            PublishStats stats;
            try (Progress ignored =
                    Progress.start(err, quiet, () -> loop.stats().acknowledged(), expectedTotal)) {
                stats = loop.run(emissions, () -> interrupted.get() || extraStop.getAsBoolean());
            }
            if (publisher.resent() > 0) {
                err.printf(
                        java.util.Locale.ROOT,
                        "sensor-sim: %,d publishes sent again after the connection was lost; the"
                                + " broker may have taken some of them twice (QoS 1 allows it)%n",
                        publisher.resent());
                err.flush();
            }
            return new Result(
                    stats,
                    loop.acknowledged(Emission.Type.READING),
                    loop.acknowledged(Emission.Type.DUPLICATE),
                    loop.acknowledged(Emission.Type.MALFORMED));
        } finally {
            finished.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // The JVM is already shutting down: the hook is running and waits for us.
            }
        }
    }
}
