package io.plantwatch.gateway;

import static io.plantwatch.gateway.SparkplugPayload.ABSENT;

import io.plantwatch.model.MqttPayloadCodec;
import io.plantwatch.model.Parsed;
import io.plantwatch.model.Problems;
import io.plantwatch.model.Quality;
import io.plantwatch.model.ReadingLimits;
import io.plantwatch.model.RejectReason;
import io.plantwatch.model.SensorId;
import io.plantwatch.model.SensorReading;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads Sparkplug B edge nodes as a host application does: each numeric metric of a birth
 * certificate (NBIRTH, DBIRTH) or data message (NDATA, DDATA) becomes a reading, its sensor id made
 * by {@link SparkplugSettings#sensorIdOf}. A node's birth certificate names the aliases its later
 * messages may send instead of names, and each message's sequence number follows the previous one;
 * both are kept per edge node here. A node whose birth this decoder has not seen (the gateway
 * started after it) is asked for it again with a rebirth request (NCMD {@code Node
 * Control/Rebirth}), at most every {@value #REBIRTH_INTERVAL_MILLIS} ms; meanwhile its metrics sent
 * by alias alone go to the DLQ as {@link RejectReason#UNKNOWN_ALIAS}.
 *
 * <p>Not thread-safe: the gateway's one intake thread calls it, in arrival order.
 */
final class SparkplugDecoder {
    private static final Logger LOG = LoggerFactory.getLogger(SparkplugDecoder.class);

    /** How often an edge node is asked for its birth certificate at most. */
    static final long REBIRTH_INTERVAL_MILLIS = 10_000;

    /**
     * The most readings one message may hold: an edge node's birth certificate lists all of its
     * metrics, which for a large PLC are thousands, each a Kafka record the gateway holds.
     */
    static final int MAX_READINGS_PER_MESSAGE = 10_000;

    /** Publishes a command to an edge node (QoS 0, not retained, as Sparkplug asks). */
    interface Commands {
        void publish(String topic, byte[] payload);
    }

    /** What a birth certificate said of a metric. */
    private record Definition(String name, int datatype, String unit) {}

    /** What the latest birth of a device (or of the node itself) defined. */
    private static final class Device {
        final Map<String, Definition> byName = new HashMap<>();
        final List<Long> aliases = new ArrayList<>();
    }

    private static final class Node {
        long bdSeq = ABSENT;
        long lastSeq = ABSENT;
        boolean born;
        long lastRebirthRequest = Long.MIN_VALUE;

        /** Aliases are the node's, across its devices. */
        final Map<Long, Definition> byAlias = new HashMap<>();

        /** By device id, the empty one for the node's own metrics. */
        final Map<String, Device> devices = new HashMap<>();
    }

    /**
     * The most edge nodes kept: each a map of its metrics. Beyond it, data from a node not seen
     * before is read without state (by name only) and no rebirth is asked of it, so a flood of
     * made-up node ids cannot fill the heap.
     */
    static final int MAX_NODES = 100_000;

    private final SparkplugSettings settings;
    private final ReadingLimits limits;
    private final Commands commands;
    private final GatewayMetrics metrics;
    private final Map<String, Node> nodes = new HashMap<>();
    private final AtomicInteger online = new AtomicInteger();

    SparkplugDecoder(
            SparkplugSettings settings,
            ReadingLimits limits,
            Commands commands,
            GatewayMetrics metrics) {
        this.settings = settings;
        this.limits = limits;
        this.commands = commands;
        this.metrics = metrics;
    }

    /** Whether {@code topic} is in Sparkplug B's namespace, which this decoder reads. */
    static boolean reads(String topic) {
        return topic.startsWith(SparkplugSettings.NAMESPACE + "/");
    }

    /** Edge nodes born and not dead. */
    int nodesOnline() {
        return online.get();
    }

    /**
     * The readings of a message on a Sparkplug B topic; none for a death certificate, a command or
     * a host's STATE.
     *
     * @param retained whether the broker sent it as its topic's retained message
     */
    MqttPayloadCodec.Decoded decode(String topic, byte[] payload, boolean retained) {
        String[] levels = topic.split("/", -1);
        if (levels.length == 3 && levels[1].equals("STATE")) {
            return none();
        }
        String type = levels.length >= 4 ? levels[2] : "";
        boolean known =
                switch (type) {
                    case "NBIRTH", "NDEATH", "NDATA", "NCMD" -> levels.length == 4;
                    case "DBIRTH", "DDEATH", "DDATA", "DCMD" -> levels.length == 5;
                    default -> false;
                };
        if (!known || levels[1].equals("STATE")) {
            return rejected(
                    RejectReason.TOPIC_MISMATCH,
                    "not a Sparkplug B topic: spBv1.0/<group>/<NBIRTH|NDATA|NDEATH|DBIRTH|DDATA|DDEATH>/<edge node>[/<device>]");
        }
        metrics.sparkplugMessages.labelValues(type).inc();
        if (type.endsWith("CMD")) {
            // A command to an edge node, such as this gateway's own rebirth requests.
            return none();
        }
        if (retained) {
            return rejected(
                    RejectReason.INVALID_FIELD,
                    "a retained "
                            + type
                            + ", which Sparkplug B forbids: the broker sends it again at every"
                            + " subscription, and an old birth read then would reset the node's"
                            + " aliases and sequence; not read");
        }
        if (payload.length > settings.maxPayloadBytes()) {
            return rejected(
                    RejectReason.OVERSIZED,
                    "payload has "
                            + payload.length
                            + " bytes, more than sparkplug.max-payload-bytes "
                            + settings.maxPayloadBytes());
        }
        SparkplugPayload message;
        try {
            message = SparkplugPayload.parse(payload);
        } catch (IOException e) {
            return rejected(
                    RejectReason.MALFORMED_PROTOBUF,
                    "not a Sparkplug B payload: "
                            + SensorId.visible(String.valueOf(e.getMessage())));
        }
        String group = levels[1];
        String nodeId = levels[3];
        String device = levels.length == 5 ? levels[4] : null;
        String nodeKey = group + '/' + nodeId;
        Node node = nodes.get(nodeKey);
        switch (type) {
            case "NBIRTH" -> {
                boolean kept = node != null || nodes.size() < MAX_NODES;
                if (kept && (node == null || !node.born)) {
                    online.incrementAndGet();
                }
                node = new Node();
                node.born = true;
                node.bdSeq = bdSeq(message);
                node.lastSeq = message.seq();
                if (kept) {
                    nodes.put(nodeKey, node);
                }
                return readings(group, nodeId, null, node, message, true);
            }
            case "NDEATH" -> {
                long bdSeq = bdSeq(message);
                if (node != null
                        && (bdSeq == ABSENT || node.bdSeq == ABSENT || bdSeq == node.bdSeq)) {
                    nodes.remove(nodeKey);
                    if (node.born) {
                        online.decrementAndGet();
                    }
                    LOG.info("Sparkplug edge node {} died", nodeKey);
                } else {
                    // The will of a connection before the node's latest birth, delivered late.
                    LOG.debug(
                            "Sparkplug edge node {}: NDEATH of an earlier session ignored",
                            nodeKey);
                }
                return none();
            }
            default -> {
                if (node == null) {
                    node = new Node();
                    if (nodes.size() < MAX_NODES) {
                        nodes.put(nodeKey, node);
                        requestRebirth(group, nodeId, node, "its birth certificate was not seen");
                    }
                } else {
                    checkSeq(group, nodeId, node, message.seq());
                }
                if (message.seq() != ABSENT) {
                    node.lastSeq = message.seq();
                }
                if (type.equals("DDEATH")) {
                    return none();
                }
                return readings(group, nodeId, device, node, message, type.equals("DBIRTH"));
            }
        }
    }

    private void checkSeq(String group, String nodeId, Node node, long seq) {
        if (node.lastSeq == ABSENT || seq == ABSENT || seq == (node.lastSeq + 1) % 256) {
            return;
        }
        metrics.sparkplugSequenceGaps.inc();
        requestRebirth(
                group,
                nodeId,
                node,
                "seq " + seq + " followed " + node.lastSeq + ": messages were lost or reordered");
    }

    private void requestRebirth(String group, String nodeId, Node node, String why) {
        long now = limits.clock().millis();
        if (nodes.get(group + '/' + nodeId) != node
                // Beyond MAX_NODES: a node not kept is never asked, so it cannot be asked often.
                || !settings.requestRebirth()
                || (node.lastRebirthRequest != Long.MIN_VALUE
                        && now >= node.lastRebirthRequest
                        && now - node.lastRebirthRequest < REBIRTH_INTERVAL_MILLIS)) {
            return;
        }
        node.lastRebirthRequest = now;
        metrics.sparkplugRebirthRequests.inc();
        LOG.info(
                "Asking Sparkplug edge node {}/{} for its birth certificate: {}",
                group,
                nodeId,
                why);
        commands.publish(
                SparkplugSettings.NAMESPACE + "/" + group + "/NCMD/" + nodeId,
                SparkplugPayload.rebirthRequest(now));
    }

    private MqttPayloadCodec.Decoded readings(
            String group,
            String nodeId,
            String device,
            Node node,
            SparkplugPayload message,
            boolean birth) {
        String deviceKey = device == null ? "" : device;
        Device defined = node.devices.get(deviceKey);
        if (birth) {
            // A device born again may define other metrics and aliases than before.
            if (defined != null) {
                defined.aliases.forEach(node.byAlias::remove);
            }
            defined = new Device();
            node.devices.put(deviceKey, defined);
        }
        List<SensorReading> readings = new ArrayList<>(message.metrics().size());
        Problems problems = new Problems();
        int beyondCap = 0;
        for (SparkplugPayload.Metric m : message.metrics()) {
            Definition known =
                    m.name() != null
                            ? defined == null ? null : defined.byName.get(m.name())
                            : m.alias() != ABSENT ? node.byAlias.get(m.alias()) : null;
            String name = m.name() != null ? m.name() : known == null ? null : known.name();
            if (name == null) {
                if (m.alias() == ABSENT) {
                    problems.add(RejectReason.MISSING_FIELD, "a metric has neither name nor alias");
                } else if (birth) {
                    // A birth is where names are given: asking for it again would not help.
                    problems.add(
                            RejectReason.MISSING_FIELD,
                            "metric alias "
                                    + Long.toUnsignedString(m.alias())
                                    + " has no name in a birth certificate");
                } else {
                    problems.add(
                            RejectReason.UNKNOWN_ALIAS,
                            "metric alias "
                                    + Long.toUnsignedString(m.alias())
                                    + " is not in a birth certificate this gateway has seen");
                    if (!node.born) {
                        // Born since this gateway started, the node defined no such alias, and a
                        // rebirth would bring the same.
                        requestRebirth(
                                group, nodeId, node, "it sent an alias the gateway does not know");
                    }
                }
                continue;
            }
            if (birth) {
                known = new Definition(name, m.datatype(), m.unit());
                defined.byName.put(name, known);
                if (m.alias() != ABSENT) {
                    node.byAlias.put(m.alias(), known);
                    defined.aliases.add(m.alias());
                }
            }
            if (name.equals("bdSeq")
                    || name.startsWith("Node Control/")
                    || name.startsWith("Device Control/")) {
                metrics.sparkplugSkipped.labelValues("control").inc();
                continue;
            }
            if (m.isNull()) {
                metrics.sparkplugSkipped.labelValues("null").inc();
                continue;
            }
            if (m.isTransient()) {
                metrics.sparkplugSkipped.labelValues("transient").inc();
                continue;
            }
            int datatype = m.datatype() != 0 ? m.datatype() : known == null ? 0 : known.datatype();
            String what = "metric '" + SensorId.printable(name) + "'";
            Double value = value(what, datatype, m, problems);
            if (value == null) {
                continue;
            }
            long ts = m.timestamp() != ABSENT ? m.timestamp() : message.timestamp();
            if (ts == ABSENT) {
                problems.add(
                        RejectReason.MISSING_FIELD,
                        what + " has no timestamp, and neither has the payload");
                continue;
            }
            Parsed.Rejected<Long> outside = limits.checkTime(what + "'s timestamp", ts);
            if (outside != null) {
                problems.add(outside.reason(), outside.detail());
                continue;
            }
            String unit = m.unit() != null ? m.unit() : known == null ? null : known.unit();
            unit = unit == null ? "" : unit;
            String unitProblem = SensorReading.unitProblem(what + "'s engUnit", unit);
            if (unitProblem != null) {
                problems.add(RejectReason.INVALID_FIELD, unitProblem);
                continue;
            }
            SensorId sensor;
            try {
                sensor = settings.sensorIdOf(group, nodeId, device, name);
            } catch (IllegalArgumentException e) {
                problems.add(
                        RejectReason.INVALID_FIELD,
                        what + " cannot name a sensor: " + e.getMessage());
                continue;
            }
            if (readings.size() == MAX_READINGS_PER_MESSAGE) {
                // The rest of a birth's definitions are still kept: its node's later data by alias
                // must not be refused, nor a rebirth asked that would bring the same birth.
                beyondCap++;
                continue;
            }
            readings.add(
                    new SensorReading(
                            sensor, ts, value, unit, quality(m.quality()), SensorReading.NO_SEQ));
        }
        if (beyondCap > 0) {
            problems.add(
                    RejectReason.INVALID_FIELD,
                    "the message holds "
                            + (MAX_READINGS_PER_MESSAGE + beyondCap)
                            + " numeric metrics; the first "
                            + MAX_READINGS_PER_MESSAGE
                            + " were read, the rest are in this record only");
        }
        return new MqttPayloadCodec.Decoded(readings, problems.rejection());
    }

    /**
     * A metric's value as a reading's, or null when it is none: not a number (counted as skipped)
     * or wrong (added to {@code problems}).
     */
    private Double value(String what, int datatype, SparkplugPayload.Metric m, Problems problems) {
        int field = m.valueField();
        long bits = m.bits();
        boolean integer =
                field == SparkplugPayload.INT_VALUE || field == SparkplugPayload.LONG_VALUE;
        boolean real =
                field == SparkplugPayload.FLOAT_VALUE || field == SparkplugPayload.DOUBLE_VALUE;
        double value;
        switch (datatype) {
            case SparkplugPayload.INT8,
                    SparkplugPayload.INT16,
                    SparkplugPayload.INT32,
                    SparkplugPayload.INT64,
                    SparkplugPayload.UINT8,
                    SparkplugPayload.UINT16,
                    SparkplugPayload.UINT32,
                    SparkplugPayload.UINT64 -> {
                if (!integer) {
                    return wrongField(what, datatype, field, problems);
                }
                value =
                        switch (datatype) {
                            case SparkplugPayload.INT8 -> (byte) bits;
                            case SparkplugPayload.INT16 -> (short) bits;
                            case SparkplugPayload.INT32 -> (int) bits;
                            case SparkplugPayload.INT64 -> bits;
                            case SparkplugPayload.UINT8 -> bits & 0xFF;
                            case SparkplugPayload.UINT16 -> bits & 0xFFFF;
                            case SparkplugPayload.UINT32 -> bits & 0xFFFF_FFFFL;
                            default -> bits >= 0 ? bits : (bits >>> 1 | bits & 1) * 2.0;
                        };
            }
            case SparkplugPayload.FLOAT, SparkplugPayload.DOUBLE -> {
                if (!real) {
                    return wrongField(what, datatype, field, problems);
                }
                value = m.real();
            }
            case SparkplugPayload.BOOLEAN -> {
                if (field != SparkplugPayload.BOOLEAN_VALUE) {
                    return wrongField(what, datatype, field, problems);
                }
                value = bits;
            }
            case 0 -> {
                // No data type sent, nor known from a birth: only a value that says its own type.
                if (real) {
                    value = m.real();
                } else if (field == SparkplugPayload.BOOLEAN_VALUE) {
                    value = bits;
                } else if (integer) {
                    problems.add(
                            RejectReason.INVALID_FIELD,
                            what
                                    + " has no datatype, which says whether its integer is"
                                    + " signed, and no birth certificate seen named one");
                    return null;
                } else {
                    metrics.sparkplugSkipped.labelValues("not_numeric").inc();
                    return null;
                }
            }
            default -> {
                metrics.sparkplugSkipped.labelValues("not_numeric").inc();
                return null;
            }
        }
        if (!Double.isFinite(value)) {
            problems.add(RejectReason.NOT_FINITE, what + " is " + value + ", not finite");
            return null;
        }
        return value;
    }

    private static Double wrongField(String what, int datatype, int field, Problems problems) {
        problems.add(
                RejectReason.WRONG_TYPE,
                what
                        + " has datatype "
                        + datatype
                        + (field == 0
                                ? " and no value"
                                : " but its value is in field " + field + " of the Metric"));
        return null;
    }

    /**
     * The {@code Quality} property as a reading's quality. Sparkplug B 3.0 names 0 bad, 192 good
     * and 500 stale (read as uncertain: the last value known, not a current one). Ignition 8
     * (through Cirrus Link's modules) sends its 32-bit QualityCode, whose top two bits are the
     * level: 01 uncertain, 10 bad, 11 error (read as bad). Other codes are read as OPC DA's, as
     * older sources send them: 192 to 255 good (Ignition's Good_Provisional to Good_Backfill too),
     * 64 to 127 uncertain, the rest bad.
     */
    static Quality quality(long code) {
        if (code == ABSENT) {
            return Quality.GOOD;
        }
        int level = (int) (code >>> 30) & 3;
        if (level == 1) {
            return Quality.UNCERTAIN;
        }
        if (level != 0) {
            return Quality.BAD;
        }
        int sub = (int) code & 0x3FFF_FFFF;
        if (sub >= 0xC0 && sub <= 0xFF) {
            return Quality.GOOD;
        }
        return sub == 500 || (sub >= 0x40 && sub <= 0x7F) ? Quality.UNCERTAIN : Quality.BAD;
    }

    /** The {@code bdSeq} metric of a node's birth or death certificate, or {@link ABSENT}. */
    private static long bdSeq(SparkplugPayload message) {
        for (SparkplugPayload.Metric m : message.metrics()) {
            if ("bdSeq".equals(m.name())
                    && (m.valueField() == SparkplugPayload.INT_VALUE
                            || m.valueField() == SparkplugPayload.LONG_VALUE)) {
                return m.bits();
            }
        }
        return ABSENT;
    }

    private static MqttPayloadCodec.Decoded none() {
        return new MqttPayloadCodec.Decoded(List.of(), null);
    }

    private static MqttPayloadCodec.Decoded rejected(RejectReason reason, String detail) {
        return new MqttPayloadCodec.Decoded(List.of(), new Parsed.Rejected<>(reason, detail));
    }
}
