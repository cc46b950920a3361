package io.plantwatch.job;

import io.plantwatch.model.Alert;
import io.plantwatch.model.AvroAlertCodec;
import io.plantwatch.model.AvroReadingCodec;
import io.plantwatch.model.DeadLetters;
import io.plantwatch.model.Parsed;
import io.plantwatch.model.RejectReason;
import io.plantwatch.model.SensorId;
import io.plantwatch.model.SensorReading;
import io.plantwatch.model.Topics;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.metrics.Counter;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The job's Kafka source and sinks, built from {@link JobSettings}. */
public final class KafkaIo {
    private KafkaIo() {}

    /**
     * The job's topics that Kafka does not have, asked at submission: a DLQ or completeness topic
     * that is missing stopped the job only at its first record for it, and then at every restart
     * (see anomaly-job/README.md), long after whoever submitted it had gone home.
     *
     * @throws Exception when Kafka does not answer in {@code timeout}, or answers otherwise (no
     *     right to describe the topics): the caller decides
     */
    public static java.util.List<String> missingTopics(JobSettings s, java.time.Duration timeout)
            throws Exception {
        Properties admin = new Properties();
        admin.setProperty("bootstrap.servers", s.kafkaBootstrap());
        s.consumerOverrides()
                .forEach(
                        (k, v) -> {
                            if (org.apache.kafka.clients.admin.AdminClientConfig.configNames()
                                    .contains(k)) {
                                admin.put(k, v);
                            }
                        });
        int ms = (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
        admin.put("default.api.timeout.ms", ms);
        admin.put("request.timeout.ms", ms);
        java.util.List<String> topics =
                java.util.List.of(
                                s.readingsTopic(),
                                s.alertsTopic(),
                                s.lateTopic(),
                                s.completenessTopic(),
                                s.dlqTopic())
                        .stream()
                        .distinct()
                        .toList();
        java.util.List<String> missing = new java.util.ArrayList<>();
        try (org.apache.kafka.clients.admin.Admin client =
                org.apache.kafka.clients.admin.Admin.create(admin)) {
            var described = client.describeTopics(topics).topicNameValues();
            for (String topic : topics) {
                try {
                    described.get(topic).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
                } catch (java.util.concurrent.ExecutionException e) {
                    if (e.getCause()
                            instanceof
                            org.apache.kafka.common.errors.UnknownTopicOrPartitionException) {
                        missing.add(topic);
                    } else {
                        throw e;
                    }
                }
            }
        }
        return missing;
    }

    public static ReadingsSource readings(JobSettings s) {
        OffsetsInitializer start =
                switch (s.startingOffsets()) {
                    case "EARLIEST" -> OffsetsInitializer.earliest();
                    case "LATEST" -> OffsetsInitializer.latest();
                    default -> OffsetsInitializer.committedOffsets(OffsetResetStrategy.EARLIEST);
                };
        ReadingDeserializer deserializer =
                new ReadingDeserializer(
                        s.readingsKeyedBySensor(),
                        s.startingOffsets().equals("LATEST"),
                        new DeadLetterSettings(
                                s.kafkaBootstrap(), s.producerOverrides(), s.dlqTopic()));
        // As the builder below has them: the overrides win.
        Properties consumer = new Properties();
        consumer.setProperty("bootstrap.servers", s.kafkaBootstrap());
        consumer.setProperty("group.id", s.groupId());
        consumer.putAll(s.consumerOverrides());
        return new ReadingsSource(
                KafkaSource.<SensorReading>builder()
                        .setBootstrapServers(s.kafkaBootstrap())
                        .setGroupId(s.groupId())
                        .setTopics(s.readingsTopic())
                        .setStartingOffsets(start)
                        .setDeserializer(deserializer)
                        .setProperties(s.consumerOverrides())
                        // Only committed records, should a transactional producer ever write
                        // readings.
                        .setProperty("isolation.level", "read_committed")
                        .build(),
                deserializer,
                consumer);
    }

    public static KafkaSink<Alert> alerts(JobSettings s) {
        return sink(s, "alerts", new AlertSerializer(s.alertsTopic()));
    }

    public static KafkaSink<LateReading> late(JobSettings s) {
        return sink(s, "late", new LateSerializer(s.lateTopic()));
    }

    public static KafkaSink<CompletenessReport> completeness(JobSettings s) {
        String topic = s.completenessTopic();
        return sink(
                s,
                "completeness",
                (KafkaRecordSerializationSchema<CompletenessReport>)
                        (c, ctx, ts) ->
                                new ProducerRecord<>(
                                        topic,
                                        null,
                                        c.minute(),
                                        utf8(c.sensorId()),
                                        utf8(c.toJson())));
    }

    /** Alerts keyed by sensor id, Avro in the versioned frame, stamped with their event time. */
    static final class AlertSerializer implements KafkaRecordSerializationSchema<Alert> {
        private static final long serialVersionUID = 1L;
        private final String topic;
        private transient AvroAlertCodec codec;

        AlertSerializer(String topic) {
            this.topic = topic;
        }

        @Override
        public ProducerRecord<byte[], byte[]> serialize(
                Alert a, KafkaSinkContext context, Long timestamp) {
            if (codec == null) {
                codec = new AvroAlertCodec();
            }
            return new ProducerRecord<>(topic, null, a.eventTime(), utf8(a.key()), codec.encode(a));
        }
    }

    /**
     * Late readings in the same frame as {@code sensor-readings}, so any reading consumer reads
     * them; why and against which watermark in the {@code late.*} headers.
     */
    static final class LateSerializer implements KafkaRecordSerializationSchema<LateReading> {
        private static final long serialVersionUID = 1L;
        private final String topic;
        private transient AvroReadingCodec codec;

        LateSerializer(String topic) {
            this.topic = topic;
        }

        @Override
        public ProducerRecord<byte[], byte[]> serialize(
                LateReading l, KafkaSinkContext context, Long timestamp) {
            if (codec == null) {
                codec = new AvroReadingCodec();
            }
            RecordHeaders headers = new RecordHeaders();
            headers.add(new RecordHeader(Topics.HEADER_LATE_REASON, utf8(l.reason())));
            headers.add(
                    new RecordHeader(
                            Topics.HEADER_LATE_WATERMARK, utf8(Long.toString(l.watermark()))));
            return new ProducerRecord<>(
                    topic, null, null, utf8(l.reading().key()), codec.encode(l.reading()), headers);
        }
    }

    private static <T> KafkaSink<T> sink(
            JobSettings s, String name, KafkaRecordSerializationSchema<T> serializer) {
        Properties props = new Properties();
        props.setProperty("compression.type", "lz4");
        props.setProperty("linger.ms", "5");
        props.putAll(s.producerOverrides());
        var builder =
                KafkaSink.<T>builder()
                        .setBootstrapServers(s.kafkaBootstrap())
                        .setKafkaProducerConfig(props)
                        .setRecordSerializer(serializer);
        if (s.exactlyOnce()) {
            builder.setDeliveryGuarantee(DeliveryGuarantee.EXACTLY_ONCE)
                    .setTransactionalIdPrefix(s.transactionalIdPrefix() + "-" + name)
                    .setProperty(
                            "transaction.timeout.ms",
                            Long.toString(s.transactionTimeout().toMillis()));
        } else {
            builder.setDeliveryGuarantee(DeliveryGuarantee.AT_LEAST_ONCE);
        }
        return builder.build();
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** Where and how the readings' dead letters are written: serializable, for each subtask. */
    record DeadLetterSettings(String bootstrap, Properties producerOverrides, String topic)
            implements java.io.Serializable {
        DeadLetters open() {
            return new DeadLetters(bootstrap, producerOverrides, topic, "anomaly-job");
        }
    }

    /**
     * Decodes the Avro frame. A record that does not decode is skipped, counted ({@code
     * readingsUndecodable}), logged with its topic, partition and offset, and kept in the DLQ topic
     * as it came ({@link DeadLetters}, {@code readingsDeadLettered} counts those Kafka
     * acknowledged); the gateway never writes such records, so another producer did. {@link
     * ReadingsSource} waits for the DLQ's acknowledgements before its checkpoint, so a rejected
     * record is either kept or read again after a restore.
     *
     * <p>When the topic is to be keyed by sensor id, a record keyed otherwise is skipped the same
     * way ({@code readingsNotKeyedBySensor}): its sensor's other readings may be in another
     * partition, read by another subtask, and detected on there ({@link InPlaceKeys}).
     *
     * <p>A record whose offset lies past the one expected (the previous record's plus one, or where
     * its partition resumed, from {@link ReadingsSource}) means Kafka no longer had the readings in
     * between when the job came to read them: its retention deleted them while the job was stopped
     * or too far behind, and the consumer moved on to the log's start without a word. They are
     * counted ({@code readingsDeletedUnread}) and logged with the partition and offsets. The
     * gateway's idempotent producer leaves no other gaps; a transactional producer's markers would
     * count too.
     */
    static final class ReadingDeserializer
            implements KafkaRecordDeserializationSchema<SensorReading> {
        private static final long serialVersionUID = 1L;
        private static final Logger LOG = LoggerFactory.getLogger(ReadingDeserializer.class);
        private final boolean keyedBySensor;

        /**
         * Whether a position Kafka no longer has moves to the log's end ({@code starting-offsets:
         * LATEST}) rather than its start: the readings skipped then include ones still in Kafka.
         */
        private final boolean resetsToLatest;

        /** Null only in tests that give no Kafka: rejected records are then only counted. */
        private final DeadLetterSettings deadLetterSettings;

        private transient AvroReadingCodec codec;
        private transient DeadLetters deadLetters;
        private transient Counter undecodable;
        private transient Counter notKeyedBySensor;
        private transient Counter deletedUnread;

        /** Per partition, the offset the next record should have; -1 where not known yet. */
        private transient long[] nextOffsets;

        /**
         * @param keyedBySensor whether a record's key must be its reading's sensor id
         */
        ReadingDeserializer(boolean keyedBySensor, DeadLetterSettings deadLetterSettings) {
            this(keyedBySensor, false, deadLetterSettings);
        }

        ReadingDeserializer(
                boolean keyedBySensor,
                boolean resetsToLatest,
                DeadLetterSettings deadLetterSettings) {
            this.keyedBySensor = keyedBySensor;
            this.resetsToLatest = resetsToLatest;
            this.deadLetterSettings = deadLetterSettings;
        }

        @Override
        public void open(DeserializationSchema.InitializationContext context) {
            codec = new AvroReadingCodec();
            if (deadLetterSettings != null) {
                DeadLetters letters = deadLetterSettings.open();
                deadLetters = letters;
                context.getMetricGroup()
                        .gauge(
                                "readingsDeadLettered",
                                (org.apache.flink.metrics.Gauge<Long>) letters::kept);
                context.getMetricGroup()
                        .gauge(
                                "readingsDeadLetterRefused",
                                (org.apache.flink.metrics.Gauge<Long>) letters::refused);
            }
            undecodable = context.getMetricGroup().counter("readingsUndecodable");
            notKeyedBySensor = context.getMetricGroup().counter("readingsNotKeyedBySensor");
            deletedUnread = context.getMetricGroup().counter("readingsDeletedUnread");
        }

        /**
         * Waits until Kafka has acknowledged every record kept in the DLQ so far: before the
         * source's checkpoint records a position past them.
         *
         * @throws DeadLetters.DeadLetterException when one could not be written
         */
        void awaitDeadLettersKept() {
            if (deadLetters != null) {
                deadLetters.awaitKept();
            }
        }

        void close() {
            if (deadLetters != null) {
                deadLetters.close();
            }
        }

        /** Partition {@code partition}'s reading resumes at {@code offset}. */
        void resumesAt(int partition, long offset) {
            nextOffset(partition);
            nextOffsets[partition] = offset;
        }

        @Override
        public void deserialize(
                ConsumerRecord<byte[], byte[]> record, Collector<SensorReading> out) {
            int partition = record.partition();
            long expected = nextOffset(partition);
            if (expected >= 0 && record.offset() > expected) {
                skipped(record, expected);
            }
            nextOffsets[partition] = record.offset() + 1;
            Parsed<SensorReading> parsed =
                    record.value() == null ? null : codec.decode(record.value());
            if (parsed != null && parsed.isOk()) {
                SensorReading r = parsed.value();
                if (!keyedBySensor || isKeyOf(record.key(), r.sensorId())) {
                    out.collect(r);
                    return;
                }
                notKeyedBySensor.inc();
                reject(
                        record,
                        RejectReason.NOT_KEYED_BY_SENSOR,
                        "keyed otherwise than by its sensor id " + r.key());
                // One line per thousand: a topic keyed otherwise would flood the log.
                if (notKeyedBySensor.getCount() % 1000 == 1) {
                    LOG.warn(
                            "Skipped a reading of {} at {}-{} offset {} keyed {}, not by its sensor"
                                    + " id ({} so far): this job reads a topic keyed by sensor id;"
                                    + " set kafka.readings-keyed-by-sensor: false for one keyed"
                                    + " otherwise",
                            r.key(),
                            record.topic(),
                            record.partition(),
                            record.offset(),
                            record.key() == null
                                    ? "null"
                                    : "'" + new String(record.key(), StandardCharsets.UTF_8) + "'",
                            notKeyedBySensor.getCount());
                }
                return;
            }
            undecodable.inc();
            Parsed.Rejected<?> rejected =
                    parsed == null
                            ? (Parsed.Rejected<?>)
                                    Parsed.<SensorReading>rejected(
                                            RejectReason.CORRUPT_RECORD, "no value")
                            : (Parsed.Rejected<?>) parsed;
            LOG.warn(
                    "Skipped an undecodable record at {}-{} offset {}: {}{}",
                    record.topic(),
                    record.partition(),
                    record.offset(),
                    rejected.message(),
                    deadLetters == null ? "" : "; sent to " + deadLetters.topic());
            reject(record, rejected.reason(), rejected.detail());
        }

        private void reject(
                ConsumerRecord<byte[], byte[]> record, RejectReason reason, String why) {
            if (deadLetters != null) {
                deadLetters.keep(record, reason, why);
            }
        }

        /** The offset partition {@code partition}'s next record should have, -1 if unknown. */
        private long nextOffset(int partition) {
            if (nextOffsets == null || partition >= nextOffsets.length) {
                int had = nextOffsets == null ? 0 : nextOffsets.length;
                nextOffsets =
                        nextOffsets == null
                                ? new long[partition + 1]
                                : Arrays.copyOf(nextOffsets, partition + 1);
                Arrays.fill(nextOffsets, had, nextOffsets.length, -1);
            }
            return nextOffsets[partition];
        }

        private void skipped(ConsumerRecord<byte[], byte[]> record, long expected) {
            long n = record.offset() - expected;
            deletedUnread.inc(n);
            LOG.warn(
                    "Skipped {} readings on {}-{} (offsets {} to {}): Kafka no longer had them when"
                            + " this job came to read them, probably deleted by the topic's"
                            + " retention (or the appliance's disk reclaim) while the job was"
                            + " stopped or behind{}; resuming at {}. The completeness reports"
                            + " count them as missing for their sensors. Raise the topic's"
                            + " retention.ms (kafka.retention of the appliance) if it happens"
                            + " again",
                    n,
                    record.topic(),
                    record.partition(),
                    expected,
                    record.offset() - 1,
                    resetsToLatest
                            ? ", and with starting-offsets LATEST the job moved on to the log's"
                                    + " end, past readings Kafka still had"
                            : "",
                    record.offset());
        }

        /**
         * Whether {@code key} is the UTF-8 of {@code id.id()}, compared part by part so that no
         * string is built for the check.
         */
        static boolean isKeyOf(byte[] key, SensorId id) {
            if (key == null) {
                return false;
            }
            int at = part(key, 0, id.site());
            at = part(key, separator(key, at), id.area());
            at = part(key, separator(key, at), id.line());
            at = part(key, separator(key, at), id.machine());
            at = part(key, separator(key, at), id.sensor());
            if (at == NOT_ASCII) {
                return Arrays.equals(key, id.id().getBytes(StandardCharsets.UTF_8));
            }
            return at == key.length;
        }

        private static final int MISMATCH = -1;
        private static final int NOT_ASCII = -2;

        /** Past {@code part} at {@code at} in {@code key}, or MISMATCH, or NOT_ASCII. */
        private static int part(byte[] key, int at, String part) {
            if (at < 0) {
                return at;
            }
            int n = part.length();
            if (at + n > key.length) {
                return MISMATCH;
            }
            for (int i = 0; i < n; i++) {
                char c = part.charAt(i);
                if (c >= 0x80) {
                    return NOT_ASCII;
                }
                if (key[at + i] != c) {
                    return MISMATCH;
                }
            }
            return at + n;
        }

        private static int separator(byte[] key, int at) {
            if (at < 0) {
                return at;
            }
            return at < key.length && key[at] == '/' ? at + 1 : MISMATCH;
        }

        @Override
        public TypeInformation<SensorReading> getProducedType() {
            return SensorReadingTypeInfo.INSTANCE;
        }
    }
}
