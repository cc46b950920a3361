package io.plantwatch.alerting;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.hivemq.client.mqtt.MqttClient;
import com.hivemq.client.mqtt.MqttGlobalPublishFilter;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5Publish;
import io.plantwatch.infra.EmbeddedMqttBroker;
import io.plantwatch.infra.MqttBrokerExtension;
import io.plantwatch.infra.SelfSignedCertificate;
import io.plantwatch.model.Alert;
import io.plantwatch.model.AlertKind;
import io.plantwatch.model.AlertState;
import io.plantwatch.model.Secrets;
import io.plantwatch.model.SensorId;
import io.plantwatch.model.Severity;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The andon path to a plant broker that takes only TLS and logins: the receiver as the shipped
 * configuration builds it, driven by the dispatcher, against HiveMQ CE's TLS listener.
 */
class MqttReceiverTlsTest {
    private static final String USER = "andon";
    private static final String PASSWORD = "andon-pw";
    private static final long T0 = Instant.parse("2026-11-25T08:00:00Z").toEpochMilli();

    @RegisterExtension
    static final MqttBrokerExtension mqtt =
            new MqttBrokerExtension(EmbeddedMqttBroker.builder().tls().credentials(USER, PASSWORD));

    @TempDir Path dir;

    @Test
    void aRetainedAlertStateReachesAPanelOverTls() throws Exception {
        Path password = secretFile(PASSWORD);
        AlertingConfig c =
                config(
                        "ca-file: '%s', username: %s, password-file: '%s', give-up-after: 10s"
                                .formatted(mqtt.caFile(), USER, password));
        try (AlertStore store = new AlertStore(dir.resolve("store"));
                Dispatcher d = Dispatcher.of(c, store)) {
            d.onEvent(alert("press-1"), 0, 0, T0);
            d.dispatchDue(T0 + 1_000);
            await().atMost(Duration.ofSeconds(10)).until(() -> delivered(d) + failed(d) > 0);
            assertThat(delivered(d)).isEqualTo(1);
            assertThat(failed(d)).isZero();
            assertThat(d.failedAttempts("andon")).isZero();
        }

        Mqtt5BlockingClient panel = panel();
        try (Mqtt5BlockingClient.Mqtt5Publishes publishes =
                panel.publishes(MqttGlobalPublishFilter.ALL)) {
            panel.subscribeWith().topicFilter(topic("press-1")).qos(MqttQos.AT_LEAST_ONCE).send();
            Optional<Mqtt5Publish> got = publishes.receive(10, TimeUnit.SECONDS);
            assertThat(got).isPresent();
            assertThat(got.get().isRetain()).isTrue();
            JsonNode body = new ObjectMapper().readTree(got.get().getPayloadAsBytes());
            assertThat(body.path("status").asText()).isEqualTo("FIRING");
            assertThat(body.path("alerts").get(0).path("alert_id").asText())
                    .isEqualTo("alert-press-1");
        } finally {
            panel.disconnect();
        }
    }

    /**
     * A CA file of another CA: the broker's certificate is refused, so the notification counts as
     * failed and nothing reaches the topic. Without this, a receiver that trusted any certificate
     * would pass the test above as well.
     */
    @Test
    void theWrongCaFileFailsTheDeliveryAndCountsIt() throws Exception {
        try (SelfSignedCertificate other = SelfSignedCertificate.generate()) {
            AlertingConfig c =
                    config(
                            "ca-file: '%s', username: %s, password-file: '%s', give-up-after: 0s"
                                    .formatted(other.caFile(), USER, secretFile(PASSWORD)));
            assertFailsAndNothingIsRetained(c, "press-2");
        }
    }

    /** ssl:// without a CA file trusts the JVM's CAs, which never signed a plant's own broker. */
    @Test
    void withoutACaFileTheJvmsCasDoNotTrustTheBroker() throws Exception {
        AlertingConfig c =
                config(
                        "username: %s, password-file: '%s', give-up-after: 0s"
                                .formatted(USER, secretFile(PASSWORD)));
        assertFailsAndNothingIsRetained(c, "press-3");
    }

