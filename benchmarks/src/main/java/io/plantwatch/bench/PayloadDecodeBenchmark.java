package io.plantwatch.bench;

import io.plantwatch.model.MqttPayloadCodec;
import io.plantwatch.model.PayloadFormat;
import io.plantwatch.model.PayloadFormats;
import io.plantwatch.model.ReadingLimits;
import io.plantwatch.model.SensorGlob;
import io.plantwatch.model.TopicTemplate;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
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
 * What the gateway's decoding of one MQTT message costs, per payload format, over a fleet of {@code
 * sensors} topics visited in turn: design.md's JSON with no {@code payload-formats} (the baseline),
 * the same JSON read through three {@code payload-formats} entries where the third matches, the
 * same with its value and unit nested (read by JSON pointers, through the payload's tree), a bare
 * value, and a machine's message of three readings ({@code type: fields}). The broker and Kafka,
 * which cost far more per message, are in {@code bench/gateway.sh}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class PayloadDecodeBenchmark {

    @Param({"json", "json-third-format", "json-nested", "value", "fields-3"})
    String format;

    @Param({"1000", "100000"})
    int sensors;

    private MqttPayloadCodec codec;
    private String[] topics;
    private byte[] payload;
    private int next;

    @Setup
    public void setUp() {
        PayloadFormat fields =
                PayloadFormat.DEFAULT.withFields(
                        List.of(), Map.of("temp", "degC", "pressure", "bar"));
        List<PayloadFormats.Named> ahead =
                List.of(
                        new PayloadFormats.Named(
                                "plc", new SensorGlob("hall-2/**"), PayloadFormat.DEFAULT),
                        new PayloadFormats.Named(
                                "meters",
                                new SensorGlob("*/utilities/*/*/power"),
                                PayloadFormat.bareValue("W")));
        PayloadFormats formats =
                switch (format) {
                    case "json" -> PayloadFormats.of(PayloadFormat.DEFAULT);
                    case "json-third-format" ->
                            new PayloadFormats(
                                    PayloadFormat.bareValue(""),
                                    concat(
                                            ahead,
                                            new PayloadFormats.Named(
                                                    "json",
                                                    new SensorGlob("site/**"),
                                                    PayloadFormat.DEFAULT)));
                    case "json-nested" ->
                            PayloadFormats.of(
                                    new PayloadFormat(
                                            "ts",
                                            "/data/value",
                                            "/data/unit",
                                            "quality",
                                            "seq",
                                            false,
                                            ""));
                    case "value" -> PayloadFormats.of(PayloadFormat.bareValue("W"));
                    case "fields-3" -> PayloadFormats.of(fields);
                    default -> throw new IllegalArgumentException(format);
                };
        codec = new MqttPayloadCodec(TopicTemplate.defaults(), ReadingLimits.defaults(), formats);
        topics = new String[sensors];
        for (int i = 0; i < sensors; i++) {
            topics[i] =
                    "plant/site/area-" + (i % 7) + "/line-" + (i % 13) + "/machine-" + i + "/temp";
        }
        String json =
                switch (format) {
                    case "value" -> "71.25";
                    case "fields-3" ->
                            "{\"ts\": "
                                    + System.currentTimeMillis()
                                    + ", \"seq\": 42, \"temp\": 71.25, \"pressure\": 3.5, \"strokes\": 17,"
                                    + " \"state\": \"RUN\"}";
                    case "json-nested" ->
                            "{\"ts\": "
                                    + System.currentTimeMillis()
                                    + ", \"data\": {\"value\": 71.25, \"unit\": \"degC\"},"
                                    + " \"quality\": \"GOOD\", \"seq\": 42}";
                    default ->
                            "{\"ts\": "
                                    + System.currentTimeMillis()
                                    + ", \"value\": 71.25, \"unit\": \"degC\", \"quality\": \"GOOD\","
                                    + " \"seq\": 42}";
                };
        payload = json.getBytes(StandardCharsets.UTF_8);
    }

    private static List<PayloadFormats.Named> concat(
            List<PayloadFormats.Named> a, PayloadFormats.Named b) {
        List<PayloadFormats.Named> all = new java.util.ArrayList<>(a);
        all.add(b);
        return all;
    }

    @Benchmark
    public MqttPayloadCodec.Decoded decodeOneMessage() {
        String topic = topics[next];
        next = next + 1 == topics.length ? 0 : next + 1;
        MqttPayloadCodec.Decoded d = codec.decodeAll(topic, payload, false);
        if (d.rejected() != null) {
            throw new IllegalStateException(d.rejected().message());
        }
        return d;
    }
}
