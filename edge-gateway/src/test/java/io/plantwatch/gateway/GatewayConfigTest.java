package io.plantwatch.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.plantwatch.model.ConfigException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GatewayConfigTest {
    @TempDir Path dir;

    @Test
    void startsWithNoFileAtAll() {
        GatewayConfig c = GatewayConfig.load(null, Map.of(), Map.of());
        assertThat(c.brokerForLog()).isEqualTo("tcp://127.0.0.1:1883");
        assertThat(c.kafkaBootstrap()).isEqualTo("127.0.0.1:9092");
        assertThat(c.subscriptionFilter()).isEqualTo("plant/#");
        assertThat(c.mqttVersion()).isEqualTo(5);
        assertThat(c.sessionExpiry()).isEqualTo(Duration.ofHours(1));
        assertThat(c.producerRestartAfter()).isEqualTo(Duration.ofSeconds(60));
        assertThat(
                        GatewayConfig.load(
                                        null,
                                        Map.of(),
                                        Map.of("kafka.producer-restart-after", "0s"))
                                .producerRestartAfter())
                .isZero();
    }

    @Test
    void theShippedExampleConfigurationLoads() {
        GatewayConfig c =
                GatewayConfig.load(Path.of("..", "config", "gateway.yaml"), Map.of(), Map.of());
        assertThat(c.gatewayId()).isEqualTo("gateway-1");
        assertThat(c.httpPort()).isEqualTo(9400);
        assertThat(c.producerOverrides()).containsEntry("compression.type", "lz4");
    }

    @Test
    void flagsBeatEnvironmentBeatsFileBeatsDefaults() throws Exception {
        Path file = dir.resolve("gateway.yaml");
        Files.writeString(
                file,
                """
                mqtt:
                  broker: tcp://from-file:1883
                  version: 3
                  shared-group: north-gateways
                kafka:
                  bootstrap: file:9092
                  producer:
                    linger.ms: 20
                    compression.type: zstd
                """);
        GatewayConfig c =
                GatewayConfig.load(
                        file,
                        Map.of(
                                "PLANTWATCH_GATEWAY_MQTT_BROKER", "tcp://from-env:1883",
                                "PLANTWATCH_GATEWAY_MQTT_SESSION_EXPIRY", "2h",
                                "PLANTWATCH_GATEWAY_KAFKA_PRODUCER_SASL_MECHANISM", "PLAIN",
                                "UNRELATED", "x"),
                        Map.of("mqtt.broker", "tcp://from-flag:1884"));
        assertThat(c.brokerForLog()).isEqualTo("tcp://from-flag:1884");
        assertThat(c.sessionExpiry()).isEqualTo(Duration.ofHours(2));
        assertThat(c.mqttVersion()).isEqualTo(3);
        assertThat(c.subscriptionFilter()).isEqualTo("$share/north-gateways/plant/#");
        assertThat(c.kafkaBootstrap()).isEqualTo("file:9092");
        assertThat(c.producerOverrides())
                .containsEntry("linger.ms", "20")
                .containsEntry("compression.type", "zstd")
                .containsEntry("sasl.mechanism", "PLAIN");
        // Passed-through settings win over the gateway's own producer defaults.
        assertThat(MqttKafkaBridge.producerProperties(c))
                .containsEntry("linger.ms", "20")
                .containsEntry("acks", "all")
                .containsEntry("enable.idempotence", "true");
    }

    @Test
    void brokenConfigurationNamesTheKeyAndWhereItCameFrom() throws Exception {
        assertThatThrownBy(
                        () ->
                                GatewayConfig.load(
                                        null,
                                        Map.of("PLANTWATCH_GATEWAY_MQTT_SESSION_EXPIRY", "soon"),
                                        Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("mqtt.session-expiry")
                .hasMessageContaining("PLANTWATCH_GATEWAY_MQTT_SESSION_EXPIRY");
        assertThatThrownBy(
                        () -> GatewayConfig.load(null, Map.of(), Map.of("mqtt.brokr", "tcp://x")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("unknown setting 'mqtt.brokr'");
        assertThatThrownBy(
                        () -> GatewayConfig.load(null, Map.of(), Map.of("mqtt.broker", "http://x")))
                .hasMessageContaining("must start with tcp:// or ssl://");
        // A producer replaced every few hundred milliseconds would never get a record through.
        assertThatThrownBy(
                        () ->
                                GatewayConfig.load(
                                        null,
                                        Map.of(),
                                        Map.of("kafka.producer-restart-after", "500ms")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("kafka.producer-restart-after")
                .hasMessageContaining("0 (never) or at least 1s");
        Path broken = dir.resolve("broken.yaml");
        Files.writeString(broken, "mqtt: [unclosed\n");
        assertThatThrownBy(() -> GatewayConfig.load(broken, Map.of(), Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(broken.toString())
                .hasMessageContaining("not valid YAML");
        Path twice = dir.resolve("twice.yaml");
        Files.writeString(twice, "mqtt: {broker: tcp://a:1883}\nmqtt: {broker: tcp://b:1883}\n");
        assertThatThrownBy(() -> GatewayConfig.load(twice, Map.of(), Map.of()))
                .hasMessageContaining("not valid YAML (line 2)")
                .hasMessageContaining("Duplicate field 'mqtt'");
        assertThatThrownBy(
                        () ->
                                GatewayConfig.load(
                                        null,
                                        Map.of(),
                                        Map.of(
                                                "mqtt.password-file",
                                                dir.resolve("nope").toString())))
                .hasMessageContaining("cannot be read");
    }

    /**
     * A secret written in the config file is refused, whether the gateway's own (the MQTT password)
     * or a client library's (a JAAS login); a library's secret may name a file instead.
     */
    @Test
    void secretsInTheConfigFileAreRefusedAndLibrarySecretsMayComeFromAFile() throws Exception {
        Path yaml = dir.resolve("gateway.yaml");
        Files.writeString(yaml, "mqtt: {username: gw, password: hunter2}\n");
        assertThatThrownBy(() -> GatewayConfig.load(yaml, Map.of(), Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("mqtt.password must not be written in the file")
                .hasMessageContaining("PLANTWATCH_GATEWAY_MQTT_PASSWORD")
                .hasMessageNotContaining("hunter2");
        Files.writeString(
                yaml,
                "kafka: {producer: {sasl.jaas.config: 'PlainLoginModule password=\"x\";'}}\n");
        assertThatThrownBy(() -> GatewayConfig.load(yaml, Map.of(), Map.of()))
                .hasMessageContaining(
                        "kafka.producer.sasl.jaas.config must not be written in the file");

        Path login = dir.resolve("kafka-login");
        Files.writeString(login, "PlainLoginModule required password=\"kafka-secret\";\n");
        Files.writeString(
                yaml, "kafka: {producer: {sasl.jaas.config-file: '%s'}}\n".formatted(login));
        GatewayConfig c = GatewayConfig.load(yaml, Map.of(), Map.of());
        assertThat(c.producerOverrides().getProperty("sasl.jaas.config"))
                .isEqualTo("PlainLoginModule required password=\"kafka-secret\";");
        assertThat(c.producerOverrides()).doesNotContainKey("sasl.jaas.config-file");
        assertThat(c.describe().toString()).doesNotContain("kafka-secret");
    }

    @Test
    void secretsComeFromFilesAndNeverShow() throws Exception {
        Path secret = dir.resolve("mqtt-password");
        Files.writeString(secret, "hunter2\n");
        GatewayConfig c =
                GatewayConfig.load(
                        null,
                        Map.of(
                                "PLANTWATCH_GATEWAY_MQTT_PASSWORD_FILE",
                                secret.toString(),
                                "PLANTWATCH_GATEWAY_KAFKA_PRODUCER_SASL_JAAS_CONFIG",
                                "org.apache.kafka.common.security.plain.PlainLoginModule"
                                        + " required username=\"u\" password=\"kafka-secret\";"),
                        Map.of("mqtt.username", "gw"));
        assertThat(new String(c.password())).isEqualTo("hunter2");
        assertThat(c.describe().toString())
                .doesNotContain("hunter2")
                .doesNotContain("kafka-secret")
                .contains("mqtt.password-file=" + secret);
        assertThatThrownBy(
                        () ->
                                GatewayConfig.load(
                                        null,
                                        Map.of("PLANTWATCH_GATEWAY_MQTT_PASSWORD", "hunter2"),
                                        Map.of("mqtt.version", "4")))
                .hasMessageContaining("mqtt.version")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("hunter2"));
    }
}
