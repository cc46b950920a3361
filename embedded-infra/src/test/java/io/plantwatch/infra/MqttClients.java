package io.plantwatch.infra;

import com.hivemq.client.mqtt.MqttGlobalPublishFilter;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5Publish;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;

/** Plain MQTT 5 clients for the broker tests. */
final class MqttClients {
    private MqttClients() {}

    static Mqtt5BlockingClient connect(String host, int port) {
        Mqtt5BlockingClient client = builder(host, port).buildBlocking();
        client.connect();
        return client;
    }

    static com.hivemq.client.mqtt.mqtt5.Mqtt5ClientBuilder builder(String host, int port) {
        return Mqtt5Client.builder()
                .identifier("test-" + UUID.randomUUID())
                .serverHost(host)
                .serverPort(port);
    }

    /** Subscribes to {@code filter} at QoS 1 and collects every payload as text, in order. */
    static List<String> collect(Mqtt5BlockingClient client, String filter) {
        List<String> received = new CopyOnWriteArrayList<>();
        client.toAsync()
                .publishes(
                        MqttGlobalPublishFilter.ALL,
                        (Mqtt5Publish publish) ->
                                received.add(
                                        new String(
                                                publish.getPayloadAsBytes(),
                                                StandardCharsets.UTF_8)));
        client.subscribeWith().topicFilter(filter).qos(MqttQos.AT_LEAST_ONCE).send();
        return received;
    }

    static void publish(Mqtt5BlockingClient client, String topic, String payload) {
        client.publishWith()
                .topic(topic)
                .qos(MqttQos.AT_LEAST_ONCE)
                .payload(payload.getBytes(StandardCharsets.UTF_8))
                .send();
    }
}
