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
    public static final String ALERTS = "alerts";

    /** DLQ header: the MQTT topic the bytes arrived on. */
    public static final String HEADER_SOURCE_TOPIC = "dlq.source.topic";

    /** DLQ header: the {@link RejectReason#code()}. */
    public static final String HEADER_REASON = "dlq.reason";

    /** DLQ header: the rejection in words. */
    public static final String HEADER_DETAIL = "dlq.detail";

    /** DLQ header: which gateway rejected it. */
    public static final String HEADER_GATEWAY_ID = "dlq.gateway.id";

    /** DLQ header: receive time, epoch millis as decimal text. */
    public static final String HEADER_RECEIVED_AT = "dlq.received.at";

    private Topics() {}
}
