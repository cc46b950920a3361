package io.plantwatch.gateway;

import static io.plantwatch.gateway.GatewayHarness.config;
import static io.plantwatch.gateway.GatewayHarness.gapsAndDisorder;
import static io.plantwatch.gateway.GatewayHarness.run;
import static io.plantwatch.gateway.GatewayHarness.settings;
import static io.plantwatch.gateway.GatewayHarness.simulate;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.plantwatch.infra.EmbeddedMqttBroker;
import io.plantwatch.infra.KafkaExtension;
import io.plantwatch.infra.MqttBrokerExtension;
import io.plantwatch.infra.SelfSignedCertificate;
import io.plantwatch.model.SensorReading;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gateway on a plant broker that takes only TLS and logins (HiveMQ CE's TLS listener with a
 * certificate made at test time): {@code ssl://}, {@code mqtt.ca-file}, {@code mqtt.password-file}.
 */
class GatewayTlsTest {
    private static final String USER = "gateway";
    private static final String PASSWORD = "gateway-pw";

    @RegisterExtension static final KafkaExtension kafka = new KafkaExtension();

    @RegisterExtension
    static final MqttBrokerExtension mqtt =
            new MqttBrokerExtension(EmbeddedMqttBroker.builder().tls().credentials(USER, PASSWORD));

    @TempDir Path dir;

    private Map<String, String> settingsFor(String name, Path caFile, String password)
            throws Exception {
        Map<String, String> s = settings(name, mqtt.tlsUri(), kafka.bootstrapServers());
        s.put("mqtt.ca-file", caFile.toString());
        s.put("mqtt.username", USER);
        s.put("mqtt.password-file", passwordFile(password).toString());
        kafka.kafka().createTopics(1, name + "-readings", name + "-dlq");
        return s;
    }

    @Test
    void readingsCrossFromTheTlsListenerToKafka() throws Exception {
        try (Gateway gateway = Gateway.start(config(settingsFor("tls", mqtt.caFile(), PASSWORD)));
                KafkaReadings readings =
                        new KafkaReadings(kafka.bootstrapServers(), "tls-readings")) {
            long published =
                    simulate(
                            run(
                                    mqtt.tlsUri(),
                                    "tls",
                                    2,
                                    100,
                                    "1s",
                                    "--ca-file",
                                    mqtt.caFile().toString(),
                                    "--username",
                                    USER,
                                    "--password-file",
                                    passwordFile(PASSWORD).toString()));
            assertThat(published).isEqualTo(100);
            Map<String, List<SensorReading>> bySensor =
                    readings.readDistinct(published, Duration.ofSeconds(30));
            assertThat(bySensor).hasSize(2);
            assertThat(gapsAndDisorder(bySensor)).isEmpty();

            HttpResponse<String> health = GatewayHarness.get(gateway.httpPort(), "/health");
            assertThat(health.statusCode()).isEqualTo(200);
            assertThat(health.body()).contains("\"mqtt\":\"connected\"");
        }
    }

    /**
     * Trusting another CA, the gateway never connects: it says why and keeps retrying, as for a
     * broker that cannot be reached, and /health is down. Without this, a gateway that trusted any
     * certificate would pass the test above as well.
     */
    @Test
    void aBrokerCertificateFromAnotherCaIsNeverTrusted() throws Exception {
        try (SelfSignedCertificate other = SelfSignedCertificate.generate();
                GatewayHarness.BridgeLog log = new GatewayHarness.BridgeLog();
                Gateway gateway =
                        Gateway.start(config(settingsFor("untrusted", other.caFile(), PASSWORD)))) {
            assertThat(log.warned("not reachable yet", "certification path")).isTrue();
            await().atMost(Duration.ofSeconds(10))
                    .untilAsserted(
                            () -> {
                                HttpResponse<String> health =
                                        GatewayHarness.get(gateway.httpPort(), "/health");
                                assertThat(health.statusCode()).isEqualTo(503);
                                assertThat(health.body()).contains("\"mqtt\":\"disconnected\"");
                            });
        }
    }

    @Test
    void aWrongPasswordOverTlsIsRefusedAtStart() {
        assertThatThrownBy(
                        () ->
                                Gateway.start(
                                        config(settingsFor("refused", mqtt.caFile(), "not-it"))))
                .isInstanceOf(MqttKafkaBridge.LoginRefusedException.class)
                .hasMessageContaining("BAD_USER_NAME_OR_PASSWORD")
                .hasMessageNotContaining("not-it");
    }

    private Path passwordFile(String password) throws Exception {
        return GatewayHarness.passwordFile(dir, password);
    }
}
