package io.plantwatch.sim;

import io.plantwatch.sim.mqtt.SimulatorException;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code sensor-sim}: simulated plant sensors over MQTT. */
@Command(
        name = "sensor-sim",
        mixinStandardHelpOptions = true,
        versionProvider = SensorSim.Version.class,
        description =
                "Simulated plant sensors publishing over MQTT, with injected anomalies and labels.",
        subcommands = {RunCommand.class, ReplayCommand.class, LoadCommand.class},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
            "0:success",
            "1:unexpected error",
            "2:invalid command line or input file",
            "3:MQTT broker unreachable",
            "4:MQTT broker refused the connection",
            "5:publishing failed"
        })
public final class SensorSim implements Callable<Integer> {

    @Spec CommandSpec spec;

    public static void main(String[] args) {
        System.exit(mainWithExitCode(args));
    }

    /** Runs the CLI in this process and returns its exit code: what tests call. */
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

    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new SensorSim());
        cl.setExecutionExceptionHandler(SensorSim::handle);
        return cl;
    }

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getErr());
        return 2;
    }

    /** One line a person can act on, never a stack trace, for the failures they can fix. */
    static int handle(Exception e, CommandLine cl, CommandLine.ParseResult parsed) {
        PrintWriter err = cl.getErr();
        if (e instanceof SimulatorException s) {
            err.println("sensor-sim: " + s.getMessage());
            err.flush();
            return s.exitCode();
        }
        if (e instanceof IllegalArgumentException) {
            err.println("sensor-sim: " + e.getMessage());
            err.flush();
            return 2;
        }
        err.println("sensor-sim: unexpected error: " + e);
        e.printStackTrace(err);
        err.flush();
        return 1;
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = SensorSim.class.getPackage().getImplementationVersion();
            return new String[] {"sensor-sim " + (v == null ? "development" : v)};
        }
    }
}
