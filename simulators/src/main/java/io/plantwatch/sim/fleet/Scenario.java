package io.plantwatch.sim.fleet;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.plantwatch.model.Durations;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A scenario file: anomalies at fixed times.
 *
 * <pre>
 * anomalies:
 *   - at: 30s
 *     sensor: "site-1/area-1/line-1/machine-1/temp-1"   # a glob: "**&#47;temp-*" works too
 *     kind: spike
 *     duration: 10s        # optional, the kind's default otherwise
 *     magnitude: 15        # optional, in the sensor's unit
 *     delay: 30s           # late only
 * </pre>
 */
public final class Scenario {

    private Scenario() {}

    public static List<AnomalySpec> load(Path file) {
        ScenarioFile f = YamlInput.read(file, ScenarioFile.class);
        if (f == null || f.anomalies == null) {
            throw new IllegalArgumentException(file + ": no 'anomalies' list");
        }
        List<AnomalySpec> specs = new ArrayList<>();
        for (int i = 0; i < f.anomalies.size(); i++) {
            Entry e = f.anomalies.get(i);
            try {
                if (e == null) {
                    throw new IllegalArgumentException("an empty entry");
                }
                AnomalyKind kind = AnomalyKind.parse(req(e.kind, "kind"));
                if (kind == AnomalyKind.LABELLED) {
                    throw new IllegalArgumentException("'labelled' cannot be injected");
                }
                // An option the kind ignores would be a silent no-op: the engineer believes
                // the label file records an effect that was never injected.
                List<String> ignored = new ArrayList<>();
                if (e.magnitude != null && !takesMagnitude(kind)) {
                    ignored.add("magnitude");
                }
                if (e.delay != null && kind != AnomalyKind.LATE) {
                    ignored.add("delay");
                }
                if (!ignored.isEmpty()) {
                    throw new IllegalArgumentException(
                            String.join(" and ", ignored)
                                    + " does not apply to "
                                    + kind.cliName()
                                    + ", which takes "
                                    + String.join(", ", options(kind)));
                }
                specs.add(
                        new AnomalySpec(
                                Durations.parse(req(e.at, "at")),
                                req(e.sensor, "sensor"),
                                kind,
                                e.duration == null ? null : Durations.parse(e.duration),
                                e.magnitude,
                                e.delay == null ? null : Durations.parse(e.delay)));
            } catch (IllegalArgumentException ex) {
                throw new IllegalArgumentException(
                        file + ": " + describe(i, e) + ": " + ex.getMessage(), ex);
            }
        }
        return specs;
    }

    /** How errors name an entry: its place in the list, and its time and kind as written. */
    public static String describe(int index, AnomalySpec spec) {
        return "anomalies["
                + index
                + "] (at "
                + format(spec.at())
                + ", "
                + spec.kind().cliName()
                + ")";
    }

    /** A duration as a scenario file writes it: 10m, 90s, 1500ms. */
    public static String format(java.time.Duration d) {
        long ms = d.toMillis();
        if (ms % 1000 != 0) {
            return ms + "ms";
        }
        long s = ms / 1000;
        if (s != 0 && s % 3600 == 0) {
            return s / 3600 + "h";
        }
        if (s != 0 && s % 60 == 0) {
            return s / 60 + "m";
        }
        return s + "s";
    }

    private static String describe(int index, Entry e) {
        return e == null || e.at == null || e.kind == null
                ? "anomalies[" + index + "]"
                : "anomalies[" + index + "] (at " + e.at + ", " + e.kind + ")";
    }

    private static boolean takesMagnitude(AnomalyKind kind) {
        return kind == AnomalyKind.SPIKE
                || kind == AnomalyKind.OUT_OF_RANGE
                || kind == AnomalyKind.DRIFT;
    }

    /** The keys an entry of this kind may have, for the message that refuses another. */
    static List<String> options(AnomalyKind kind) {
        List<String> o = new ArrayList<>(List.of("at", "sensor", "kind", "duration"));
        if (takesMagnitude(kind)) {
            o.add("magnitude");
        }
        if (kind == AnomalyKind.LATE) {
            o.add("delay");
        }
        return o;
    }

    private static String req(String v, String name) {
        if (v == null || v.isBlank()) {
            throw new IllegalArgumentException("'" + name + "' is required");
        }
        return v;
    }

    static final class ScenarioFile {
        @JsonProperty public List<Entry> anomalies;
    }

    static final class Entry {
        @JsonProperty public String at;
        @JsonProperty public String sensor;
        @JsonProperty public String kind;
        @JsonProperty public String duration;
        @JsonProperty public Double magnitude;
        @JsonProperty public String delay;
    }
}
