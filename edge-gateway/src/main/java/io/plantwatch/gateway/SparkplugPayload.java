package io.plantwatch.gateway;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.WireFormat;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * A Sparkplug B payload ({@code org.eclipse.tahu.protobuf.Payload} of sparkplug_b.proto) as far as
 * the gateway reads it: the payload's time and sequence number, and per metric its name or alias,
 * time, data type, flags, scalar value and the {@code Quality} and {@code engUnit} properties. Read
 * field by field from the protobuf wire format, so no generated classes are needed and nothing the
 * gateway does not read is kept (data sets, templates, metadata).
 *
 * @param timestamp epoch milliseconds, or {@link #ABSENT}
 * @param seq the edge node's message sequence number (0 to 255), or {@link #ABSENT}
 */
record SparkplugPayload(long timestamp, long seq, List<Metric> metrics) {

    static final long ABSENT = -1;

    // sparkplug_b.proto's DataType values the gateway reads as numbers.
    static final int INT8 = 1;
    static final int INT16 = 2;
    static final int INT32 = 3;
    static final int INT64 = 4;
    static final int UINT8 = 5;
    static final int UINT16 = 6;
    static final int UINT32 = 7;
    static final int UINT64 = 8;
    static final int FLOAT = 9;
    static final int DOUBLE = 10;
    static final int BOOLEAN = 11;

    // Metric.value's fields.
    static final int INT_VALUE = 10;
    static final int LONG_VALUE = 11;
    static final int FLOAT_VALUE = 12;
    static final int DOUBLE_VALUE = 13;
    static final int BOOLEAN_VALUE = 14;

    /**
     * One metric.
     *
     * @param name null when sent by alias alone
     * @param alias {@link #ABSENT} when it has none
     * @param timestamp epoch milliseconds, or {@link #ABSENT}
     * @param datatype sparkplug_b.proto's DataType, 0 when not sent
     * @param valueField the field its value was sent in ({@link #INT_VALUE} and on; the string,
     *     bytes, data set, template and extension fields too), 0 for none
     * @param bits an integer or boolean value as sent (int_value's 32 bits, unsigned)
     * @param real a float or double value
     * @param quality the {@code Quality} property (an OPC quality code), or {@link #ABSENT}
     * @param unit the {@code engUnit} property, or null
     */
    record Metric(
            String name,
            long alias,
            long timestamp,
            int datatype,
            boolean historical,
            boolean isTransient,
            boolean isNull,
            int valueField,
            long bits,
            double real,
            long quality,
            String unit) {}

    /**
     * Reads {@code bytes}.
     *
     * @throws IOException when they are not a Sparkplug B payload: not protobuf, or a field of the
     *     wrong wire type
     */
    static SparkplugPayload parse(byte[] bytes) throws IOException {
        CodedInputStream in = CodedInputStream.newInstance(bytes);
        long timestamp = ABSENT;
        long seq = ABSENT;
        List<Metric> metrics = new ArrayList<>();
        int tag;
        while ((tag = in.readTag()) != 0) {
            switch (tag) {
                case 1 << 3 | WireFormat.WIRETYPE_VARINT -> timestamp = in.readUInt64();
                case 2 << 3 | WireFormat.WIRETYPE_LENGTH_DELIMITED -> {
                    int limit = in.pushLimit(in.readRawVarint32());
                    metrics.add(metric(in));
                    in.popLimit(limit);
                }
                case 3 << 3 | WireFormat.WIRETYPE_VARINT -> seq = in.readUInt64();
                default -> skip(in, tag);
            }
        }
        return new SparkplugPayload(timestamp, seq, metrics);
    }

    private static Metric metric(CodedInputStream in) throws IOException {
        String name = null;
        long alias = ABSENT;
        long timestamp = ABSENT;
        int datatype = 0;
        boolean historical = false;
        boolean isTransient = false;
        boolean isNull = false;
        int valueField = 0;
        long bits = 0;
        double real = 0;
        long quality = ABSENT;
        String unit = null;
        int tag;
        while ((tag = in.readTag()) != 0) {
            int field = WireFormat.getTagFieldNumber(tag);
            switch (field) {
                case 1 -> name = expect(in, tag, WireFormat.WIRETYPE_LENGTH_DELIMITED).readString();
                case 2 -> alias = expect(in, tag, WireFormat.WIRETYPE_VARINT).readUInt64();
                case 3 -> timestamp = expect(in, tag, WireFormat.WIRETYPE_VARINT).readUInt64();
                case 4 -> datatype = expect(in, tag, WireFormat.WIRETYPE_VARINT).readUInt32();
                case 5 -> historical = expect(in, tag, WireFormat.WIRETYPE_VARINT).readBool();
                case 6 -> isTransient = expect(in, tag, WireFormat.WIRETYPE_VARINT).readBool();
                case 7 -> isNull = expect(in, tag, WireFormat.WIRETYPE_VARINT).readBool();
                case 9 -> {
                    expect(in, tag, WireFormat.WIRETYPE_LENGTH_DELIMITED);
                    int limit = in.pushLimit(in.readRawVarint32());
                    Object[] qualityAndUnit = properties(in);
                    in.popLimit(limit);
                    if (qualityAndUnit[0] != null) {
                        quality = (Long) qualityAndUnit[0];
                    }
                    if (qualityAndUnit[1] != null) {
                        unit = (String) qualityAndUnit[1];
                    }
                }
                case INT_VALUE -> {
                    bits =
                            Integer.toUnsignedLong(
                                    expect(in, tag, WireFormat.WIRETYPE_VARINT).readUInt32());
                    valueField = field;
                }
                case LONG_VALUE -> {
                    bits = expect(in, tag, WireFormat.WIRETYPE_VARINT).readUInt64();
                    valueField = field;
                }
                case FLOAT_VALUE -> {
                    real = expect(in, tag, WireFormat.WIRETYPE_FIXED32).readFloat();
                    valueField = field;
                }
                case DOUBLE_VALUE -> {
                    real = expect(in, tag, WireFormat.WIRETYPE_FIXED64).readDouble();
                    valueField = field;
                }
                case BOOLEAN_VALUE -> {
                    bits = expect(in, tag, WireFormat.WIRETYPE_VARINT).readBool() ? 1 : 0;
                    valueField = field;
                }
                default -> {
                    // The string, bytes, data set, template and extension values: noted, not read.
                    if (field >= 15 && field <= 19) {
                        valueField = field;
                    }
                    skip(in, tag);
                }
            }
        }
        return new Metric(
                name,
                alias,
                timestamp,
                datatype,
                historical,
                isTransient,
                isNull,
                valueField,
                bits,
                real,
                quality,
                unit);
    }

    /** The {@code Quality} (a Long) and {@code engUnit} (a String) of a PropertySet, or nulls. */
    private static Object[] properties(CodedInputStream in) throws IOException {
        List<String> keys = new ArrayList<>();
        List<Object> values = new ArrayList<>();
        int tag;
        while ((tag = in.readTag()) != 0) {
            switch (tag) {
                case 1 << 3 | WireFormat.WIRETYPE_LENGTH_DELIMITED -> keys.add(in.readString());
                case 2 << 3 | WireFormat.WIRETYPE_LENGTH_DELIMITED -> {
                    int limit = in.pushLimit(in.readRawVarint32());
                    values.add(propertyValue(in));
                    in.popLimit(limit);
                }
                default -> skip(in, tag);
            }
        }
        Object[] qualityAndUnit = new Object[2];
        for (int i = 0; i < Math.min(keys.size(), values.size()); i++) {
            Object v = values.get(i);
            if ("Quality".equals(keys.get(i)) && v instanceof Long) {
                qualityAndUnit[0] = v;
            } else if ("engUnit".equals(keys.get(i)) && v instanceof String) {
                qualityAndUnit[1] = v;
            }
        }
        return qualityAndUnit;
    }

    /** An integer (as a Long) or string property's value; anything else as a marker. */
    private static Object propertyValue(CodedInputStream in) throws IOException {
        Object value = Boolean.FALSE;
        int tag;
        while ((tag = in.readTag()) != 0) {
            switch (tag) {
                case 3 << 3 | WireFormat.WIRETYPE_VARINT ->
                        value = Integer.toUnsignedLong(in.readUInt32());
                case 4 << 3 | WireFormat.WIRETYPE_VARINT -> value = in.readUInt64();
                case 8 << 3 | WireFormat.WIRETYPE_LENGTH_DELIMITED -> value = in.readString();
                default -> skip(in, tag);
            }
        }
        return value;
    }

    private static CodedInputStream expect(CodedInputStream in, int tag, int wireType)
            throws IOException {
        if (WireFormat.getTagWireType(tag) != wireType) {
            throw new IOException(
                    "field "
                            + WireFormat.getTagFieldNumber(tag)
                            + " has wire type "
                            + WireFormat.getTagWireType(tag)
                            + ", not "
                            + wireType);
        }
        return in;
    }

    private static void skip(CodedInputStream in, int tag) throws IOException {
        if (!in.skipField(tag)) {
            throw new IOException("an end-group tag outside a group");
        }
    }

    /**
     * The payload of an NCMD asking an edge node to publish its birth certificates again (the
     * {@code Node Control/Rebirth} metric, a boolean true), stamped {@code nowMillis}.
     */
    static byte[] rebirthRequest(long nowMillis) {
        try {
            ByteArrayOutputStream metricBytes = new ByteArrayOutputStream();
            CodedOutputStream metric = CodedOutputStream.newInstance(metricBytes);
            metric.writeString(1, "Node Control/Rebirth");
            metric.writeUInt64(3, nowMillis);
            metric.writeUInt32(4, BOOLEAN);
            metric.writeBool(BOOLEAN_VALUE, true);
            metric.flush();
            ByteArrayOutputStream payloadBytes = new ByteArrayOutputStream();
            CodedOutputStream payload = CodedOutputStream.newInstance(payloadBytes);
            payload.writeUInt64(1, nowMillis);
            payload.writeByteArray(2, metricBytes.toByteArray());
            payload.flush();
            return payloadBytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
