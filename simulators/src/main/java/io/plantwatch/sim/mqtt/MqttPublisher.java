package io.plantwatch.sim.mqtt;

import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/** Publishes to one MQTT broker; the future completes when the broker acknowledged (QoS 1, 2). */
public interface MqttPublisher extends AutoCloseable {

    CompletableFuture<Void> publish(String topic, byte[] payload);

    /** Publishes made again because the connection was lost before the broker acknowledged. */
    default long resent() {
        return 0;
    }

    /**
     * Subscribes at QoS 0 to {@code filter}, handing each message's topic and payload to {@code
     * handler} on the client's thread; the client subscribes again after each reconnect.
     */
    void subscribe(String filter, java.util.function.BiConsumer<String, byte[]> handler);

    /** Runs {@code action} on the client's thread after each reconnect (a new session). */
    void whenReconnected(Runnable action);

    /** Disconnects cleanly after in-flight publishes completed. */
    @Override
    void close();

    /**
     * Connects, or throws a {@link SimulatorException} with one line a person can act on. Once
     * connected, a lost connection is regained by itself; {@code notices} gets a line when it is
     * lost and when it is back.
     */
    static MqttPublisher connect(MqttSettings settings, Consumer<String> notices) {
        return HiveMqPublisher.connect(settings, notices);
    }
}
