package io.plantwatch.job;

import io.plantwatch.model.KafkaClientSettings;
import io.plantwatch.model.LayeredSettings;
import io.plantwatch.model.Topics;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.config.ConfigDef;

/**
 * Every setting of the anomaly job: defaults, then {@code config/job.yaml}, then environment
 * variables ({@code PLANTWATCH_JOB_} + key, e.g. {@code PLANTWATCH_JOB_KAFKA_BOOTSTRAP}), then
 * flags. Kafka client settings pass through under {@code kafka.consumer.} and {@code
 * kafka.producer.}.
 */
public final class JobSettings {
    public static final String ENV_PREFIX = "PLANTWATCH_JOB_";
    static final String CONSUMER_PREFIX = "kafka.consumer.";
    static final String PRODUCER_PREFIX = "kafka.producer.";

    private static final Map<String, String> DEFAULTS = new LinkedHashMap<>();

    static {
        DEFAULTS.put("job.name", "plantwatch-anomaly-job");
        DEFAULTS.put("job.parallelism", null);
        DEFAULTS.put("kafka.bootstrap", "127.0.0.1:9092");
        DEFAULTS.put("kafka.group-id", "plantwatch-anomaly-job");
        DEFAULTS.put("kafka.readings-topic", Topics.SENSOR_READINGS);
        DEFAULTS.put("kafka.alerts-topic", Topics.ALERTS);
        DEFAULTS.put("kafka.late-topic", Topics.SENSOR_READINGS_LATE);
        DEFAULTS.put("kafka.completeness-topic", Topics.SENSOR_COMPLETENESS);
        DEFAULTS.put("kafka.dlq-topic", Topics.SENSOR_READINGS_DLQ);
        DEFAULTS.put("kafka.readings-keyed-by-sensor", "true");
        DEFAULTS.put("kafka.starting-offsets", "committed");
        DEFAULTS.put("kafka.delivery", "at-least-once");
        DEFAULTS.put("kafka.transactional-id-prefix", "plantwatch-anomaly-job");
        DEFAULTS.put("kafka.transaction-timeout", "10m");
        DEFAULTS.put("watermark.out-of-orderness", "2s");
        DEFAULTS.put("watermark.idleness", "30s");
        DEFAULTS.put("watermark.interval", "20ms");
        DEFAULTS.put("pipeline.buffer-timeout", "10ms");
        DEFAULTS.put("limits.max-future-skew", "1m");
        DEFAULTS.put("state.ttl", "24h");
        DEFAULTS.put("state.backend", "hashmap");
        DEFAULTS.put("checkpoint.interval", "10s");
        DEFAULTS.put("checkpoint.dir", null);
        DEFAULTS.put("rules.file", null);
        DEFAULTS.put("influx.url", null);
        DEFAULTS.put("influx.org", "plantwatch");
        DEFAULTS.put("influx.bucket", "plantwatch");
        DEFAULTS.put("influx.token", null);
        DEFAULTS.put("influx.token-file", null);
        DEFAULTS.put("influx.batch-size", "5000");
        DEFAULTS.put("influx.gzip", "false");
        DEFAULTS.put("influx.max-retry-delay", "30s");
        DEFAULTS.put("influx.spool-dir", null);
        DEFAULTS.put("influx.spool-max-mb", "1024");
    }

    private final LayeredSettings settings;

    private JobSettings(LayeredSettings settings) {
        this.settings = settings;
        validate();
    }

    /**
     * @param file config/job.yaml, or null
     * @param env usually {@link System#getenv()}
     * @param flags from the command line by key
     * @throws io.plantwatch.model.ConfigException naming the key, value and source
     */
    public static JobSettings load(Path file, Map<String, String> env, Map<String, String> flags) {
        return new JobSettings(
                LayeredSettings.load(
                        DEFAULTS,
                        List.of(CONSUMER_PREFIX, PRODUCER_PREFIX),
                        ENV_PREFIX,
                        file,
                        env,
                        flags));
    }

    private void validate() {
        kafkaBootstrap();
        dlqTopic();
        readingsKeyedBySensor();
        startingOffsets();
        delivery();
        outOfOrderness();
        idleness();
        watermarkInterval();
        bufferTimeout();
        maxFutureSkew();
        stateTtl();
        stateBackend();
        checkpointInterval();
        transactionTimeout();
        checkKafkaClientSettings();
        influx();
        if (settings.has("job.parallelism")) {
            parallelism();
        }
    }

