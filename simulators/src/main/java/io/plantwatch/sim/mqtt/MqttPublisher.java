package io.plantwatch.sim.mqtt;

import java.util.concurrent.CompletableFuture;

/** Publishes to one MQTT broker; the future completes when the broker acknowledged (QoS 1, 2). */
public interface MqttPublisher extends AutoCloseable {

    CompletableFuture<Void> publish(String topic, byte[] payload);

    /** Disconnects cleanly after in-flight publishes completed. */
    @Override
    void close();

    /** Connects, or throws a {@link SimulatorException} with one line a person can act on. */
    static MqttPublisher connect(MqttSettings settings) {
        return HiveMqPublisher.connect(settings);
    }
}
