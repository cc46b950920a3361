package io.plantwatch.sim.fleet;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.plantwatch.model.Durations;
import java.io.IOException;
import java.nio.file.Files;
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
        ObjectMapper yaml =
                new ObjectMapper(new YAMLFactory())
                        .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
        ScenarioFile f;
        try {
            f = yaml.readValue(Files.readAllBytes(file), ScenarioFile.class);
        } catch (JsonMappingException e) {
            throw new IllegalArgumentException(
                    file + ": " + e.getOriginalMessage() + " at " + e.getPathReference(), e);
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
        if (f == null || f.anomalies == null) {
            throw new IllegalArgumentException(file + ": no 'anomalies' list");
        }
        List<AnomalySpec> specs = new ArrayList<>();
        for (int i = 0; i < f.anomalies.size(); i++) {
            Entry e = f.anomalies.get(i);
            try {
                specs.add(
                        new AnomalySpec(
                                Durations.parse(req(e.at, "at")),
                                req(e.sensor, "sensor"),
                                AnomalyKind.parse(req(e.kind, "kind")),
                                e.duration == null ? null : Durations.parse(e.duration),
                                e.magnitude,
                                e.delay == null ? null : Durations.parse(e.delay)));
            } catch (IllegalArgumentException ex) {
                throw new IllegalArgumentException(
                        file + ": anomalies[" + i + "]: " + ex.getMessage(), ex);
            }
        }
        return specs;
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
