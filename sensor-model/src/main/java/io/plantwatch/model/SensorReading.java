package io.plantwatch.model;

import java.time.Instant;
import java.util.Objects;

/**
 * One measurement of one sensor at one event time: the record every module passes along.
 *
 * @param sensorId where the sensor sits
 * @param timestamp event time in epoch milliseconds, stamped by the device
 * @param value the measured value; always finite
 * @param unit the unit as the device names it (e.g. {@code degC}); empty when unknown
 * @param quality the device's own judgement of the value
 * @param seq the device's sequence number, or {@link #NO_SEQ} when it sends none
 */
public record SensorReading(
        SensorId sensorId, long timestamp, double value, String unit, Quality quality, long seq) {

    /** Marks a reading whose device sends no sequence number. */
    public static final long NO_SEQ = -1;

    /** Longest accepted unit string. */
    public static final int MAX_UNIT_LENGTH = 32;

    public SensorReading {
        Objects.requireNonNull(sensorId, "sensorId");
        Objects.requireNonNull(unit, "unit");
        Objects.requireNonNull(quality, "quality");
        if (!Double.isFinite(value)) {
            throw new IllegalArgumentException("value must be finite, was " + value);
        }
        if (unit.length() > MAX_UNIT_LENGTH) {
            throw new IllegalArgumentException(
                    "unit is longer than " + MAX_UNIT_LENGTH + " characters");
        }
        if (seq < NO_SEQ) {
            throw new IllegalArgumentException("seq must be >= 0 (or absent), was " + seq);
        }
    }

    /**
     * Why {@code unit} cannot be a reading's unit, or null when it can: at most {@link
     * #MAX_UNIT_LENGTH} characters, none that changes how text around it shows. A unit is printed
     * in every alert about its sensor, and an escape sequence or a line break in it would rewrite
     * the console or an e-mail.
     *
     * @param what how the message names it, e.g. the payload's field
     */
    public static String unitProblem(String what, String unit) {
        if (unit.length() > MAX_UNIT_LENGTH) {
            return what + " is longer than " + MAX_UNIT_LENGTH + " characters";
        }
        for (int i = 0; i < unit.length(); i++) {
            if (SensorId.invisible(unit.codePointAt(i))) {
                return what
                        + " '"
                        + SensorId.printable(unit)
                        + "' contains a control or format character";
            }
        }
        return null;
    }

    public static SensorReading of(SensorId sensorId, long timestamp, double value) {
        return new SensorReading(sensorId, timestamp, value, "", Quality.GOOD, NO_SEQ);
    }

    public Instant eventTime() {
        return Instant.ofEpochMilli(timestamp);
    }

    public boolean hasSeq() {
        return seq != NO_SEQ;
    }

    /** The Kafka key and MQTT topic path: the sensor id. */
    public String key() {
        return sensorId.id();
    }
}
