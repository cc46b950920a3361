package io.plantwatch.model;

import java.util.Locale;

/**
 * Why an input was rejected. The {@link #code()} is stable: it names DLQ headers and metric labels,
 * so dashboards and alert rules can rely on it.
 */
public enum RejectReason {
    /** Not parseable as JSON (or not UTF-8), or trailing garbage after the object. */
    MALFORMED_JSON,
    /** The payload is not a JSON object. */
    NOT_AN_OBJECT,
    /** A required field ({@code ts}, {@code value}) is absent. */
    MISSING_FIELD,
    /** A field has the wrong JSON type, e.g. a string where a number belongs. */
    WRONG_TYPE,
    /** A field has the right type but an impossible value, e.g. an unknown quality. */
    INVALID_FIELD,
    /** The value is NaN or infinite. */
    NOT_FINITE,
    /** The event time lies further in the future than the allowed clock skew. */
    TIMESTAMP_IN_FUTURE,
    /** The event time lies before the earliest accepted instant (2000-01-01 by default). */
    TIMESTAMP_TOO_OLD,
    /** The payload is larger than the configured limit. */
    OVERSIZED,
    /** The MQTT topic does not match the namespace template. */
    TOPIC_MISMATCH,
    /** A Kafka record is not in a known frame or schema version. */
    UNKNOWN_SCHEMA,
    /** A Kafka record claims a known schema but its bytes do not decode. */
    CORRUPT_RECORD,
    /** Kafka refused the record for good, e.g. larger than its topic takes. */
    KAFKA_REFUSED,
    /**
     * A Kafka reading keyed otherwise than by its sensor id, in a topic the job reads as keyed by
     * sensor ({@code kafka.readings-keyed-by-sensor}).
     */
    NOT_KEYED_BY_SENSOR,
    /**
     * A retained message for a device whose readings are stamped when received (no clock of its
     * own): the broker kept it from before the subscription, so when it was measured is unknown,
     * and stamped now it would pass for a reading of a device that may be silent.
     */
    RETAINED_WITHOUT_TIME,
    /** A Sparkplug B message whose payload is not a Sparkplug B protobuf payload. */
    MALFORMED_PROTOBUF,
    /**
     * A Sparkplug B metric sent by its alias alone, from an edge node whose birth certificate,
     * which names its aliases, this gateway has not seen (it started after the node's birth).
     */
    UNKNOWN_ALIAS;

    public String code() {
        return name().toLowerCase(Locale.ROOT);
    }
}
