package io.plantwatch.sim.fleet;

import io.plantwatch.model.SensorId;
import java.util.Objects;

/**
 * One simulated sensor: where it sits, its kind, and its normal behaviour (the kind's defaults
 * unless the fleet file overrides them).
 */
public record SimSensor(
        SensorId id,
        SensorKind kind,
        String unit,
        double mean,
        double noise,
        double dailyAmplitude,
        double normalLow,
        double normalHigh) {

    public SimSensor {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(unit, "unit");
        if (!(noise >= 0)) {
            throw new IllegalArgumentException(id + ": noise must be >= 0");
        }
        if (!(normalLow < normalHigh)) {
            throw new IllegalArgumentException(id + ": normal range must have low < high");
        }
        if (mean < normalLow || mean > normalHigh) {
            throw new IllegalArgumentException(
                    id
                            + ": mean "
                            + mean
                            + " lies outside its normal range ["
                            + normalLow
                            + ", "
                            + normalHigh
                            + "]");
        }
    }

    public static SimSensor of(SensorId id, SensorKind kind) {
        return new SimSensor(
                id,
                kind,
                kind.unit(),
                kind.mean(),
                kind.noise(),
                kind.dailyAmplitude(),
                kind.normalLow(),
                kind.normalHigh());
    }
}
