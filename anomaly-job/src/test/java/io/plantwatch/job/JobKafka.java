package io.plantwatch.job;

import static org.awaitility.Awaitility.await;

import io.plantwatch.infra.EmbeddedKafka;
import io.plantwatch.job.rules.RuleBook;
import io.plantwatch.model.Alert;
import io.plantwatch.model.AvroAlertCodec;
import io.plantwatch.model.AvroReadingCodec;
import io.plantwatch.model.SensorReading;
import io.plantwatch.model.TopicTemplate;
import io.plantwatch.model.Topics;
import io.plantwatch.sim.fleet.AnomalyKind;
import io.plantwatch.sim.fleet.AnomalySpec;
import io.plantwatch.sim.fleet.Emission;
import io.plantwatch.sim.fleet.Fleet;
import io.plantwatch.sim.fleet.FleetSimulation;
import io.plantwatch.sim.fleet.Label;
import io.plantwatch.sim.fleet.SimulationSettings;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The job's tests against Kafka share this: one embedded Kafka (two partitions per topic), the
 * simulator's fleet as data, job settings per topic prefix, producing readings, reading alerts and
 * completeness reports back, and a run on a MiniCluster as a reference.
 */
final class JobKafka implements AutoCloseable {
    /** Sensors of config/fleet.yaml that the tests inject faults into. */
    static final String PRESS1_OIL = "dresden/press-shop/line-1/press-1/oil-temp";

    static final String PRESS1_VIB = "dresden/press-shop/line-1/press-1/bearing-vibration";
    static final String PRESS2_OIL = "dresden/press-shop/line-1/press-2/oil-temp";
    static final String PRESS2_PRESSURE = "dresden/press-shop/line-1/press-2/hydraulic-pressure";
    static final String ZONE1 = "dresden/press-shop/line-2/oven-1/zone-1-temp";
    static final String ZONE2 = "dresden/press-shop/line-2/oven-1/zone-2-temp";
    static final String HUMIDITY = "dresden/press-shop/line-2/oven-1/hall-humidity";

    final EmbeddedKafka kafka;

    /** The job's own settings beyond the tests' topics, and its environment. */
    private final Map<String, String> jobSettings;

    private final Map<String, String> jobEnvironment;

    JobKafka() {
        this(EmbeddedKafka.builder().defaultPartitions(2).build().start(), Map.of(), Map.of());
    }

    private JobKafka(
            EmbeddedKafka kafka,
            Map<String, String> jobSettings,
            Map<String, String> jobEnvironment) {
        this.kafka = kafka;
        this.jobSettings = jobSettings;
        this.jobEnvironment = jobEnvironment;
    }

    /**
     * A Kafka whose clients log in (SASL/PLAIN) as {@code user}, allowed nothing until an ACL says
     * so; the job's settings log in as that user, its login from the environment, as a plant would
     * set it.
     */
    static JobKafka secured(String user) {
        EmbeddedKafka kafka =
                EmbeddedKafka.builder()
                        .defaultPartitions(2)
                        .saslPlain(Map.of(user, java.util.UUID.randomUUID().toString()))
                        .build()
                        .start();
        String login = (String) kafka.clientProperties(user).get("sasl.jaas.config");
        Map<String, String> settings = new java.util.LinkedHashMap<>();
        Map<String, String> env = new java.util.LinkedHashMap<>();
        for (String client : List.of("consumer", "producer")) {
            settings.put("kafka." + client + ".security.protocol", "SASL_PLAINTEXT");
            settings.put("kafka." + client + ".sasl.mechanism", "PLAIN");
            env.put(
                    JobSettings.ENV_PREFIX
                            + "KAFKA_"
                            + client.toUpperCase(java.util.Locale.ROOT)
                            + "_SASL_JAAS_CONFIG",
                    login);
        }
        return new JobKafka(kafka, settings, env);
    }

    String bootstrapServers() {
        return kafka.bootstrapServers();
    }

    static AnomalySpec spec(
            int atSeconds,
            String sensor,
            AnomalyKind kind,
            int seconds,
            Double magnitude,
            Duration delay) {
        return new AnomalySpec(
                Duration.ofSeconds(atSeconds),
                sensor,
                kind,
                Duration.ofSeconds(seconds),
                magnitude,
                delay);
    }

    /** 15 minutes of the shipped fleet at 1 Hz each, ending a few minutes ago. */
    static List<SensorReading> simulate(
            long start, List<AnomalySpec> scenario, List<Label> labels) {
        FleetSimulation sim =
                new FleetSimulation(
                        Fleet.load(Path.of("..", "config", "fleet.yaml")),
                        new SimulationSettings(
                                9,
                                start,
                                Duration.ofMinutes(15),
                                Double.POSITIVE_INFINITY,
                                42,
                                scenario,
                                Set.of(),
                                0,
                                false,
                                new TopicTemplate(
                                        TopicTemplate.DEFAULT_PREFIX,
                                        TopicTemplate.DEFAULT_TEMPLATE)),
                        labels::add);
        List<SensorReading> out = new ArrayList<>();
        while (sim.hasNext()) {
            Emission e = sim.next();
            if (e.type() != Emission.Type.MALFORMED) {
                out.add(e.reading());
            }
        }
        sim.finish();
        return out;
    }

