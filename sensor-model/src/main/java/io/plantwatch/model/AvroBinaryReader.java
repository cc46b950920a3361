package io.plantwatch.model;

import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * A bounds-checked reader of Avro's binary encoding over one byte array. Avro's own decoder sizes
 * strings and arrays by the length the bytes claim, so a corrupt record can ask for gigabytes; this
 * one refuses any length longer than what is left, which makes decoding untrusted Kafka records
 * safe. Not thread-safe: one per record.
 */
final class AvroBinaryReader {

    private final byte[] buf;
    private int pos;

    AvroBinaryReader(byte[] buf, int offset) {
        this.buf = buf;
        this.pos = offset;
    }

    long readLong() {
        long raw = 0;
        int shift = 0;
        while (true) {
            if (pos >= buf.length) {
                throw new IllegalArgumentException("record ends inside a number");
            }
            int b = buf[pos++] & 0xff;
            raw |= (long) (b & 0x7f) << shift;
            if ((b & 0x80) == 0) {
                break;
            }
            shift += 7;
            if (shift > 63) {
                throw new IllegalArgumentException("number is longer than 10 bytes");
            }
        }
        return (raw >>> 1) ^ -(raw & 1);
    }

    int readInt() {
        long v = readLong();
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("int out of range: " + v);
        }
        return (int) v;
    }

    double readDouble() {
        require(8, "a double");
        long bits = 0;
        for (int i = 0; i < 8; i++) {
            bits |= (long) (buf[pos + i] & 0xff) << (8 * i);
        }
        pos += 8;
        return Double.longBitsToDouble(bits);
    }

    String readString() {
        long len = readLong();
        if (len < 0) {
            throw new IllegalArgumentException("negative string length " + len);
        }
        require(len, "a string");
        int n = (int) len;
        int end = pos + n;
        int i = pos;
        while (i < end && buf[i] >= 0) {
            i++;
        }
        if (i == end) {
            // Sensor ids and units are ASCII, valid UTF-8 as they are: copied without a decoder,
            // which was a third of the job's source thread.
            String s = new String(buf, pos, n, StandardCharsets.ISO_8859_1);
            pos = end;
            return s;
        }
        try {
            String s =
                    StandardCharsets.UTF_8
                            .newDecoder()
                            .onMalformedInput(CodingErrorAction.REPORT)
                            .onUnmappableCharacter(CodingErrorAction.REPORT)
                            .decode(java.nio.ByteBuffer.wrap(buf, pos, (int) len))
                            .toString();
            pos += (int) len;
            return s;
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("string is not UTF-8");
        }
    }

    int readEnum(int symbols) {
        int i = readInt();
        if (i < 0 || i >= symbols) {
            // An unknown symbol from a newer writer; callers map it to the enum's default.
            return -1;
        }
        return i;
    }

    /**
     * An enum symbol a writer of this reader's version wrote: one out of range is a corrupt record,
     * not a newer writer's symbol, and taking the default would make one up (an OPEN alert).
     */
    int readKnownEnum(int symbols, String what) {
        int i = readInt();
        if (i < 0 || i >= symbols) {
            throw new IllegalArgumentException(what + " symbol " + i + " is not one of " + symbols);
        }
        return i;
    }

    /** Throws when bytes are left: a record of this reader's version ends where its fields do. */
    void requireEnd() {
        if (pos != buf.length) {
            throw new IllegalArgumentException((buf.length - pos) + " bytes after the record");
        }
    }

    /** Reads an array of doubles, bounded by the bytes actually left. */
    double[] readDoubleArray() {
        double[] out = new double[0];
        int n = 0;
        while (true) {
            long count = readLong();
            if (count == 0) {
                return java.util.Arrays.copyOf(out, n);
            }
            if (count < 0) {
                count = -count;
                readLong(); // block size in bytes, only a skipping hint
            }
            require(count * 8, "an array of " + count + " doubles");
            out = java.util.Arrays.copyOf(out, n + (int) count);
            for (int i = 0; i < count; i++) {
                out[n++] = readDouble();
            }
        }
    }

    /**
     * Reads a map of doubles in the writer's order, bounded by the bytes actually left (each entry
     * takes at least nine).
     */
    java.util.Map<String, Double> readDoubleMap() {
        java.util.Map<String, Double> out = new java.util.LinkedHashMap<>();
        while (true) {
            long count = readLong();
            if (count == 0) {
                return out;
            }
            if (count < 0) {
                count = -count;
                readLong(); // block size in bytes, only a skipping hint
            }
            // Each entry takes at least nine bytes: an empty key's length and its double.
            require(
                    count > Integer.MAX_VALUE ? Long.MAX_VALUE : count * 9,
                    "a map of " + count + " doubles");
            for (int i = 0; i < count; i++) {
                String key = readString();
                out.put(key, readDouble());
            }
        }
    }

    private void require(long bytes, String what) {
        if (bytes > buf.length - pos) {
            throw new IllegalArgumentException(
                    "record ends inside " + what + " (" + bytes + " bytes claimed)");
        }
    }
}
