package io.plantwatch.model;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * How a device writes its readings, for devices and PLC bridges that do not send design.md's {@code
 * {"ts", "value", "unit", "quality", "seq"}}: {@code {"timestamp": 1764057600, "temp": 21.5}} reads
 * with {@code ts} named {@code timestamp} in epoch seconds, {@code value} named {@code temp} and a
 * default unit. A name that starts with {@code /} is a JSON pointer into the payload ({@code
 * /ENERGY/Power}, {@code /payload/temp}), for devices that nest their values; others name top-level
 * fields. The rest of the payload contract (types, limits, rejections) is the same.
 *
 * <p>Devices without a clock are read with {@code receivedTime}: the reading is stamped with the
 * gateway's clock when it arrives. A device that publishes only the number ({@code 21.5}, as many
 * PLC MQTT blocks, Tasmota and Shelly do) is read with {@link Type#VALUE}, which is always stamped
 * so: its payload holds nothing else. A PLC that publishes one message per machine, {@code {"ts":
 * ..., "temp": 71.2, "pressure": 3.1}}, is read with {@link Type#FIELDS}: each numeric field a
 * reading of the sensor it names, on the machine the topic names.
 *
 * @param epochSeconds whether a numeric time is epoch seconds (a fraction allowed, to the
 *     millisecond) rather than epoch milliseconds
 * @param defaultUnit the unit of a reading that names none; empty for none
 * @param type a JSON object, or the bare value
 * @param receivedTime whether a reading's time is when the gateway received it, not a field of the
 *     payload (which is then not read)
 * @param fields for {@link Type#FIELDS}: the fields that are readings; empty for every numeric one
 * @param units for {@link Type#FIELDS}: a reading's unit by its field, {@code defaultUnit} for the
 *     others
 * @param timeZone the zone of a time written without an offset ({@code 2026-11-25T10:15:00}, as
 *     PLCs and HMIs that keep local time send it); null to refuse such a time, as ISO-8601 without
 *     an offset names no instant
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
        boolean receivedTime,
        List<String> fields,
        Map<String, String> units,
        java.time.ZoneId timeZone) {

    /** What a payload holds. */
    public enum Type {
        /** A JSON object with the reading's fields. */
        JSON,
        /** The value alone, as a number in text: {@code 21.5}, {@code -3}, {@code 1.2e3}. */
        VALUE,
        /**
         * A JSON object of one machine's readings, each numeric field the value of the sensor it
         * names; the time, quality and sequence number fields are the message's, for all of them.
         * The topic names the machine: its sensor level is replaced by each field's name.
         */
        FIELDS
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
        this(
                ts,
                value,
                unit,
                quality,
                seq,
                epochSeconds,
                defaultUnit,
                Type.JSON,
                false,
                List.of(),
                Map.of(),
                null);
    }

    /** A device that publishes only its value, stamped when the gateway receives it. */
    public static PayloadFormat bareValue(String defaultUnit) {
        return new PayloadFormat(
                "ts",
                "value",
                "unit",
                "quality",
                "seq",
                false,
                defaultUnit,
                Type.VALUE,
                true,
                List.of(),
                Map.of(),
                null);
    }

    public PayloadFormat {
        Objects.requireNonNull(type, "type");
        if (type == Type.VALUE && !receivedTime) {
            throw new IllegalArgumentException(
                    "a bare value carries no time: it is stamped when it is received");
        }
        fields = List.copyOf(Objects.requireNonNullElse(fields, List.of()));
        units = Map.copyOf(Objects.requireNonNullElse(units, Map.of()));
        if (timeZone != null && receivedTime) {
            throw new IllegalArgumentException(
                    "a time zone is set, but no time is read from the payload");
        }
        if (type != Type.FIELDS && !(fields.isEmpty() && units.isEmpty())) {
            throw new IllegalArgumentException("fields and units are for type fields only");
        }
        for (String f : fields) {
            if (f.isBlank()) {
                throw new IllegalArgumentException("fields names an empty field");
            }
            checkReading("fields names", f, ts, quality, seq);
            if (fields.indexOf(f) != fields.lastIndexOf(f)) {
                throw new IllegalArgumentException("fields names '" + f + "' twice");
            }
        }
        for (Map.Entry<String, String> u : units.entrySet()) {
            checkReading("units names", u.getKey(), ts, quality, seq);
            if (!fields.isEmpty() && !fields.contains(u.getKey())) {
                throw new IllegalArgumentException(
                        "units names '"
                                + SensorId.printable(u.getKey())
                                + "', which fields does not: it would never be read");
            }
            checkUnit("the unit of " + u.getKey(), u.getValue());
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
            if (e.getValue().startsWith("/")) {
                if (type == Type.FIELDS) {
                    throw new IllegalArgumentException(
                            e.getKey()
                                    + " is read from '"
                                    + e.getValue()
                                    + "', a path into the payload, but type fields reads its"
                                    + " top-level fields only");
                }
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
        checkUnit("the default unit", defaultUnit);
    }

    /**
     * This format's names, time and units, for a machine's message of several readings ({@link
     * Type#FIELDS}).
     */
    public PayloadFormat withFields(List<String> fields, Map<String, String> units) {
        return new PayloadFormat(
                ts,
                value,
                unit,
                quality,
                seq,
                epochSeconds,
                defaultUnit,
                Type.FIELDS,
                receivedTime,
                fields,
                units,
                timeZone);
    }

    /** This format, its readings stamped when the gateway receives them. */
    public PayloadFormat withReceivedTime() {
        return new PayloadFormat(
                ts,
                value,
                unit,
                quality,
                seq,
                epochSeconds,
                defaultUnit,
                type,
                true,
                fields,
                units,
                timeZone);
    }

    /** This format, a local time in it read in {@code zone}. */
    public PayloadFormat withTimeZone(java.time.ZoneId zone) {
        return new PayloadFormat(
                ts,
                value,
                unit,
                quality,
                seq,
                epochSeconds,
                defaultUnit,
                type,
                receivedTime,
                fields,
                units,
                zone);
    }

    /** Whether a field is read from inside the payload, by a JSON pointer. */
    public boolean nested() {
        return ts.startsWith("/")
                || value.startsWith("/")
                || unit.startsWith("/")
                || quality.startsWith("/")
                || seq.startsWith("/");
    }

    /** For {@link Type#FIELDS}: the unit of the reading in field {@code field}. */
    public String unitOf(String field) {
        return units.getOrDefault(field, defaultUnit);
    }

    /** A field that is a reading names its sensor, and is none of the message's own. */
    private static void checkReading(
            String what, String field, String ts, String quality, String seq) {
        if (field.equals(ts) || field.equals(quality) || field.equals(seq)) {
            throw new IllegalArgumentException(
                    what + " '" + field + "', which is the message's time, quality or seq");
        }
        String problem = SensorId.levelProblem("the sensor name", field);
        if (problem != null) {
            throw new IllegalArgumentException(
                    what + " '" + SensorId.printable(field) + "', which cannot: " + problem);
        }
    }

    private static void checkUnit(String what, String unit) {
        String problem = SensorReading.unitProblem(what, unit);
        if (problem != null) {
            throw new IllegalArgumentException(problem);
        }
    }
}
