package io.plantwatch.job;

import io.plantwatch.model.SensorReading;

/**
 * A reading with what the CEP patterns need already computed, so their conditions look at one event
 * and never iterate over earlier ones.
 *
 * @param spikeShape index of the sensor's spike pattern shape; -1 when the rule is off or the
 *     reading cannot change that pattern's outcome
 * @param spikeHigh the value is at least delta above the lowest value of the spike window
 * @param spikeBase that lowest value
 * @param rangeShape index of the sensor's out-of-range pattern shape; -1 likewise
 * @param outOfRange the value is outside [low, high]
 */
public record Observation(
        SensorReading reading,
        int spikeShape,
        boolean spikeHigh,
        double spikeBase,
        int rangeShape,
        boolean outOfRange) {

    public String key() {
        return reading.key();
    }
}
