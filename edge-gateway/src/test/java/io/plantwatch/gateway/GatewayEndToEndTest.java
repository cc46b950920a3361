package io.plantwatch.gateway;

import static io.plantwatch.gateway.GatewayHarness.config;
import static io.plantwatch.gateway.GatewayHarness.distinct;
import static io.plantwatch.gateway.GatewayHarness.gapsAndDisorder;
import static io.plantwatch.gateway.GatewayHarness.header;
import static io.plantwatch.gateway.GatewayHarness.run;
import static io.plantwatch.gateway.GatewayHarness.settings;
import static io.plantwatch.gateway.GatewayHarness.simulate;
import static org.assertj.core.api.Assertions.assertThat;

import com.hivemq.client.mqtt.MqttClient;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import io.plantwatch.infra.KafkaExtension;
import io.plantwatch.infra.MqttBrokerExtension;
import io.plantwatch.model.SensorReading;
import io.plantwatch.model.TopicTemplate;
import io.plantwatch.model.Topics;
import io.plantwatch.sim.fleet.AnomalyKind;
import io.plantwatch.sim.fleet.Emission;
import io.plantwatch.sim.fleet.Fleet;
import io.plantwatch.sim.fleet.FleetSimulation;
import io.plantwatch.sim.fleet.SimulationSettings;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** The gateway between HiveMQ CE and Kafka, driven by the simulator. */
class GatewayEndToEndTest {
    @RegisterExtension static final KafkaExtension kafka = new KafkaExtension();
    @RegisterExtension static final MqttBrokerExtension mqtt = new MqttBrokerExtension();

    private static Map<String, String> settingsFor(String name) {
        Map<String, String> s = settings(name, mqtt.uri(), kafka.bootstrapServers());
        kafka.kafka().createTopics(3, name + "-readings", name + "-dlq");
        return s;
    }

    @Test
    void hundredThousandReadingsArriveCompleteAndInOrder() throws Exception {
        try (Gateway gateway = Gateway.start(config(settingsFor("bulk")));
                KafkaReadings kafkaReadings =
                        new KafkaReadings(kafka.bootstrapServers(), "bulk-readings")) {
            long published = simulate(run(mqtt.uri(), "bulk", 50, 20000, "5s", "--seed", "3"));
            assertThat(published).isEqualTo(100_000);
            List<ConsumerRecord<String, byte[]>> records =
                    kafkaReadings.readAtLeast(100_000, Duration.ofSeconds(90));
            Map<String, List<SensorReading>> bySensor = KafkaReadings.bySensor(records);
            assertThat(bySensor).hasSize(50);
            assertThat(records).hasSize(100_000);
            assertThat(distinct(bySensor)).isEqualTo(100_000);
            assertThat(gapsAndDisorder(bySensor)).isEmpty();

            HttpResponse<String> metrics = GatewayHarness.get(gateway.httpPort(), "/metrics");
            assertThat(metrics.statusCode()).isEqualTo(200);
            assertThat(metrics.body())
                    .contains("plantwatch_gateway_received_total 100000.0")
                    .contains("plantwatch_gateway_produced_total 100000.0")
                    .contains("plantwatch_gateway_in_flight 0.0")
                    .contains("plantwatch_gateway_kafka_send_latency_seconds_count 100000");
            HttpResponse<String> health = GatewayHarness.get(gateway.httpPort(), "/health");
            assertThat(health.statusCode()).isEqualTo(200);
            assertThat(health.body())
                    .contains("\"status\":\"UP\"")
                    .contains("\"mqtt\":\"connected\"");
        }
    }

