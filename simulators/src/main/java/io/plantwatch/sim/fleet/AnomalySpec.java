package io.plantwatch.sim.fleet;

import io.plantwatch.model.SensorGlob;
import java.time.Duration;
import java.util.Objects;

/**
 * One anomaly a scenario schedules: at an offset from the start, on every sensor whose id matches a
 * glob ({@code *} within a level, {@code **} across levels).
 *
 * @param at event-time offset from the run's start
 * @param sensorGlob which sensors
 * @param kind what to inject
 * @param duration how long, or null for the kind's default
 * @param magnitude how strong (in the sensor's unit), or null for the kind's default
 * @param delay for {@link AnomalyKind#LATE}: how late, or null for 30 s
 */
public record AnomalySpec(
        Duration at,
        String sensorGlob,
        AnomalyKind kind,
        Duration duration,
        Double magnitude,
        Duration delay) {

    public AnomalySpec {
        Objects.requireNonNull(at, "at");
        Objects.requireNonNull(sensorGlob, "sensor");
        Objects.requireNonNull(kind, "kind");
        if (at.isNegative()) {
            throw new IllegalArgumentException("'at' must not be negative");
        }
    }

    public boolean matches(String sensorId) {
        return new SensorGlob(sensorGlob).matches(sensorId);
    }
}
