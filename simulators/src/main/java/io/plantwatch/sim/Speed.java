package io.plantwatch.sim;

import java.util.Locale;

/** Parses {@code --speed}: a factor such as {@code 60}, {@code 3600x}, or {@code max}. */
final class Speed {

    private Speed() {}

    /** Event-time seconds per wall second; infinite for {@code max}. */
    static double parse(String s) {
        String t = s.trim().toLowerCase(Locale.ROOT);
        if (t.equals("max")) {
            return Double.POSITIVE_INFINITY;
        }
        if (t.endsWith("x")) {
            t = t.substring(0, t.length() - 1);
        }
        try {
            double v = Double.parseDouble(t);
            if (v > 0 && Double.isFinite(v)) {
                return v;
            }
        } catch (NumberFormatException e) {
            // fall through to the message below
        }
        throw new IllegalArgumentException(
                "--speed '" + s + "' must be a positive factor (e.g. 60, 3600x) or max");
    }
}
