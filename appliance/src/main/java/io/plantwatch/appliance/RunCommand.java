package io.plantwatch.appliance;

import io.plantwatch.model.ConfigException;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code plantwatch run --config config/appliance.yaml}: the appliance against a plant's own MQTT
 * broker, with embedded or external Kafka, until Ctrl-C.
 */
@Command(
        name = "run",
        mixinStandardHelpOptions = true,
        description =
                "Run the appliance (gateway, anomaly job on a local Flink, alerting) against a"
                        + " plant's MQTT broker, with embedded or external Kafka, until Ctrl-C.")
final class RunCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Mixin ApplianceOptions options;

    private final CountDownLatch stop = new CountDownLatch(1);
    private final CountDownLatch stopped = new CountDownLatch(1);

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        ApplianceSettings settings = options.loadOrSay(err, "run");
        if (settings == null) {
            return 2;
        }
        System.setProperty(
                "plantwatch.log.file", settings.dataDir().resolve("plantwatch.log").toString());
        Thread hook =
                new Thread(
                        () -> {
                            stop.countDown();
                            try {
                                stopped.await(90, TimeUnit.SECONDS);
                            } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                            }
                        },
                        "plantwatch-run-stop");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            Appliance appliance;
            try {
                appliance = Appliance.start(settings, options.config, options.sets, err);
            } catch (ConfigException e) {
                err.println("plantwatch run: " + e.getMessage());
                return 2;
            } catch (Appliance.CannotStart e) {
                err.println("plantwatch run: " + e.getMessage());
                return 1;
            } catch (Exception e) {
                // Picocli printed the whole trace, some sixty lines, on the console; the log file
                // keeps it, and the console gets its innermost cause in one line.
                org.slf4j.LoggerFactory.getLogger(RunCommand.class)
                        .error("The appliance could not start", e);
                err.println(
                        "plantwatch run: could not start; see "
                                + settings.dataDir().resolve("plantwatch.log"));
                return 1;
            }
            try (appliance) {
                out.printf(
                        "Plantwatch running: MQTT %s, Kafka %s, series to %s; log in %s."
                                + " Ctrl-C stops.%n",
                        appliance.mqttUri(),
                        appliance.bootstrap(),
                        appliance.seriesTarget(),
                        settings.dataDir().resolve("plantwatch.log"));
                out.flush();
                appliance.failure().thenRun(stop::countDown);
                stop.await();
                String failed = appliance.failure().getNow(null);
                if (failed != null) {
                    err.println(
                            "plantwatch run: "
                                    + failed
                                    + "; see "
                                    + settings.dataDir().resolve("plantwatch.log"));
                    err.flush();
                    return 1;
                }
            }
            out.println("Plantwatch stopped.");
            out.flush();
            return 0;
        } finally {
            stopped.countDown();
        }
    }

    /** For tests: stops a run started in this process. */
    void stop() {
        stop.countDown();
    }
}
