package io.plantwatch.alerting;

import static org.assertj.core.api.Assertions.assertThat;

import com.hivemq.client.mqtt.MqttClient;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5Publish;
import io.plantwatch.infra.MqttBrokerExtension;
import io.plantwatch.model.Alert;
import io.plantwatch.model.AlertKind;
import io.plantwatch.model.AlertState;
import io.plantwatch.model.SensorId;
import io.plantwatch.model.Severity;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The andon/HMI path: a panel that subscribes after the fact still sees its machine's state. */
class MqttReceiverTest {
    @RegisterExtension static final MqttBrokerExtension mqtt = new MqttBrokerExtension();

    @Test
    void theMachineStateIsPublishedRetainedOnItsTopic() throws Exception {
        MqttReceiver receiver = machineStateReceiver("andon");
        Alert a = alert("dresden/press-shop/line-1/press-1/oil-temp");
        byte[] body = "{\"status\":\"FIRING\"}".getBytes(StandardCharsets.UTF_8);
        assertThat(
                        receiver.deliver(
                                new Notification(
                                        "n-1",
                                        "andon",
                                        "g",
                                        Notification.Status.FIRING,
                                        List.of(a)),
                                body))
                .isEqualTo(WebhookReceiver.Outcome.DELIVERED);

        URI broker = URI.create(mqtt.uri());
        Mqtt5BlockingClient panel =
                MqttClient.builder()
                        .useMqttVersion5()
                        .identifier("panel")
                        .serverHost(broker.getHost())
                        .serverPort(broker.getPort())
                        .buildBlocking();
        panel.connect();
        try (Mqtt5BlockingClient.Mqtt5Publishes publishes =
                panel.publishes(com.hivemq.client.mqtt.MqttGlobalPublishFilter.ALL)) {
            panel.subscribeWith()
                    .topicFilter("plant/+/+/+/+/alerts")
                    .qos(MqttQos.AT_LEAST_ONCE)
                    .send();
            Optional<Mqtt5Publish> got = publishes.receive(10, TimeUnit.SECONDS);
            assertThat(got).isPresent();
            assertThat(got.get().getTopic().toString())
                    .isEqualTo("plant/dresden/press-shop/line-1/press-1/alerts");
            assertThat(got.get().isRetain()).isTrue();
            assertThat(new String(got.get().getPayloadAsBytes(), StandardCharsets.UTF_8))
                    .isEqualTo("{\"status\":\"FIRING\"}");
        } finally {
            panel.disconnect();
        }
    }

    /**
     * The receiver keeps its connection between deliveries. Its service stops at every change of
     * the alerting file the appliance applies; until close let go of it, each stop left one
     * connection open, for good when the new file no longer had the receiver.
     */
    @Test
    void closingTheReceiverLetsGoOfItsConnectionAndSendsNothingMore() throws Exception {
        // A client id of its own: another receiver named alike would be taken over, not added.
        MqttReceiver receiver = machineStateReceiver("andon-closing");
        Notification n =
                new Notification(
                        "n-1",
                        "andon",
                        "g",
                        Notification.Status.FIRING,
                        List.of(alert("dresden/press-shop/line-1/press-1/oil-temp")));
        // The broker is the class's: another test's client may still be going. Counted once the
        // number of connections has held for half a second.
        long[] seen = {-1};
        org.awaitility.Awaitility.await()
                .atMost(Duration.ofSeconds(10))
                .during(Duration.ofMillis(500))
                .until(
                        () -> {
                            long now = mqtt.broker().openConnections();
                            boolean held = now == seen[0];
                            seen[0] = now;
                            return held;
                        });
        long before = seen[0];
        assertThat(receiver.deliver(n, new byte[] {'{', '}'}))
                .isEqualTo(WebhookReceiver.Outcome.DELIVERED);
        org.awaitility.Awaitility.await()
                .atMost(Duration.ofSeconds(10))
                .until(() -> mqtt.broker().openConnections() == before + 1);

        receiver.close();
        org.awaitility.Awaitility.await()
                .atMost(Duration.ofSeconds(10))
                .until(() -> mqtt.broker().openConnections() == before);
        assertThat(receiver.deliver(n, new byte[] {'{', '}'}))
                .isEqualTo(WebhookReceiver.Outcome.GAVE_UP);
        assertThat(mqtt.broker().openConnections()).isEqualTo(before);
    }

