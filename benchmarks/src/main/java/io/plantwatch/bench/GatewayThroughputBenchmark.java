package io.plantwatch.bench;

import com.hivemq.client.mqtt.MqttGlobalPublishFilter;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5AsyncClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import io.plantwatch.gateway.Gateway;
import io.plantwatch.gateway.GatewayConfig;
import io.plantwatch.infra.EmbeddedKafka;
import io.plantwatch.infra.EmbeddedMqttBroker;
import io.plantwatch.infra.MosquittoBroker;
import io.plantwatch.model.AvroReadingCodec;
import io.plantwatch.model.Quality;
import io.plantwatch.model.SensorId;
import io.plantwatch.model.SensorReading;
import io.plantwatch.sim.SensorSim;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The gateway against the raw speed of its parts, in one run on loopback: (a) {@code sensor-sim
 * load} to a plain QoS 1 subscriber on HiveMQ CE, (b) Kafka's own ProducerPerformance with the size
 * of one encoded reading and acks=all, (c) {@code sensor-sim load} through HiveMQ and the gateway
 * into Kafka; then the gateway's receive-to-Kafka-ack latency at 10,000 readings/s.
 *
 * <p>Prints numbers, asserts nothing. Arguments: {@code [readings per measurement] [rounds]},
 * default {@code 80000 3}.
 */
public final class GatewayThroughputBenchmark {
    private static final Pattern RATE = Pattern.compile("\\brate=([0-9.]+)");
    private static final Pattern PUBLISHED = Pattern.compile("\\bpublished=(\\d+)");
    private static final Pattern PERF = Pattern.compile("([0-9.]+) records/sec");

    private GatewayThroughputBenchmark() {}

    /** Where the MQTT side runs. */
    record Broker(String name, String host, int port) {
        String uri() {
            return "tcp://" + host + ":" + port;
        }
    }

    public static void main(String[] args) {
        try {
            run(args);
            System.exit(0);
        } catch (Exception | Error e) {
            e.printStackTrace();
            System.exit(1);
        }
    }

