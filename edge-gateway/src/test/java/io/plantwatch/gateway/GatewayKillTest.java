package io.plantwatch.gateway;

import static io.plantwatch.gateway.GatewayHarness.firstCopies;
import static io.plantwatch.gateway.GatewayHarness.gapsAndDisorder;
import static io.plantwatch.gateway.GatewayHarness.run;
import static io.plantwatch.gateway.GatewayHarness.simulateInBackground;
import static org.assertj.core.api.Assertions.assertThat;

import io.plantwatch.infra.KafkaExtension;
import io.plantwatch.infra.MqttBrokerExtension;
import io.plantwatch.model.SensorReading;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gateway as its own JVM, killed with SIGKILL mid-stream and started again: its persistent
 * session keeps what it had not acknowledged, so nothing is lost; duplicates are allowed.
 */
class GatewayKillTest {
    @RegisterExtension static final KafkaExtension kafka = new KafkaExtension();
    @RegisterExtension static final MqttBrokerExtension mqtt = new MqttBrokerExtension();

    @TempDir Path dir;
    private final List<Process> children = new ArrayList<>();

    @AfterEach
    void killChildren() {
        children.forEach(Process::destroyForcibly);
    }

    @Test
    void killMinusNineMidStreamLosesNothing() throws Exception {
        kafka.kafka().createTopics(3, "killed-readings", "killed-dlq");
        Process first = startGateway(dir.resolve("first.log"));
        try (KafkaReadings readings =
                new KafkaReadings(kafka.bootstrapServers(), "killed-readings")) {
            CompletableFuture<Long> sim =
                    simulateInBackground(run(mqtt.uri(), "killed", 20, 2000, "15s"));
            readings.readAtLeast(5_000, Duration.ofSeconds(60));
            first.destroyForcibly(); // SIGKILL: no drain, no disconnect
            first.waitFor();
            assertThat(sim).isNotDone();
            startGateway(dir.resolve("second.log"));

            long published = sim.get();
            List<ConsumerRecord<String, byte[]>> all =
                    readings.readUntil(
                            Duration.ofSeconds(90),
                            r -> GatewayHarness.distinct(KafkaReadings.bySensor(r)) >= published);
            Map<String, List<SensorReading>> bySensor = KafkaReadings.bySensor(all);
            long distinct = GatewayHarness.distinct(bySensor);
            assertThat(distinct).isEqualTo(published);
            assertThat(gapsAndDisorder(firstCopies(bySensor))).isEmpty();
            // For the record: the price of at-least-once across a kill -9.
            System.out.printf(
                    "kill -9 of the gateway: published=%d in Kafka=%d duplicates=%d%n",
                    published, all.size(), all.size() - distinct);
        }
    }

    private Process startGateway(Path log) throws IOException {
        Process p =
                GatewayHarness.startProcess(
                        log,
                        "--mqtt-broker",
                        mqtt.uri(),
                        "--kafka-bootstrap",
                        kafka.bootstrapServers(),
                        "--gateway-id",
                        "killed",
                        "--http-port",
                        "-1",
                        "--set",
                        "mqtt.topic-prefix=killed",
                        "--set",
                        "mqtt.shared-group=killed-group",
                        "--set",
                        "kafka.readings-topic=killed-readings",
                        "--set",
                        "kafka.dlq-topic=killed-dlq");
        children.add(p);
        GatewayHarness.awaitLog(p, log, "edge-gateway killed started");
        return p;
    }
}