    /**
     * A wrong password is refused by the broker, and the receiver does not retry it for its hour of
     * give-up-after: one failed attempt, one failed notification.
     */
    @Test
    void aRefusedLoginIsCountedFailedAndNotRetried() throws Exception {
        AlertingConfig c =
                config(
                        "ca-file: '%s', username: %s, password-file: '%s', give-up-after: 1h"
                                .formatted(mqtt.caFile(), USER, secretFile("not-the-password")));
        assertFailsAndNothingIsRetained(c, "press-4");
        assertThat(c.receivers().get("andon").failedAttempts()).isEqualTo(1);
    }

    private void assertFailsAndNothingIsRetained(AlertingConfig c, String machine)
            throws Exception {
        try (AlertStore store = new AlertStore(dir.resolve("store"));
                Dispatcher d = Dispatcher.of(c, store)) {
            d.onEvent(alert(machine), 0, 0, T0);
            d.dispatchDue(T0 + 1_000);
            await().atMost(Duration.ofSeconds(10)).until(() -> delivered(d) + failed(d) > 0);
            assertThat(failed(d)).isEqualTo(1);
            assertThat(delivered(d)).isZero();
            assertThat(d.failedAttempts("andon")).isPositive();
        }
        // A retained state would reach a new subscriber before anything published after it
        // subscribed, so the first message it gets must be the marker.
        Mqtt5BlockingClient panel = panel();
        try (Mqtt5BlockingClient.Mqtt5Publishes publishes =
                panel.publishes(MqttGlobalPublishFilter.ALL)) {
            panel.subscribeWith().topicFilter(topic(machine)).qos(MqttQos.AT_LEAST_ONCE).send();
            String marker = "marker-" + UUID.randomUUID();
            panel.publishWith()
                    .topic(topic(machine))
                    .qos(MqttQos.AT_LEAST_ONCE)
                    .payload(marker.getBytes(StandardCharsets.UTF_8))
                    .send();
            Optional<Mqtt5Publish> first = publishes.receive(10, TimeUnit.SECONDS);
            assertThat(first).isPresent();
            assertThat(new String(first.get().getPayloadAsBytes(), StandardCharsets.UTF_8))
                    .isEqualTo(marker);
        } finally {
            panel.disconnect();
        }
    }

    /** The receiver as config/alerting.yaml would build it, with {@code settings} added. */
    private AlertingConfig config(String settings) throws Exception {
        Path file = dir.resolve("alerting.yaml");
        Files.writeString(
                file,
                ("receivers:\n  - {name: andon, type: mqtt, broker: '%s', %s}\n"
                                + "route: {receiver: andon, group-wait: 0s}\n"
                                + "api: {port: -1}\n")
                        .formatted(mqtt.tlsUri(), settings));
        return AlertingConfig.load(file, "127.0.0.1:9", name -> null);
    }

    private Path secretFile(String secret) throws Exception {
        Path file = Files.createTempFile(dir, "mqtt-password", "");
        Files.writeString(file, secret + "\n");
        return file;
    }

    private static long delivered(Dispatcher d) {
        return Dispatcher.Metrics.get(d.metrics().delivered, "andon");
    }

    private static long failed(Dispatcher d) {
        return Dispatcher.Metrics.get(d.metrics().failed, "andon");
    }

    private static String topic(String machine) {
        return "plant/dresden/press-shop/line-1/" + machine + "/alerts";
    }

    private static Alert alert(String machine) {
        return new Alert(
                "alert-" + machine,
                SensorId.parse("dresden/press-shop/line-1/" + machine + "/oil-temp"),
                "spike",
                AlertKind.SPIKE,
                Severity.CRITICAL,
                AlertState.OPEN,
                T0,
                T0,
                T0,
                List.of(1.0),
                "m");
    }

    /** An HMI panel: over TLS, trusting the broker's CA, with the plant's login. */
    private static Mqtt5BlockingClient panel() {
        URI tls = URI.create(mqtt.tlsUri());
        Mqtt5BlockingClient panel =
                MqttClient.builder()
                        .useMqttVersion5()
                        .identifier("panel-" + UUID.randomUUID())
                        .serverHost(tls.getHost())
                        .serverPort(tls.getPort())
                        .sslConfig()
                        .trustManagerFactory(Secrets.trustFromPem(mqtt.caFile()))
                        .applySslConfig()
                        .simpleAuth()
                        .username(USER)
                        .password(PASSWORD.getBytes(StandardCharsets.UTF_8))
                        .applySimpleAuth()
                        .buildBlocking();
        panel.connect();
        return panel;
    }
}
