package io.plantwatch.gateway;

import static io.plantwatch.gateway.GatewayHarness.distinct;
import static io.plantwatch.gateway.GatewayHarness.gapsAndDisorder;
import static io.plantwatch.gateway.GatewayHarness.run;
import static io.plantwatch.gateway.GatewayHarness.settings;
import static io.plantwatch.gateway.GatewayHarness.simulateInBackground;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.plantwatch.infra.EmbeddedKafka;
import io.plantwatch.infra.MosquittoExtension;
import io.plantwatch.model.ConfigException;
import io.plantwatch.model.SensorReading;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.common.acl.AclOperation;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Kafka with SASL logins and ACLs, the gateway's login from the environment, and the gateway's
 * right to write readings taken away mid-run: every reading is refused (authorization) until an
 * operator gives it back. Each refused record retried on its own was overtaken by those behind it
 * once the ACL was back, and a sensor's readings reached Kafka out of order ("expected seq 57 got
 * 79"). On mosquitto with MQTT 3.1.1, which hands out up to 1,000 unacknowledged messages, where
 * HiveMQ CE sent a few at a time and so hid it.
 */
class GatewayKafkaAuthorizationTest {
    @RegisterExtension static final MosquittoExtension mosquitto = new MosquittoExtension();

    @Test
    void readingsRefusedUntilAnAclAllowsThemArriveCompleteAndInOrder() throws Exception {
        String name = "acl";
        String password = UUID.randomUUID().toString();
        try (EmbeddedKafka kafka =
                EmbeddedKafka.builder().saslPlain(Map.of("gateway", password)).build().start()) {
            kafka.createTopics(3, name + "-readings", name + "-dlq");
            kafka.allow("gateway", name + "-dlq", AclOperation.DESCRIBE, AclOperation.WRITE);
            kafka.allow("gateway", name + "-readings", AclOperation.DESCRIBE, AclOperation.WRITE);

            Map<String, String> s = settings(name, mosquitto.uri(), kafka.bootstrapServers());
            s.put("mqtt.version", "3");
            s.put("kafka.producer.security.protocol", "SASL_PLAINTEXT");
            s.put("kafka.producer.sasl.mechanism", "PLAIN");
            Map<String, String> env =
                    jaas((String) kafka.clientProperties("gateway").get("sasl.jaas.config"));
            try (Gateway gateway = Gateway.start(GatewayConfig.load(null, env, s))) {
                CompletableFuture<Long> published =
                        simulateInBackground(run(mosquitto.uri(), name, 10, 500, "10s"));
                await().atMost(Duration.ofSeconds(30))
                        .until(() -> gateway.metrics().produced() >= 500);
                kafka.revoke("gateway", name + "-readings", AclOperation.WRITE);
                await().atMost(Duration.ofSeconds(30))
                        .until(() -> gateway.metrics().kafkaRetries.get() >= 200);
                HttpResponse<String> refused = GatewayHarness.get(gateway.httpPort(), "/health");
                assertThat(refused.statusCode()).isEqualTo(503);
                assertThat(refused.body()).contains("TopicAuthorizationException");

                kafka.allow("gateway", name + "-readings", AclOperation.WRITE);

                assertEveryReadingInKafkaInOrder(kafka, name, published);
                // Sent again by a new producer after each refusal, not record by record.
                assertThat(gateway.metrics().producerRestarts.get()).isPositive();
                await().atMost(Duration.ofSeconds(10))
                        .until(() -> gateway.metrics().inFlight.get() == 0);
                assertThat(GatewayHarness.get(gateway.httpPort(), "/health").statusCode())
                        .isEqualTo(200);
                assertThat(GatewayHarness.get(gateway.httpPort(), "/health").body())
                        .doesNotContain(password);
            }
        }
    }

