package io.plantwatch.sim.fleet;

import io.plantwatch.model.SensorId;
import io.plantwatch.model.SensorReading;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Date;
import java.util.Deque;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.eclipse.tahu.message.SparkplugBPayloadDecoder;
import org.eclipse.tahu.message.SparkplugBPayloadEncoder;
import org.eclipse.tahu.message.model.Metric;
import org.eclipse.tahu.message.model.MetricDataType;
import org.eclipse.tahu.message.model.PropertyDataType;
import org.eclipse.tahu.message.model.PropertySet;
import org.eclipse.tahu.message.model.PropertyValue;
import org.eclipse.tahu.message.model.SparkplugBPayload;

/**
 * A fleet's readings as Sparkplug B edge nodes publish them, encoded by Eclipse Tahu: a site is a
 * group, an area an edge node, a line a device, and a sensor the metric {@code machine/sensor}, so
 * a gateway with {@code sparkplug.sensor-id: "{group}/{node}/{device}/{metric}"} reads every
 * reading under the sensor id it has here. Each node is born (NBIRTH) before its first message,
 * each device (DBIRTH, every metric of the line with its alias and {@code engUnit}) before its
 * first data; a reading is a DDATA of one metric sent by alias; each message carries its node's
 * next {@code seq}. A rebirth request ({@link #rebirthRequested}) is answered before the next
 * reading with the node's births; when the readings end, each node's NDEATH. A malformed payload
 * ({@link Emission.Type#MALFORMED}, made by a {@link FleetSimulation} for Sparkplug B) goes out as
 * its sensor's device's DDATA, without a {@code seq} of its own: a gateway sets it aside as
 * protobuf that does not parse, and the node's sequence goes on unbroken.
 *
 * <p>Only the publishing thread calls {@link #next}; rebirth requests may come from any thread.
 */
public final class SparkplugEdgeNodes implements Iterator<Emission> {

    public static final String NAMESPACE = io.plantwatch.model.Topics.SPARKPLUG_B_NAMESPACE;

    private static final class Node {
        final String group;
        final String id;
        long seq = -1;
        long aliases;

        /** By line (device): its metrics by sensor, in the fleet's order. */
        final Map<String, Map<SensorId, Long>> devices = new LinkedHashMap<>();

        final List<String> born = new ArrayList<>();

        Node(String group, String id) {
            this.group = group;
            this.id = id;
        }

        long nextSeq() {
            seq = (seq + 1) % 256;
            return seq;
        }

        String topic(String type, String device) {
            return NAMESPACE
                    + "/"
                    + group
                    + "/"
                    + type
                    + "/"
                    + id
                    + (device == null ? "" : "/" + device);
        }
    }

    private final Iterator<Emission> readings;
    private final Map<String, Node> nodes = new LinkedHashMap<>();
    private final Map<SensorId, String> units = new LinkedHashMap<>();
    private final Deque<Emission> queued = new ArrayDeque<>();
    private final Queue<String> rebirths = new ConcurrentLinkedQueue<>();
    private final SparkplugBPayloadEncoder encoder = new SparkplugBPayloadEncoder();
    private boolean deathsQueued;

    public SparkplugEdgeNodes(Fleet fleet, Iterator<Emission> readings) {
        this.readings = readings;
        for (SimSensor s : fleet.sensors()) {
            SensorId id = s.id();
            Node node =
                    nodes.computeIfAbsent(
                            id.site() + "/" + id.area(), k -> new Node(id.site(), id.area()));
            // Aliases are the node's, across its devices.
            node.devices
                    .computeIfAbsent(id.line(), k -> new LinkedHashMap<>())
                    .put(id, node.aliases++);
            units.put(id, s.unit());
        }
    }

    /** The filter of the commands (NCMD) sent to this fleet's edge nodes. */
    public static String commandFilter() {
        return NAMESPACE + "/+/NCMD/+";
    }

    /**
     * A command arrived on {@code topic}: when it asks for a rebirth ({@code Node
     * Control/Rebirth}), the node's births go out before its next reading.
     */
    public void rebirthRequested(String topic, byte[] payload) {
        String[] levels = topic.split("/", -1);
        if (levels.length != 4 || !levels[2].equals("NCMD")) {
            return;
        }
        try {
            for (Metric m :
                    new SparkplugBPayloadDecoder().buildFromByteArray(payload, null).getMetrics()) {
                if ("Node Control/Rebirth".equals(m.getName())
                        && Boolean.TRUE.equals(m.getValue())) {
                    rebirths.add(levels[1] + "/" + levels[3]);
                }
            }
        } catch (Exception e) {
            // Not a command this simulator knows: a real node ignores it too.
        }
    }

    /**
     * The connection was lost and is back, a new MQTT session: Sparkplug asks every node to be born
     * again before its next message.
     */
    public void reconnected() {
        for (String key : nodes.keySet()) {
            rebirths.add(key);
        }
    }

