package io.plantwatch.gateway;

import io.plantwatch.model.SensorId;
import io.plantwatch.model.TopicTemplate;
import java.util.ArrayList;
import java.util.List;

/**
 * How the gateway reads Sparkplug B edge nodes ({@code sparkplug.*} in gateway.yaml).
 *
 * @param groups the Sparkplug group ids read, {@code +} for every group; empty when the gateway
 *     reads no Sparkplug B
 * @param sensorId how a metric's sensor id is made of its group, edge node, device and name
 * @param hostId the primary host application id the gateway announces on {@code spBv1.0/STATE/<host
 *     id>}, or null for none
 * @param requestRebirth whether an edge node whose birth certificate the gateway lacks is asked to
 *     publish it again
 * @param maxPayloadBytes the largest Sparkplug B payload read
 */
public final class SparkplugSettings {

    public static final String NAMESPACE = io.plantwatch.model.Topics.SPARKPLUG_B_NAMESPACE;
    public static final String DEFAULT_SENSOR_ID = "{group}/default/{node}/{device}/{metric}";

    private static final List<String> PLACEHOLDERS = List.of("group", "node", "device", "metric");

    private final List<String> groups;
    private final String sensorId;
    private final String hostId;
    private final boolean requestRebirth;
    private final int maxPayloadBytes;
    private final String[] levels;

    public SparkplugSettings(
            List<String> groups,
            String sensorId,
            String hostId,
            boolean requestRebirth,
            int maxPayloadBytes) {
        this.groups = List.copyOf(groups);
        this.sensorId = sensorId;
        this.hostId = hostId;
        this.requestRebirth = requestRebirth;
        this.maxPayloadBytes = maxPayloadBytes;
        checkGroups(groups);
        checkHostId(hostId);
        this.levels = levels(sensorId);
    }

    /** Reads no Sparkplug B. */
    public static SparkplugSettings off() {
        return new SparkplugSettings(List.of(), DEFAULT_SENSOR_ID, null, true, 1);
    }

    public List<String> groups() {
        return groups;
    }

    public String sensorId() {
        return sensorId;
    }

    public String hostId() {
        return hostId;
    }

    public boolean requestRebirth() {
        return requestRebirth;
    }

    public int maxPayloadBytes() {
        return maxPayloadBytes;
    }

    public boolean enabled() {
        return !groups.isEmpty();
    }

    /** The subscription filters that read the groups: one per group. */
    public List<String> subscriptionFilters() {
        List<String> filters = new ArrayList<>(groups.size());
        for (String g : groups) {
            filters.add(NAMESPACE + "/" + g + "/#");
        }
        return filters;
    }

    /** The topic of this host's STATE, or null. */
    public String stateTopic() {
        return hostId == null ? null : NAMESPACE + "/STATE/" + hostId;
    }

    /**
     * The sensor id of a metric: the template's placeholders replaced, {@code {device}} by {@value
     * TopicTemplate#ABSENT_LEVEL} for an edge node's own metrics. A template of five levels takes
     * the metric's name as one, each {@code /} of it (Sparkplug's folders) replaced by {@code .}; a
     * shorter one takes the folders as the levels it leaves, so the name must have as many.
     *
     * @param device null for an edge node's own metric
     * @throws IllegalArgumentException naming the level that cannot be part of a sensor id
     */
    public SensorId sensorIdOf(String group, String node, String device, String metric) {
        String[] values = new String[5];
        int at = 0;
        for (String level : levels) {
            switch (level) {
                case "{group}" -> values[at++] = group;
                case "{node}" -> values[at++] = node;
                case "{device}" ->
                        values[at++] = device == null ? TopicTemplate.ABSENT_LEVEL : device;
                case "{metric}" -> {
                    if (levels.length == 5) {
                        values[at++] = metric.replace('/', '.');
                    } else {
                        String[] parts = metric.split("/", -1);
                        int wanted = 6 - levels.length;
                        if (parts.length != wanted) {
                            throw new IllegalArgumentException(
                                    "its name has "
                                            + parts.length
                                            + (parts.length == 1 ? " level" : " levels")
                                            + " (folders and name), and sparkplug.sensor-id '"
                                            + sensorId
                                            + "' takes "
                                            + wanted
                                            + " from it");
                        }
                        for (String part : parts) {
                            values[at++] = part;
                        }
                    }
                }
                default -> values[at++] = level;
            }
        }
        return new SensorId(values[0], values[1], values[2], values[3], values[4]);
    }

    /**
     * @throws IllegalArgumentException saying what is wrong with the group ids
     */
    static void checkGroups(List<String> groups) {
        for (String g : groups) {
            if (!g.equals("+")) {
                String problem = SensorId.levelProblem("group id", g);
                if (problem != null) {
                    throw new IllegalArgumentException(problem);
                }
                if (g.equals("STATE")) {
                    throw new IllegalArgumentException(
                            "STATE is not a group id: Sparkplug reserves it for host applications");
                }
            }
        }
        if (groups.contains("+") && groups.size() > 1) {
            throw new IllegalArgumentException("+ reads every group: name no other with it");
        }
    }

    /**
     * @throws IllegalArgumentException saying what is wrong with the host id
     */
    static void checkHostId(String hostId) {
        if (hostId != null) {
            String problem = SensorId.levelProblem("host id", hostId);
            if (problem != null) {
                throw new IllegalArgumentException(problem);
            }
        }
    }

    /**
     * The levels of a sensor id template.
     *
     * @throws IllegalArgumentException saying what is wrong with it
     */
    static String[] levels(String template) {
        String[] levels = template.split("/", -1);
        if (levels.length > 5) {
            throw new IllegalArgumentException(
                    "'"
                            + template
                            + "' has "
                            + levels.length
                            + " levels; a sensor id has 5 (site/area/line/machine/sensor)");
        }
        List<String> seen = new ArrayList<>();
        for (String level : levels) {
            if (level.startsWith("{") && level.endsWith("}")) {
                String name = level.substring(1, level.length() - 1);
                if (!PLACEHOLDERS.contains(name)) {
                    throw new IllegalArgumentException(
                            "'"
                                    + template
                                    + "': unknown placeholder {"
                                    + name
                                    + "}, use {group}, {node}, {device} or {metric}");
                }
                if (seen.contains(name)) {
                    throw new IllegalArgumentException(
                            "'" + template + "': {" + name + "} appears twice");
                }
                seen.add(name);
            } else {
                String problem = SensorId.levelProblem("literal level", level);
                if (problem != null) {
                    throw new IllegalArgumentException("'" + template + "': " + problem);
                }
            }
        }
        if (!seen.contains("metric")) {
            throw new IllegalArgumentException("'" + template + "' must contain {metric}");
        }
        return levels;
    }
}
