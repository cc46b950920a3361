package io.plantwatch.gateway;

import static io.plantwatch.gateway.GatewayHarness.config;
import static io.plantwatch.gateway.GatewayHarness.distinct;
import static io.plantwatch.gateway.GatewayHarness.gapsAndDisorder;
import static io.plantwatch.gateway.GatewayHarness.header;
import static io.plantwatch.gateway.GatewayHarness.run;
import static io.plantwatch.gateway.GatewayHarness.settings;
import static io.plantwatch.gateway.GatewayHarness.simulate;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.hivemq.client.mqtt.MqttClient;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import io.plantwatch.infra.KafkaExtension;
import io.plantwatch.infra.MqttBrokerExtension;
import io.plantwatch.model.SensorReading;
import io.plantwatch.model.Topics;
import java.net.URI;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Kafka refuses one record for good: larger than its topic takes. Retried forever, it held the
 * acknowledgement of every later message, and once {@code mqtt.max-in-flight} of them waited the
 * broker sent no more: one bad message stopped the plant's readings.
 */
class GatewayKafkaRefusesRecordTest {
    @RegisterExtension static final KafkaExtension kafka = new KafkaExtension();
    @RegisterExtension static final MqttBrokerExtension mqtt = new MqttBrokerExtension();

    @Test
    void aRecordTooLargeForItsTopicGoesToTheDlqCutAndTheReadingsBehindItFlow() throws Exception {
        String name = "refused";
        Map<String, String> s = settings(name, mqtt.uri(), kafka.bootstrapServers());
        // Fewer waiting messages than the run sends, so a held acknowledgement stops the broker.
        s.put("mqtt.max-in-flight", "200");
        kafka.kafka().createTopics(3, name + "-readings", name + "-dlq");
        try (Admin admin =
                Admin.create(
                        Map.of(
                                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                                kafka.bootstrapServers()))) {
            ConfigResource dlq = new ConfigResource(ConfigResource.Type.TOPIC, name + "-dlq");
            admin.incrementalAlterConfigs(
                            Map.of(
                                    dlq,
                                    List.of(
                                            new AlterConfigOp(
                                                    new ConfigEntry("max.message.bytes", "2048"),
                                                    AlterConfigOp.OpType.SET))))
                    .all()
                    .get();
        }
        // Not JSON, under the gateway's 16 KB limit, and random so that compression keeps it
        // larger than the DLQ topic takes.
        byte[] random = new byte[6000];
        new Random(5).nextBytes(random);
        byte[] bad = Base64.getEncoder().encode(random);
        String badTopic = name + "/s/a/l/m/bad-1";

        try (Gateway gateway = Gateway.start(config(s))) {
            URI broker = URI.create(mqtt.uri());
            Mqtt5BlockingClient publisher =
                    MqttClient.builder()
                            .useMqttVersion5()
                            .serverHost(broker.getHost())
                            .serverPort(broker.getPort())
                            .buildBlocking();
            publisher.connect();
            publisher.publishWith().topic(badTopic).qos(MqttQos.AT_LEAST_ONCE).payload(bad).send();
            publisher.disconnect();

            long published = simulate(run(mqtt.uri(), name, 10, 1000, "2s"));
            assertThat(published).isEqualTo(2_000);
            try (KafkaReadings readings =
                            new KafkaReadings(kafka.bootstrapServers(), name + "-readings");
                    KafkaReadings dead =
                            new KafkaReadings(kafka.bootstrapServers(), name + "-dlq")) {
                Map<String, List<SensorReading>> bySensor =
                        readings.readDistinct(published, Duration.ofSeconds(60));
                assertThat(distinct(bySensor)).isEqualTo(published);
                assertThat(gapsAndDisorder(bySensor)).isEmpty();

                List<ConsumerRecord<String, byte[]>> dlq =
                        dead.readAtLeast(1, Duration.ofSeconds(30));
                assertThat(dlq).hasSize(1);
                ConsumerRecord<String, byte[]> r = dlq.get(0);
                assertThat(header(r, Topics.HEADER_SOURCE_TOPIC)).isEqualTo(badTopic);
                assertThat(header(r, Topics.HEADER_REASON)).isEqualTo("malformed_json");
                assertThat(header(r, ReadingRouter.HEADER_ORIGINAL_SIZE))
                        .isEqualTo(Integer.toString(bad.length));
                assertThat(header(r, ReadingRouter.HEADER_KAFKA_REFUSED))
                        .contains("RecordTooLargeException");
                assertThat(r.value())
                        .hasSize(ReadingRouter.REFUSED_VALUE_BYTES)
                        .startsWith(java.util.Arrays.copyOf(bad, 16));
            }
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> gateway.metrics().inFlight.get() == 0);
            assertThat(GatewayHarness.get(gateway.httpPort(), "/metrics").body())
                    .contains("plantwatch_gateway_kafka_refused_total 1.0")
                    .contains("plantwatch_gateway_dlq_total{reason=\"malformed_json\"} 1.0");
            assertThat(GatewayHarness.get(gateway.httpPort(), "/health").statusCode())
                    .isEqualTo(200);
        }
    }
}
