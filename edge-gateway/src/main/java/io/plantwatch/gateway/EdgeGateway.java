package io.plantwatch.gateway;

import io.plantwatch.model.ConfigException;
import io.plantwatch.model.ConfigWatch;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code edge-gateway}: the plant's MQTT namespace into Kafka, nothing lost. */
@Command(
        name = "edge-gateway",
        mixinStandardHelpOptions = true,
        version = "edge-gateway 0.1.0",
        description = {
            "Subscribes to the plant's MQTT namespace and produces every valid reading to Kafka,"
                    + " keyed by sensor id; what the contract rejects goes to the DLQ with its"
                    + " original bytes. Each MQTT message is acknowledged only after Kafka"
                    + " acknowledged its record.",
            "Settings: defaults < --config FILE < environment (PLANTWATCH_GATEWAY_*) < flags."
        },
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
            "0:stopped cleanly",
            "1:unexpected error",
            "2:invalid configuration",
            "4:MQTT broker refused the login"
        })
public final class EdgeGateway implements Callable<Integer> {
    static final int EXIT_CONFIG = 2;
    static final int EXIT_REFUSED = 4;

    @Spec CommandSpec spec;

    @Option(names = "--config", paramLabel = "FILE", description = "YAML settings file.")
    Path config;

    @Option(
            names = "--mqtt-broker",
            paramLabel = "URI",
            description = "tcp://host:port or ssl://host:port")
    String mqttBroker;

    @Option(
            names = "--kafka-bootstrap",
            paramLabel = "HOST:PORT",
            description = "Kafka bootstrap servers.")
    String kafkaBootstrap;

    @Option(
            names = "--gateway-id",
            description = "Name in logs, metrics and DLQ headers; also the MQTT client id.")
    String gatewayId;

    @Option(names = "--http-port", description = "Port of /metrics and /health; -1 turns them off.")
    Integer httpPort;

    @Option(
            names = "--set",
            paramLabel = "KEY=VALUE",
            description =
                    "Any setting, e.g. --set mqtt.version=3 --set kafka.producer.linger.ms=10")
    Map<String, String> settings = new LinkedHashMap<>();

    @Option(
            names = "--print-config",
            description = "Print the resolved settings (secrets masked) and exit.")
    boolean printConfig;

    @Option(
            names = "--watch-config",
            negatable = true,
            defaultValue = "true",
            fallbackValue = "true",
            description =
                    "Apply a saved change to the --config file (and the password, CA and Kafka"
                            + " login files it names) while running: the bridge reconnects under"
                            + " its session with it (default: ${DEFAULT-VALUE})")
    boolean watchConfig = true;

    /** How often the file is looked at. */
    private static final long CONFIG_CHECK_MILLIS = 2_000;

    private final CountDownLatch stop = new CountDownLatch(1);

    public static void main(String[] args) {
        System.exit(mainWithExitCode(args));
    }

    /** Runs in this process until stopped (SIGTERM/Ctrl-C) and returns the exit code. */
    public static int mainWithExitCode(String... args) {
        return commandLine().execute(args);
    }

    /** As {@link #mainWithExitCode(String...)}, writing to the given streams. */
    public static int mainWithExitCode(PrintWriter out, PrintWriter err, String... args) {
        CommandLine cl = commandLine();
        cl.setOut(out);
        cl.setErr(err);
        return cl.execute(args);
    }

    static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new EdgeGateway());
        cl.setExecutionExceptionHandler(
                (e, line, parsed) -> {
                    PrintWriter err = line.getErr();
                    if (e instanceof ConfigException) {
                        err.println("edge-gateway: invalid configuration: " + e.getMessage());
                        err.flush();
                        return EXIT_CONFIG;
                    }
                    if (e instanceof MqttKafkaBridge.LoginRefusedException) {
                        err.println("edge-gateway: " + e.getMessage());
                        err.flush();
                        return EXIT_REFUSED;
                    }
                    err.println("edge-gateway: unexpected error: " + e);
                    e.printStackTrace(err);
                    err.flush();
                    return 1;
                });
        return cl;
    }

    /** The resolved configuration from file, environment and these flags. */
    GatewayConfig resolve(Map<String, String> env) {
        Map<String, String> flags = new LinkedHashMap<>(settings);
        if (mqttBroker != null) {
            flags.put("mqtt.broker", mqttBroker);
        }
        if (kafkaBootstrap != null) {
            flags.put("kafka.bootstrap", kafkaBootstrap);
        }
        if (gatewayId != null) {
            flags.put("gateway.id", gatewayId);
        }
        if (httpPort != null) {
            flags.put("http.port", httpPort.toString());
        }
        return GatewayConfig.load(config, env, flags);
    }

    @Override
    public Integer call() throws Exception {
        // The files' contents taken before the gateway reads them, so a change between is seen.
        AtomicReference<Gateway> running = new AtomicReference<>();
        ConfigWatch<GatewayConfig> watch =
                watchConfig && config != null && !printConfig
                        ? new ConfigWatch<>(
                                "gateway file",
                                "the gateway",
                                config,
                                GatewayConfig::files,
                                file ->
                                        resolve(System.getenv())
                                                .checkedAsChangeOf(running.get().config(), file),
                                next -> applyOrStop(running.get(), next))
                        : null;
        GatewayConfig resolved = resolve(System.getenv());
        if (printConfig) {
            PrintWriter out = spec.commandLine().getOut();
            resolved.describe().forEach((k, v) -> out.println(k + "=" + v));
            out.flush();
            return 0;
        }
        Gateway gateway = Gateway.start(resolved);
        running.set(gateway);
        if (watch != null) {
            gateway.metrics()
                    .registerCounter(
                            ConfigWatch.appliedMetric("gateway_config"),
                            "Changes to the gateway's file applied while it runs",
                            watch::applied);
            gateway.metrics()
                    .registerCounter(
                            ConfigWatch.refusedMetric("gateway_config"),
                            "Changes to the gateway's file not applied: a mistake in the file, a"
                                    + " setting taken only at a start, or a login the broker"
                                    + " refused",
                            watch::refused);
            watch.watch(CONFIG_CHECK_MILLIS);
        }
        Thread hook =
                new Thread(
                        () -> {
                            if (watch != null) {
                                watch.stop();
                            }
                            gateway.close();
                            stop.countDown();
                        },
                        "edge-gateway-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        stop.await();
        if (watch != null) {
            watch.stop();
        }
        return stoppedOnItsOwn ? 1 : 0;
    }

    /** Set when the bridge could not connect again at all after a change: the command ends. */
    private volatile boolean stoppedOnItsOwn;

    /** {@link Gateway#apply}; a gateway left without a bridge stops, rather than run on deaf. */
    private String applyOrStop(Gateway gateway, GatewayConfig next) {
        try {
            return gateway.apply(next, config);
        } catch (ConfigException e) {
            throw e; // not taken; the bridge runs with the settings it had
        } catch (RuntimeException e) {
            spec.commandLine()
                    .getErr()
                    .println(
                            "edge-gateway: the bridge did not connect again, not even with the"
                                    + " settings it had ("
                                    + e.getMessage()
                                    + "); the gateway stops");
            spec.commandLine().getErr().flush();
            stoppedOnItsOwn = true;
            gateway.close();
            stop.countDown();
            return "the gateway stopped";
        }
    }
}
