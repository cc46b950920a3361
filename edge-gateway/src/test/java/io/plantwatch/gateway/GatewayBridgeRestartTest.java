package io.plantwatch.gateway;

import static io.plantwatch.gateway.GatewayHarness.config;
import static io.plantwatch.gateway.GatewayHarness.firstCopies;
import static io.plantwatch.gateway.GatewayHarness.gapsAndDisorder;
import static io.plantwatch.gateway.GatewayHarness.run;
import static io.plantwatch.gateway.GatewayHarness.settings;
import static io.plantwatch.gateway.GatewayHarness.simulate;
import static io.plantwatch.gateway.GatewayHarness.simulateInBackground;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.plantwatch.infra.EmbeddedMqttBroker;
import io.plantwatch.infra.KafkaExtension;
import io.plantwatch.infra.MqttBrokerExtension;
import io.plantwatch.model.ConfigException;
import io.plantwatch.model.SensorReading;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gateway's bridge restarted with changed settings while sensors publish, as the appliance does
 * for a saved gateway file ({@link Gateway#restartBridge}): the broker's session holds what is sent
 * meanwhile, so nothing is lost, and the metrics go on counting.
 */
class GatewayBridgeRestartTest {
    private static final String USER = "gateway";
    private static final String PASSWORD = "gateway-pw";

    @RegisterExtension static final KafkaExtension kafka = new KafkaExtension();

    @RegisterExtension
    static final MqttBrokerExtension mqtt =
            new MqttBrokerExtension(EmbeddedMqttBroker.builder().credentials(USER, PASSWORD));

    @TempDir Path dir;

    private Map<String, String> settingsFor(String name) throws Exception {
        Map<String, String> s = settings(name, mqtt.uri(), kafka.bootstrapServers());
        s.put("mqtt.username", USER);
        s.put("mqtt.password-file", passwordFile(PASSWORD).toString());
        kafka.kafka().createTopics(3, name + "-readings", name + "-dlq");
        return s;
    }

    @Test
    void aBridgeRestartedMidStreamLosesNothingAndItsMetricsGoOn() throws Exception {
        Map<String, String> s = settingsFor("restarted");
        try (Gateway gateway = Gateway.start(config(s));
                KafkaReadings readings =
                        new KafkaReadings(kafka.bootstrapServers(), "restarted-readings")) {
            CompletableFuture<Long> sim = simulateInBackground(sim("restarted", 20, 1000, "10s"));
            readings.readAtLeast(3_000, Duration.ofSeconds(60));

            s.put("limits.max-payload-bytes", "8192");
            gateway.restartBridge(config(s));
            assertThat(gateway.config().maxPayloadBytes()).isEqualTo(8192);
            assertThat(sim).isNotDone();

            long published = sim.get();
            List<ConsumerRecord<String, byte[]>> all =
                    readings.readUntil(
                            Duration.ofSeconds(60),
                            r -> GatewayHarness.distinct(KafkaReadings.bySensor(r)) >= published);
            Map<String, List<SensorReading>> bySensor = KafkaReadings.bySensor(all);
            assertThat(GatewayHarness.distinct(bySensor)).isEqualTo(published);
            assertThat(gapsAndDisorder(firstCopies(bySensor))).isEmpty();
            // Counted across both bridges, not from 0 at the restart.
            assertThat(gateway.metrics().produced()).isGreaterThanOrEqualTo(published);
            assertThat(GatewayHarness.get(gateway.httpPort(), "/health").statusCode())
                    .isEqualTo(200);
            System.out.printf(
                    "bridge restarted mid-stream: published=%d in Kafka=%d duplicates=%d%n",
                    published, all.size(), all.size() - GatewayHarness.distinct(bySensor));
        }
    }

    /**
     * A changed login the broker refuses is not taken: the bridge connects again with the one it
     * had, says why, and goes on forwarding.
     */
    @Test
    void aChangedLoginTheBrokerRefusesLeavesTheBridgeWithTheOneItHad() throws Exception {
        Map<String, String> s = settingsFor("refused-change");
        try (Gateway gateway = Gateway.start(config(s));
                KafkaReadings readings =
                        new KafkaReadings(kafka.bootstrapServers(), "refused-change-readings")) {
            // Rewritten in place, as a mounted secret is: the bridge going back to the login it
            // had must not read the file again.
            Files.writeString(Path.of(s.get("mqtt.password-file")), "not-it\n");
            GatewayConfig refused = config(s);

            assertThatThrownBy(() -> gateway.restartBridge(refused))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining("BAD_USER_NAME_OR_PASSWORD")
                    .hasMessageNotContaining("not-it");
            assertThat(gateway.config().password())
                    .isEqualTo(PASSWORD.getBytes(java.nio.charset.StandardCharsets.UTF_8));

            // Nor does a producer Kafka's client cannot create (a trust store that is not there).
            Files.writeString(Path.of(s.get("mqtt.password-file")), PASSWORD + "\n");
            s.put("kafka.producer.security.protocol", "SSL");
            s.put("kafka.producer.ssl.truststore.location", dir.resolve("absent.jks").toString());
            GatewayConfig noProducer = config(s);
            assertThatThrownBy(() -> gateway.restartBridge(noProducer))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining("runs with those it had");
            assertThat(gateway.config().producerOverrides()).doesNotContainKey("security.protocol");
            long published = simulate(sim("refused-change", 2, 100, "1s"));
            assertThat(readings.readDistinct(published, Duration.ofSeconds(30))).hasSize(2);

            // A change that comes after the gateway was closed brings no bridge back.
            gateway.close();
            assertThat(gateway.metrics().mqttConnected.get()).isZero();
            assertThat(gateway.restartBridge(config(settingsFor("after-close"))))
                    .isEqualTo("the gateway is closed");
        }
    }

    /**
     * The gateway run on its own, as the docker stack runs it, applies a saved change of its file
     * too ({@code --watch-config}, on by default), after refusing a change of its id.
     */
    @Test
    void runOnItsOwnTheGatewayAppliesAChangeOfItsFile() throws Exception {
        kafka.kafka().createTopics(1, "own-readings", "own-dlq");
        String yaml =
                """
                gateway: {id: %s}
                mqtt: {broker: '%s', topic-prefix: own, username: %s, password-file: '%s'}
                kafka: {bootstrap: '%s', readings-topic: own-readings, dlq-topic: own-dlq}
                http: {bind: 127.0.0.1, port: 0}
                limits: {max-payload-bytes: %d}
                """;
        String password = passwordFile(PASSWORD).toString();
        String bootstrap = kafka.bootstrapServers();
        Path config =
                Files.writeString(
                        dir.resolve("gateway.yaml"),
                        yaml.formatted("own", mqtt.uri(), USER, password, bootstrap, 16384));
        Path log = dir.resolve("gateway.log");
        Process gateway = GatewayHarness.startProcess(log, "--config", config.toString());
        try (KafkaReadings readings = new KafkaReadings(bootstrap, "own-readings")) {
            GatewayHarness.awaitLog(gateway, log, "edge-gateway own started");
            Files.writeString(
                    config, yaml.formatted("other", mqtt.uri(), USER, password, bootstrap, 16384));
            GatewayHarness.awaitLog(gateway, log, "gateway.id (own -> other) changed");

            Files.writeString(
                    config, yaml.formatted("own", mqtt.uri(), USER, password, bootstrap, 8192));
            GatewayHarness.awaitLog(gateway, log, "The gateway runs with the changed settings");
            long published = simulate(sim("own", 2, 100, "1s"));
            assertThat(readings.readDistinct(published, Duration.ofSeconds(30))).hasSize(2);
            java.util.regex.Matcher port =
                    java.util.regex.Pattern.compile("metrics http://127.0.0.1:(\\d+)/metrics")
                            .matcher(Files.readString(log));
            assertThat(port.find()).isTrue();
            assertThat(GatewayHarness.get(Integer.parseInt(port.group(1)), "/metrics").body())
                    .containsPattern(
                            "(?m)^plantwatch_gateway_config_changes_applied_total 1(\\.0)?$")
                    // A check that reads the file half written refuses it once more.
                    .containsPattern(
                            "(?m)^plantwatch_gateway_config_changes_refused_total [12](\\.0)?$");
        } finally {
            gateway.destroyForcibly();
        }
    }

    /** The simulator's arguments, logged in. */
    private String[] sim(String prefix, int sensors, int rate, String duration) throws Exception {
        return run(
                mqtt.uri(),
                prefix,
                sensors,
                rate,
                duration,
                "--username",
                USER,
                "--password-file",
                passwordFile(PASSWORD).toString());
    }

    private Path passwordFile(String password) throws Exception {
        return GatewayHarness.passwordFile(dir, password);
    }
}
