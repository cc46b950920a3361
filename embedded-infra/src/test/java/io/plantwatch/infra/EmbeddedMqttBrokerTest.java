package io.plantwatch.infra;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5AsyncClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class EmbeddedMqttBrokerTest {
    @RegisterExtension static final MqttBrokerExtension mqtt = new MqttBrokerExtension();

    @Test
    void deliversAQos1BurstOf100kMessagesWhole() {
        Mqtt5BlockingClient subscriber = MqttClients.connect(mqtt.host(), mqtt.port());
        Mqtt5AsyncClient publisher = MqttClients.connect(mqtt.host(), mqtt.port()).toAsync();
        try {
            List<String> received = MqttClients.collect(subscriber, "burst/#");
            int count = 100_000;
            List<CompletableFuture<?>> acks = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                acks.add(
                        publisher
                                .publishWith()
                                .topic("burst/" + (i % 10))
                                .qos(MqttQos.AT_LEAST_ONCE)
                                .payload(Integer.toString(i).getBytes(StandardCharsets.UTF_8))
                                .send());
            }
            CompletableFuture.allOf(acks.toArray(CompletableFuture[]::new)).join();

            await().atMost(Duration.ofSeconds(60)).until(() -> received.size() >= count);
            // HiveMQ's default queue of 1,000 per client would have dropped most of these.
            assertThat(received)
                    .hasSize(count)
                    .containsExactlyElementsOf(
                            IntStream.range(0, count).mapToObj(Integer::toString).toList());
        } finally {
            subscriber.disconnect();
            publisher.disconnect().join();
        }
    }

    /**
     * The appliance's case: its broker restarted (or its process killed) while sensors go on
     * publishing for the gateway's persistent session. In memory the session died with the broker,
     * and what sensors sent before the gateway subscribed again was acknowledged and dropped. A new
     * folder gets a few buckets per store; one written with HiveMQ's own 64 (the appliance's
     * before) is read with them, or its queue would not be found.
     */
    @ParameterizedTest(name = "written in HiveMQ's own layout: {0}")
    @ValueSource(booleans = {false, true})
    void withADataDirectoryAPersistentSessionAndItsQueueOutliveTheBroker(
            boolean hivemqLayout, @TempDir Path dir) {
        Path data = dir.resolve("mqtt");
        String gatewayId = "gateway-" + java.util.UUID.randomUUID();
        int port;
        EmbeddedMqttBroker.Builder firstBuilder = EmbeddedMqttBroker.builder().dataDirectory(data);
        if (hivemqLayout) {
            firstBuilder.hivemqDefaults();
        }
        try (EmbeddedMqttBroker first = firstBuilder.build().start()) {
            port = first.port();
            Mqtt5BlockingClient gateway =
                    MqttClients.builder(first.host(), port).identifier(gatewayId).buildBlocking();
            gateway.connectWith().cleanStart(false).sessionExpiryInterval(3600).send();
            gateway.subscribeWith().topicFilter("plant/#").qos(MqttQos.AT_LEAST_ONCE).send();
            gateway.disconnect();
            Mqtt5BlockingClient sensor = MqttClients.connect(first.host(), port);
            for (int i = 0; i < 10; i++) {
                MqttClients.publish(sensor, "plant/a/b/c/d/t", "before-" + i);
            }
            sensor.publishWith()
                    .topic("status/line-1")
                    .payload("running".getBytes(StandardCharsets.UTF_8))
                    .qos(MqttQos.AT_LEAST_ONCE)
                    .retain(true)
                    .send();
            sensor.disconnect();
        }
        assertThat(data).isNotEmptyDirectory();
        try (EmbeddedMqttBroker second =
                EmbeddedMqttBroker.builder().port(port).dataDirectory(data).build().start()) {
            Mqtt5BlockingClient sensor = MqttClients.connect(second.host(), port);
            for (int i = 0; i < 10; i++) {
                MqttClients.publish(sensor, "plant/a/b/c/d/t", "after-" + i);
            }
            sensor.disconnect();
            List<String> received = new java.util.concurrent.CopyOnWriteArrayList<>();
            Mqtt5AsyncClient gateway =
                    MqttClients.builder(second.host(), port).identifier(gatewayId).buildAsync();
            gateway.publishes(
                    com.hivemq.client.mqtt.MqttGlobalPublishFilter.ALL,
                    p -> received.add(new String(p.getPayloadAsBytes(), StandardCharsets.UTF_8)));
            gateway.connectWith().cleanStart(false).sessionExpiryInterval(3600).send().join();
            List<String> expected = new ArrayList<>();
            IntStream.range(0, 10).forEach(i -> expected.add("before-" + i));
            IntStream.range(0, 10).forEach(i -> expected.add("after-" + i));
            await().atMost(Duration.ofSeconds(20)).until(() -> received.size() >= 20);
            assertThat(received).containsExactlyElementsOf(expected);
            gateway.disconnect().join();
            Mqtt5BlockingClient newcomer = MqttClients.connect(second.host(), port);
            try (Mqtt5BlockingClient.Mqtt5Publishes retained =
                    newcomer.publishes(com.hivemq.client.mqtt.MqttGlobalPublishFilter.ALL)) {
                newcomer.subscribeWith().topicFilter("status/#").send();
                assertThat(retained.receive(20, TimeUnit.SECONDS))
                        .as("the retained message outlived the broker")
                        .hasValueSatisfying(
                                p ->
                                        assertThat(p.getPayloadAsBytes())
                                                .asString(StandardCharsets.UTF_8)
                                                .isEqualTo("running"));
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
            newcomer.disconnect();
        }
        assertThat(data).as("close() leaves a data directory in place").isNotEmptyDirectory();
        for (String store : List.of("client_queue", "publish_payload_store")) {
            assertThat(EmbeddedMqttBroker.bucketsIn(data, store, 0))
                    .as("%s keeps the buckets it was written with", store)
                    .isEqualTo(
                            hivemqLayout
                                    ? EmbeddedMqttBroker.HIVEMQ_BUCKETS
                                    : EmbeddedMqttBroker.FILE_BUCKETS);
        }
        assertThat(EmbeddedMqttBroker.writtenInRocksDb(data, "retained_messages"))
                .as("retained messages stay in the store they were written in")
                .isEqualTo(hivemqLayout);
    }

    /**
     * The gateway's case while it is away: its persistent session's queue fills, and HiveMQ drops
     * every later message for it (strategy {@code discard}), acknowledging it to the sensor all the
     * same. Only the broker's count shows it. In memory and on disk, since HiveMQ queues in a
     * different store for each.
     */
    @ParameterizedTest(name = "on disk: {0}")
    @ValueSource(booleans = {false, true})
    void countsWhatItDropsBeyondAnOfflineSubscribersQueue(boolean onDisk, @TempDir Path dir) {
        int queue = 10;
        int published = 25;
        EmbeddedMqttBroker.Builder builder = EmbeddedMqttBroker.builder().maxQueueSize(queue);
        if (onDisk) {
            builder.dataDirectory(dir.resolve("mqtt"));
        }
        try (EmbeddedMqttBroker broker = builder.build().start()) {
            String subscriberId = "gateway-" + java.util.UUID.randomUUID();
            Mqtt5BlockingClient away =
                    MqttClients.builder(broker.host(), broker.port())
                            .identifier(subscriberId)
                            .buildBlocking();
            away.connectWith().cleanStart(false).sessionExpiryInterval(3600).send();
            away.subscribeWith().topicFilter("drops/#").qos(MqttQos.AT_LEAST_ONCE).send();
            away.disconnect();
            assertThat(broker.droppedMessages()).isZero();

            Mqtt5BlockingClient sensor = MqttClients.connect(broker.host(), broker.port());
            for (int i = 0; i < published; i++) {
                MqttClients.publish(sensor, "drops/t", "m-" + i);
            }
            await().atMost(Duration.ofSeconds(20))
                    .until(broker::droppedMessages, n -> n >= published - queue);

            List<String> received = new java.util.concurrent.CopyOnWriteArrayList<>();
            Mqtt5AsyncClient back =
                    MqttClients.builder(broker.host(), broker.port())
                            .identifier(subscriberId)
                            .buildAsync();
            back.publishes(
                    com.hivemq.client.mqtt.MqttGlobalPublishFilter.ALL,
                    p -> received.add(new String(p.getPayloadAsBytes(), StandardCharsets.UTF_8)));
            back.connectWith().cleanStart(false).sessionExpiryInterval(3600).send().join();
            // Queued behind the queue's contents, so once it arrives nothing more is on its way.
            // The queue has room only once the broker has taken the returning subscriber's
            // acknowledgements, which it does in the background: a marker that finds the queue
            // still full is dropped and counted like the rest, and is sent again.
            java.util.concurrent.atomic.AtomicLong drops =
                    new java.util.concurrent.atomic.AtomicLong(published - queue);
            MqttClients.publish(sensor, "drops/t", "end");
            await().atMost(Duration.ofSeconds(20))
                    .until(
                            () -> {
                                if (received.contains("end")) {
                                    return true;
                                }
                                if (broker.droppedMessages() > drops.get()) {
                                    drops.incrementAndGet();
                                    MqttClients.publish(sensor, "drops/t", "end");
                                }
                                return false;
                            });
            List<String> expected = new ArrayList<>();
            IntStream.range(0, queue).forEach(i -> expected.add("m-" + i));
            expected.add("end");
            assertThat(received).containsExactlyElementsOf(expected);
            assertThat(broker.droppedMessages())
                    .as("the %d beyond the queue and the markers dropped", published - queue)
                    .isEqualTo(drops.get());
            back.disconnect().join();
            sensor.disconnect();

            // HiveMQ's own counter starts at 0 with each start; the broker's count goes on.
            broker.stop();
            assertThat(broker.droppedMessages()).isEqualTo(drops.get());
            broker.start();
            assertThat(broker.droppedMessages()).isEqualTo(drops.get());
        }
    }

    @Test
    void comesBackOnTheSameAddressAfterARestart() {
        String before = mqtt.uri();
        mqtt.broker().stop();
        assertThat(mqtt.broker().isRunning()).isFalse();
        mqtt.broker().start();
        assertThat(mqtt.uri()).isEqualTo(before);

        Mqtt5BlockingClient client = MqttClients.connect(mqtt.host(), mqtt.port());
        try {
            List<String> received = MqttClients.collect(client, "restart/+");
            MqttClients.publish(client, "restart/a", "after");
            await().atMost(Duration.ofSeconds(10)).until(() -> received.contains("after"));
        } finally {
            client.disconnect();
        }
    }

    /**
     * HiveMQ gives its payload store's memtables a 32nd of the machine's RAM (twice over): 1.5 GB
     * of native memory on a 23 GB machine, growing for hours in a soak. The embedded broker caps
     * them at 64 MB in all, and never gives more than HiveMQ would.
     */
    @Test
    void capsHiveMqsPayloadMemtablesAt64MbInAll() {
        assertThat(
                        com.hivemq.configuration.service.InternalConfigurations
                                .PAYLOAD_PERSISTENCE_MEMTABLE_SIZE_PORTION
                                .get())
                .as("set by the running broker")
                .isEqualTo(
                        EmbeddedMqttBroker.memtablePortion(
                                ((com.sun.management.OperatingSystemMXBean)
                                                java.lang.management.ManagementFactory
                                                        .getOperatingSystemMXBean())
                                        .getTotalMemorySize()));
        long gb = 1L << 30;
        assertThat(23 * gb / EmbeddedMqttBroker.memtablePortion(23 * gb))
                .isLessThanOrEqualTo(EmbeddedMqttBroker.PAYLOAD_MEMTABLES_BYTES);
        assertThat(EmbeddedMqttBroker.memtablePortion(gb)).isEqualTo(32);
        assertThat(EmbeddedMqttBroker.memtablePortion(Long.MAX_VALUE)).isPositive();
    }

    @Test
    void widensHiveMqsFiftyMessageInflightWindow() {
        assertThat(
                        com.hivemq.configuration.service.InternalConfigurations
                                .MAX_INFLIGHT_WINDOW_SIZE_MESSAGES)
                .isGreaterThanOrEqualTo(EmbeddedMqttBroker.DEFAULT_INFLIGHT_WINDOW);
        assertThat(com.hivemq.configuration.service.InternalConfigurations.PUBLISH_POLL_BATCH_SIZE)
                .isGreaterThanOrEqualTo(EmbeddedMqttBroker.DEFAULT_INFLIGHT_WINDOW);
    }

    /**
     * A plant's sensors reach the embedded broker over the network only when it is asked to listen
     * on every interface; by default it takes this machine's publishers alone.
     */
    @Test
    void listensOnThePlantsNetworkOnlyWhenAsked() throws Exception {
        String address =
                java.util.Collections.list(java.net.NetworkInterface.getNetworkInterfaces())
                        .stream()
                        .flatMap(i -> java.util.Collections.list(i.getInetAddresses()).stream())
                        .filter(a -> a instanceof java.net.Inet4Address && !a.isLoopbackAddress())
                        .map(java.net.InetAddress::getHostAddress)
                        .findFirst()
                        .orElseThrow(
                                () ->
                                        new AssertionError(
                                                "this test needs a network interface besides"
                                                        + " loopback"));
        try (EmbeddedMqttBroker everywhere =
                EmbeddedMqttBroker.builder().bindAddress("0.0.0.0").build().start()) {
            MqttClients.connect(address, everywhere.port()).disconnect();
        }
        assertThatThrownBy(
                () -> MqttClients.connect(address, mqtt.port()),
                "the default broker listens on 127.0.0.1 only");
        assertThatThrownBy(() -> EmbeddedMqttBroker.builder().bindAddress("10.0.0.5"))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void rejectsNonsenseSettings() throws Exception {
        List<Path> before = brokerFolders();
        assertThatThrownBy(() -> EmbeddedMqttBroker.builder().maxQueueSize(0))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> EmbeddedMqttBroker.builder().port(70_000))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> EmbeddedMqttBroker.builder().build().port())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("not been started");
        // A broker built and never started (nor closed) leaves no folder behind.
        assertThat(brokerFolders()).isEqualTo(before);
    }

    private static List<Path> brokerFolders() throws java.io.IOException {
        try (var files = java.nio.file.Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            return files.filter(f -> f.getFileName().toString().startsWith("embedded-hivemq-"))
                    .sorted()
                    .toList();
        }
    }
}
