package io.plantwatch.job;

import io.plantwatch.job.rules.DetectorRules;
import io.plantwatch.model.AlertKind;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The limits an alert of each kind carries ({@code Alert.limits}): what its rule compared the
 * readings with, so a receiver, a webhook's consumer or a Grafana panel has the threshold as a
 * number rather than inside the message. Readings' limits are in the sensor's unit, durations in
 * seconds, counts as numbers.
 *
 * <p>A {@link Signal} carries them as a bare array, in the order named here for its kind: the
 * signals wait in savepoints, and an array of numbers is what Flink's serializer evolves most
 * cheaply. One place names them, so the detectors and the alert cannot disagree.
 */
public final class AlertLimits {
    private AlertLimits() {}

    /** The names of each kind's limits, in the order of a signal's array. */
    public static final Map<AlertKind, List<String>> NAMES = names();

    private static Map<AlertKind, List<String>> names() {
        Map<AlertKind, List<String>> m = new EnumMap<>(AlertKind.class);
        m.put(AlertKind.SPIKE, List.of("rise", "within_s", "confirm"));
        m.put(AlertKind.OUT_OF_RANGE, List.of("low", "high", "deadband", "count", "within_s"));
        m.put(AlertKind.RATE_OF_CHANGE, List.of("max_per_s", "window_s", "min_readings"));
        m.put(AlertKind.FLATLINE, List.of("epsilon", "min_s", "min_count"));
        m.put(AlertKind.MISSING_DATA, List.of("after_s"));
        // low and high: the band around the baseline a reading left, baseline -+ k deviations.
        m.put(AlertKind.DRIFT, List.of("low", "high", "baseline", "deviation", "k", "consecutive"));
        return java.util.Collections.unmodifiableMap(m);
    }

    static double[] spike(DetectorRules.Spike r) {
        return new double[] {r.delta(), seconds(r.withinMillis()), r.confirm()};
    }

    static double[] outOfRange(DetectorRules.OutOfRange r) {
        return new double[] {r.low(), r.high(), r.deadband(), r.count(), seconds(r.withinMillis())};
    }

    static double[] rateOfChange(DetectorRules.RateOfChange r) {
        return new double[] {r.maxPerSecond(), seconds(r.windowMillis()), r.minReadings()};
    }

    static double[] flatline(DetectorRules.Flatline r) {
        return new double[] {r.epsilon(), seconds(r.minMillis()), r.minCount()};
    }

    /** With {@code afterMillis} 0 or less, not known (the sensor's rule is gone). */
    static double[] missingData(long afterMillis) {
        return new double[] {afterMillis > 0 ? seconds(afterMillis) : Double.NaN};
    }

    static double[] drift(DetectorRules.Baseline r, double baseline, double deviation) {
        double band = r.k() * deviation;
        return new double[] {
            baseline - band, baseline + band, baseline, deviation, r.k(), r.consecutive()
        };
    }

    /**
     * The limits by name, in order; a limit the rule does not set (an open side of a range, NaN or
     * infinite) is left out. Empty for a kind without limits and for a signal of an earlier
     * version.
     */
    public static Map<String, Double> named(AlertKind kind, double[] limits) {
        List<String> names = kind == null ? null : NAMES.get(kind);
        if (names == null || limits == null || limits.length == 0) {
            return Map.of();
        }
        Map<String, Double> out = new LinkedHashMap<>();
        for (int i = 0; i < Math.min(names.size(), limits.length); i++) {
            if (Double.isFinite(limits[i])) {
                out.put(names.get(i), limits[i]);
            }
        }
        return out;
    }

    private static double seconds(long millis) {
        return millis / 1000.0;
    }
}
