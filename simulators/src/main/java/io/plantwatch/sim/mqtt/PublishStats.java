package io.plantwatch.sim.mqtt;

/**
 * What a publish loop achieved.
 *
 * @param attempted publishes started
 * @param acknowledged publishes the broker acknowledged (or, at QoS 0, handed to the socket)
 * @param failed publishes that failed
 * @param elapsedNanos from the first publish to the last acknowledgement
 * @param firstError the first failure's message, or null
 */
public record PublishStats(
        long attempted, long acknowledged, long failed, long elapsedNanos, String firstError) {

    public double ratePerSecond() {
        return elapsedNanos <= 0 ? 0 : acknowledged * 1e9 / elapsedNanos;
    }
}
