package io.plantwatch.gateway;

import static io.plantwatch.gateway.GatewayHarness.config;
import static io.plantwatch.gateway.GatewayHarness.distinct;
import static io.plantwatch.gateway.GatewayHarness.gapsAndDisorder;
import static io.plantwatch.gateway.GatewayHarness.run;
import static io.plantwatch.gateway.GatewayHarness.settings;
import static io.plantwatch.gateway.GatewayHarness.simulateInBackground;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.plantwatch.infra.KafkaExtension;
import io.plantwatch.infra.MosquittoExtension;
import io.plantwatch.model.SensorReading;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Kafka away when the gateway starts, and back a few seconds later: each sensor's readings arrive
 * complete and in order. Before the producer knows a topic's partitions, a record handed to it
 * waits {@code max.block.ms} and fails through its callback, and was retried behind the records
 * that followed it.
 */
class GatewayKafkaAwayAtStartTest {
    @RegisterExtension static final KafkaExtension kafka = new KafkaExtension();
    @RegisterExtension static final MosquittoExtension mosquitto = new MosquittoExtension();

    @Test
    void kafkaAwayWhenTheGatewayStartsKeepsEachSensorInOrder() throws Exception {
        String name = "away-at-start";
        Map<String, String> s = settings(name, mosquitto.uri(), kafka.bootstrapServers());
        // mosquitto hands out up to 1,000 unacknowledged messages (MQTT 3.1.1, as its README
        // advises), where HiveMQ CE sent one at a time while none was acknowledged.
        s.put("mqtt.version", "3");
        kafka.kafka().createTopics(3, name + "-readings", name + "-dlq");
        kafka.kafka().stop();
        try (Gateway gateway = Gateway.start(config(s))) {
            CompletableFuture<Long> sim =
                    simulateInBackground(run(mosquitto.uri(), name, 10, 200, "15s"));
            // The producer has no partitions for the topic yet and waits 5 s (max.block.ms) per
            // try: Kafka returns after two tries have failed.
            await().atMost(Duration.ofSeconds(30))
                    .until(() -> gateway.metrics().kafkaRetries.get() >= 2);
            assertThat(gateway.metrics().produced()).isZero();
            kafka.kafka().start();

            long published = sim.get();
            assertThat(published).isEqualTo(3_000);
            try (KafkaReadings readings =
                    new KafkaReadings(kafka.bootstrapServers(), name + "-readings")) {
                Map<String, List<SensorReading>> bySensor =
                        readings.readDistinct(published, Duration.ofSeconds(120));
                assertThat(distinct(bySensor)).isEqualTo(published);
                assertThat(gapsAndDisorder(bySensor)).isEmpty();
            }
        }
    }

    /**
     * Kafka away at start with nothing to send yet: the producer alone would not notice, and {@code
     * /health} said UP. The gateway asks for the topic's partitions until Kafka answers.
     */
    @Test
    void kafkaAwayAtStartWithNothingToSendShowsInHealthAndTheLog() throws Exception {
        String name = "away-idle";
        Map<String, String> s = settings(name, mosquitto.uri(), kafka.bootstrapServers());
        kafka.kafka().createTopics(3, name + "-readings", name + "-dlq");
        kafka.kafka().stop();
        try (GatewayHarness.BridgeLog log = new GatewayHarness.BridgeLog();
                Gateway gateway = Gateway.start(config(s))) {
            GatewayHarness.awaitHealth(gateway, 503, 20);
            assertThat(GatewayHarness.get(gateway.httpPort(), "/health").body())
                    .contains(name + "-readings");
            await().atMost(Duration.ofSeconds(5))
                    .until(() -> log.warned(kafka.bootstrapServers(), "nothing is lost"));
            kafka.kafka().start();
            GatewayHarness.awaitHealth(gateway, 200, 30);
            await().atMost(Duration.ofSeconds(5)).until(() -> log.warned("acknowledging again"));
        }
    }
}