    private static void run(String[] args) throws Exception {
        // Below HiveMQ CE's per-client queue (100,000): beyond it the broker discards silently.
        int count = args.length > 0 ? Integer.parseInt(args[0]) : 80_000;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        List<String> rows = new ArrayList<>();
        // -Dbench.synced-kafka=true: (d) the gateway again into a second broker that syncs its log
        // to disk at every write (log.flush.interval.messages=1), as a single node needs to keep
        // what it acknowledged through a power cut.
        boolean synced = Boolean.getBoolean("bench.synced-kafka");
        try (EmbeddedKafka kafka = EmbeddedKafka.builder().defaultPartitions(3).build().start();
                EmbeddedKafka syncedKafka =
                        synced
                                ? EmbeddedKafka.builder()
                                        .defaultPartitions(3)
                                        .brokerProperty("log.flush.interval.messages", "1")
                                        .build()
                                        .start()
                                : null;
                EmbeddedMqttBroker hivemq = EmbeddedMqttBroker.builder().build().start();
                MosquittoBroker mosquitto =
                        MosquittoBroker.isInstalled()
                                ? MosquittoBroker.builder().build().start()
                                : null) {
            int recordSize =
                    new AvroReadingCodec()
                            .encode(
                                    new SensorReading(
                                            SensorId.parse("site-1/area-1/line-1/machine-1/temp-1"),
                                            1_764_000_000_000L,
                                            21.5,
                                            "degC",
                                            Quality.GOOD,
                                            12_345))
                            .length;
            List<Broker> brokers = new ArrayList<>();
            brokers.add(new Broker("hivemq-ce", hivemq.host(), hivemq.port()));
            if (mosquitto != null) {
                brokers.add(new Broker("mosquitto", mosquitto.host(), mosquitto.port()));
            }
            String only = System.getProperty("bench.brokers", "");
            if (!only.isBlank()) {
                brokers.removeIf(b -> !List.of(only.split(",")).contains(b.name()));
            }
            for (Broker mqtt : brokers) {
                // Warm-up, not reported: the first round ran at half speed while the JIT warmed up.
                rawBroker(mqtt, count / 4, 0);
                throughGateway(mqtt, kafka, count / 4, 0);
                for (int round = 1; round <= rounds; round++) {
                    double broker = rawBroker(mqtt, count, round);
                    double kafkaRate = rawKafka(kafka, recordSize, round);
                    double gateway = throughGateway(mqtt, kafka, count, round);
                    String row =
                            String.format(
                                    Locale.ROOT,
                                    mqtt.name()
                                            + " round %d: (a) broker %,.0f msg/s  (b) kafka %,.0f rec/s (%d B,"
                                            + " acks=all)  (c) gateway %,.0f readings/s  c/min(a,b) = %.2f",
                                    round,
                                    broker,
                                    kafkaRate,
                                    recordSize,
                                    gateway,
                                    gateway / Math.min(broker, kafkaRate));
                    System.out.println(row);
                    rows.add(row);
                    if (syncedKafka != null) {
                        double syncedGateway = throughGateway(mqtt, syncedKafka, count, round);
                        String syncedRow =
                                String.format(
                                        Locale.ROOT,
                                        mqtt.name()
                                                + " round %d: (d) gateway, Kafka synced at every"
                                                + " write %,.0f readings/s  d/c = %.2f",
                                        round,
                                        syncedGateway,
                                        syncedGateway / gateway);
                        System.out.println(syncedRow);
                        rows.add(syncedRow);
                    }
                }
                rows.add(mqtt.name() + " " + latencyAt10k(mqtt, kafka));
                System.out.println(rows.get(rows.size() - 1));
            }
        }
        System.out.println();
        System.out.println("== summary (" + Runtime.getRuntime().availableProcessors() + " cores)");
        rows.forEach(System.out::println);
    }

    /** (a) sensor-sim load to a plain QoS 1 subscriber: messages delivered per second. */
    private static double rawBroker(Broker mqtt, int count, int round) throws Exception {
        String prefix = "raw" + round;
        Mqtt5AsyncClient sub =
                Mqtt5Client.builder()
                        .identifier("bench-sub-" + UUID.randomUUID())
                        .serverHost(mqtt.host())
                        .serverPort(mqtt.port())
                        .buildAsync();
        AtomicLong received = new AtomicLong();
        AtomicLong lastNanos = new AtomicLong();
        sub.publishes(
                MqttGlobalPublishFilter.ALL,
                p -> {
                    received.incrementAndGet();
                    lastNanos.set(System.nanoTime());
                });
        sub.connect().join();
        sub.subscribeWith().topicFilter(prefix + "/#").qos(MqttQos.AT_LEAST_ONCE).send().join();
        long start = System.nanoTime();
        String out =
                sim(
                        "load",
                        "--broker",
                        mqtt.uri(),
                        "--topic-prefix",
                        prefix,
                        "--qos",
                        "1",
                        "--count",
                        Integer.toString(count),
                        "-q");
        long published = group(PUBLISHED, out);
        waitFor(() -> received.get() >= published, 120);
        sub.disconnect().join();
        return received.get() / ((lastNanos.get() - start) / 1e9);
    }

    /** (b) Kafka's own producer performance tool, in its own JVM. */
    private static double rawKafka(EmbeddedKafka kafka, int recordSize, int round)
            throws Exception {
        String topic = "perf-" + round;
        kafka.createTopic(topic, 3);
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p =
                new ProcessBuilder(
                                java,
                                "-Xmx512m",
                                "-cp",
                                System.getProperty("java.class.path"),
                                "org.apache.kafka.tools.ProducerPerformance",
                                "--topic",
                                topic,
                                "--num-records",
                                "1000000",
                                "--record-size",
                                Integer.toString(recordSize),
                                "--throughput",
                                "-1",
                                "--producer-props",
                                "bootstrap.servers=" + kafka.bootstrapServers(),
                                "acks=all")
                        .redirectErrorStream(true)
                        .start();
        String last = "";
        try (BufferedReader r =
                new BufferedReader(
                        new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                if (line.contains("records sent")) {
                    last = line;
                }
            }
        }
        p.waitFor();
        Matcher m = PERF.matcher(last);
        if (!m.find()) {
            throw new IllegalStateException("no result from ProducerPerformance: " + last);
        }
        return Double.parseDouble(m.group(1));
    }