    /**
     * Settings a running job cannot take from a savepoint of itself: the topics it reads and writes
     * and their Kafka group (the savepoint holds positions in those topics), how readings are keyed
     * and the parallelism (where each sensor's state lies), the delivery's transactions, where
     * checkpoints and spooled series are kept, and what the appliance sized at its start from them:
     * the state backend its checkpoint folder is marked with (a start refuses checkpoints of
     * another), and the checkpoint interval its disk reclaim keeps readings behind by.
     */
    private static final List<String> FRESH_START_ONLY =
            List.of(
                    "job.parallelism",
                    "kafka.bootstrap",
                    "kafka.consumer.bootstrap.servers",
                    "kafka.producer.bootstrap.servers",
                    "kafka.group-id",
                    "kafka.consumer.group.id",
                    "state.backend",
                    "checkpoint.interval",
                    "kafka.readings-topic",
                    "kafka.alerts-topic",
                    "kafka.late-topic",
                    "kafka.completeness-topic",
                    "kafka.dlq-topic",
                    "kafka.readings-keyed-by-sensor",
                    "kafka.delivery",
                    "kafka.transactional-id-prefix",
                    "checkpoint.dir",
                    "rules.file",
                    "influx.spool-dir");

    /**
     * The settings of these that differ from {@code running}'s and that the job takes only at a
     * fresh start, not when it resumes from a savepoint with them, each as {@code key (old ->
     * new)}; empty when it can.
     */
    public List<String> freshStartOnlyChanges(JobSettings running) {
        return settings.changesOf(running.settings, FRESH_START_ONLY);
    }

    /** Whether every setting is as in {@code other}: a job file changed only in its comments. */
    public boolean sameAs(JobSettings other) {
        return settings.sameAs(other.settings);
    }

    /**
     * These settings, read from {@code file}, as a change of the job running with {@code running}
     * that it resumes from its savepoint with: null when nothing it runs with changed (a comment, a
     * key its caller sets itself), else this.
     *
     * @throws ConfigException naming each of {@link #freshStartOnlyChanges} with its old and new
     *     value
     */
    public JobSettings checkedAsChangeOf(JobSettings running, Path file) {
        if (sameAs(running)) {
            return null;
        }
        settings.refuseChangesOf(running.settings, FRESH_START_ONLY, file, "the job");
        return this;
    }

    public String jobName() {
        return settings.required("job.name", "the job's name on the cluster");
    }

    /** 0 when unset: the cluster's default. */
    public int parallelism() {
        return settings.has("job.parallelism")
                ? settings.intValue("job.parallelism", 1, 10_000)
                : 0;
    }

    public String kafkaBootstrap() {
        return settings.required("kafka.bootstrap", "host:port[,host:port]");
    }

    public String groupId() {
        return settings.required("kafka.group-id", "the consumer group");
    }

    public String readingsTopic() {
        return settings.required("kafka.readings-topic", "a topic");
    }

    public String alertsTopic() {
        return settings.required("kafka.alerts-topic", "a topic");
    }

    public String lateTopic() {
        return settings.required("kafka.late-topic", "a topic");
    }

    public String completenessTopic() {
        return settings.required("kafka.completeness-topic", "a topic");
    }

    /**
     * Where records of the readings topic the job cannot take are kept: the gateway's DLQ by
     * default, told apart by their {@code dlq.rejected.by} header.
     */
    public String dlqTopic() {
        String dlq = settings.required("kafka.dlq-topic", "a topic");
        if (dlq.equals(readingsTopic())) {
            throw settings.bad("kafka.dlq-topic", "must differ from kafka.readings-topic");
        }
        return dlq;
    }

    /**
     * Whether the readings topic is keyed by sensor id, as the gateway writes it: then readings are
     * detected on where they are read, and a record keyed otherwise is skipped, counted and kept in
     * the DLQ.
     */
    public boolean readingsKeyedBySensor() {
        return settings.booleanValue("kafka.readings-keyed-by-sensor");
    }

    /** COMMITTED (falling back to the earliest), EARLIEST or LATEST. */
    public String startingOffsets() {
        return settings.oneOf("kafka.starting-offsets", "COMMITTED", "EARLIEST", "LATEST");
    }

    public boolean exactlyOnce() {
        return delivery().startsWith("EXACTLY");
    }

    private String delivery() {
        return settings.oneOf(
                "kafka.delivery", "AT-LEAST-ONCE", "AT_LEAST_ONCE", "EXACTLY-ONCE", "EXACTLY_ONCE");
    }

    public String transactionalIdPrefix() {
        return settings.required("kafka.transactional-id-prefix", "for exactly-once delivery");
    }

    public Duration transactionTimeout() {
        Duration d = settings.duration("kafka.transaction-timeout");
        if (d.compareTo(Duration.ofSeconds(1)) < 0) {
            throw settings.bad("kafka.transaction-timeout", "must be at least 1s");
        }
        return d;
    }

    /**
     * Kafka's clients check their settings only when the running job creates them, where a mistake
     * (a missing semicolon in a login, a misspelt value) restarts the job over and over; so they
     * are checked at submission, with Kafka's own rules.
     */
    private void checkKafkaClientSettings() {
        refuse(CONSUMER_PREFIX, consumerOverrides(), ConsumerConfig.configDef());
        refuse(PRODUCER_PREFIX, producerOverrides(), ProducerConfig.configDef());
    }

