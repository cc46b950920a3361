package io.plantwatch.appliance;

import io.plantwatch.model.ConfigException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/** The appliance's settings file and the settings given over it: {@code run} and {@code check}. */
final class ApplianceOptions {
    @Option(
            names = "--config",
            defaultValue = "config/appliance.yaml",
            description = "Appliance settings (default: ${DEFAULT-VALUE}).")
    Path config;

    @Option(
            names = "--set",
            paramLabel = "KEY=VALUE",
            description = "A setting over the file's, e.g. --set mqtt.broker=tcp://10.0.0.5:1883")
    Map<String, String> sets = new LinkedHashMap<>();

    /**
     * The settings, or null after one line on {@code err} naming the file or flag, the key and the
     * mistake, as {@code plantwatch <command>: ...} (the command then exits 2).
     */
    ApplianceSettings loadOrSay(PrintWriter err, String command) {
        try {
            return ApplianceSettings.load(config, sets);
        } catch (ConfigException e) {
            err.println("plantwatch " + command + ": " + e.getMessage());
            return null;
        }
    }
}
