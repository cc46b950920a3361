package io.plantwatch.model;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * How a device names the fields of its JSON readings, for devices and PLC bridges that do not send
 * design.md's {@code {"ts", "value", "unit", "quality", "seq"}}: {@code {"timestamp": 1764057600,
 * "temp": 21.5}} reads with {@code ts} named {@code timestamp} in epoch seconds, {@code value}
 * named {@code temp} and a default unit. Top-level fields only; the rest of the payload contract
 * (types, limits, rejections) is the same.
 *
 * @param epochSeconds whether a numeric time is epoch seconds (a fraction allowed, to the
 *     millisecond) rather than epoch milliseconds
 * @param defaultUnit the unit of a reading that names none; empty for none
 */
public record PayloadFormat(
        String ts,
        String value,
        String unit,
        String quality,
        String seq,
        boolean epochSeconds,
        String defaultUnit) {

    /** design.md's payload. */
    public static final PayloadFormat DEFAULT =
            new PayloadFormat("ts", "value", "unit", "quality", "seq", false, "");

    public PayloadFormat {
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