    @Override
    public boolean hasNext() {
        if (!queued.isEmpty()) {
            return true;
        }
        while (readings.hasNext()) {
            Emission e = readings.next();
            if (e.type() != Emission.Type.MALFORMED) {
                queue(e);
                return true;
            }
            if (e.reading() != null) {
                SensorId id = e.reading().sensorId();
                queued.add(
                        new Emission(
                                e.publishAtNanos(),
                                nodes.get(id.site() + "/" + id.area()).topic("DDATA", id.line()),
                                e.payload(),
                                e.type(),
                                e.reading(),
                                e.expectedRejection()));
                return true;
            }
        }
        if (!deathsQueued) {
            deathsQueued = true;
            for (Node node : nodes.values()) {
                if (node.seq >= 0) {
                    queued.add(
                            control(
                                    0,
                                    node.topic("NDEATH", null),
                                    payload(null, System.currentTimeMillis(), bdSeq())));
                }
            }
        }
        return !queued.isEmpty();
    }

    @Override
    public Emission next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        return queued.poll();
    }

    private void queue(Emission e) {
        SensorReading r = e.reading();
        SensorId id = r.sensorId();
        Node node = nodes.get(id.site() + "/" + id.area());
        String key;
        while ((key = rebirths.poll()) != null) {
            Node asked = nodes.get(key);
            if (asked != null && asked.seq >= 0) {
                List<String> devices = new ArrayList<>(asked.born);
                asked.born.clear();
                asked.seq = -1;
                birth(asked, e, null);
                for (String device : devices) {
                    birth(asked, e, device);
                }
            }
        }
        if (node.seq < 0) {
            birth(node, e, null);
        }
        if (!node.born.contains(id.line())) {
            birth(node, e, id.line());
        }
        long alias = node.devices.get(id.line()).get(id);
        Metric metric =
                metric(
                        new Metric.MetricBuilder(alias, MetricDataType.Double, r.value()),
                        r.timestamp());
        queued.add(
                new Emission(
                        e.publishAtNanos(),
                        node.topic("DDATA", id.line()),
                        payload(node.nextSeq(), r.timestamp(), metric),
                        e.type(),
                        r,
                        null));
    }

    private void birth(Node node, Emission before, String device) {
        long ts = before.reading().timestamp();
        if (device == null) {
            node.seq = -1;
            queued.add(
                    control(
                            before.publishAtNanos(),
                            node.topic("NBIRTH", null),
                            payload(
                                    node.nextSeq(),
                                    ts,
                                    bdSeq(),
                                    metric(
                                            new Metric.MetricBuilder(
                                                    "Node Control/Rebirth",
                                                    MetricDataType.Boolean,
                                                    false),
                                            null))));
            return;
        }
        List<Metric> metrics = new ArrayList<>();
        for (Map.Entry<SensorId, Long> m : node.devices.get(device).entrySet()) {
            SensorId id = m.getKey();
            try {
                metrics.add(
                        new Metric.MetricBuilder(
                                        id.machine() + "/" + id.sensor(),
                                        MetricDataType.Double,
                                        null)
                                .alias(m.getValue())
                                .timestamp(null)
                                .properties(
                                        new PropertySet.PropertySetBuilder()
                                                .addProperty(
                                                        "engUnit",
                                                        new PropertyValue<>(
                                                                PropertyDataType.String,
                                                                units.get(id)))
                                                .createPropertySet())
                                .createMetric());
            } catch (Exception ex) {
                throw new IllegalStateException(ex);
            }
        }
        node.born.add(device);
        queued.add(
                control(
                        before.publishAtNanos(),
                        node.topic("DBIRTH", device),
                        payload(node.nextSeq(), ts, metrics.toArray(new Metric[0]))));
    }

    private static Emission control(long publishAtNanos, String topic, byte[] payload) {
        return new Emission(publishAtNanos, topic, payload, Emission.Type.CONTROL, null, null);
    }

    private static Metric bdSeq() {
        return metric(new Metric.MetricBuilder("bdSeq", MetricDataType.Int64, 0L), null);
    }

    private static Metric metric(Metric.MetricBuilder b, Long timestamp) {
        try {
            return b.timestamp(timestamp == null ? null : new Date(timestamp)).createMetric();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private byte[] payload(Long seq, long timestamp, Metric... metrics) {
        SparkplugBPayload.SparkplugBPayloadBuilder b =
                new SparkplugBPayload.SparkplugBPayloadBuilder().setTimestamp(new Date(timestamp));
        if (seq != null) {
            b.setSeq(seq);
        }
        for (Metric m : metrics) {
            b.addMetric(m);
        }
        try {
            return encoder.getBytes(b.createPayload(), false);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