    @Test
    void everyMalformedKindEndsInTheDlqWithItsReasonAndReadingsAroundItAreUnaffected()
            throws Exception {
        Instant start = Instant.parse("2026-01-01T00:00:00Z");
        try (Gateway gateway = Gateway.start(config(settingsFor("bad")));
                KafkaReadings readings =
                        new KafkaReadings(kafka.bootstrapServers(), "bad-readings");
                KafkaReadings dlq = new KafkaReadings(kafka.bootstrapServers(), "bad-dlq")) {
            long published =
                    simulate(
                            run(
                                    mqtt.uri(),
                                    "bad",
                                    5,
                                    50,
                                    "30m",
                                    "--speed",
                                    "max",
                                    "--start-time",
                                    start.toString(),
                                    "--seed",
                                    "11",
                                    "--anomalies",
                                    "malformed",
                                    "--anomaly-rate",
                                    "60"));
            // The same seed in this JVM says which bad payloads were sent, and why each is bad.
            List<Emission> malformed = new ArrayList<>();
            FleetSimulation replica =
                    new FleetSimulation(
                            Fleet.generated(5),
                            new SimulationSettings(
                                    50,
                                    start.toEpochMilli(),
                                    Duration.ofMinutes(30),
                                    Double.POSITIVE_INFINITY,
                                    11,
                                    List.of(),
                                    Set.of(AnomalyKind.MALFORMED),
                                    60,
                                    false,
                                    new TopicTemplate("bad", TopicTemplate.DEFAULT_TEMPLATE)),
                            l -> {});
            replica.forEachRemaining(
                    e -> {
                        if (e.type() == Emission.Type.MALFORMED) {
                            malformed.add(e);
                        }
                    });
            assertThat(malformed).isNotEmpty();

            List<ConsumerRecord<String, byte[]>> dead =
                    dlq.readAtLeast(malformed.size(), Duration.ofSeconds(60));
            assertThat(dead).hasSize(malformed.size());
            List<String> expected =
                    malformed.stream()
                            .map(
                                    e ->
                                            e.topic()
                                                    + " "
                                                    + e.expectedRejection().code()
                                                    + " "
                                                    + new String(
                                                            e.payload(), StandardCharsets.UTF_8))
                            .toList();
            List<String> actual =
                    dead.stream()
                            .map(
                                    r ->
                                            header(r, Topics.HEADER_SOURCE_TOPIC)
                                                    + " "
                                                    + header(r, Topics.HEADER_REASON)
                                                    + " "
                                                    + new String(r.value(), StandardCharsets.UTF_8))
                            .toList();
            assertThat(actual).containsExactlyInAnyOrderElementsOf(expected);
            assertThat(expected.stream().map(s -> s.split(" ")[1]).distinct().count())
                    .as("several reasons")
                    .isGreaterThan(3);
            ConsumerRecord<String, byte[]> first = dead.get(0);
            assertThat(header(first, Topics.HEADER_GATEWAY_ID)).isEqualTo("bad");
            assertThat(Long.parseLong(header(first, Topics.HEADER_RECEIVED_AT)))
                    .isCloseTo(
                            System.currentTimeMillis(),
                            org.assertj.core.data.Offset.offset(120_000L));
            assertThat(header(first, Topics.HEADER_DETAIL)).isNotBlank();

            Map<String, List<SensorReading>> bySensor =
                    KafkaReadings.bySensor(
                            readings.readAtLeast((int) published, Duration.ofSeconds(60)));
            assertThat(distinct(bySensor)).isEqualTo(published);
            // Malformed payloads took the place of readings, so seq has holes here; order must
            // hold.
            bySensor.forEach(
                    (sensor, list) ->
                            assertThat(list.stream().mapToLong(SensorReading::seq).toArray())
                                    .as(sensor)
                                    .isSorted()
                                    .doesNotHaveDuplicates());
            assertThat(GatewayHarness.get(gateway.httpPort(), "/metrics").body())
                    .contains("plantwatch_gateway_dlq_total{reason=\"malformed_json\"}");
        }
    }