    JobSettings settings(String prefix) {
        return settings(prefix, "at-least-once");
    }

    JobSettings settings(String prefix, String delivery) {
        return settings(prefix, delivery, Map.of());
    }

    /** With {@code more} settings over the test's. */
    JobSettings settings(String prefix, String delivery, Map<String, String> more) {
        Map<String, String> s = settingsMap(prefix, delivery);
        s.putAll(more);
        return JobSettings.load(null, jobEnvironment, s);
    }

    /** The settings of a job whose topics, group and transactions all carry {@code prefix}. */
    Map<String, String> settingsMap(String prefix, String delivery) {
        Map<String, String> s = new java.util.LinkedHashMap<>();
        s.put("kafka.delivery", delivery);
        s.put("kafka.transactional-id-prefix", prefix + "tx");
        s.put("kafka.bootstrap", bootstrapServers());
        s.put("kafka.group-id", prefix + "job");
        s.put("kafka.readings-topic", prefix + Topics.SENSOR_READINGS);
        s.put("kafka.alerts-topic", prefix + Topics.ALERTS);
        s.put("kafka.late-topic", prefix + Topics.SENSOR_READINGS_LATE);
        s.put("kafka.completeness-topic", prefix + Topics.SENSOR_COMPLETENESS);
        s.put("kafka.dlq-topic", prefix + Topics.SENSOR_READINGS_DLQ);
        s.put("checkpoint.interval", "1s");
        s.put("state.backend", "hashmap");
        s.put("watermark.out-of-orderness", "2s");
        s.putAll(jobSettings);
        return s;
    }

    void createTopics(JobSettings settings) {
        kafka.createTopics(
                2,
                settings.readingsTopic(),
                settings.alertsTopic(),
                settings.lateTopic(),
                settings.completenessTopic(),
                settings.dlqTopic());
    }

