package io.plantwatch.model;

/** Kafka topic names and DLQ header names: one definition that services and tests share. */
public final class Topics {

    /** Valid readings, keyed by sensor id, Avro in the {@link AvroReadingCodec} frame. */
    public static final String SENSOR_READINGS = "sensor-readings";

    /** The original bytes of rejected input, with the {@code dlq.*} headers below. */
    public static final String SENSOR_READINGS_DLQ = "sensor-readings-dlq";

    /** Readings that arrived later than the job's allowed lateness, or stamped too far ahead. */
    public static final String SENSOR_READINGS_LATE = "sensor-readings-late";

    /**
     * Per sensor and event-time minute: readings received, missing (gaps in {@code seq}) and
     * duplicates, as JSON, keyed by sensor id.
     */
    public static final String SENSOR_COMPLETENESS = "sensor-completeness";

    /** Late-path header: why the job set the reading aside ({@code late} or {@code future}). */
    public static final String HEADER_LATE_REASON = "late.reason";

    /** Late-path header: the job's watermark when the reading arrived, epoch millis as text. */
    public static final String HEADER_LATE_WATERMARK = "late.watermark";

    /** Alert events keyed by sensor id. */
    /**
     * The MQTT namespace of Sparkplug B ({@code spBv1.0/<group>/<type>/<node>[/<device>]}), which
     * the edge gateway reads and the simulator publishes in.
     */
    public static final String SPARKPLUG_B_NAMESPACE = "spBv1.0";

    public static final String ALERTS = "alerts";

    /** Records of {@link #ALERTS} alerting could not decode, with the {@code dlq.*} headers. */
    public static final String ALERTS_DLQ = "alerts-dlq";

    /**
     * DLQ header: the MQTT topic the bytes arrived on; for a Kafka record a consumer rejected, its
     * Kafka topic.
     */
    public static final String HEADER_SOURCE_TOPIC = "dlq.source.topic";

    /** DLQ header: a rejected Kafka record's partition in its source topic, as decimal text. */
    public static final String HEADER_SOURCE_PARTITION = "dlq.source.partition";

    /**
     * DLQ header: a rejected Kafka record's offset in its source partition, as decimal text. With
     * the partition it tells a record kept twice (read again after a restore) from two records.
     */
    public static final String HEADER_SOURCE_OFFSET = "dlq.source.offset";

    /**
     * DLQ header: which consumer rejected a Kafka record ({@code anomaly-job}, {@code alerting}).
     */
    public static final String HEADER_REJECTED_BY = "dlq.rejected.by";

    /** DLQ header: the {@link RejectReason#code()}. */
    public static final String HEADER_REASON = "dlq.reason";

    /** DLQ header: the rejection in words. */
    public static final String HEADER_DETAIL = "dlq.detail";

    /** DLQ header: which gateway rejected it. */
    public static final String HEADER_GATEWAY_ID = "dlq.gateway.id";

    /**
     * DLQ header: receive time (for a Kafka record a consumer rejected, the time of the rejection),
     * epoch millis as decimal text.
     */
    public static final String HEADER_RECEIVED_AT = "dlq.received.at";

    private Topics() {}
}