    /**
     * A plant of four kinds of device on one gateway: a PLC bridge with its own field names and
     * epoch seconds, a power meter that publishes only its number and has no clock, a press line's
     * PLC that publishes one message per machine and cycle, and devices that send design.md's
     * payload. Each is read in its format; what does not fit its format goes to the DLQ, and the
     * detail names the format that was applied.
     */
    @Test
    void devicesThatWriteTheirReadingsDifferentlyAreEachReadInTheirFormat(@TempDir Path dir)
            throws Exception {
        String name = "formats";
        Path file = dir.resolve("gateway.yaml");
        Files.writeString(
                file,
                """
                payload-formats:
                  - name: plc
                    sensors: "hall-2/**"
                    ts-field: timestamp
                    value-field: temp
                    epoch: s
                    default-unit: degC
                  - name: meter
                    sensors: "*/utilities/*/*/power"
                    type: value
                    default-unit: W
                  - name: press-line
                    sensors: "*/*/*/*/cycle-data"
                    type: fields
                    units: {temp: degC, pressure: bar}
                """);
        URI broker = URI.create(mqtt.uri());
        Mqtt5BlockingClient device =
                MqttClient.builder()
                        .useMqttVersion5()
                        .serverHost(broker.getHost())
                        .serverPort(broker.getPort())
                        .buildBlocking();
        device.connect();
        // Kept by the broker from before the gateway subscribes: the meter's old value, and a
        // PLC's reading that carries its own time.
        device.publishWith()
                .topic(name + "/hall-1/utilities/meters/m-3/power")
                .qos(MqttQos.AT_LEAST_ONCE)
                .retain(true)
                .payload("999".getBytes(StandardCharsets.UTF_8))
                .send();
        device.publishWith()
                .topic(name + "/hall-2/press/line-1/press-3/temp-3")
                .qos(MqttQos.AT_LEAST_ONCE)
                .retain(true)
                .payload(
                        "{\"timestamp\": 1764064000, \"temp\": 60}"
                                .getBytes(StandardCharsets.UTF_8))
                .send();
        try (Gateway gateway =
                        Gateway.start(GatewayConfig.load(file, Map.of(), settingsFor(name)));
                KafkaReadings readings =
                        new KafkaReadings(kafka.bootstrapServers(), name + "-readings");
                KafkaReadings dlq = new KafkaReadings(kafka.bootstrapServers(), name + "-dlq")) {
            long before = System.currentTimeMillis();
            Map<String, String> sent = new LinkedHashMap<>();
            sent.put(
                    "hall-2/press/line-1/press-3/temp-1",
                    "{\"timestamp\": 1764064800.25, \"temp\": 71.5}");
            sent.put("hall-1/utilities/meters/m-1/power", "1234.5");
            sent.put(
                    "hall-3/press/line-2/press-7/cycle-data",
                    "{\"ts\": 1764064800000, \"seq\": 5, \"temp\": 64.5, \"pressure\": 210,"
                            + " \"strokes\": 31, \"state\": \"RUN\", \"force\": NaN}");
            sent.put(
                    "hall-1/press/line-1/press-3/temp-1",
                    "{\"ts\": 1764064800000, \"value\": 70, \"seq\": 1}");
            sent.put("hall-1/utilities/meters/m-2/power", "ON");
            sent.put("hall-2/press/line-1/press-3/temp-2", "{\"ts\": 1764064800000, \"value\": 1}");
            sent.forEach(
                    (sensor, payload) ->
                            device.publishWith()
                                    .topic(name + "/" + sensor)
                                    .qos(MqttQos.AT_LEAST_ONCE)
                                    .payload(payload.getBytes(StandardCharsets.UTF_8))
                                    .send());

            Map<String, SensorReading> read = new LinkedHashMap<>();
            KafkaReadings.bySensor(readings.readAtLeast(7, Duration.ofSeconds(60)))
                    .forEach((sensor, list) -> read.put(sensor, list.get(0)));
            long after = System.currentTimeMillis();
            assertThat(read).hasSize(7);
            assertThat(
                            List.of("temp", "pressure", "strokes").stream()
                                    .map(s -> read.get("hall-3/press/line-2/press-7/" + s))
                                    .map(
                                            r ->
                                                    r.value()
                                                            + " "
                                                            + r.unit()
                                                            + " "
                                                            + r.seq()
                                                            + " "
                                                            + r.timestamp()))
                    .containsExactly(
                            "64.5 degC 5 1764064800000",
                            "210.0 bar 5 1764064800000",
                            "31.0  5 1764064800000");
            assertThat(read.get("hall-2/press/line-1/press-3/temp-3").timestamp())
                    .isEqualTo(1764064000000L);
            SensorReading plc = read.get("hall-2/press/line-1/press-3/temp-1");
            assertThat(plc.timestamp()).isEqualTo(1764064800250L);
            assertThat(plc.value()).isEqualTo(71.5);
            assertThat(plc.unit()).isEqualTo("degC");
            SensorReading meter = read.get("hall-1/utilities/meters/m-1/power");
            assertThat(meter.timestamp()).isBetween(before, after);
            assertThat(meter.value()).isEqualTo(1234.5);
            assertThat(meter.unit()).isEqualTo("W");
            SensorReading plain = read.get("hall-1/press/line-1/press-3/temp-1");
            assertThat(plain.timestamp()).isEqualTo(1764064800000L);
            assertThat(plain.seq()).isEqualTo(1);

            List<String> dead =
                    dlq.readAtLeast(4, Duration.ofSeconds(60)).stream()
                            .map(GatewayHarness::dlqLine)
                            .toList();
            assertThat(dead)
                    .containsExactlyInAnyOrder(
                            name
                                    + "/hall-1/utilities/meters/m-2/power wrong_type payload must be"
                                    + " a number alone (e.g. 21.5), found 'ON' (payload format"
                                    + " 'meter')",
                            name
                                    + "/hall-2/press/line-1/press-3/temp-2 missing_field timestamp"
                                    + " is missing (payload format 'plc')",
                            name
                                    + "/hall-3/press/line-2/press-7/cycle-data not_finite force is"
                                    + " NaN, not finite (payload format 'press-line')",
                            name
                                    + "/hall-1/utilities/meters/m-3/power retained_without_time a"
                                    + " retained message, kept by the broker from before: its device"
                                    + " has no time of its own, so when it was measured is unknown"
                                    + " (payload format 'meter')");
            // Eight messages, two retained, became seven readings and four DLQ records, and Kafka
            // took every one (GatewayKafkaAuthorizationTest: acknowledged with the last).
            GatewayHarness.awaitMetrics(
                    gateway,
                    30,
                    m ->
                            m.contains("plantwatch_gateway_received_total 8.0")
                                    .contains("plantwatch_gateway_produced_total 7.0")
                                    .contains("plantwatch_gateway_in_flight 0.0"));
        } finally {
            // Retained messages stay in the broker the tests share.
            for (String sensor :
                    List.of(
                            "hall-1/utilities/meters/m-3/power",
                            "hall-2/press/line-1/press-3/temp-3")) {
                device.publishWith()
                        .topic(name + "/" + sensor)
                        .qos(MqttQos.AT_LEAST_ONCE)
                        .retain(true)
                        .payload(new byte[0])
                        .send();
            }
            device.disconnect();
        }
    }

