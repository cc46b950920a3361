package io.plantwatch.model;

/**
 * The frame around every Avro record Plantwatch writes to Kafka: one magic byte, one schema version
 * byte, then the Avro binary encoding. Two bytes instead of a schema registry: the appliance must
 * run without one, and the versions live in the jar ({@link SchemaHistory}).
 */
final class AvroFrame {

    /** 'P' for Plantwatch; anything else is not ours. */
    static final byte MAGIC = 0x50;

    static final int HEADER_BYTES = 2;

    private AvroFrame() {}

    /** The version in a frame, or a rejection saying why the bytes are not a frame. */
    static Parsed<Integer> version(byte[] bytes, SchemaHistory history) {
        if (bytes == null || bytes.length < HEADER_BYTES) {
            return Parsed.rejected(
                    RejectReason.UNKNOWN_SCHEMA,
                    "record has "
                            + (bytes == null ? 0 : bytes.length)
                            + " bytes, too short for a "
                            + history.family()
                            + " frame");
        }
        if (bytes[0] != MAGIC) {
            return Parsed.rejected(
                    RejectReason.UNKNOWN_SCHEMA,
                    String.format(
                            "record starts with 0x%02x, not the %s frame magic 0x%02x",
                            bytes[0] & 0xff, history.family(), MAGIC));
        }
        int version = bytes[1] & 0xff;
        if (version == 0) {
            return Parsed.rejected(
                    RejectReason.UNKNOWN_SCHEMA, history.family() + " schema version 0 is invalid");
        }
        return Parsed.ok(version);
    }
}