    /**
     * A changed Kafka login applied to a running gateway. One Kafka refuses is tried beside the
     * running producer and not taken: the bridge is not even restarted, and no reading waits.
     * Before, the bridge took it and the readings waited in the broker until the file was put
     * right. One Kafka takes is taken.
     */
    @Test
    void aChangedKafkaLoginKafkaRefusesIsNotTakenAndTheReadingsGoOn() throws Exception {
        String name = "login";
        String password = UUID.randomUUID().toString();
        String rotated = UUID.randomUUID().toString();
        try (EmbeddedKafka kafka =
                EmbeddedKafka.builder()
                        .saslPlain(
                                Map.of(
                                        "gateway", password,
                                        "gateway-2", rotated,
                                        "reader", rotated))
                        .build()
                        .start()) {
            kafka.createTopics(3, name + "-readings", name + "-dlq");
            for (String user : List.of("gateway", "gateway-2")) {
                for (String topic : List.of(name + "-readings", name + "-dlq")) {
                    kafka.allow(user, topic, AclOperation.DESCRIBE, AclOperation.WRITE);
                }
            }
            for (String topic : List.of(name + "-readings", name + "-dlq")) {
                kafka.allow("reader", topic, AclOperation.DESCRIBE);
            }
            Map<String, String> s = settings(name, mosquitto.uri(), kafka.bootstrapServers());
            s.put("mqtt.version", "3");
            s.put("kafka.producer.security.protocol", "SASL_PLAINTEXT");
            s.put("kafka.producer.sasl.mechanism", "PLAIN");
            String login = (String) kafka.clientProperties("gateway").get("sasl.jaas.config");
            GatewayConfig running = GatewayConfig.load(null, jaas(login), s);
            try (Gateway gateway = Gateway.start(running)) {
                CompletableFuture<Long> published =
                        simulateInBackground(run(mosquitto.uri(), name, 10, 500, "10s"));
                await().atMost(Duration.ofSeconds(30))
                        .until(() -> gateway.metrics().produced() >= 500);
                double reconnects = gateway.metrics().reconnects.get();

                GatewayConfig wrongPassword =
                        GatewayConfig.load(null, jaas(login.replace(password, "not-it")), s);
                assertThatThrownBy(() -> gateway.restartBridge(wrongPassword))
                        .isInstanceOf(ConfigException.class)
                        .hasMessageContaining("SaslAuthenticationException")
                        .hasMessageContaining("it runs with those it had")
                        .hasMessageNotContaining(password)
                        .hasMessageNotContaining("not-it");
                assertThat(gateway.config()).isSameAs(running);
                // A login Kafka takes, but that may not write: the same.
                String readerLogin =
                        (String) kafka.clientProperties("reader").get("sasl.jaas.config");
                assertThatThrownBy(
                                () ->
                                        gateway.restartBridge(
                                                GatewayConfig.load(null, jaas(readerLogin), s)))
                        .isInstanceOf(ConfigException.class)
                        .hasMessageContaining("does not let them write to " + name + "-readings");
                assertThat(gateway.config()).isSameAs(running);
                assertThat(gateway.metrics().reconnects.get()).isEqualTo(reconnects);
                assertThat(gateway.metrics().kafkaRetries.get()).isZero();
                assertThat(GatewayHarness.get(gateway.httpPort(), "/health").statusCode())
                        .isEqualTo(200);

                String rotatedLogin =
                        (String) kafka.clientProperties("gateway-2").get("sasl.jaas.config");
                GatewayConfig changed = GatewayConfig.load(null, jaas(rotatedLogin), s);
                assertThat(gateway.restartBridge(changed)).isNull();
                assertThat(gateway.config()).isSameAs(changed);

                assertEveryReadingInKafkaInOrder(kafka, name, published);
                assertThat(gateway.metrics().kafkaRetries.get()).isZero();
            }
        }
    }

    /**
     * A Kafka that does not answer the check refuses nothing: the change waits, to be tried again,
     * where a refusal would wait for the file's next change.
     */
    @Test
    void aKafkaThatDoesNotAnswerTheCheckRefusesNothing() throws Exception {
        int closed;
        try (java.net.ServerSocket free = new java.net.ServerSocket(0)) {
            closed = free.getLocalPort();
        }
        GatewayConfig c =
                GatewayConfig.load(
                        null, Map.of(), settings("away", mosquitto.uri(), "127.0.0.1:" + closed));
        assertThat(MqttKafkaBridge.checkKafka(c, Duration.ofSeconds(1)))
                .startsWith("Kafka 127.0.0.1:" + closed + " did not answer with them");
    }