    /** A receiver publishing each machine's state on its topic, at the test's broker. */
    private static MqttReceiver machineStateReceiver(String name) {
        return new MqttReceiver(
                name,
                URI.create(mqtt.uri()),
                null,
                null,
                null,
                "plant/{site}/{area}/{line}/{machine}/alerts",
                Duration.ofSeconds(10));
    }

    /**
     * Levels may literally be named like a placeholder. Filled in one replacement after another,
     * machine {@code s/{line}/l/m} published on {@code plant/s/l/l/m/alerts}, machine {@code
     * s/l/l/m}'s retained topic; filled in one pass, each level is taken as it is.
     */
    @Test
    void aLevelNamedLikeAPlaceholderStaysAsItIs() {
        String template = "plant/{site}/{area}/{line}/{machine}/alerts";
        assertThat(MqttReceiver.topic(template, alert("s/{line}/l/m/oil-temp")))
                .isEqualTo("plant/s/{line}/l/m/alerts");
        assertThat(MqttReceiver.topic(template, alert("{machine}/{area}/{site}/{x}/t")))
                .isEqualTo("plant/{machine}/{area}/{site}/{x}/alerts");
        // Placeholders in any order, repeated, unknown ones and stray braces as they were.
        assertThat(
                        MqttReceiver.topic(
                                "{machine}/{unknown}/{site}{site}/{/x}{line",
                                alert("s/a/l/m/oil-temp")))
                .isEqualTo("m/{unknown}/ss/{/x}{line");
    }

    private static Alert alert(String sensor) {
        return new Alert(
                "id-1",
                SensorId.parse(sensor),
                "spike",
                AlertKind.SPIKE,
                Severity.CRITICAL,
                AlertState.OPEN,
                0,
                0,
                0,
                List.of(1.0),
                "m");
    }

    /** A password over plain tcp:// is allowed, as plant brokers often run so, but said. */
    @Test
    void aPasswordWithoutTlsIsAWarningNamingTheReceiver() {
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> log =
                new ch.qos.logback.core.read.ListAppender<>();
        log.start();
        ch.qos.logback.classic.Logger receiverLog =
                (ch.qos.logback.classic.Logger)
                        org.slf4j.LoggerFactory.getLogger(MqttReceiver.class);
        receiverLog.addAppender(log);
        try {
            byte[] password = "hunter2".getBytes(StandardCharsets.UTF_8);
            new MqttReceiver(
                    "andon",
                    URI.create("ssl://broker:8883"),
                    null,
                    "panel",
                    password,
                    "plant/{machine}/alerts",
                    Duration.ofMinutes(1));
            new MqttReceiver(
                    "andon-plain",
                    URI.create("tcp://broker:1883"),
                    null,
                    null,
                    null,
                    "plant/{machine}/alerts",
                    Duration.ofMinutes(1));
            assertThat(log.list).isEmpty();
            new MqttReceiver(
                    "andon",
                    URI.create("tcp://broker:1883"),
                    null,
                    "panel",
                    password,
                    "plant/{machine}/alerts",
                    Duration.ofMinutes(1));
            assertThat(log.list)
                    .singleElement()
                    .extracting(ch.qos.logback.classic.spi.ILoggingEvent::getFormattedMessage)
                    .asString()
                    .startsWith("Receiver andon logs in to tcp://broker:1883 as panel without TLS")
                    .doesNotContain("hunter2");
        } finally {
            receiverLog.detachAppender(log);
        }
    }
}
