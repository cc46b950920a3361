package io.plantwatch.sim.fleet;

import io.plantwatch.model.RejectReason;
import io.plantwatch.model.SensorReading;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Locale;

/** Payloads that the MQTT contract rejects, one per reason, in rotation. */
final class MalformedPayloads {

    static final int VARIANTS = 7;

    /** Larger than the parser's default limit of 16 KiB. */
    private static final int OVERSIZED_BYTES = 32 * 1024;

    private MalformedPayloads() {}

    static RejectReason reason(int variant) {
        return switch (variant % VARIANTS) {
            case 0 -> RejectReason.MALFORMED_JSON;
            case 1 -> RejectReason.MISSING_FIELD;
            case 2 -> RejectReason.WRONG_TYPE;
            case 3 -> RejectReason.NOT_FINITE;
            case 4 -> RejectReason.TIMESTAMP_IN_FUTURE;
            case 5 -> RejectReason.TIMESTAMP_TOO_OLD;
            default -> RejectReason.OVERSIZED;
        };
    }

    /** Sparkplug B payloads that are not protobuf, one of three kinds in rotation. */
    static byte[] sparkplug(int variant) {
        return switch (variant % 3) {
            // The metrics field claims 127 bytes and one follows: a message cut short.
            case 0 -> new byte[] {0x12, 0x7f, 0x08};
            // Field 1 with wire type 7, which protobuf does not have.
            case 1 -> new byte[] {0x0f, 0x01};
            // The timestamp's varint never ends.
            default -> {
                byte[] b = new byte[12];
                Arrays.fill(b, (byte) 0xff);
                b[0] = 0x08;
                yield b;
            }
        };
    }

    static byte[] payload(int variant, SensorReading r) {
        String v = String.format(Locale.ROOT, "%.3f", r.value());
        String json =
                switch (variant % VARIANTS) {
                    case 0 -> "{\"ts\": " + r.timestamp() + ", \"value\": " + v; // truncated
                    case 1 -> "{\"ts\": " + r.timestamp() + ", \"unit\": \"" + r.unit() + "\"}";
                    case 2 -> "{\"ts\": " + r.timestamp() + ", \"value\": \"" + v + "\"}";
                    case 3 -> "{\"ts\": " + r.timestamp() + ", \"value\": NaN}";
                    // A clock set centuries ahead: in the future whenever the test runs.
                    case 4 -> "{\"ts\": \"2999-01-01T00:00:00Z\", \"value\": " + v + "}";
                    // Epoch seconds where milliseconds belong: lands in 1970.
                    case 5 -> "{\"ts\": " + (r.timestamp() / 1000) + ", \"value\": " + v + "}";
                    default -> null;
                };
        if (json == null) {
            byte[] big = new byte[OVERSIZED_BYTES];
            Arrays.fill(big, (byte) ' ');
            byte[] head =
                    ("{\"ts\": " + r.timestamp() + ", \"value\": " + v + ", \"pad\": \"")
                            .getBytes(StandardCharsets.UTF_8);
            System.arraycopy(head, 0, big, 0, head.length);
            big[big.length - 2] = '"';
            big[big.length - 1] = '}';
            return big;
        }
        return json.getBytes(StandardCharsets.UTF_8);
    }
}