    /**
     * A Sparkplug B edge node that was born before the gateway started, as Eclipse Tahu encodes it:
     * the gateway announces itself on STATE, asks the node for its birth when its data arrives by
     * alias, reads the births and data that follow, and says it went away when it stops.
     */
    @Test
    void aSparkplugEdgeNodeIsReadAsAHostApplicationReadsIt() throws Exception {
        String name = "sparkplug";
        String group = "e2e-" + name;
        Map<String, String> settings = settingsFor(name);
        settings.put("sparkplug.groups", group);
        settings.put("sparkplug.host-id", "plantwatch-e2e");
        URI broker = URI.create(mqtt.uri());
        Mqtt5BlockingClient node =
                MqttClient.builder()
                        .useMqttVersion5()
                        .serverHost(broker.getHost())
                        .serverPort(broker.getPort())
                        .buildBlocking();
        node.connect();
        java.util.concurrent.BlockingQueue<String> heard =
                new java.util.concurrent.LinkedBlockingQueue<>();
        node.toAsync()
                .subscribeWith()
                .topicFilter("spBv1.0/STATE/plantwatch-e2e")
                .qos(MqttQos.AT_LEAST_ONCE)
                .callback(
                        p ->
                                heard.add(
                                        "STATE "
                                                + new String(
                                                        p.getPayloadAsBytes(),
                                                        StandardCharsets.UTF_8)))
                .send()
                .get();
        node.toAsync()
                .subscribeWith()
                .topicFilter("spBv1.0/" + group + "/NCMD/line-2")
                .qos(MqttQos.AT_LEAST_ONCE)
                .callback(
                        p ->
                                heard.add(
                                        "NCMD "
                                                + SparkplugDecoderTest.rebirthOf(
                                                        p.getPayloadAsBytes())))
                .send()
                .get();
        long t = System.currentTimeMillis() - 1000;
        java.util.function.BiConsumer<String, byte[]> publish =
                (type, payload) ->
                        node.publishWith()
                                .topic("spBv1.0/" + group + "/" + type)
                                .qos(MqttQos.AT_LEAST_ONCE)
                                .payload(payload)
                                .send();
        try (KafkaReadings readings =
                        new KafkaReadings(kafka.bootstrapServers(), name + "-readings");
                KafkaReadings dlq = new KafkaReadings(kafka.bootstrapServers(), name + "-dlq")) {
            Gateway gateway = Gateway.start(config(settings));
            try {
                String state = heard.poll(30, java.util.concurrent.TimeUnit.SECONDS);
                assertThat(state).matches("STATE \\{\"online\":true,\"timestamp\":\\d+}");
                // A will of an earlier connection overwrites it: the gateway puts it right.
                node.publishWith()
                        .topic("spBv1.0/STATE/plantwatch-e2e")
                        .qos(MqttQos.AT_LEAST_ONCE)
                        .retain(true)
                        .payload(
                                "{\"online\": false, \"timestamp\": 1}"
                                        .getBytes(StandardCharsets.UTF_8))
                        .send();
                assertThat(heard.poll(30, java.util.concurrent.TimeUnit.SECONDS))
                        .isEqualTo("STATE {\"online\": false, \"timestamp\": 1}");
                assertThat(heard.poll(30, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo(state);

                // Data by alias from a birth the gateway never saw: to the DLQ, and a rebirth
                // asked.
                publish.accept(
                        "DDATA/line-2/press-7",
                        SparkplugDecoderTest.encode(
                                9L,
                                t,
                                SparkplugDecoderTest.byAlias(
                                        20,
                                        org.eclipse.tahu.message.model.MetricDataType.Float,
                                        40f)));
                assertThat(heard.poll(30, java.util.concurrent.TimeUnit.SECONDS))
                        .isEqualTo("NCMD Node Control/Rebirth=true");
                publish.accept(
                        "NBIRTH/line-2",
                        SparkplugDecoderTest.encode(
                                0L,
                                t,
                                SparkplugDecoderTest.bdSeq(1),
                                SparkplugDecoderTest.metric(
                                        "Node Control/Rebirth",
                                        null,
                                        org.eclipse.tahu.message.model.MetricDataType.Boolean,
                                        false),
                                SparkplugDecoderTest.metric(
                                        "Cabinet Temp",
                                        1L,
                                        org.eclipse.tahu.message.model.MetricDataType.Double,
                                        31.5)));
                publish.accept(
                        "DBIRTH/line-2/press-7",
                        SparkplugDecoderTest.encode(
                                1L,
                                t,
                                SparkplugDecoderTest.withProperties(
                                        SparkplugDecoderTest.metric(
                                                "Hydraulics/Oil Temp",
                                                20L,
                                                org.eclipse.tahu.message.model.MetricDataType.Float,
                                                41f),
                                        "degC",
                                        192),
                                SparkplugDecoderTest.metric(
                                        "Program",
                                        21L,
                                        org.eclipse.tahu.message.model.MetricDataType.String,
                                        "P-12")));
                publish.accept(
                        "DDATA/line-2/press-7",
                        SparkplugDecoderTest.encode(
                                2L,
                                t + 500,
                                SparkplugDecoderTest.byAlias(
                                        20,
                                        org.eclipse.tahu.message.model.MetricDataType.Float,
                                        42.5f)));

                List<String> read =
                        readings.readAtLeast(3, Duration.ofSeconds(60)).stream()
                                .map(
                                        r -> {
                                            SensorReading reading =
                                                    new io.plantwatch.model.AvroReadingCodec()
                                                            .decode(r.value())
                                                            .value();
                                            return r.key()
                                                    + " "
                                                    + reading.value()
                                                    + " "
                                                    + reading.unit()
                                                    + " "
                                                    + (reading.timestamp() - t);
                                        })
                                .toList();
                String press = group + "/default/line-2/press-7/";
                assertThat(read)
                        .containsExactlyInAnyOrder(
                                group + "/default/line-2/default/Cabinet Temp 31.5  0",
                                press + "Hydraulics.Oil Temp 41.0 degC 0",
                                press + "Hydraulics.Oil Temp 42.5 degC 500");
                List<String> dead =
                        dlq.readAtLeast(1, Duration.ofSeconds(60)).stream()
                                .map(GatewayHarness::dlqLine)
                                .toList();
                assertThat(dead)
                        .containsExactly(
                                "spBv1.0/"
                                        + group
                                        + "/DDATA/line-2/press-7 unknown_alias metric alias 20 is"
                                        + " not in a birth certificate this gateway has seen");

                assertThat(GatewayHarness.get(gateway.httpPort(), "/metrics").body())
                        .contains("plantwatch_gateway_sparkplug_nodes_online 1.0");
                publish.accept(
                        "NDEATH/line-2",
                        SparkplugDecoderTest.encode(null, null, SparkplugDecoderTest.bdSeq(1)));
                GatewayHarness.awaitMetrics(
                        gateway,
                        30,
                        m ->
                                m.contains(
                                                "plantwatch_gateway_sparkplug_messages_total{type=\"NDEATH\"} 1.0")
                                        .contains("plantwatch_gateway_sparkplug_nodes_online 0.0")
                                        .contains(
                                                "plantwatch_gateway_sparkplug_rebirth_requests_total 1.0")
                                        .contains(
                                                "plantwatch_gateway_sparkplug_metrics_skipped_total{why=\"not_numeric\"} 1.0")
                                        .contains("plantwatch_gateway_received_total 5.0")
                                        .contains("plantwatch_gateway_produced_total 3.0")
                                        .contains("plantwatch_gateway_in_flight 0.0"));
            } finally {
                gateway.close();
            }
            assertThat(heard.poll(30, java.util.concurrent.TimeUnit.SECONDS))
                    .matches("STATE \\{\"online\":false,\"timestamp\":\\d+}");
        } finally {
            // The STATE is retained in the broker the tests share.
            node.publishWith()
                    .topic("spBv1.0/STATE/plantwatch-e2e")
                    .qos(MqttQos.AT_LEAST_ONCE)
                    .retain(true)
                    .payload(new byte[0])
                    .send();
            node.disconnect();
        }
    }

    /**
     * The simulator as Sparkplug B edge nodes (sensor-sim run --sparkplug): with the sensor-id
     * template that mirrors its mapping, every reading arrives under its fleet's sensor id, in
     * order, and nothing goes to the DLQ.
     */
    @Test
    void theSimulatorsSparkplugFleetArrivesUnderItsOwnSensorIds() throws Exception {
        String name = "sparkplug-sim";
        Map<String, String> settings = settingsFor(name);
        settings.put("sparkplug.groups", "site-1");
        settings.put("sparkplug.sensor-id", "{group}/{node}/{device}/{metric}");
        try (Gateway gateway = Gateway.start(config(settings));
                KafkaReadings readings =
                        new KafkaReadings(kafka.bootstrapServers(), name + "-readings")) {
            long published =
                    simulate(run(mqtt.uri(), name, 40, 2000, "4s", "--seed", "5", "--sparkplug"));
            assertThat(published).isEqualTo(8000);
            Map<String, List<SensorReading>> bySensor =
                    KafkaReadings.bySensor(readings.readAtLeast(8000, Duration.ofSeconds(60)));
            assertThat(bySensor).hasSize(40);
            assertThat(bySensor.keySet())
                    .allMatch(id -> id.matches("site-1/area-1/line-[12]/machine-\\d+/[a-z]+-1"));
            assertThat(bySensor.values()).allMatch(list -> list.size() == 200);
            for (List<SensorReading> list : bySensor.values()) {
                for (int i = 1; i < list.size(); i++) {
                    assertThat(list.get(i).timestamp()).isGreaterThan(list.get(i - 1).timestamp());
                }
                assertThat(list.get(0).unit()).isNotEmpty();
            }
            // The births (a node, two lines) and the death, besides the readings; nothing in the
            // DLQ, no rebirth asked.
            GatewayHarness.awaitMetrics(
                    gateway,
                    30,
                    m ->
                            m.contains("plantwatch_gateway_received_total 8004.0")
                                    .contains("plantwatch_gateway_produced_total 8000.0")
                                    .doesNotContain("plantwatch_gateway_dlq_total{")
                                    .contains(
                                            "plantwatch_gateway_sparkplug_rebirth_requests_total 0.0")
                                    .contains(
                                            "plantwatch_gateway_sparkplug_sequence_gaps_total 0.0")
                                    .contains("plantwatch_gateway_sparkplug_nodes_online 0.0"));
        }
    }

    /** A number of the simulator's summary line, {@code name=N}. */
    private static int summary(java.io.StringWriter out, String name) {
        java.util.regex.Matcher m =
                java.util.regex.Pattern.compile("\\b" + name + "=([0-9]+) ")
                        .matcher(out.toString());
        assertThat(m.find()).as(out.toString()).isTrue();
        return Integer.parseInt(m.group(1));
    }

    /**
     * The simulator's malformed Sparkplug payloads (protobuf that does not parse, sent as data
     * without a seq of their own) are set aside as such, whole, and break no node's sequence.
     */
    @Test
    void theSimulatorsMalformedSparkplugPayloadsAreSetAsideAndBreakNoSequence() throws Exception {
        String name = "sparkplug-malformed";
        Map<String, String> settings = settingsFor(name);
        settings.put("sparkplug.groups", "site-1");
        settings.put("sparkplug.sensor-id", "{group}/{node}/{device}/{metric}");
        Path scenario = Files.createTempFile("sparkplug-malformed", ".yaml");
        Files.writeString(
                scenario,
                "anomalies:\n"
                        + "  - {at: 1s, sensor: \"site-1/area-1/line-1/**\", kind: malformed,"
                        + " duration: 500ms}\n");
        try (Gateway gateway = Gateway.start(config(settings));
                KafkaReadings dlq = new KafkaReadings(kafka.bootstrapServers(), name + "-dlq")) {
            java.io.StringWriter out = new java.io.StringWriter();
            assertThat(
                            io.plantwatch.sim.SensorSim.mainWithExitCode(
                                    new java.io.PrintWriter(out, true),
                                    new java.io.PrintWriter(new java.io.StringWriter(), true),
                                    run(
                                            mqtt.uri(),
                                            name,
                                            4,
                                            200,
                                            "3s",
                                            "--seed",
                                            "5",
                                            "--sparkplug",
                                            "--scenario",
                                            scenario.toString())))
                    .isZero();
            int published = summary(out, "published");
            int malformed = summary(out, "malformed");
            assertThat(malformed).isGreaterThanOrEqualTo(3);
            // Every message taken in first (the readings, the malformed ones, the node's and its
            // line's births and the death), then: every malformed one set aside and no other.
            double received = published + malformed + 3;
            GatewayHarness.awaitMetrics(
                    gateway,
                    60,
                    m ->
                            m.contains("plantwatch_gateway_received_total " + received)
                                    .contains(
                                            "plantwatch_gateway_dlq_total{reason=\"malformed_protobuf\"} "
                                                    + (double) malformed));
            assertThat(GatewayHarness.get(gateway.httpPort(), "/metrics").body())
                    .contains("plantwatch_gateway_produced_total " + (double) published)
                    .contains("plantwatch_gateway_sparkplug_sequence_gaps_total 0.0")
                    .contains("plantwatch_gateway_sparkplug_rebirth_requests_total 0.0");
            List<ConsumerRecord<String, byte[]>> dead =
                    dlq.readAtLeast(malformed, Duration.ofSeconds(60));
            assertThat(dead).hasSize(malformed);
            assertThat(dead)
                    .allSatisfy(
                            r ->
                                    assertThat(GatewayHarness.dlqLine(r))
                                            .startsWith(
                                                    "spBv1.0/site-1/DDATA/area-1/line-1"
                                                            + " malformed_protobuf "));
            assertThat(dead.stream().map(r -> java.util.HexFormat.of().formatHex(r.value())))
                    .as("kept whole, each kind of the simulator's")
                    .contains("127f08", "0f01", "08ffffffffffffffffffffff");
        }
    }
}
