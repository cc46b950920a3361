package io.plantwatch.model;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * The MQTT JSON payload of design.md: {@code {"ts": <ISO-8601 or epoch ms>, "value": <number>,
 * "unit": "degC", "quality": "GOOD|UNCERTAIN|BAD", "seq": <long>}}; {@code ts} and {@code value}
 * are required, unknown fields are ignored. A {@link PayloadFormat} reads devices that name the
 * fields otherwise, send epoch seconds, no unit, no time or only the value; {@link PayloadFormats}
 * picks one per sensor for a plant whose devices differ.
 *
 * <p>{@link #decode} never throws: every defect comes back as a {@link Parsed.Rejected} naming the
 * field and the problem. Thread-safe.
 */
public final class MqttPayloadCodec {

    private static final JsonFactory JSON =
            JsonFactory.builder()
                    // Parse NaN/Infinity literals so they are rejected as NOT_FINITE, which says
                    // more to a person than "malformed".
                    .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
                    .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                    .build();

    private final TopicTemplate topics;
    private final ReadingLimits limits;
    private final PayloadFormats formats;

    public MqttPayloadCodec(TopicTemplate topics, ReadingLimits limits) {
        this(topics, limits, PayloadFormat.DEFAULT);
    }

    /**
     * @param format how the payload names its fields ({@link PayloadFormat#DEFAULT}: design.md's)
     */
    public MqttPayloadCodec(TopicTemplate topics, ReadingLimits limits, PayloadFormat format) {
        this(topics, limits, PayloadFormats.of(format));
    }

    /**
     * @param formats how each sensor's payload is written
     */
    public MqttPayloadCodec(TopicTemplate topics, ReadingLimits limits, PayloadFormats formats) {
        this.topics = Objects.requireNonNull(topics, "topics");
        this.limits = Objects.requireNonNull(limits, "limits");
        this.formats = Objects.requireNonNull(formats, "formats");
    }

    public static MqttPayloadCodec defaults() {
        return new MqttPayloadCodec(TopicTemplate.defaults(), ReadingLimits.defaults());
    }

    public TopicTemplate topics() {
        return topics;
    }

    public ReadingLimits limits() {
        return limits;
    }

    /** Parses a message that arrived on {@code topic}: the topic names the sensor. */
    public Parsed<SensorReading> decode(String topic, byte[] payload) {
        return decode(topic, payload, false);
    }

    /**
     * Parses a message that arrived on {@code topic}; {@code retained} when the broker sent it as
     * its retained message for the topic (at a subscription), not as it was published. Such a
     * message is refused for a device stamped when received ({@link
     * RejectReason#RETAINED_WITHOUT_TIME}): it was measured at some time before, and stamped now it
     * would show a device that may have gone silent as alive. With a time of its own it is a
     * reading as any other; the job recognises it as one it had.
     */
    public Parsed<SensorReading> decode(String topic, byte[] payload, boolean retained) {
        return decodeAll(topic, payload, retained).single();
    }

    /**
     * What one message holds: the readings read from it, and what of it was rejected, if any. A
     * message of one reading holds either; one of a machine's several readings ({@link
     * PayloadFormat.Type#FIELDS}) can hold both, when some of its fields are readings and some are
     * not what they should be.
     *
     * @param rejected null when nothing was
     */
    public record Decoded(List<SensorReading> readings, Parsed.Rejected<SensorReading> rejected) {
        public Decoded {
            readings = List.copyOf(readings);
        }

        static Decoded of(Parsed<SensorReading> parsed) {
            return parsed instanceof Parsed.Rejected<SensorReading> r
                    ? new Decoded(List.of(), r)
                    : new Decoded(List.of(parsed.value()), null);
        }

        /**
         * The one reading, or the rejection. A message of several readings is refused here: read
         * with {@link #decodeAll}, which keeps them all.
         */
        public Parsed<SensorReading> single() {
            if (readings.size() == 1 && rejected == null) {
                return Parsed.ok(readings.get(0));
            }
            if (readings.isEmpty() && rejected != null) {
                return rejected;
            }
            return Parsed.rejected(
                    RejectReason.INVALID_FIELD,
                    "the message holds "
                            + readings.size()
                            + " readings"
                            + (rejected == null ? "" : " and a rejection")
                            + ", which only decodeAll keeps");
        }
    }

    /**
     * Every reading a message that arrived on {@code topic} holds (see {@link #decode(String,
     * byte[], boolean)}).
     */
    public Decoded decodeAll(String topic, byte[] payload, boolean retained) {
        Parsed<SensorId> id = topics.parse(topic);
        if (!(id instanceof Parsed.Ok<SensorId> ok)) {
            return Decoded.of(id.map(x -> null));
        }
        return decodeAll(ok.value(), payload, retained);
    }

    /**
     * Parses the payload of a sensor already identified, in the format chosen for it. A rejection
     * under a named format says which, so a device matched by the wrong glob shows as such.
     */
    public Parsed<SensorReading> decode(SensorId sensor, byte[] payload) {
        return decodeAll(sensor, payload, false).single();
    }

    private Decoded decodeAll(SensorId sensor, byte[] payload, boolean retained) {
        PayloadFormats.Choice choice;
        Decoded decoded;
        try {
            choice = formats.formatFor(sensor);
            decoded =
                    retained && choice.format().receivedTime()
                            ? Decoded.of(
                                    Parsed.rejected(
                                            RejectReason.RETAINED_WITHOUT_TIME,
                                            "a retained message, kept by the broker from before:"
                                                    + " its device has no time of its own, so when"
                                                    + " it was measured is unknown"))
                            : decode(sensor, payload, choice.format());
        } catch (RuntimeException e) {
            // Never on data, by every check above; if it were, one message must not stop the
            // gateway's intake: it goes to the DLQ saying so.
            return Decoded.of(
                    Parsed.rejected(
                            RejectReason.INVALID_FIELD,
                            "could not be read: " + oneLine(e.toString())));
        }
        if (choice.name() != null && decoded.rejected() != null) {
            Parsed.Rejected<SensorReading> r = decoded.rejected();
            return new Decoded(
                    decoded.readings(),
                    new Parsed.Rejected<>(
                            r.reason(), r.detail() + " (payload format '" + choice.name() + "')"));
        }
        return decoded;
    }

    private Decoded decode(SensorId sensor, byte[] payload, PayloadFormat f) {
        if (payload == null || payload.length == 0) {
            return Decoded.of(
                    f.type() == PayloadFormat.Type.VALUE
                            ? Parsed.rejected(
                                    RejectReason.WRONG_TYPE, "payload is empty, not a number")
                            : Parsed.rejected(RejectReason.MALFORMED_JSON, "empty payload"));
        }
        if (payload.length > limits.maxPayloadBytes()) {
            return Decoded.of(
                    Parsed.rejected(
                            RejectReason.OVERSIZED,
                            "payload has "
                                    + payload.length
                                    + " bytes, the limit is "
                                    + limits.maxPayloadBytes()));
        }
        if (f.type() == PayloadFormat.Type.VALUE) {
            return Decoded.of(parseValue(sensor, payload, f));
        }
        if (notUtf8(payload)) {
            return Decoded.of(
                    Parsed.rejected(
                            RejectReason.MALFORMED_JSON,
                            "payload is not UTF-8 (UTF-16 or UTF-32, by its first bytes);"
                                    + " readings are UTF-8 JSON"));
        }
        try (JsonParser p = f.nested() ? nestedView(payload, f) : JSON.createParser(payload)) {
            return f.type() == PayloadFormat.Type.FIELDS
                    ? parseFields(sensor, p, f)
                    : Decoded.of(parseObject(sensor, p, f));
        } catch (IOException | RuntimeException e) {
            // Jackson reports syntax errors, bad UTF-8 and constraint violations as exceptions.
            return Decoded.of(
                    Parsed.rejected(RejectReason.MALFORMED_JSON, oneLine(e.getMessage())));
        }
    }

    /**
     * One machine's readings, each numeric field (of {@link PayloadFormat#fields}, when it names
     * them) a reading of the sensor named like the field, on the machine {@code topic} names. A
     * field that is not a number (a status text, a flag) is not a reading. A defect of the message
     * (its time, quality, seq, its JSON) rejects it whole; one of a field (NaN, a name no sensor
     * may have) rejects that field, and the others are read.
     */
    private Decoded parseFields(SensorId topic, JsonParser p, PayloadFormat f) throws IOException {
        JsonToken first = p.nextToken();
        if (first != JsonToken.START_OBJECT) {
            return Decoded.of(
                    Parsed.rejected(
                            RejectReason.NOT_AN_OBJECT,
                            "payload must be a JSON object of the machine's readings, found "
                                    + describe(first)));
        }
        boolean hasTs = f.receivedTime();
        long ts = 0;
        if (hasTs) {
            Parsed<Long> now = receivedTime();
            if (!(now instanceof Parsed.Ok<Long> at)) {
                return Decoded.of(now.map(x -> null));
            }
            ts = at.value();
        }
        Quality quality = Quality.GOOD;
        long seq = SensorReading.NO_SEQ;
        List<String> names = new ArrayList<>();
        List<Double> values = new ArrayList<>();
        Problems problems = new Problems();
        JsonToken t;
        while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            JsonToken v = p.nextToken();
            if (name.equals(f.ts())) {
                // Not a reading even when the time is the gateway's: a clock's number.
                if (f.receivedTime()) {
                    p.skipChildren();
                    continue;
                }
                Parsed<Long> parsed = parseTimestamp(p, v, f);
                if (!(parsed instanceof Parsed.Ok<Long> okTs)) {
                    return Decoded.of(parsed.map(x -> null));
                }
                ts = okTs.value();
                hasTs = true;
            } else if (name.equals(f.quality())) {
                Parsed<Quality> q = parseQuality(p, v, f);
                if (!(q instanceof Parsed.Ok<Quality> ok)) {
                    return Decoded.of(q.map(x -> null));
                }
                quality = ok.value();
            } else if (name.equals(f.seq())) {
                Parsed<Long> parsed = parseSeq(p, v, f);
                if (!(parsed instanceof Parsed.Ok<Long> ok)) {
                    return Decoded.of(parsed.map(x -> null));
                }
                seq = ok.value();
            } else if ((v == JsonToken.VALUE_NUMBER_INT || v == JsonToken.VALUE_NUMBER_FLOAT)
                    && (f.fields().isEmpty() || f.fields().contains(name))) {
                double value = p.getDoubleValue();
                if (Double.isFinite(value)) {
                    if (names.size() == MAX_READINGS_PER_MESSAGE) {
                        return Decoded.of(
                                Parsed.rejected(
                                        RejectReason.INVALID_FIELD,
                                        "the message holds more than "
                                                + MAX_READINGS_PER_MESSAGE
                                                + " readings; name the fields that are readings"
                                                + " (fields), or split the message"));
                    }
                    names.add(name);
                    values.add(value);
                } else {
                    problems.add(
                            RejectReason.NOT_FINITE,
                            SensorId.printable(name) + " is " + cut(p.getText()) + ", not finite");
                }
            } else if (!f.fields().isEmpty()
                    && f.fields().contains(name)
                    && v != JsonToken.VALUE_NULL) {
                // Named as a reading, yet not a number: said, not silently dropped.
                problems.add(
                        RejectReason.WRONG_TYPE,
                        SensorId.printable(name) + " must be a number, found " + describe(v));
                p.skipChildren();
            } else {
                p.skipChildren();
            }
        }
        if (t != JsonToken.END_OBJECT) {
            return Decoded.of(Parsed.rejected(RejectReason.MALFORMED_JSON, "unterminated object"));
        }
        JsonToken trailing = p.nextToken();
        if (trailing != null) {
            return Decoded.of(
                    Parsed.rejected(
                            RejectReason.MALFORMED_JSON,
                            "trailing content after the object: " + describe(trailing)));
        }
        if (!hasTs) {
            return Decoded.of(Parsed.rejected(RejectReason.MISSING_FIELD, f.ts() + " is missing"));
        }
        if (names.isEmpty() && problems.isEmpty()) {
            return Decoded.of(
                    Parsed.rejected(
                            RejectReason.MISSING_FIELD,
                            f.fields().isEmpty()
                                    ? "no field holds a number: each of the machine's readings"
                                            + " is a field named like its sensor"
                                    : "none of the fields "
                                            + String.join(", ", f.fields())
                                            + " holds a number"));
        }
        List<SensorReading> readings = new ArrayList<>(names.size());
        for (int i = 0; i < names.size(); i++) {
            SensorId sensor;
            try {
                sensor =
                        new SensorId(
                                topic.site(),
                                topic.area(),
                                topic.line(),
                                topic.machine(),
                                names.get(i));
            } catch (IllegalArgumentException e) {
                problems.add(
                        RejectReason.INVALID_FIELD,
                        "field '"
                                + SensorId.printable(names.get(i))
                                + "' cannot name a sensor: "
                                + oneLine(e.getMessage()));
                continue;
            }
            readings.add(
                    new SensorReading(
                            sensor, ts, values.get(i), f.unitOf(names.get(i)), quality, seq));
        }
        return new Decoded(readings, problems.rejection());
    }

    /**
     * The most readings one message may hold: each is a Kafka record the gateway holds until Kafka
     * takes it, and a sensor of the job's and of the time series store.
     */
    public static final int MAX_READINGS_PER_MESSAGE = 256;

    private static String cut(String text) {
        return SensorId.printable(text.length() > 40 ? text.substring(0, 40) + "..." : text);
    }

    // Numbers as doubles, as the streaming parser reads them: a BigDecimal refuses an exponent
    // beyond an int (in a field no format reads, too) and loses the sign of -0.0.
    private static final com.fasterxml.jackson.databind.ObjectMapper TREES =
            new com.fasterxml.jackson.databind.ObjectMapper(JSON)
                    .enable(
                            com.fasterxml.jackson.databind.DeserializationFeature
                                    .FAIL_ON_TRAILING_TOKENS);

    /**
     * For a format that reads nested values (a name that is a JSON pointer): the payload as an
     * object of just the format's fields, each under the name the format gives it, so the one
     * parser of a reading's fields reads them and names them as the settings do. Only such formats
     * build the payload's tree.
     */
    private static JsonParser nestedView(byte[] payload, PayloadFormat f) throws IOException {
        com.fasterxml.jackson.databind.JsonNode root = TREES.readTree(payload);
        if (root == null || root.isMissingNode()) {
            return JSON.createParser(payload);
        }
        if (!root.isObject()) {
            return root.traverse(TREES);
        }
        com.fasterxml.jackson.databind.node.ObjectNode view = TREES.createObjectNode();
        for (String name : List.of(f.ts(), f.value(), f.unit(), f.quality(), f.seq())) {
            com.fasterxml.jackson.databind.JsonNode n =
                    name.startsWith("/") ? root.at(name) : root.get(name);
            if (n != null && !n.isMissingNode()) {
                view.set(name, n);
            }
        }
        return view.traverse(TREES);
    }

    /**
     * A decimal number as JSON writes it, with an optional plus sign and surrounding blanks (a
     * device's {@code printf} often adds them). Not Java's own grammar, which also takes {@code
     * NaN}, hexadecimal and a trailing {@code d}.
     */
    private static final java.util.regex.Pattern BARE_NUMBER =
            java.util.regex.Pattern.compile("[-+]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][-+]?\\d+)?");

    private static final java.util.regex.Pattern NOT_FINITE_WORD =
            java.util.regex.Pattern.compile(
                    "[-+]?(?:nan|inf|infinity)", java.util.regex.Pattern.CASE_INSENSITIVE);

    /** Longest text read as a number: more digits than a double holds are a mistake, not data. */
    private static final int MAX_NUMBER_CHARS = 64;

    private Parsed<SensorReading> parseValue(SensorId sensor, byte[] payload, PayloadFormat f) {
        // Blanks around it, as printf pads a field, and the NUL a C string ends with.
        String text = new String(payload, UTF_8).replace('\0', ' ').strip();
        if (text.length() > MAX_NUMBER_CHARS) {
            return Parsed.rejected(
                    RejectReason.WRONG_TYPE,
                    "payload must be a number alone (e.g. 21.5), found "
                            + text.length()
                            + " characters, more than "
                            + MAX_NUMBER_CHARS
                            + ": '"
                            + SensorId.printable(text.substring(0, 40))
                            + "...'");
        }
        if (text.isEmpty()) {
            return Parsed.rejected(RejectReason.WRONG_TYPE, "payload is blank, not a number");
        }
        if (!BARE_NUMBER.matcher(text).matches()) {
            if (NOT_FINITE_WORD.matcher(text).matches()) {
                return Parsed.rejected(
                        RejectReason.NOT_FINITE,
                        "payload is " + SensorId.printable(text) + ", not finite");
            }
            return Parsed.rejected(
                    RejectReason.WRONG_TYPE,
                    "payload must be a number alone (e.g. 21.5), found '"
                            + SensorId.printable(text)
                            + "'");
        }
        double value = Double.parseDouble(text);
        if (!Double.isFinite(value)) {
            return Parsed.rejected(
                    RejectReason.NOT_FINITE,
                    "payload " + SensorId.printable(text) + " is beyond a double, not finite");
        }
        Parsed<Long> now = receivedTime();
        if (!(now instanceof Parsed.Ok<Long> at)) {
            return now.map(x -> null);
        }
        return Parsed.ok(
                new SensorReading(
                        sensor,
                        at.value(),
                        value,
                        f.defaultUnit(),
                        Quality.GOOD,
                        SensorReading.NO_SEQ));
    }

    /**
     * UTF-16 or UTF-32 by their first bytes: a byte order mark, or a zero byte, which UTF-8 JSON
     * never has there. Jackson would detect and take them.
     */
    private static boolean notUtf8(byte[] payload) {
        byte b0 = payload[0];
        byte b1 = payload.length > 1 ? payload[1] : 1;
        return b0 == 0
                || b1 == 0
                || (b0 == (byte) 0xFE && b1 == (byte) 0xFF)
                || (b0 == (byte) 0xFF && b1 == (byte) 0xFE);
    }

    private Parsed<SensorReading> parseObject(SensorId sensor, JsonParser p, PayloadFormat f)
            throws IOException {
        JsonToken first = p.nextToken();
        if (first != JsonToken.START_OBJECT) {
            return Parsed.rejected(
                    RejectReason.NOT_AN_OBJECT,
                    "payload must be a JSON object, found " + describe(first));
        }
        // A device without a clock: its reading is stamped now, and a time field it may carry
        // is not read.
        boolean hasTs = f.receivedTime();
        long ts = 0;
        if (hasTs) {
            Parsed<Long> now = receivedTime();
            if (!(now instanceof Parsed.Ok<Long> at)) {
                return now.map(x -> null);
            }
            ts = at.value();
        }
        double value = 0;
        boolean hasValue = false;
        String unit = f.defaultUnit();
        Quality quality = Quality.GOOD;
        long seq = SensorReading.NO_SEQ;

        JsonToken t;
        while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            JsonToken v = p.nextToken();
            // The fields as this payload names them; design.md's names by default.
            String field =
                    name.equals(f.ts()) && !f.receivedTime()
                            ? "ts"
                            : name.equals(f.value())
                                    ? "value"
                                    : name.equals(f.unit())
                                            ? "unit"
                                            : name.equals(f.quality())
                                                    ? "quality"
                                                    : name.equals(f.seq()) ? "seq" : "";
            switch (field) {
                case "ts" -> {
                    Parsed<Long> parsed = parseTimestamp(p, v, f);
                    if (!(parsed instanceof Parsed.Ok<Long> okTs)) {
                        return parsed.map(x -> null);
                    }
                    ts = okTs.value();
                    hasTs = true;
                }
                case "value" -> {
                    if (v != JsonToken.VALUE_NUMBER_INT && v != JsonToken.VALUE_NUMBER_FLOAT) {
                        return wrongType(f.value(), "a number", v);
                    }
                    value = p.getDoubleValue();
                    if (!Double.isFinite(value)) {
                        return Parsed.rejected(
                                RejectReason.NOT_FINITE,
                                f.value() + " is " + p.getText() + ", not finite");
                    }
                    hasValue = true;
                }
                case "unit" -> {
                    if (v == JsonToken.VALUE_NULL) {
                        unit = f.defaultUnit();
                    } else if (v != JsonToken.VALUE_STRING) {
                        return wrongType(f.unit(), "a string", v);
                    } else {
                        unit = p.getText();
                        if (unit.isEmpty()) {
                            unit = f.defaultUnit(); // an empty unit names none, as null does
                        }
                        String problem = SensorReading.unitProblem(f.unit(), unit);
                        if (problem != null) {
                            return Parsed.rejected(RejectReason.INVALID_FIELD, problem);
                        }
                    }
                }
                case "quality" -> {
                    Parsed<Quality> q = parseQuality(p, v, f);
                    if (!(q instanceof Parsed.Ok<Quality> ok)) {
                        return q.map(x -> null);
                    }
                    quality = ok.value();
                }
                case "seq" -> {
                    Parsed<Long> parsed = parseSeq(p, v, f);
                    if (!(parsed instanceof Parsed.Ok<Long> ok)) {
                        return parsed.map(x -> null);
                    }
                    seq = ok.value();
                }
                default -> p.skipChildren();
            }
        }
        if (t != JsonToken.END_OBJECT) {
            return Parsed.rejected(RejectReason.MALFORMED_JSON, "unterminated object");
        }
        JsonToken trailing = p.nextToken();
        if (trailing != null) {
            return Parsed.rejected(
                    RejectReason.MALFORMED_JSON,
                    "trailing content after the object: " + describe(trailing));
        }
        if (!hasTs) {
            return Parsed.rejected(RejectReason.MISSING_FIELD, f.ts() + " is missing");
        }
        if (!hasValue) {
            return Parsed.rejected(RejectReason.MISSING_FIELD, f.value() + " is missing");
        }
        return Parsed.ok(new SensorReading(sensor, ts, value, unit, quality, seq));
    }

    private static Parsed<Quality> parseQuality(JsonParser p, JsonToken v, PayloadFormat f)
            throws IOException {
        if (v == JsonToken.VALUE_NULL) {
            return Parsed.ok(Quality.GOOD);
        }
        if (v != JsonToken.VALUE_STRING) {
            return wrongType(f.quality(), "a string", v);
        }
        return switch (p.getText().toUpperCase(Locale.ROOT)) {
            case "GOOD" -> Parsed.ok(Quality.GOOD);
            case "UNCERTAIN" -> Parsed.ok(Quality.UNCERTAIN);
            case "BAD" -> Parsed.ok(Quality.BAD);
            default ->
                    Parsed.rejected(
                            RejectReason.INVALID_FIELD,
                            f.quality()
                                    + " '"
                                    + SensorId.printable(p.getText())
                                    + "' is not GOOD, UNCERTAIN or BAD");
        };
    }

    private static Parsed<Long> parseSeq(JsonParser p, JsonToken v, PayloadFormat f)
            throws IOException {
        if (v == JsonToken.VALUE_NULL) {
            return Parsed.ok(SensorReading.NO_SEQ);
        }
        if (v != JsonToken.VALUE_NUMBER_INT) {
            return wrongType(f.seq(), "an integer", v);
        }
        if (p.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
            return Parsed.rejected(
                    RejectReason.INVALID_FIELD, f.seq() + " does not fit in 64 bits");
        }
        long seq = p.getLongValue();
        if (seq < 0) {
            return Parsed.rejected(
                    RejectReason.INVALID_FIELD, f.seq() + " must be >= 0, was " + seq);
        }
        return Parsed.ok(seq);
    }

    /**
     * Now, for a reading stamped when received; refused while this machine's clock reads before the
     * earliest accepted time, as an edge box without a battery-backed clock does until NTP has set
     * it (1970): every reading would be stamped then.
     */
    private Parsed<Long> receivedTime() {
        long now = limits.clock().millis();
        if (now < limits.earliest().toEpochMilli()) {
            return Parsed.rejected(
                    RejectReason.TIMESTAMP_TOO_OLD,
                    "this machine's clock reads "
                            + ReadingLimits.instant(now)
                            + ", before "
                            + limits.earliest()
                            + ": it is not set (no time from NTP yet?), and readings of this"
                            + " format are stamped with it");
        }
        return Parsed.ok(now);
    }

    /**
     * A local date and time ({@code 2026-01-31T09:15:00.250}, or with a space for the {@code T}) in
     * {@code zone}; null when the text is not one.
     *
     * <p>In the hour a clock turned back repeats, the text cannot tell its two instants apart. The
     * later is taken when it is at most half the clock's shift before {@code receivedMillis} and at
     * most {@code maxAheadMillis} (the device clock's allowed skew, capped at half the shift) after
     * it: a live device on its second pass. Otherwise the earlier: a live device on its first pass,
     * or data sent on later than that. A first-pass reading delayed by about the shift itself reads
     * as the second pass; nothing in it says otherwise.
     */
    static Long localMillis(
            String text, java.time.ZoneId zone, long receivedMillis, long maxAheadMillis) {
        String iso =
                text.length() > 10 && text.charAt(10) == ' '
                        ? text.substring(0, 10) + 'T' + text.substring(11)
                        : text;
        java.util.regex.Matcher leap = LEAP_SECOND.matcher(iso);
        if (leap.matches()) {
            // As for a time with an offset: the last millisecond before it.
            iso = leap.group(1) + ":59.999" + leap.group(2);
        }
        try {
            java.time.ZonedDateTime first =
                    java.time.LocalDateTime.parse(iso, DateTimeFormatter.ISO_LOCAL_DATE_TIME)
                            .atZone(zone);
            long earlier = first.toInstant().toEpochMilli();
            long later = first.withLaterOffsetAtOverlap().toInstant().toEpochMilli();
            long half = (later - earlier) / 2;
            long sinceLater = receivedMillis - later;
            return later != earlier
                            && sinceLater <= half
                            && sinceLater >= -Math.min(maxAheadMillis, half)
                    ? later
                    : earlier;
        } catch (java.time.DateTimeException | ArithmeticException e) {
            return null;
        }
    }

    private static final java.util.regex.Pattern LEAP_SECOND =
            java.util.regex.Pattern.compile("(.*T\\d{2}:\\d{2}):60(?:\\.\\d+)?(.*)");

    /**
     * An ISO-8601 time with its offset. A leap second (23:59:60, sent by clocks that follow UTC
     * exactly) is valid ISO-8601 that Java does not parse; it is taken as the last millisecond
     * before it, as Java's own instant parser and most time stores smear it.
     */
    static long isoMillis(String text) {
        try {
            return OffsetDateTime.parse(text, DateTimeFormatter.ISO_OFFSET_DATE_TIME)
                    .toInstant()
                    .toEpochMilli();
        } catch (DateTimeParseException e) {
            java.util.regex.Matcher leap = LEAP_SECOND.matcher(text);
            if (!leap.matches()) {
                throw e;
            }
            return OffsetDateTime.parse(
                            leap.group(1) + ":59.999" + leap.group(2),
                            DateTimeFormatter.ISO_OFFSET_DATE_TIME)
                    .toInstant()
                    .toEpochMilli();
        }
    }

    private Parsed<Long> parseTimestamp(JsonParser p, JsonToken v, PayloadFormat format)
            throws IOException {
        long millis;
        if (format.epochSeconds()
                && (v == JsonToken.VALUE_NUMBER_INT || v == JsonToken.VALUE_NUMBER_FLOAT)) {
            double seconds = p.getDoubleValue();
            if (Double.isNaN(seconds)) {
                return Parsed.rejected(
                        RejectReason.NOT_FINITE,
                        format.ts() + " is " + p.getText() + ", not finite");
            }
            // Bounded first: 1e500000000 or 1e-500000000 are a dozen characters, and rounding
            // them exactly would compute ten to that power.
            if (seconds > 9.2e15) {
                return Parsed.rejected(
                        RejectReason.TIMESTAMP_IN_FUTURE, format.ts() + " is out of range");
            }
            if (seconds < -9.2e15) {
                return Parsed.rejected(
                        RejectReason.TIMESTAMP_TOO_OLD, format.ts() + " is out of range");
            }
            java.math.BigDecimal exact = p.getDecimalValue();
            // Exact where the digits are few (1764064800.1 s is ...100 ms, which a double's
            // product can miss); a number written with a huge exponent as the double has it.
            millis =
                    exact.scale() > 30 || exact.scale() < -30
                            ? Math.round(seconds * 1000)
                            : exact.movePointRight(3)
                                    .setScale(0, java.math.RoundingMode.HALF_UP)
                                    .longValueExact();
        } else if (v == JsonToken.VALUE_NUMBER_INT) {
            if (p.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
                return Parsed.rejected(
                        RejectReason.TIMESTAMP_IN_FUTURE, format.ts() + " is out of range");
            }
            millis = p.getLongValue();
        } else if (v == JsonToken.VALUE_STRING) {
            String text = p.getText();
            try {
                millis = isoMillis(text);
            } catch (ArithmeticException e) {
                return Parsed.rejected(
                        RejectReason.INVALID_FIELD,
                        format.ts() + " '" + cut(text) + "' is out of range");
            } catch (DateTimeParseException e) {
                Long local =
                        format.timeZone() == null
                                ? null
                                : localMillis(
                                        text,
                                        format.timeZone(),
                                        limits.clock().millis(),
                                        limits.maxFutureSkew().toMillis());
                if (local == null) {
                    return Parsed.rejected(
                            RejectReason.INVALID_FIELD,
                            format.ts()
                                    + " '"
                                    + SensorId.printable(text)
                                    + "' is not ISO-8601 with a zone offset"
                                    + (format.timeZone() == null
                                            ? " (e.g. 2026-01-31T08:15:00.250Z; a device that"
                                                    + " sends its local time without one needs the"
                                                    + " format's time-zone)"
                                            : " or a local time in "
                                                    + format.timeZone()
                                                    + " (e.g. 2026-01-31T09:15:00.250)"));
                }
                millis = local;
            }
        } else if (v == JsonToken.VALUE_NUMBER_FLOAT) {
            return Parsed.rejected(
                    RejectReason.WRONG_TYPE,
                    format.ts()
                            + " must be integer epoch milliseconds, not a fraction (or set the epoch in seconds)");
        } else {
            return wrongType(
                    format.ts(),
                    format.epochSeconds()
                            ? "an ISO-8601 string or epoch seconds"
                            : "an ISO-8601 string or epoch milliseconds",
                    v);
        }
        Parsed.Rejected<Long> outside = limits.checkTime(format.ts(), millis);
        if (outside != null
                && outside.reason() == RejectReason.TIMESTAMP_TOO_OLD
                && !format.epochSeconds()
                && millis > 0
                && millis < 100_000_000_000L) {
            return Parsed.rejected(
                    outside.reason(),
                    outside.detail()
                            + " (epoch seconds instead of milliseconds? the gateway's payload.epoch: s reads them)");
        }
        if (outside != null) {
            return outside;
        }
        return Parsed.ok(millis);
    }

    /** The JSON payload of a reading, {@code ts} as epoch milliseconds. */
    public byte[] encode(SensorReading r) {
        return encode(r, false);
    }

    /** The JSON payload of a reading, {@code ts} as ISO-8601 when {@code isoTimestamp}. */
    public byte[] encode(SensorReading r, boolean isoTimestamp) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(96);
        try (JsonGenerator g = JSON.createGenerator(out)) {
            g.writeStartObject();
            if (isoTimestamp) {
                g.writeStringField("ts", Instant.ofEpochMilli(r.timestamp()).toString());
            } else {
                g.writeNumberField("ts", r.timestamp());
            }
            g.writeNumberField("value", r.value());
            if (!r.unit().isEmpty()) {
                g.writeStringField("unit", r.unit());
            }
            g.writeStringField("quality", r.quality().name());
            if (r.hasSeq()) {
                g.writeNumberField("seq", r.seq());
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    private static <T> Parsed<T> wrongType(String field, String expected, JsonToken found) {
        return Parsed.rejected(
                RejectReason.WRONG_TYPE,
                field + " must be " + expected + ", found " + describe(found));
    }

    private static String describe(JsonToken t) {
        if (t == null) {
            return "nothing";
        }
        return switch (t) {
            case START_OBJECT -> "an object";
            case START_ARRAY -> "an array";
            case VALUE_STRING -> "a string";
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "a number";
            case VALUE_TRUE, VALUE_FALSE -> "a boolean";
            case VALUE_NULL -> "null";
            default -> t.name().toLowerCase(Locale.ROOT);
        };
    }

    private static String oneLine(String message) {
        if (message == null) {
            return "unparseable";
        }
        String line = message.replace('\n', ' ').replace('\r', ' ');
        return SensorId.printable(line.length() > 200 ? line.substring(0, 200) : line);
    }
}