    /** (c) sensor-sim load through HiveMQ and the gateway until Kafka acknowledged them all. */
    private static double throughGateway(Broker mqtt, EmbeddedKafka kafka, int count, int round)
            throws Exception {
        String name = "gw" + round;
        kafka.createTopics(3, name + "-readings", name + "-dlq");
        try (Gateway gateway = Gateway.start(config(name, mqtt, kafka))) {
            long start = System.nanoTime();
            String out =
                    sim(
                            "load",
                            "--broker",
                            mqtt.uri(),
                            "--topic-prefix",
                            name,
                            "--qos",
                            "1",
                            "--count",
                            Integer.toString(count),
                            "-q");
            long published = group(PUBLISHED, out);
            waitFor(() -> gateway.metrics().produced() >= published, 300);
            return published / ((System.nanoTime() - start) / 1e9);
        }
    }

    private static String latencyAt10k(Broker mqtt, EmbeddedKafka kafka) throws Exception {
        kafka.createTopics(3, "lat-readings", "lat-dlq");
        try (Gateway gateway = Gateway.start(config("lat", mqtt, kafka))) {
            String out =
                    sim(
                            "run",
                            "--broker",
                            mqtt.uri(),
                            "--topic-prefix",
                            "lat",
                            "--sensors",
                            "100",
                            "--rate",
                            "10000",
                            "--duration",
                            "20s",
                            "--seed",
                            "1",
                            "-q");
            long published = group(PUBLISHED, out);
            waitFor(() -> gateway.metrics().produced() >= published, 120);
            Matcher rate = RATE.matcher(out);
            rate.find();
            return String.format(
                    Locale.ROOT,
                    "latency at %s readings/s for 20 s (%,d readings): receive -> Kafka ack"
                            + " p50 %.2f ms, p99 %.2f ms",
                    rate.group(1),
                    published,
                    gateway.metrics().latencyQuantile(0.50) * 1e3,
                    gateway.metrics().latencyQuantile(0.99) * 1e3);
        }
    }

    private static GatewayConfig config(String name, Broker mqtt, EmbeddedKafka kafka) {
        Map<String, String> s = new LinkedHashMap<>();
        s.put("gateway.id", name);
        s.put("mqtt.broker", mqtt.uri());
        s.put("mqtt.topic-prefix", name);
        s.put("kafka.bootstrap", kafka.bootstrapServers());
        s.put("kafka.readings-topic", name + "-readings");
        s.put("kafka.dlq-topic", name + "-dlq");
        s.put("http.port", "-1");
        s.put("mqtt.version", System.getProperty("bench.mqtt-version", "5"));
        return GatewayConfig.load(null, Map.of(), s);
    }

    private static String sim(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code =
                SensorSim.mainWithExitCode(
                        new PrintWriter(out, true), new PrintWriter(err, true), args);
        if (code != 0) {
            throw new IllegalStateException("sensor-sim exited " + code + ": " + err + out);
        }
        return out.toString();
    }

    private static long group(Pattern p, String text) {
        Matcher m = p.matcher(text);
        if (!m.find()) {
            throw new IllegalStateException("no " + p + " in " + text);
        }
        return Long.parseLong(m.group(1));
    }

    private static void waitFor(java.util.function.BooleanSupplier done, int seconds)
            throws InterruptedException {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("not done within " + seconds + " s");
            }
            Thread.sleep(5);
        }
    }
}
