package io.plantwatch.gateway;

import static io.plantwatch.gateway.GatewayHarness.config;
import static io.plantwatch.gateway.GatewayHarness.distinct;
import static io.plantwatch.gateway.GatewayHarness.firstCopies;
import static io.plantwatch.gateway.GatewayHarness.gapsAndDisorder;
import static io.plantwatch.gateway.GatewayHarness.run;
import static io.plantwatch.gateway.GatewayHarness.settings;
import static io.plantwatch.gateway.GatewayHarness.simulateInBackground;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.plantwatch.infra.EmbeddedKafka;
import io.plantwatch.infra.KafkaExtension;
import io.plantwatch.infra.MqttBrokerExtension;
import io.plantwatch.model.SensorReading;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TopicDescription;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Three Kafka brokers, replication 3 and min.insync.replicas 2: one broker lost mid-stream. */
class GatewayKafkaBrokerLossTest {
    @RegisterExtension
    static final KafkaExtension kafka = new KafkaExtension(EmbeddedKafka.builder().brokers(3));

    @RegisterExtension static final MqttBrokerExtension mqtt = new MqttBrokerExtension();

    @Test
    void oneOfThreeBrokersStoppedMidStreamLosesNothing() throws Exception {
        Map<String, String> s = settings("loss", mqtt.uri(), kafka.bootstrapServers());
        kafka.kafka().createTopics(3, "loss-readings", "loss-dlq");
        try (Admin admin = kafka.kafka().createAdmin()) {
            TopicDescription d =
                    admin.describeTopics(List.of("loss-readings"))
                            .allTopicNames()
                            .get()
                            .get("loss-readings");
            assertThat(d.partitions()).allSatisfy(p -> assertThat(p.replicas()).hasSize(3));
            String minIsr =
                    admin.describeConfigs(
                                    List.of(
                                            new org.apache.kafka.common.config.ConfigResource(
                                                    org.apache.kafka.common.config.ConfigResource
                                                            .Type.TOPIC,
                                                    "loss-readings")))
                            .all()
                            .get()
                            .values()
                            .iterator()
                            .next()
                            .get("min.insync.replicas")
                            .value();
            assertThat(minIsr).isEqualTo("2");
        }
        try (Gateway gateway = Gateway.start(config(s))) {
            CompletableFuture<Long> sim =
                    simulateInBackground(run(mqtt.uri(), "loss", 20, 2000, "15s"));
            await().atMost(Duration.ofSeconds(30))
                    .until(() -> gateway.metrics().produced() >= 5_000);
            kafka.kafka().stopBroker(1);
            assertThat(sim).isNotDone();
            long published = sim.get();
            try (KafkaReadings readings =
                    new KafkaReadings(kafka.bootstrapServers(), "loss-readings")) {
                Map<String, List<SensorReading>> bySensor =
                        readings.readDistinct(published, Duration.ofSeconds(120));
                assertThat(distinct(bySensor)).isEqualTo(published);
                assertThat(gapsAndDisorder(firstCopies(bySensor))).isEmpty();
            }
        }
    }
}
