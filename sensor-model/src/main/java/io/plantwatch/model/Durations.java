package io.plantwatch.model;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses durations as people write them: {@code 500ms}, {@code 30s}, {@code 5m}, {@code 2h}, {@code
 * 1d}, or ISO-8601.
 */
public final class Durations {

    private static final Pattern SIMPLE =
            Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(ms|s|m|min|h|d)?");

    private Durations() {}

    public static Duration parse(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        if (t.startsWith("p")) {
            Duration d;
            try {
                d = Duration.parse(t.toUpperCase(Locale.ROOT));
            } catch (DateTimeParseException e) {
                throw invalid(text);
            }
            // ISO-8601 allows PT-2S; no setting here means anything by a negative time, and one
            // taken as given (an out-of-orderness, a TTL) silently turns a component inside out.
            if (d.isNegative()) {
                throw new Negative(text);
            }
            return d;
        }
        Matcher m = SIMPLE.matcher(t);
        if (!m.matches()) {
            throw invalid(text);
        }
        double n = Double.parseDouble(m.group(1));
        String unit = m.group(2) == null ? "s" : m.group(2);
        double millis =
                switch (unit) {
                    case "ms" -> n;
                    case "s" -> n * 1_000;
                    case "m", "min" -> n * 60_000;
                    case "h" -> n * 3_600_000;
                    default -> n * 86_400_000;
                };
        return Duration.ofNanos(Math.round(millis * 1_000_000));
    }

    /** A duration written in ISO-8601 with a minus sign. */
    public static final class Negative extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;

        Negative(String text) {
            super("'" + text + "' is negative; a duration here is 0 or more");
        }
    }

    private static IllegalArgumentException invalid(String text) {
        return new IllegalArgumentException(
                "'" + text + "' is not a duration; write e.g. 500ms, 30s, 5m, 2h or PT30S");
    }
}
