package io.plantwatch.sim.fleet;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.plantwatch.model.SensorId;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** The simulated sensors, from a fleet file or generated from a count. */
public record Fleet(List<SimSensor> sensors) {

    public Fleet {
        sensors = List.copyOf(sensors);
        if (sensors.isEmpty()) {
            throw new IllegalArgumentException("the fleet has no sensors");
        }
        Set<String> seen = new HashSet<>();
        for (SimSensor s : sensors) {
            if (!seen.add(s.id().id())) {
                throw new IllegalArgumentException("sensor " + s.id() + " appears twice");
            }
        }
    }

    public int size() {
        return sensors.size();
    }

    /**
     * {@code n} sensors on one site: machines of four sensors each (temperature, pressure,
     * vibration, humidity), five machines per line.
     */
    public static Fleet generated(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("--sensors must be at least 1");
        }
        SensorKind[] kinds = SensorKind.values();
        List<SimSensor> sensors = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            int machine = i / kinds.length;
            int line = machine / 5;
            SensorKind kind = kinds[i % kinds.length];
            SensorId id =
                    new SensorId(
                            "site-1",
                            "area-1",
                            "line-" + (line + 1),
                            "machine-" + (machine + 1),
                            kind.shortName() + "-1");
            sensors.add(SimSensor.of(id, kind));
        }
        return new Fleet(sensors);
    }

    /** Reads a fleet file; errors name the file and what is wrong in it. */
    public static Fleet load(Path file) {
        FleetFile f = YamlInput.read(file, FleetFile.class);
        if (f == null || f.sites == null) {
            throw new IllegalArgumentException(file + ": no 'sites' defined");
        }
        List<SimSensor> sensors = new ArrayList<>();
        try {
            for (Node site : f.sites) {
                for (Node area : req(site.areas, "areas", site)) {
                    for (Node line : req(area.lines, "lines", area)) {
                        for (Node machine : req(line.machines, "machines", line)) {
                            for (SensorNode s : reqSensors(machine)) {
                                SensorKind kind = SensorKind.parse(s.kind);
                                SensorId id =
                                        new SensorId(
                                                site.name,
                                                area.name,
                                                line.name,
                                                machine.name,
                                                s.name);
                                sensors.add(
                                        new SimSensor(
                                                id,
                                                kind,
                                                s.unit != null ? s.unit : kind.unit(),
                                                s.mean != null ? s.mean : kind.mean(),
                                                s.noise != null ? s.noise : kind.noise(),
                                                s.dailyAmplitude != null
                                                        ? s.dailyAmplitude
                                                        : kind.dailyAmplitude(),
                                                s.min != null ? s.min : kind.normalLow(),
                                                s.max != null ? s.max : kind.normalHigh()));
                            }
                        }
                    }
                }
            }
            return new Fleet(sensors);
        } catch (IllegalArgumentException | NullPointerException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    private static List<Node> req(List<Node> list, String what, Node parent) {
        if (list == null || list.isEmpty()) {
            throw new IllegalArgumentException("'" + parent.name + "' has no " + what);
        }
        return list;
    }

    private static List<SensorNode> reqSensors(Node machine) {
        if (machine.sensors == null || machine.sensors.isEmpty()) {
            throw new IllegalArgumentException("machine '" + machine.name + "' has no sensors");
        }
        return machine.sensors;
    }

    static final class FleetFile {
        @JsonProperty public List<Node> sites;
    }

    static final class Node {
        @JsonProperty(required = true)
        public String name;

        @JsonProperty public List<Node> areas;
        @JsonProperty public List<Node> lines;
        @JsonProperty public List<Node> machines;
        @JsonProperty public List<SensorNode> sensors;
    }

    static final class SensorNode {
        @JsonProperty(required = true)
        public String name;

        @JsonProperty(required = true)
        public String kind;

        @JsonProperty public String unit;
        @JsonProperty public Double mean;
        @JsonProperty public Double noise;

        @JsonProperty("daily-amplitude")
        public Double dailyAmplitude;

        @JsonProperty public Double min;
        @JsonProperty public Double max;
    }
}
