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

import io.plantwatch.infra.KafkaExtension;
import io.plantwatch.infra.MqttBrokerExtension;
import io.plantwatch.model.SensorReading;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Kafka stopped for 15 s in the middle of a stream: the broker holds the rest, nothing is lost;
 * with the shipped settings the producer waits it out, and with a shorter {@code
 * kafka.producer-restart-after} it is replaced during the outage, and still nothing is lost. The
 * gateway says when Kafka stops acknowledging and when it is back, in its own words.
 */
class GatewayKafkaOutageTest {
    @RegisterExtension static final KafkaExtension kafka = new KafkaExtension();
    @RegisterExtension static final MqttBrokerExtension mqtt = new MqttBrokerExtension();

    @ParameterizedTest(name = "producer restarted after {0} s")
    @ValueSource(ints = {60, 8})
    void kafkaDownForFifteenSecondsMidStreamLosesNothing(int restartAfterSeconds) throws Exception {
        String name = "outage-" + restartAfterSeconds;
        Map<String, String> s = settings(name, mqtt.uri(), kafka.bootstrapServers());
        s.put("kafka.producer-restart-after", restartAfterSeconds + "s");
        kafka.kafka().createTopics(3, name + "-readings", name + "-dlq");
        try (GatewayHarness.BridgeLog log = new GatewayHarness.BridgeLog();
                Gateway gateway = Gateway.start(config(s))) {
            // 30 s of readings at 500/s in real time: Kafka goes away after 4 s and for 15 s,
            // longer than the stall the gateway reports (10 s) and the shorter restart-after.
            CompletableFuture<Long> sim =
                    simulateInBackground(run(mqtt.uri(), name, 10, 500, "30s"));
            await().atMost(Duration.ofSeconds(30))
                    .until(() -> gateway.metrics().produced.get() >= 2_000);
            kafka.kafka().stop();
            long stoppedAt = System.nanoTime();
            // While Kafka is down the gateway holds acknowledgements and says so.
            GatewayHarness.awaitHealth(gateway, 503, 25);
            assertThat(gateway.metrics().inFlight.get())
                    .isLessThanOrEqualTo(gateway.config().maxInFlight());
            await().atMost(Duration.ofSeconds(5))
                    .until(() -> log.warned("no acknowledgement for", "nothing is lost"));
            // The outage itself lasts 15 s by design; this waits out a fault, it syncs nothing.
            Thread.sleep(Math.max(0, 15_000 - (System.nanoTime() - stoppedAt) / 1_000_000));
            kafka.kafka().start();

            long published = sim.get();
            assertThat(published).isEqualTo(15_000);
            try (KafkaReadings readings =
                    new KafkaReadings(kafka.bootstrapServers(), name + "-readings")) {
                Map<String, List<SensorReading>> bySensor =
                        readings.readDistinct(published, Duration.ofSeconds(120));
                assertThat(distinct(bySensor)).isEqualTo(published);
                if (restartAfterSeconds >= 15) {
                    assertThat(gateway.metrics().producerRestarts.get()).isZero();
                    assertThat(gapsAndDisorder(bySensor)).isEmpty();
                } else {
                    // Waiting since the stop, the records went to a new producer after 8 s, which
                    // waited for Kafka's return. What an old producer had written unacknowledged
                    // can come twice; the first copies are in order.
                    assertThat(gateway.metrics().producerRestarts.get()).isGreaterThanOrEqualTo(1);
                    assertThat(gapsAndDisorder(firstCopies(bySensor))).isEmpty();
                }
            }
            GatewayHarness.awaitHealth(gateway, 200, 30);
            await().atMost(Duration.ofSeconds(5)).until(() -> log.warned("acknowledging again"));
        }
    }

    /**
     * Kafka gone while the gateway has nothing to send (a line stopped, a night shift): the
     * producer notices only when it sends, and {@code /health} said UP through the whole outage.
     * The gateway asks Kafka for the readings topic's partitions when it has been quiet.
     */
    @Test
    void kafkaGoneWhileNothingIsSentShowsInHealthAndTheLog() throws Exception {
        String name = "quiet-outage";
        Map<String, String> s = settings(name, mqtt.uri(), kafka.bootstrapServers());
        kafka.kafka().createTopics(3, name + "-readings", name + "-dlq");
        try (GatewayHarness.BridgeLog log = new GatewayHarness.BridgeLog();
                Gateway gateway = Gateway.start(config(s))) {
            await().atMost(Duration.ofSeconds(30))
                    .until(() -> metric(gateway, "plantwatch_gateway_kafka_healthy").equals("1.0"));
            kafka.kafka().stop();
            GatewayHarness.awaitHealth(gateway, 503, 25);
            assertThat(GatewayHarness.get(gateway.httpPort(), "/health").body())
                    .contains("no record waiting", name + "-readings");
            assertThat(metric(gateway, "plantwatch_gateway_kafka_healthy")).isEqualTo("0.0");
            await().atMost(Duration.ofSeconds(5))
                    .until(() -> log.warned(kafka.bootstrapServers(), "no answer for"));
            assertThat(gateway.metrics().received.get()).isZero();
            // A reading while Kafka is away does not make it UP: only an answer from Kafka does.
            long published = GatewayHarness.simulate(run(mqtt.uri(), name, 1, 2, "2s"));
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> gateway.metrics().received.get() > 0);
            await().during(Duration.ofSeconds(3))
                    .atMost(Duration.ofSeconds(5))
                    .until(
                            () ->
                                    GatewayHarness.get(gateway.httpPort(), "/health").statusCode()
                                            == 503);
            kafka.kafka().start();
            GatewayHarness.awaitHealth(gateway, 200, 30);
            await().atMost(Duration.ofSeconds(5)).until(() -> log.warned("acknowledging again"));
            try (KafkaReadings readings =
                    new KafkaReadings(kafka.bootstrapServers(), name + "-readings")) {
                assertThat(distinct(readings.readDistinct(published, Duration.ofSeconds(60))))
                        .isEqualTo(published);
            }
        }
    }

    /** A metric's value as /metrics shows it, or "" when it does not. */
    private static String metric(Gateway gateway, String name) throws Exception {
        return GatewayHarness.get(gateway.httpPort(), "/metrics")
                .body()
                .lines()
                .filter(line -> line.startsWith(name + " "))
                .map(line -> line.substring(name.length() + 1).strip())
                .findFirst()
                .orElse("");
    }

    /**
     * A stall counts from the waiting record's arrival: after a quiet minute the first record was
     * "no acknowledgement for 60 s" the moment it was sent, a console warning and a 503 from
     * /health until Kafka acknowledged it a few milliseconds later.
     */
    @Test
    void aRecordAfterAQuietSpellIsNotAStall() {
        long s = 1_000_000_000L;
        long lastAck = 100 * s;
        // Nothing waits: nothing is stalled, however long ago the last acknowledgement was.
        assertThat(MqttKafkaBridge.waitedNanos(500 * s, lastAck, null)).isZero();
        // A minute after the last acknowledgement, a record has waited 1 s.
        assertThat(MqttKafkaBridge.waitedNanos(161 * s, lastAck, 160 * s)).isEqualTo(1 * s);
        // Records arriving all along while Kafka acknowledged nothing since: since the last one.
        assertThat(MqttKafkaBridge.waitedNanos(130 * s, lastAck, 95 * s)).isEqualTo(30 * s);
    }
}
