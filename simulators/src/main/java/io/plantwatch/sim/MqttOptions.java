package io.plantwatch.sim;

import io.plantwatch.model.TopicTemplate;
import io.plantwatch.sim.mqtt.MqttSettings;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;
import picocli.CommandLine.Option;

/** How to reach the broker and which namespace to publish in; shared by every command. */
public final class MqttOptions {

    /** Environment variable holding the MQTT password, so it is not on the command line. */
    public static final String PASSWORD_ENV = "PLANTWATCH_MQTT_PASSWORD";

    @Option(
            names = "--broker",
            defaultValue = "${env:PLANTWATCH_MQTT_BROKER:-tcp://localhost:1883}",
            description =
                    "MQTT broker, tcp://host:port or ssl://host:port (default: ${DEFAULT-VALUE}).")
    URI broker;

    @Option(
            names = {"-u", "--username"},
            defaultValue = "${env:PLANTWATCH_MQTT_USERNAME}",
            description = "MQTT username.")
    String username;

    @Option(
            names = "--password",
            arity = "0..1",
            interactive = false,
            description =
                    "MQTT password. Prefer --password-file or the environment variable "
                            + PASSWORD_ENV
                            + ": a command line is visible to every user of the machine.")
    String password;

    @Option(names = "--password-file", description = "File whose first line is the MQTT password.")
    Path passwordFile;

    @Option(
            names = "--mqtt-version",
            defaultValue = "5",
            description = "MQTT protocol version: 5 or 3 (3.1.1) (default: ${DEFAULT-VALUE}).")
    int mqttVersion;

    @Option(
            names = "--qos",
            defaultValue = "1",
            description = "Quality of service: 0, 1 or 2 (default: ${DEFAULT-VALUE}).")
    int qos;

    @Option(names = "--client-id", description = "MQTT client id (default: sensor-sim-<random>).")
    String clientId;

    @Option(
            names = "--ca-file",
            description =
                    "For ssl://: PEM file of the CA certificates to trust (default: the JVM's).")
    Path caFile;

    @Option(
            names = "--topic-prefix",
            defaultValue = TopicTemplate.DEFAULT_PREFIX,
            description = "Topic prefix of the plant namespace (default: ${DEFAULT-VALUE}).")
    String topicPrefix;

    @Option(
            names = "--topic-template",
            defaultValue = TopicTemplate.DEFAULT_TEMPLATE,
            description = "Topic levels below the prefix (default: ${DEFAULT-VALUE}).")
    String topicTemplate;

    public TopicTemplate topics() {
        return new TopicTemplate(topicPrefix, topicTemplate);
    }

    public MqttSettings settings() {
        String id =
                clientId != null
                        ? clientId
                        : "sensor-sim-" + Long.toHexString(ThreadLocalRandom.current().nextLong());
        return new MqttSettings(broker, username, passwordBytes(), mqttVersion, qos, id, caFile);
    }

    private byte[] passwordBytes() {
        if (password != null) {
            return password.getBytes(StandardCharsets.UTF_8);
        }
        if (passwordFile != null) {
            return io.plantwatch.model.Secrets.firstLine(passwordFile, "--password-file");
        }
        String env = System.getenv(PASSWORD_ENV);
        return env == null ? null : env.getBytes(StandardCharsets.UTF_8);
    }
}
