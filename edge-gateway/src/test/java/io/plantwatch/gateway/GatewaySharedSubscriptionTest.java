package io.plantwatch.gateway;

import static io.plantwatch.gateway.GatewayHarness.config;
import static io.plantwatch.gateway.GatewayHarness.distinct;
import static io.plantwatch.gateway.GatewayHarness.run;
import static io.plantwatch.gateway.GatewayHarness.settings;
import static io.plantwatch.gateway.GatewayHarness.simulate;
import static org.assertj.core.api.Assertions.assertThat;

import io.plantwatch.infra.KafkaExtension;
import io.plantwatch.infra.MosquittoExtension;
import io.plantwatch.model.SensorReading;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Two gateways in one shared subscription group on mosquitto, which hands each message to the next
 * member in turn. (HiveMQ CE gave every message to one member while it had room, and drained a
 * shared backlog at about 1k msg/s here, which is why plain subscriptions are the default.)
 */
class GatewaySharedSubscriptionTest {
    @RegisterExtension static final KafkaExtension kafka = new KafkaExtension();
    @RegisterExtension static final MosquittoExtension mosquitto = new MosquittoExtension();

    @Test
    void twoGatewaysOnOneSharedSubscriptionSplitTheLoadAndMissNothing() throws Exception {
        Map<String, String> first = settings("shared", mosquitto.uri(), kafka.bootstrapServers());
        first.put("mqtt.shared-group", "shared-group");
        kafka.kafka().createTopics(3, "shared-readings", "shared-dlq");
        Map<String, String> second = new java.util.LinkedHashMap<>(first);
        second.put("gateway.id", "shared-2");
        try (Gateway g1 = Gateway.start(config(first));
                Gateway g2 = Gateway.start(config(second));
                KafkaReadings kafkaReadings =
                        new KafkaReadings(kafka.bootstrapServers(), "shared-readings")) {
            long published = simulate(run(mosquitto.uri(), "shared", 20, 10000, "2s"));
            Map<String, List<SensorReading>> bySensor =
                    KafkaReadings.bySensor(
                            kafkaReadings.readAtLeast((int) published, Duration.ofSeconds(60)));
            assertThat(distinct(bySensor)).isEqualTo(published);
            double a = g1.metrics().received.get();
            double b = g2.metrics().received.get();
            assertThat(a + b).isEqualTo(published);
            assertThat(Math.min(a, b) / published)
                    .as("each gateway took a share")
                    .isGreaterThan(0.2);
        }
    }
}
