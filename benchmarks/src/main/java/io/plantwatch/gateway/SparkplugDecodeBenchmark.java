package io.plantwatch.gateway;

import io.plantwatch.model.MqttPayloadCodec;
import io.plantwatch.model.ReadingLimits;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.eclipse.tahu.message.SparkplugBPayloadEncoder;
import org.eclipse.tahu.message.model.Metric;
import org.eclipse.tahu.message.model.MetricDataType;
import org.eclipse.tahu.message.model.SparkplugBPayload;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What the gateway's decoding of one Sparkplug B data message costs, against design.md's JSON of
 * one reading in the same run: a DDATA of one metric and of five metrics by alias (as Ignition
 * sends them once born), and of five by name, as Eclipse Tahu encodes them, over {@code devices}
 * edge nodes' devices visited in turn, each born in the set-up, each message's seq following the
 * last. In package {@code io.plantwatch.gateway}, as the decoder is the gateway's own.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class SparkplugDecodeBenchmark {

    @Param({"json", "sparkplug-1-alias", "sparkplug-5-alias", "sparkplug-5-name"})
    String message;

    @Param({"1000", "10000"})
    int devices;

    private static final int METRICS = 5;

    private MqttPayloadCodec json;
    private SparkplugDecoder sparkplug;
    private String[] topics;
    private byte[] jsonPayload;

    /** By seq: the data message with that seq. */
    private final byte[][] data = new byte[256][];

    private int next;
    private int pass;

    @Setup
    public void setUp() throws Exception {
        long now = System.currentTimeMillis();
        json = MqttPayloadCodec.defaults();
        jsonPayload =
                ("{\"ts\": "
                                + now
                                + ", \"value\": 71.25, \"unit\": \"degC\", \"quality\": \"GOOD\","
                                + " \"seq\": 42}")
                        .getBytes(StandardCharsets.UTF_8);
        sparkplug =
                new SparkplugDecoder(
                        new SparkplugSettings(
                                List.of("+"),
                                SparkplugSettings.DEFAULT_SENSOR_ID,
                                null,
                                true,
                                262_144),
                        ReadingLimits.defaults(),
                        (topic, payload) -> {
                            throw new IllegalStateException("asked " + topic + " for a rebirth");
                        },
                        new GatewayMetrics());
        int metrics = message.equals("sparkplug-1-alias") ? 1 : METRICS;
        boolean byName = message.endsWith("-name");
        List<Metric> birth = new ArrayList<>();
        for (int m = 0; m < metrics; m++) {
            birth.add(
                    new Metric.MetricBuilder("Press/Sensor " + m, MetricDataType.Double, 70.0 + m)
                            .alias((long) m)
                            .timestamp(null)
                            .createMetric());
        }
        for (int seq = 0; seq < 256; seq++) {
            List<Metric> values = new ArrayList<>();
            for (int m = 0; m < metrics; m++) {
                values.add(
                        (byName
                                        ? new Metric.MetricBuilder(
                                                "Press/Sensor " + m, MetricDataType.Double, 71.25)
                                        : new Metric.MetricBuilder(
                                                (long) m, MetricDataType.Double, 71.25))
                                .timestamp(null)
                                .createMetric());
            }
            data[seq] = encode(seq, now, values);
        }
        topics = new String[devices];
        for (int i = 0; i < devices; i++) {
            String node = "spBv1.0/site/%s/line-" + i;
            topics[i] = String.format(node, "DDATA") + "/press-" + i;
            if (!message.equals("json")) {
                check(
                        sparkplug.decode(
                                String.format(node, "NBIRTH"), encode(0, now, List.of()), false));
                check(
                        sparkplug.decode(
                                String.format(node, "DBIRTH") + "/press-" + i,
                                encode(1, now, birth),
                                false));
            } else {
                topics[i] =
                        "plant/site/area-"
                                + (i % 7)
                                + "/line-"
                                + (i % 13)
                                + "/machine-"
                                + i
                                + "/temp";
            }
        }
        pass = 2;
    }

    private static byte[] encode(long seq, long now, List<Metric> metrics) throws Exception {
        SparkplugBPayload.SparkplugBPayloadBuilder b =
                new SparkplugBPayload.SparkplugBPayloadBuilder()
                        .setSeq(seq)
                        .setTimestamp(new Date(now));
        b.addMetrics(metrics);
        return new SparkplugBPayloadEncoder().getBytes(b.createPayload(), false);
    }

    private static MqttPayloadCodec.Decoded check(MqttPayloadCodec.Decoded d) {
        if (d.rejected() != null) {
            throw new IllegalStateException(d.rejected().message());
        }
        return d;
    }

    @Benchmark
    public MqttPayloadCodec.Decoded decodeOneMessage() {
        String topic = topics[next];
        MqttPayloadCodec.Decoded d =
                message.equals("json")
                        ? json.decodeAll(topic, jsonPayload, false)
                        : sparkplug.decode(topic, data[pass & 0xFF], false);
        if (++next == topics.length) {
            next = 0;
            pass++;
        }
        return check(d);
    }
}
