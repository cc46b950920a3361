package io.plantwatch.appliance;

import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code plantwatch check [--config config/appliance.yaml]}: every file {@code run} reads, checked
 * as {@code run} checks it, with nothing started, as {@code promtool check config} and {@code
 * amtool check-config} do. A running appliance applies a saved rules, job or alerting file and
 * refuses one with a mistake; this says so before the file is saved in its place.
 */
@Command(
        name = "check",
        mixinStandardHelpOptions = true,
        description =
                "Check the appliance's settings and every file they name (rules, job, gateway,"
                        + " alerting) as run would, without starting anything. Exit 0: all valid;"
                        + " 2: a mistake, one line each.")
final class CheckCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Mixin ApplianceOptions options;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        ApplianceSettings settings = options.loadOrSay(err, "check");
        if (settings == null) {
            // On stdout too, one line as for every other file: a script reading it sees INVALID.
            out.printf("%-8s  %-8s  %s%n", "INVALID", "settings", options.config);
            out.flush();
            return 2;
        }
        List<Appliance.FileCheck> checks = Appliance.checkFiles(settings);
        out.printf("%-8s  %-8s  %s%n", "valid", "settings", options.config);
        boolean valid = true;
        for (Appliance.FileCheck c : checks) {
            if (c.problem() == null) {
                out.printf("%-8s  %-8s  %s%n", "valid", c.part(), c.file());
            } else {
                valid = false;
                out.printf("%-8s  %-8s  %s%n", "INVALID", c.part(), c.problem());
            }
        }
        out.flush();
        return valid ? 0 : 2;
    }
}