    /**
     * Writes {@code readings} keyed by sensor, in order, and fails if any was not written. One
     * request in flight: to a topic created a moment before, the first batch was refused (its
     * partition's leader not ready yet) while the next ones were written, and that batch was then
     * lost, which moved every later reading to a lower offset.
     */
    void produce(String topic, List<SensorReading> readings) {
        Properties p = new Properties();
        p.putAll(kafka.clientProperties(EmbeddedKafka.ADMIN));
        p.put("acks", "all");
        p.put("max.in.flight.requests.per.connection", "1");
        AvroReadingCodec codec = new AvroReadingCodec();
        java.util.concurrent.atomic.AtomicReference<Exception> failed =
                new java.util.concurrent.atomic.AtomicReference<>();
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            for (SensorReading r : readings) {
                producer.send(
                        new ProducerRecord<>(
                                topic, r.key().getBytes(StandardCharsets.UTF_8), codec.encode(r)),
                        (metadata, e) -> {
                            if (e != null) {
                                failed.compareAndSet(null, e);
                            }
                        });
            }
            producer.flush();
        }
        if (failed.get() != null) {
            throw new IllegalStateException("a reading was not written to " + topic, failed.get());
        }
    }

    private static final AvroAlertCodec ALERT_CODEC = new AvroAlertCodec();

    private final Map<String, KafkaConsumer<byte[], byte[]>> consumers = new HashMap<>();

    List<ConsumerRecord<byte[], byte[]>> poll(String topic) {
        KafkaConsumer<byte[], byte[]> c =
                consumers.computeIfAbsent(
                        topic,
                        t -> {
                            Properties p = new Properties();
                            p.putAll(kafka.clientProperties(EmbeddedKafka.ADMIN));
                            p.put("group.id", "test-" + t);
                            p.put("auto.offset.reset", "earliest");
                            p.put("isolation.level", "read_committed");
                            KafkaConsumer<byte[], byte[]> consumer =
                                    new KafkaConsumer<>(
                                            p,
                                            new ByteArrayDeserializer(),
                                            new ByteArrayDeserializer());
                            consumer.subscribe(List.of(t));
                            return consumer;
                        });
        List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
        c.poll(Duration.ofMillis(500)).forEach(out::add);
        return out;
    }

    private static final Pattern FIELD = Pattern.compile("\"(\\w+)\":(\\d+)");

    void readCompleteness(String topic, Map<String, List<Map<String, Long>>> into) {
        for (ConsumerRecord<byte[], byte[]> r : poll(topic)) {
            String json = new String(r.value(), StandardCharsets.UTF_8);
            Map<String, Long> fields = new HashMap<>();
            Matcher m = FIELD.matcher(json);
            while (m.find()) {
                fields.put(m.group(1), Long.parseLong(m.group(2)));
            }
            into.computeIfAbsent(
                            new String(r.key(), StandardCharsets.UTF_8), k -> new ArrayList<>())
                    .add(fields);
        }
    }

    /**
     * Every alert event on the topic as "id state", in topic order, once none arrived for three
     * seconds (three checkpoints of the tests' jobs).
     */
    List<String> awaitAlertEvents(String topic) {
        List<String> alerts = new CopyOnWriteArrayList<>();
        java.util.concurrent.atomic.AtomicInteger seen =
                new java.util.concurrent.atomic.AtomicInteger(-1);
        await().atMost(Duration.ofSeconds(60))
                .pollInterval(Duration.ofMillis(500))
                .during(Duration.ofSeconds(3))
                .until(
                        () -> {
                            alerts.addAll(pollAlertEvents(topic));
                            return seen.getAndSet(alerts.size()) == alerts.size();
                        });
        return alerts;
    }

    /** The alert events that arrived since the last poll of the topic, as "id state". */
    List<String> pollAlertEvents(String topic) {
        List<String> events = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> r : poll(topic)) {
            Alert a = ALERT_CODEC.decode(r.value()).value();
            events.add(a.alertId() + " " + a.state());
        }
        return events;
    }

    /**
     * Sends one reading per sensor a minute past the simulated 15 minutes, which moves every
     * watermark past the end, and waits for every sensor's report of the last full minute: then
     * everything the job had to say about the data is out.
     */
    void finishStream(JobSettings settings, List<SensorReading> data, long start) {
        finishStream(settings, data, start, new HashMap<>());
    }

    /** {@link #finishStream(JobSettings, List, long)}, keeping the reports it read. */
    void finishStream(
            JobSettings settings,
            List<SensorReading> data,
            long start,
            Map<String, List<Map<String, Long>>> completeness) {
        long after = start + Duration.ofMinutes(16).toMillis();
        produce(
                settings.readingsTopic(),
                data.stream()
                        .map(SensorReading::sensorId)
                        .distinct()
                        .map(id -> SensorReading.of(id, after, 1.0))
                        .toList());
        long lastMinute = start + 14 * 60_000;
        await().atMost(Duration.ofSeconds(120))
                .until(
                        () -> {
                            readCompleteness(settings.completenessTopic(), completeness);
                            return completeness.size() == 9
                                    && completeness.values().stream()
                                            .allMatch(
                                                    l ->
                                                            l.stream()
                                                                    .anyMatch(
                                                                            m ->
                                                                                    m.get("minute")
                                                                                            >= lastMinute));
                        });
    }

    /** Runs the job over {@code data}; returns every alert event as "id state", in topic order. */
    List<String> runOnMiniCluster(
            String prefix, String delivery, List<SensorReading> data, long start, boolean fail)
            throws Exception {
        JobSettings settings = settings(prefix, delivery);
        createTopics(settings);
        FailOnceAfterCheckpoint.reset();
        StreamExecutionEnvironment env =
                StreamExecutionEnvironment.getExecutionEnvironment(
                        AnomalyJob.flinkConfiguration(settings));
        env.setParallelism(2);
        DataStream<SensorReading> readings = AnomalyJob.source(env, settings);
        if (fail) {
            readings =
                    readings.map(new FailOnceAfterCheckpoint())
                            .returns(SensorReading.class)
                            .uid("fail-once");
        }
        RuleBook rules = AnomalyJob.loadRules(Path.of("..", "config", "rules.yaml"));
        AnomalyJob.sinks(
                AnomalyPipeline.build(readings, settings.pipelineSettings(), rules),
                settings,
                rules);
        JobClient job = env.executeAsync(prefix + "job");
        try {
            int half = data.size() / 2;
            produce(settings.readingsTopic(), data.subList(0, half));
            if (fail) {
                await().atMost(Duration.ofSeconds(60))
                        .untilTrue(FailOnceAfterCheckpoint.CHECKPOINTED);
                FailOnceAfterCheckpoint.ARMED.set(true);
            }
            produce(settings.readingsTopic(), data.subList(half, data.size()));
            if (fail) {
                await().atMost(Duration.ofSeconds(60)).untilTrue(FailOnceAfterCheckpoint.FAILED);
            }
            finishStream(settings, data, start);
            return awaitAlertEvents(settings.alertsTopic());
        } finally {
            job.cancel().get();
        }
    }

    @Override
    public void close() {
        consumers.values().forEach(KafkaConsumer::close);
        kafka.close();
    }
}
