package io.plantwatch.sim.fleet;

import io.plantwatch.model.RejectReason;
import io.plantwatch.model.SensorReading;

/**
 * One MQTT publish the simulation wants made.
 *
 * @param publishAtNanos when, as an offset from the run's start in publish (wall) time
 * @param topic the MQTT topic
 * @param payload the bytes
 * @param type what the payload is
 * @param reading the reading it carries; null for {@link Type#CONTROL}, and for {@link
 *     Type#MALFORMED} the reading it was made from as Sparkplug B (where it goes), else null
 * @param expectedRejection for {@link Type#MALFORMED}: why the contract rejects it
 */
public record Emission(
        long publishAtNanos,
        String topic,
        byte[] payload,
        Type type,
        SensorReading reading,
        RejectReason expectedRejection) {

    public enum Type {
        /** A reading, published for the first time. */
        READING,
        /** A second copy of a reading already published. */
        DUPLICATE,
        /** A payload the contract rejects. */
        MALFORMED,
        /** A message that carries no reading: a Sparkplug B birth or death certificate. */
        CONTROL
    }
}
