package io.plantwatch.sim.fleet;

import io.plantwatch.model.TopicTemplate;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Everything that decides what a simulation emits. The same settings give the same emissions, byte
 * for byte: that is what makes a run reproducible from its seed.
 *
 * @param rate readings per second across the fleet, in event time
 * @param startMillis event time of the first reading, epoch ms
 * @param duration event time covered; null for no end
 * @param speed event-time seconds per publish second; infinite for as fast as possible
 * @param seed the random seed
 * @param scheduled anomalies at fixed times
 * @param randomKinds kinds to inject at random
 * @param anomaliesPerSensorHour how often, per sensor and hour of event time
 * @param isoTimestamps write {@code ts} as ISO-8601 instead of epoch ms
 * @param topics the MQTT namespace
 */
public record SimulationSettings(
        double rate,
        long startMillis,
        Duration duration,
        double speed,
        long seed,
        List<AnomalySpec> scheduled,
        Set<AnomalyKind> randomKinds,
        double anomaliesPerSensorHour,
        boolean isoTimestamps,
        TopicTemplate topics) {

    public SimulationSettings {
        Objects.requireNonNull(topics, "topics");
        scheduled = List.copyOf(scheduled);
        randomKinds = Set.copyOf(randomKinds);
        if (!(rate > 0) || Double.isInfinite(rate)) {
            throw new IllegalArgumentException("--rate must be a positive number");
        }
        if (!(speed > 0)) {
            throw new IllegalArgumentException("--speed must be positive or 'max'");
        }
        if (anomaliesPerSensorHour < 0) {
            throw new IllegalArgumentException("--anomaly-rate must not be negative");
        }
        if (!randomKinds.isEmpty() && !(anomaliesPerSensorHour > 0)) {
            throw new IllegalArgumentException("--anomalies needs a positive --anomaly-rate");
        }
    }

    /** Readings in the run, or {@link Long#MAX_VALUE} for no end. */
    public long totalReadings() {
        if (duration == null) {
            return Long.MAX_VALUE;
        }
        return (long) Math.floor(duration.toNanos() / 1e9 * rate);
    }
}