    private void refuse(String prefix, Properties overrides, ConfigDef definition) {
        KafkaClientSettings.Refusal refusal = KafkaClientSettings.refusal(overrides, definition);
        if (refusal != null) {
            throw settings.bad(prefix + refusal.key(), refusal.reason());
        }
    }

    public Properties consumerOverrides() {
        return settings.withPrefix(CONSUMER_PREFIX);
    }

    public Properties producerOverrides() {
        return settings.withPrefix(PRODUCER_PREFIX);
    }

    public Duration outOfOrderness() {
        return settings.duration("watermark.out-of-orderness");
    }

    public Duration idleness() {
        return settings.duration("watermark.idleness");
    }

    public Duration watermarkInterval() {
        Duration d = settings.duration("watermark.interval");
        if (d.isZero() || d.isNegative()) {
            throw settings.bad("watermark.interval", "must be longer than 0");
        }
        return d;
    }

    /**
     * How long a record may wait in a network buffer before it is sent on (Flink's
     * execution.buffer-timeout.interval): shorter lowers detection latency and costs throughput.
     */
    public Duration bufferTimeout() {
        Duration d = settings.duration("pipeline.buffer-timeout");
        if (d.isZero() || d.isNegative()) {
            throw settings.bad("pipeline.buffer-timeout", "must be longer than 0");
        }
        return d;
    }

    public Duration maxFutureSkew() {
        return settings.duration("limits.max-future-skew");
    }

    /** How long a silent sensor's state is kept; 0 keeps it forever. */
    public Duration stateTtl() {
        return settings.duration("state.ttl");
    }

    /** ROCKSDB or HASHMAP. */
    public String stateBackend() {
        return settings.oneOf("state.backend", "ROCKSDB", "HASHMAP");
    }

    /**
     * 0 turns checkpointing off, which only a replay that needs no restart should do: a restart
     * then loses every sensor's state, and Kafka offsets are never committed. Flink refuses an
     * interval under 10 ms.
     */
    public Duration checkpointInterval() {
        Duration d = settings.duration("checkpoint.interval");
        if (!d.isZero() && d.toMillis() < 10) {
            throw settings.bad("checkpoint.interval", "must be 0 (off) or at least 10ms");
        }
        return d;
    }

    /** A URI such as file:///var/lib/plantwatch/checkpoints or s3://bucket/path; null: none. */
    public String checkpointDir() {
        return settings.get("checkpoint.dir");
    }

    public Path rulesFile() {
        String f = settings.get("rules.file");
        return f == null || f.isBlank() ? null : Path.of(f);
    }

    /** Settings for the operators, plain values that travel with the job graph. */
    public AnomalyPipeline.Settings pipelineSettings() {
        return new AnomalyPipeline.Settings(
                maxFutureSkew().toMillis(),
                stateTtl().toMillis(),
                influx() != null,
                readingsKeyedBySensor());
    }

    public Map<String, String> describe() {
        return settings.describe();
    }

    /**
     * Where readings, minute statistics and alerts are stored; null when {@code influx.url} is not
     * set. The token comes from {@code influx.token} (best from the environment,
     * PLANTWATCH_JOB_INFLUX_TOKEN) or the first line of {@code influx.token-file}.
     */
    private static String blankToNull(String v) {
        return v == null || v.isBlank() ? null : v;
    }

    public io.plantwatch.job.series.InfluxSettings influx() {
        String url = settings.get("influx.url");
        if (url == null || url.isBlank()) {
            return null;
        }
        if (!url.startsWith("http://") && !url.startsWith("https://")) {
            throw settings.bad("influx.url", "must start with http:// or https://");
        }
        // Blank is unset: the appliance passes its own token one way and blanks the other.
        String token = blankToNull(settings.get("influx.token"));
        String file = blankToNull(settings.get("influx.token-file"));
        if (token != null && file != null) {
            throw settings.bad("influx.token", "and influx.token-file are both set; keep one");
        }
        if (file != null) {
            Path p = Path.of(file);
            if (!java.nio.file.Files.isReadable(p)) {
                throw settings.bad("influx.token-file", "names a file that cannot be read: " + p);
            }
            token =
                    new String(
                            io.plantwatch.model.Secrets.firstLine(p, "influx.token-file"),
                            java.nio.charset.StandardCharsets.UTF_8);
            if (token.isBlank()) {
                throw settings.bad("influx.token-file", "names an empty file: " + p);
            }
        }
        return new io.plantwatch.job.series.InfluxSettings(
                url,
                settings.required("influx.org", "the InfluxDB organisation"),
                settings.required("influx.bucket", "the InfluxDB bucket"),
                token,
                settings.intValue("influx.batch-size", 1, 100_000),
                settings.booleanValue("influx.gzip"),
                settings.duration("influx.max-retry-delay"),
                settings.get("influx.spool-dir"),
                settings.intValue("influx.spool-max-mb", 1, 1_000_000) * 1024L * 1024L);
    }
}
