package io.plantwatch.appliance;

import io.plantwatch.alerting.AlertingService;
import io.plantwatch.gateway.EdgeGateway;
import io.plantwatch.job.AnomalyJob;
import io.plantwatch.sim.SensorSim;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code plantwatch}: the appliance's one entry point. {@code demo} and {@code run} start the whole
 * appliance in this process; {@code sim}, {@code gateway}, {@code alerting} and {@code job} are the
 * modules' own command lines, passed their arguments unchanged.
 */
@Command(
        name = "plantwatch",
        mixinStandardHelpOptions = true,
        versionProvider = Plantwatch.Version.class,
        description = "Plantwatch: industrial IoT anomaly detection.",
        subcommands = {
            DemoCommand.class,
            RunCommand.class,
            CheckCommand.class,
            EvaluateCommand.class
        },
        footer = {
            "",
            "The modules' command lines, with their own --help:",
            "  sim        the sensor simulator (run, replay, load)",
            "  gateway    the MQTT-to-Kafka edge gateway",
            "  job        the Flink anomaly job (on a local MiniCluster, or submit the jar)",
            "  alerting   the alerting service",
            "  alerts     a running alerting service's alerts and silences (list, ack, shelve,",
            "             close, silence add|list|expire), with $PLANTWATCH_ALERTING_TOKEN;",
            "             preview: what each receiver of an alerting file sends (no service)",
            "",
            "Exit codes: 0 done, 1 failed, 2 bad command line or configuration."
        })
public final class Plantwatch implements Callable<Integer> {

    /** The modules whose command lines {@code plantwatch <name> ...} runs. */
    interface ModuleMain {
        int run(PrintWriter out, PrintWriter err, String... args);
    }

    static final Map<String, ModuleMain> MODULES =
            Map.of(
                    "sim", SensorSim::mainWithExitCode,
                    "gateway", EdgeGateway::mainWithExitCode,
                    "job", AnomalyJob::mainWithExitCode,
                    "alerting", AlertingService::mainWithExitCode,
                    "alerts", io.plantwatch.alerting.AlertsCommand::mainWithExitCode);

    public static void main(String[] args) {
        int code =
                mainWithExitCode(
                        new PrintWriter(System.out, true), new PrintWriter(System.err, true), args);
        System.exit(code);
    }

    public static int mainWithExitCode(PrintWriter out, PrintWriter err, String... args) {
        // Each module jar brings its own logback.xml; the appliance's are the ones that count: a
        // module run on its own logs to the console, the whole appliance to its data folder.
        boolean module = args.length > 0 && MODULES.containsKey(args[0]);
        if (System.getProperty("logback.configurationFile") == null) {
            System.setProperty(
                    "logback.configurationFile",
                    module ? "plantwatch-module-logback.xml" : "plantwatch-logback.xml");
        }
        if (module) {
            return MODULES.get(args[0]).run(out, err, Arrays.copyOfRange(args, 1, args.length));
        }
        CommandLine cli = new CommandLine(new Plantwatch());
        cli.setOut(out);
        cli.setErr(err);
        return cli.execute(args);
    }

    @Override
    public Integer call() {
        CommandLine.usage(this, System.out);
        return 2;
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Plantwatch.class.getPackage().getImplementationVersion();
            return new String[] {"plantwatch " + (v == null ? "(development build)" : v)};
        }
    }
}
