package io.plantwatch.sim.mqtt;

import java.net.URI;
import java.nio.file.Path;
import java.util.Objects;

/**
 * How to reach an MQTT broker.
 *
 * @param broker {@code tcp://host:port} or {@code ssl://host:port}
 * @param username null for an anonymous connection
 * @param password the password's bytes, never logged; null when none
 * @param mqttVersion 3 (3.1.1) or 5
 * @param qos 0, 1 or 2
 * @param clientId the client identifier
 * @param trustedCaPem for {@code ssl://}: a PEM file of CA certificates, or null for the JVM's
 */
public record MqttSettings(
        URI broker,
        String username,
        byte[] password,
        int mqttVersion,
        int qos,
        String clientId,
        Path trustedCaPem) {

    public MqttSettings {
        Objects.requireNonNull(broker, "broker");
        Objects.requireNonNull(clientId, "clientId");
        String scheme = broker.getScheme();
        if (!"tcp".equals(scheme)
                && !"ssl".equals(scheme)
                && !"mqtt".equals(scheme)
                && !"mqtts".equals(scheme)) {
            throw new IllegalArgumentException(
                    "broker '" + broker + "' must start with tcp:// or ssl://");
        }
        if (broker.getHost() == null) {
            throw new IllegalArgumentException("broker '" + broker + "' has no host");
        }
        if (mqttVersion != 3 && mqttVersion != 5) {
            throw new IllegalArgumentException("--mqtt-version must be 3 or 5");
        }
        if (qos < 0 || qos > 2) {
            throw new IllegalArgumentException("--qos must be 0, 1 or 2");
        }
    }

    public boolean tls() {
        return "ssl".equals(broker.getScheme()) || "mqtts".equals(broker.getScheme());
    }

    public int port() {
        return broker.getPort() > 0 ? broker.getPort() : tls() ? 8883 : 1883;
    }

    /** The broker as it may be printed: no credentials. */
    public String describe() {
        return broker.getScheme()
                + "://"
                + broker.getHost()
                + ":"
                + port()
                + (username != null ? " as " + username : "")
                + " (MQTT "
                + (mqttVersion == 5 ? "5" : "3.1.1")
                + ", QoS "
                + qos
                + ")";
    }

    @Override
    public String toString() {
        return describe();
    }
}
