package io.plantwatch.sim;

import picocli.CommandLine.Option;

/** How a publishing command paces acknowledgements and reports progress: shared by all three. */
final class PublishOptions {
    @Option(
            names = "--max-in-flight",
            defaultValue = "1000",
            description = "Publishes awaiting acknowledgement at most (default: ${DEFAULT-VALUE}).")
    int maxInFlight;

    @Option(
            names = {"-q", "--quiet"},
            description = "No progress output.")
    boolean quiet;
}
