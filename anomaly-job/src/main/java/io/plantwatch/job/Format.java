package io.plantwatch.job;

import java.math.BigDecimal;
import java.math.MathContext;

/** How numbers and durations read in alert messages. */
final class Format {
    private Format() {}

    /**
     * Four significant digits, no trailing zeros: 65.43, 0.05, 1200; an exponent only far outside
     * any physical reading (1.7E+308), where plain digits would run to hundreds.
     */
    static String number(double v) {
        if (!Double.isFinite(v)) {
            return Double.toString(v);
        }
        BigDecimal rounded = new BigDecimal(v).round(new MathContext(4)).stripTrailingZeros();
        double magnitude = Math.abs(v);
        return v != 0 && (magnitude >= 1e15 || magnitude < 1e-6)
                ? rounded.toString()
                : rounded.toPlainString();
    }

    static String duration(long millis) {
        if (millis % 3_600_000 == 0) {
            return millis / 3_600_000 + " h";
        }
        if (millis % 60_000 == 0) {
            return millis / 60_000 + " min";
        }
        if (millis % 1000 == 0) {
            return millis / 1000 + " s";
        }
        return millis + " ms";
    }
}
