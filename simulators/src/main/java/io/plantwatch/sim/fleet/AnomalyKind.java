package io.plantwatch.sim.fleet;

import java.util.Locale;

/** The faults the simulator injects; each is written to the label file when it happens. */
public enum AnomalyKind {
    /** The value jumps by a magnitude for a short time. */
    SPIKE,
    /** The value leaves the sensor's normal range. */
    OUT_OF_RANGE,
    /** The value freezes: a stuck sensor. */
    FLATLINE,
    /** The sensor goes silent: readings are never published (sequence numbers skip). */
    DROPOUT,
    /** The value creeps away from normal, linearly, over the window. */
    DRIFT,
    /** Readings keep their event time but are published after a delay: late, out of order. */
    LATE,
    /** Each reading is published twice. */
    DUPLICATE,
    /** Payloads are replaced by ones the contract rejects, each for a known reason. */
    MALFORMED,
    /**
     * A window labelled in a replayed data set (e.g. NAB); not injected, so its fault is unknown.
     */
    LABELLED;

    /** Accepts {@code out-of-range}, {@code OUT_OF_RANGE} and {@code stuck} (for flatline). */
    public static AnomalyKind parse(String s) {
        String n = s.trim().toUpperCase(Locale.ROOT).replace('-', '_');
        if (n.equals("STUCK")) {
            return FLATLINE;
        }
        try {
            return valueOf(n);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    "unknown anomaly '"
                            + s
                            + "', use spike, out-of-range, flatline, dropout, drift, late,"
                            + " duplicate or malformed");
        }
    }

    /** The name used in files and on the command line, e.g. {@code out-of-range}. */
    public String cliName() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** Default length of an episode, in seconds of event time. */
    public double defaultDurationSeconds() {
        return switch (this) {
            case SPIKE -> 10;
            case OUT_OF_RANGE -> 60;
            case FLATLINE -> 120;
            case DROPOUT -> 60;
            case DRIFT -> 600;
            case LATE -> 10;
            case DUPLICATE -> 10;
            case MALFORMED -> 10;
            case LABELLED -> 0;
        };
    }
}