    /**
     * A machine's message of several readings is acknowledged to the broker with its last record,
     * once Kafka has taken every one: here its readings are in Kafka, but its DLQ record (a NaN
     * field) is refused while the gateway may not write the DLQ. A gateway stopped then leaves the
     * message unacknowledged, and the broker gives it to the next one whole: its readings arrive
     * twice (the job takes them once, by sensor and seq), the rejected field once. Acknowledged
     * with its first record, it would have been lost from the DLQ.
     */
    @Test
    void aMachinesMessageIsAcknowledgedOnlyOnceKafkaHasEveryRecordOfIt(
            @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        String name = "machine-ack";
        String password = UUID.randomUUID().toString();
        java.nio.file.Path file = dir.resolve("gateway.yaml");
        java.nio.file.Files.writeString(
                file,
                """
                payload-formats:
                  - name: press-line
                    sensors: "*/*/*/*/cycle-data"
                    type: fields
                """);
        try (EmbeddedKafka kafka =
                EmbeddedKafka.builder().saslPlain(Map.of("gateway", password)).build().start()) {
            kafka.createTopics(3, name + "-readings", name + "-dlq");
            kafka.allow("gateway", name + "-dlq", AclOperation.DESCRIBE);
            kafka.allow("gateway", name + "-readings", AclOperation.DESCRIBE, AclOperation.WRITE);
            Map<String, String> s = settings(name, mosquitto.uri(), kafka.bootstrapServers());
            s.put("mqtt.version", "3");
            s.put("kafka.producer.security.protocol", "SASL_PLAINTEXT");
            s.put("kafka.producer.sasl.mechanism", "PLAIN");
            s.put("shutdown.drain-timeout", "0s");
            Map<String, String> env =
                    jaas((String) kafka.clientProperties("gateway").get("sasl.jaas.config"));
            try (KafkaReadings readings =
                            new KafkaReadings(
                                    kafka.clientProperties(EmbeddedKafka.ADMIN),
                                    name + "-readings");
                    KafkaReadings dlq =
                            new KafkaReadings(
                                    kafka.clientProperties(EmbeddedKafka.ADMIN), name + "-dlq")) {
                try (Gateway gateway = Gateway.start(GatewayConfig.load(file, env, s))) {
                    java.net.URI broker = java.net.URI.create(mosquitto.uri());
                    com.hivemq.client.mqtt.mqtt3.Mqtt3BlockingClient plc =
                            com.hivemq.client.mqtt.MqttClient.builder()
                                    .useMqttVersion3()
                                    .serverHost(broker.getHost())
                                    .serverPort(broker.getPort())
                                    .buildBlocking();
                    plc.connect();
                    plc.publishWith()
                            .topic(name + "/hall-3/press/line-2/press-7/cycle-data")
                            .qos(com.hivemq.client.mqtt.datatypes.MqttQos.AT_LEAST_ONCE)
                            .payload(
                                    ("{\"ts\": 1764064800000, \"seq\": 5, \"temp\": 64.5,"
                                                    + " \"pressure\": 6.2, \"force\": NaN}")
                                            .getBytes(java.nio.charset.StandardCharsets.UTF_8))
                            .send();
                    plc.disconnect();
                    assertThat(readings.readAtLeast(2, Duration.ofSeconds(30))).hasSize(2);
                    await().atMost(Duration.ofSeconds(30))
                            .until(() -> gateway.metrics().kafkaRetries.get() >= 1);
                    assertThat(gateway.metrics().inFlight.get()).isEqualTo(1);
                }
                kafka.allow("gateway", name + "-dlq", AclOperation.WRITE);
                try (Gateway next = Gateway.start(GatewayConfig.load(file, env, s))) {
                    assertThat(dlq.readAtLeast(1, Duration.ofSeconds(30)))
                            .singleElement()
                            .satisfies(
                                    r ->
                                            assertThat(
                                                            GatewayHarness.header(
                                                                    r,
                                                                    io.plantwatch.model.Topics
                                                                            .HEADER_DETAIL))
                                                    .isEqualTo(
                                                            "force is NaN, not finite (payload"
                                                                    + " format 'press-line')"));
                    List<String> twice =
                            readings.readAtLeast(4, Duration.ofSeconds(30)).stream()
                                    .map(org.apache.kafka.clients.consumer.ConsumerRecord::key)
                                    .sorted()
                                    .toList();
                    assertThat(twice)
                            .containsExactly(
                                    "hall-3/press/line-2/press-7/pressure",
                                    "hall-3/press/line-2/press-7/pressure",
                                    "hall-3/press/line-2/press-7/temp",
                                    "hall-3/press/line-2/press-7/temp");
                    await().atMost(Duration.ofSeconds(10))
                            .until(() -> next.metrics().inFlight.get() == 0);
                }
            }
        }
    }

    /** All 5,000 readings the simulator sent are in Kafka, each sensor's first copies in order. */
    private static void assertEveryReadingInKafkaInOrder(
            EmbeddedKafka kafka, String name, CompletableFuture<Long> published) throws Exception {
        long sent = published.get(60, TimeUnit.SECONDS);
        assertThat(sent).isEqualTo(5_000);
        try (KafkaReadings readings =
                new KafkaReadings(
                        kafka.clientProperties(EmbeddedKafka.ADMIN), name + "-readings")) {
            Map<String, List<SensorReading>> bySensor =
                    readings.readDistinct(sent, Duration.ofSeconds(30));
            assertThat(distinct(bySensor)).isEqualTo(sent);
            assertThat(gapsAndDisorder(GatewayHarness.firstCopies(bySensor))).isEmpty();
        }
    }

    private static Map<String, String> jaas(String login) {
        return Map.of("PLANTWATCH_GATEWAY_KAFKA_PRODUCER_SASL_JAAS_CONFIG", login);
    }
}
