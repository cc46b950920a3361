package io.plantwatch.sim.fleet;

import java.util.Locale;

/**
 * The kinds of sensor the simulator knows, each with a plausible normal behaviour and the size of
 * the faults it injects. Values follow typical plant equipment: a press's oil temperature, a
 * hydraulic line's pressure, vibration velocity per ISO 10816 class II, hall humidity.
 */
public enum SensorKind {
    TEMPERATURE("degC", 65.0, 0.4, 3.0, 20.0, 90.0, 15.0),
    PRESSURE("bar", 6.0, 0.05, 0.2, 4.0, 8.0, 2.0),
    VIBRATION("mm/s", 2.5, 0.15, 0.3, 0.0, 7.1, 5.0),
    HUMIDITY("%RH", 45.0, 0.8, 6.0, 20.0, 70.0, 15.0);

    private final String unit;
    private final double mean;
    private final double noise;
    private final double dailyAmplitude;
    private final double normalLow;
    private final double normalHigh;
    private final double spikeMagnitude;

    SensorKind(
            String unit,
            double mean,
            double noise,
            double dailyAmplitude,
            double normalLow,
            double normalHigh,
            double spikeMagnitude) {
        this.unit = unit;
        this.mean = mean;
        this.noise = noise;
        this.dailyAmplitude = dailyAmplitude;
        this.normalLow = normalLow;
        this.normalHigh = normalHigh;
        this.spikeMagnitude = spikeMagnitude;
    }

    public static SensorKind parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    "unknown sensor kind '"
                            + s
                            + "', use temperature, pressure, vibration or humidity");
        }
    }

    /** Short name used in generated sensor names, e.g. {@code temp-3}. */
    public String shortName() {
        return switch (this) {
            case TEMPERATURE -> "temp";
            case PRESSURE -> "pressure";
            case VIBRATION -> "vibration";
            case HUMIDITY -> "humidity";
        };
    }

    public String unit() {
        return unit;
    }

    public double mean() {
        return mean;
    }

    public double noise() {
        return noise;
    }

    public double dailyAmplitude() {
        return dailyAmplitude;
    }

    public double normalLow() {
        return normalLow;
    }

    public double normalHigh() {
        return normalHigh;
    }

    public double spikeMagnitude() {
        return spikeMagnitude;
    }
}
