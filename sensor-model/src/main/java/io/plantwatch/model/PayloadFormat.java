package io.plantwatch.model;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * How a device writes its readings, for devices and PLC bridges that do not send design.md's {@code
 * {"ts", "value", "unit", "quality", "seq"}}: {@code {"timestamp": 1764057600, "temp": 21.5}} reads
 * with {@code ts} named {@code timestamp} in epoch seconds, {@code value} named {@code temp} and a
 * default unit. Top-level fields only; the rest of the payload contract (types, limits, rejections)
 * is the same.
 *
 * <p>Devices without a clock are read with {@code receivedTime}: the reading is stamped with the
 * gateway's clock when it arrives. A device that publishes only the number ({@code 21.5}, as many
 * PLC MQTT blocks, Tasmota and Shelly do) is read with {@link Type#VALUE}, which is always stamped
 * so: its payload holds nothing else.
 *
 * @param epochSeconds whether a numeric time is epoch seconds (a fraction allowed, to the
 *     millisecond) rather than epoch milliseconds
 * @param defaultUnit the unit of a reading that names none; empty for none
 * @param type a JSON object, or the bare value
 * @param receivedTime whether a reading's time is when the gateway received it, not a field of the
 *     payload (which is then not read)
 */
public record PayloadFormat(
        String ts,
        String value,
        String unit,
        String quality,
        String seq,
        boolean epochSeconds,
        String defaultUnit,
        Type type,
        boolean receivedTime) {

    /** What a payload holds. */
    public enum Type {
        /** A JSON object with the reading's fields. */
        JSON,
        /** The value alone, as a number in text: {@code 21.5}, {@code -3}, {@code 1.2e3}. */
        VALUE
    }

    /** design.md's payload. */
    public static final PayloadFormat DEFAULT =
            new PayloadFormat("ts", "value", "unit", "quality", "seq", false, "");

    /** A JSON payload that carries its own time. */
    public PayloadFormat(
            String ts,
            String value,
            String unit,
            String quality,
            String seq,
            boolean epochSeconds,
            String defaultUnit) {
        this(ts, value, unit, quality, seq, epochSeconds, defaultUnit, Type.JSON, false);
    }

    /** A device that publishes only its value, stamped when the gateway receives it. */
    public static PayloadFormat bareValue(String defaultUnit) {
        return new PayloadFormat(
                "ts", "value", "unit", "quality", "seq", false, defaultUnit, Type.VALUE, true);
    }

    public PayloadFormat {
        Objects.requireNonNull(type, "type");
        if (type == Type.VALUE && !receivedTime) {
            throw new IllegalArgumentException(
                    "a bare value carries no time: it is stamped when it is received");
        }
        Map<String, String> names = new LinkedHashMap<>();
        names.put("ts", ts);
        names.put("value", value);
        names.put("unit", unit);
        names.put("quality", quality);
        names.put("seq", seq);
        Map<String, String> seen = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : names.entrySet()) {
            if (e.getValue() == null || e.getValue().isBlank()) {
                throw new IllegalArgumentException(e.getKey() + "'s field name is empty");
            }
            String other = seen.put(e.getValue(), e.getKey());
            if (other != null) {
                throw new IllegalArgumentException(
                        other
                                + " and "
                                + e.getKey()
                                + " are both read from field '"
                                + e.getValue()
                                + "'");
            }
        }
        defaultUnit = Objects.requireNonNullElse(defaultUnit, "");
        if (defaultUnit.length() > SensorReading.MAX_UNIT_LENGTH) {
            throw new IllegalArgumentException(
                    "the default unit is longer than "
                            + SensorReading.MAX_UNIT_LENGTH
                            + " characters");
        }
        for (int i = 0; i < defaultUnit.length(); i++) {
            if (SensorId.invisible(defaultUnit.codePointAt(i))) {
                throw new IllegalArgumentException("the default unit contains a control character");
            }
        }
    }
}
