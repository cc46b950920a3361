package io.plantwatch.infra;

import static io.plantwatch.infra.KafkaClients.consume;
import static io.plantwatch.infra.KafkaClients.send;
import static io.plantwatch.infra.KafkaClients.values;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

@Timeout(value = 3, unit = TimeUnit.MINUTES)
class EmbeddedKafkaTest {
    @RegisterExtension static final KafkaExtension kafka = new KafkaExtension();

    @Test
    void consumesWhatWasProduced() throws Exception {
        kafka.kafka().createTopic("round-trip", 1);
        List<String> sent = values("reading-", 100);

        send(kafka.bootstrapServers(), "round-trip", sent);

        assertThat(consume(kafka.bootstrapServers(), "round-trip", 100))
                .containsExactlyElementsOf(sent);
    }

    /** A write to a topic nobody created fails; the broker does not create it on first use. */
    @Test
    void aTopicIsNotCreatedByWritingToIt() throws Exception {
        Properties props = KafkaClients.producerProps(kafka.bootstrapServers());
        props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "2000");
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(props)) {
            Future<RecordMetadata> sent = producer.send(new ProducerRecord<>("never-created", "x"));
            assertThatThrownBy(sent::get)
                    .isInstanceOf(ExecutionException.class)
                    .hasMessageContaining("not present in metadata");
        }
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
            assertThat(admin.listTopics().names().get()).doesNotContain("never-created");
        }
    }

    @Test
    void createTopicIsIdempotent() throws Exception {
        kafka.kafka().createTopic("twice", 2);
        kafka.kafka().createTopic("twice", 2);

        assertThat(partitionsOf(kafka.kafka(), "twice")).hasSize(2);
    }

    /**
     * KAFKA-15591: an idempotent producer with five requests in flight, writing the moment a topic
     * was created, lost its first request's records in 4 of 24 topics (the gateway's settings, as
     * here) before createTopic waited for the partitions to take records. Each topic here is a
     * fresh chance to hit that gap.
     */
    @Test
    void aTopicTakesEveryRecordTheMomentItIsCreated() throws Exception {
        Properties props = KafkaClients.producerProps(kafka.bootstrapServers());
        props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        props.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "5");
        props.put(ProducerConfig.LINGER_MS_CONFIG, "1");
        props.put(ProducerConfig.BATCH_SIZE_CONFIG, Integer.toString(128 * 1024));
        props.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
        // A record stuck behind the gap fails after this instead of after two minutes.
        props.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "4000");
        props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "5000");
        for (int t = 0; t < 12; t++) {
            String topic = "at-once-" + t;
            kafka.kafka().createTopic(topic, 4);
            List<Future<RecordMetadata>> acks = new ArrayList<>();
            try (KafkaProducer<String, String> producer = new KafkaProducer<>(props)) {
                for (int i = 0; i < 20_000; i++) {
                    acks.add(producer.send(new ProducerRecord<>(topic, "s-" + i % 500, "v" + i)));
                }
                producer.flush();
            }
            int failed = 0;
            for (Future<RecordMetadata> ack : acks) {
                try {
                    ack.get();
                } catch (ExecutionException e) {
                    failed++;
                }
            }
            assertThat(failed).as("records refused on %s", topic).isZero();
        }
    }

    @Test
    void readCommittedSeesCommittedTransactionsOnly() throws Exception {
        kafka.kafka().createTopic("transactional", 1);
        Properties props = KafkaClients.producerProps(kafka.bootstrapServers());
        props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "embedded-kafka-test");
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(props)) {
            producer.initTransactions();
            sendInTransaction(producer, values("committed-", 5));
            producer.commitTransaction();
            sendInTransaction(producer, values("aborted-", 5));
            producer.abortTransaction();
            sendInTransaction(producer, values("after-", 2));
            producer.commitTransaction();
        }

        List<String> expected = new ArrayList<>(values("committed-", 5));
        expected.addAll(values("after-", 2));
        assertThat(consume(kafka.bootstrapServers(), "transactional", 7, "read_committed"))
                .containsExactlyElementsOf(expected);
    }

    @Test
    void stopThenStartKeepsAddressAndData() throws Exception {
        EmbeddedKafka own = EmbeddedKafka.builder().defaultPartitions(2).build().start();
        try (own) {
            String bootstrap = own.bootstrapServers();
            int port = Integer.parseInt(bootstrap.substring(bootstrap.lastIndexOf(':') + 1));
            List<String> beforeRestart = values("before-", 50);
            own.createTopic("durable", 2);
            send(bootstrap, "durable", beforeRestart);

            own.stop();
            assertThat(own.isRunning()).isFalse();
            assertThat(Loopback.isListening(port)).isFalse();

            own.start();
            assertThat(own.bootstrapServers()).isEqualTo(bootstrap);
            assertThat(partitionsOf(own, "durable")).hasSize(2);
            send(bootstrap, "durable", values("after-", 10));
            List<String> expected = new ArrayList<>(beforeRestart);
            expected.addAll(values("after-", 10));
            assertThat(consume(bootstrap, "durable", 60))
                    .containsExactlyInAnyOrderElementsOf(expected);
        }
        assertThat(own.dataDirectory()).doesNotExist();
    }

    @Test
    void threeBrokersReplicateAndSurviveOneStopped() throws Exception {
        try (EmbeddedKafka cluster = EmbeddedKafka.builder().brokers(3).build().start()) {
            assertThat(cluster.bootstrapServers().split(",")).hasSize(3);
            cluster.createTopic("replicated", 3);
            assertThat(partitionsOf(cluster, "replicated"))
                    .hasSize(3)
                    .allSatisfy(partition -> assertThat(partition.replicas()).hasSize(3));
            await().atMost(Duration.ofSeconds(30))
                    .untilAsserted(
                            () ->
                                    assertThat(partitionsOf(cluster, "replicated"))
                                            .allSatisfy(p -> assertThat(p.isr()).hasSize(3)));
            send(cluster.bootstrapServers(), "replicated", values("first-", 30));

            cluster.stopBroker(2);
            send(cluster.bootstrapServers(), "replicated", values("degraded-", 30));
            cluster.startBroker(2);
            assertThat(cluster.isRunning()).isTrue();

            List<String> expected = new ArrayList<>(values("first-", 30));
            expected.addAll(values("degraded-", 30));
            assertThat(consume(cluster.bootstrapServers(), "replicated", 60))
                    .containsExactlyInAnyOrderElementsOf(expected);
        }
    }

    /**
     * With SASL, a client logs in as a user, and the ACL authorizer lets it do only what an ACL
     * allows: a write is refused until one allows it, then taken.
     */
    @Test
    void aSaslUserWritesOnlyWhatAnAclAllows() throws Exception {
        String password = UUID.randomUUID().toString();
        try (EmbeddedKafka cluster =
                EmbeddedKafka.builder().saslPlain(Map.of("writer", password)).build().start()) {
            cluster.createTopic("guarded", 1);
            Properties props = new Properties();
            props.putAll(cluster.clientProperties("writer"));
            props.putAll(KafkaClients.producerProps(cluster.bootstrapServers()));
            props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "false");
            try (KafkaProducer<String, String> producer = new KafkaProducer<>(props)) {
                assertThatThrownBy(() -> producer.send(new ProducerRecord<>("guarded", "x")).get())
                        .hasCauseInstanceOf(TopicAuthorizationException.class);
            }
            cluster.allow("writer", "guarded", AclOperation.WRITE);
            try (KafkaProducer<String, String> producer = new KafkaProducer<>(props)) {
                await().atMost(Duration.ofSeconds(30))
                        .ignoreExceptions()
                        .until(
                                () ->
                                        producer.send(new ProducerRecord<>("guarded", "y"))
                                                        .get()
                                                        .offset()
                                                >= 0);
            }
            assertThatThrownBy(() -> cluster.clientProperties("stranger"))
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }

    private static void sendInTransaction(
            KafkaProducer<String, String> producer, List<String> values) throws Exception {
        producer.beginTransaction();
        for (String value : values) {
            producer.send(new ProducerRecord<>("transactional", value, value)).get();
        }
    }

    private static List<org.apache.kafka.common.TopicPartitionInfo> partitionsOf(
            EmbeddedKafka cluster, String topic) throws Exception {
        try (Admin admin = cluster.createAdmin()) {
            TopicDescription description =
                    admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
            return description.partitions();
        }
    }
}
