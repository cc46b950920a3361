package io.plantwatch.gateway;

import com.hivemq.client.mqtt.MqttClient;
import com.hivemq.client.mqtt.MqttClientBuilder;
import com.hivemq.client.mqtt.MqttGlobalPublishFilter;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.lifecycle.MqttClientConnectedContext;
import com.hivemq.client.mqtt.lifecycle.MqttClientDisconnectedContext;
import com.hivemq.client.mqtt.mqtt3.Mqtt3AsyncClient;
import com.hivemq.client.mqtt.mqtt3.exceptions.Mqtt3ConnAckException;
import com.hivemq.client.mqtt.mqtt3.message.publish.Mqtt3Publish;
import com.hivemq.client.mqtt.mqtt3.message.subscribe.Mqtt3Subscription;
import com.hivemq.client.mqtt.mqtt5.Mqtt5AsyncClient;
import com.hivemq.client.mqtt.mqtt5.exceptions.Mqtt5ConnAckException;
import com.hivemq.client.mqtt.mqtt5.message.subscribe.Mqtt5Subscription;
import io.plantwatch.model.ConfigException;
import io.plantwatch.model.MqttPayloadCodec;
import io.plantwatch.model.ReadingLimits;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeTopicsOptions;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.InvalidRecordException;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.errors.RecordBatchTooLargeException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway's core: a persistent MQTT session on a (shared) subscription whose QoS 1 messages are
 * acknowledged to the broker only once Kafka acknowledged the record they became.
 *
 * <p>Backpressure needs no buffer of our own: at most {@code mqtt.max-in-flight} messages are
 * unacknowledged (MQTT 5 receive maximum), so when Kafka stalls the broker stops sending and keeps
 * the rest in the session. The producer never gives up on a record ({@code delivery.timeout.ms} at
 * its maximum), and a send that fails before reaching the producer is tried again on the intake
 * thread, which holds back later messages and so keeps each sensor's order.
 *
 * <p>A producer can still wait forever: an idempotent producer whose first request to a new
 * partition was refused retries it with a sequence number the broker no longer accepts
 * (KAFKA-15591). So when the oldest waiting record has had no acknowledgement for {@code
 * kafka.producer-restart-after}, the producer is replaced and every waiting record is sent again
 * through the new one, in arrival order; the job drops the duplicates this can make. The same
 * resend, after a backoff, follows a record Kafka refused for a reason not its own, such as
 * authorization ({@link #hold}).
 */
public final class MqttKafkaBridge implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(MqttKafkaBridge.class);
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(15);
    private static final long MAX_RETRY_BACKOFF_MILLIS = 5_000;
    static final Duration KAFKA_STALL = Duration.ofSeconds(10);

    /**
     * With nothing acknowledged for this long and nothing waiting, Kafka is asked if it answers.
     */
    static final Duration KAFKA_QUIET_PROBE_AFTER = Duration.ofSeconds(3);

    /** How long that question may go unanswered before Kafka counts as failing. */
    static final Duration KAFKA_PROBE_TIMEOUT = Duration.ofSeconds(3);

    /** How often a Kafka that does not acknowledge is reported while it lasts. */
    static final Duration HEALTH_LOG_EVERY = Duration.ofSeconds(30);

    private final GatewayConfig config;
    private final GatewayMetrics metrics;
    private final ReadingRouter router;

    /** Sparkplug B's STATE of this gateway as a host application; null without a host id. */
    private final String stateTopic;

    /** The time of this bridge's STATE birth, which its will (the death) carries too. */
    private final long stateTimestamp = System.currentTimeMillis();

    /** Orders an online STATE published in answer to an offline one before close()'s offline. */
    private final Object stateLock = new Object();

    /** Replaced by {@link #restartProducer()}, on the intake thread. */
    private volatile Producer<String, byte[]> producer;

    /** Counts producers; a failure from a replaced one is not retried, it was sent again. */
    private volatile long producerGeneration;

    /** When the producer had taken every record it was given on start. */
    private volatile long producerStartedNanos = System.nanoTime();

    private final java.util.concurrent.atomic.AtomicBoolean restartQueued =
            new java.util.concurrent.atomic.AtomicBoolean();

    /**
     * Kafka refused a record for a reason of its own (authorization, say): nothing more is handed
     * to the producer until {@link #resendAfterHold} sends every waiting record again, in order.
     */
    private final java.util.concurrent.atomic.AtomicBoolean held =
            new java.util.concurrent.atomic.AtomicBoolean();

    /** Holds in a row without a delivery between them, for the backoff. */
    private final java.util.concurrent.atomic.AtomicInteger holds =
            new java.util.concurrent.atomic.AtomicInteger();

    /** Topics whose partitions the current producer knows; used on the intake thread only. */
    private final java.util.Set<String> topicsKnown = new java.util.HashSet<>();

    private final ExecutorService intake;
    private final Thread kafkaWatch;
    private volatile boolean receiveMaximumHinted;
    private final ScheduledExecutorService retries;
    private final Mqtt5AsyncClient v5;
    private final Mqtt3AsyncClient v3;
    private final CompletableFuture<Void> firstSubscription = new CompletableFuture<>();

    /**
     * Completed by the first attempt that fails before any connection succeeded. Under automatic
     * reconnect the client retries without failing the first connect's future, so {@link #start()}
     * waits for this one as well, rather than its whole timeout.
     */
    private final CompletableFuture<Throwable> firstAttemptFailed = new CompletableFuture<>();

    /**
     * Acknowledgements in arrival order. Kafka acknowledges per partition, so completions come out
     * of arrival order; acknowledged out of order, the HiveMQ client frees receive-maximum slots in
     * order while the broker already has the PUBACKs, and the two disagree about how many messages
     * are in flight ("more QoS 1 PUBLISH messages than allowed").
     */
    private final java.util.ArrayDeque<PendingAck> pendingAcks = new java.util.ArrayDeque<>();

    /** A received message until Kafka acknowledged its record and the broker got the PUBACK. */
    private static final class PendingAck {
        /**
         * What is sent: replaced when Kafka refuses it for good ({@link ReadingRouter#refused}).
         */
        volatile ReadingRouter.Routed routed;

        final Runnable ack;
        final long receivedNanos;

        /** Kafka acknowledged it; in arrival order, its PUBACK may go out. */
        volatile boolean done;

        /**
         * Delivered or given up at shutdown, whichever came first: a record sent again by a new
         * producer can be acknowledged twice, and must be counted once.
         */
        final java.util.concurrent.atomic.AtomicBoolean settled =
                new java.util.concurrent.atomic.AtomicBoolean();

        PendingAck(ReadingRouter.Routed routed, Runnable ack, long receivedNanos) {
            this.routed = routed;
            this.ack = ack;
            this.receivedNanos = receivedNanos;
        }
    }

    private final AtomicLong connects = new AtomicLong();
    private volatile boolean stopping;

    /**
     * Whether this bridge's client is connected: the shared {@code mqtt_connected} gauge is the
     * newest bridge's, and a stopped one's late callbacks leave it alone.
     */
    private volatile boolean connected;

    private volatile long lastKafkaErrorNanos;

    /** The last question a quiet gateway asked Kafka went unanswered. */
    private volatile boolean quietKafkaFailing;

    private volatile long lastRefusedLogNanos;
    private final AtomicLong refusedSinceLog = new AtomicLong();
    private volatile long lastKafkaSuccessNanos = System.nanoTime();
    private volatile String lastKafkaError;

    // Only the retry thread's reportKafkaHealth uses these.
    private boolean unhealthy;
    private long unhealthySinceNanos;
    private long lastHealthLogNanos;
    private int mostWaiting;

    /** Thrown when the broker refuses the login: retrying would not help. */
    public static final class LoginRefusedException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        LoginRefusedException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    MqttKafkaBridge(GatewayConfig config, GatewayMetrics metrics) {
        this.config = config;
        this.metrics = metrics;
        ReadingLimits limits =
                new ReadingLimits(
                        config.maxPayloadBytes(),
                        config.maxFutureSkew(),
                        ReadingLimits.DEFAULT_EARLIEST,
                        Clock.systemUTC());
        SparkplugSettings sparkplug = config.sparkplug();
        SparkplugDecoder sparkplugDecoder = null;
        if (sparkplug.enabled()) {
            sparkplugDecoder =
                    new SparkplugDecoder(sparkplug, limits, this::publishCommand, metrics);
            metrics.sparkplugNodesOnline = sparkplugDecoder::nodesOnline;
        } else {
            metrics.sparkplugNodesOnline = () -> 0;
        }
        this.stateTopic = sparkplug.stateTopic();
        this.router =
                new ReadingRouter(
                        new MqttPayloadCodec(config.topics(), limits, config.payloadFormats()),
                        sparkplugDecoder,
                        config.readingsTopic(),
                        config.dlqTopic(),
                        config.gatewayId());
        this.producer = createProducer(config);
        metrics.kafkaHealthy = this::kafkaHealthy;
        this.intake = Executors.newSingleThreadExecutor(daemon("gateway-intake"));
        this.retries = Executors.newSingleThreadScheduledExecutor(daemon("gateway-retry"));
        if (!config.producerRestartAfter().isZero()) {
            retries.scheduleWithFixedDelay(this::checkStall, 1, 1, TimeUnit.SECONDS);
        }
        retries.scheduleWithFixedDelay(this::reportKafkaHealth, 1, 1, TimeUnit.SECONDS);
        kafkaWatch = daemon("gateway-kafka-watch").newThread(this::watchKafka);
        kafkaWatch.start();
        MqttClientBuilder builder =
                MqttClient.builder()
                        .identifier(config.clientId())
                        .serverHost(config.broker().getHost())
                        .serverPort(config.brokerPort())
                        .automaticReconnect()
                        .initialDelay(
                                config.reconnectInitialDelay().toMillis(), TimeUnit.MILLISECONDS)
                        .maxDelay(config.reconnectMaxDelay().toMillis(), TimeUnit.MILLISECONDS)
                        .applyAutomaticReconnect()
                        .addConnectedListener(this::onConnected)
                        .addDisconnectedListener(this::onDisconnected);
        if (config.tls()) {
            builder =
                    config.caFile() == null
                            ? builder.sslWithDefaultConfig()
                            : builder.sslConfig()
                                    .trustManagerFactory(config.caTrust())
                                    .applySslConfig();
        }
        if (config.mqttVersion() == 5) {
            v5 = builder.useMqttVersion5().buildAsync();
            v3 = null;
            v5.publishes(
                    MqttGlobalPublishFilter.ALL,
                    p ->
                            receive(
                                    p.getTopic().toString(),
                                    p.getPayloadAsBytes(),
                                    p.isRetain(),
                                    p::acknowledge),
                    true);
        } else {
            v3 = builder.useMqttVersion3().buildAsync();
            v5 = null;
            v3.publishes(
                    MqttGlobalPublishFilter.ALL,
                    (Mqtt3Publish p) ->
                            receive(
                                    p.getTopic().toString(),
                                    p.getPayloadAsBytes(),
                                    p.isRetain(),
                                    p::acknowledge),
                    true);
        }
    }

    /**
     * The first producer. Creating one does not reach Kafka, so a failure here is a setting (a
     * bootstrap host no resolver knows, a trust store that cannot be read): said in one line naming
     * where to look, as every other bad setting is, not as an unexpected error.
     */
    private static Producer<String, byte[]> createProducer(GatewayConfig config) {
        try {
            return new KafkaProducer<>(producerProperties(config));
        } catch (KafkaException e) {
            throw new ConfigException(
                    "Kafka's producer cannot be created from kafka.bootstrap ("
                            + config.kafkaBootstrap()
                            + ") and the kafka.producer settings: "
                            + rootMessage(e),
                    e);
        }
    }

    /**
     * Whether Kafka lets {@code config}'s login write to the readings and DLQ topics: an admin
     * client of its own, with the producer's connection and login settings, asks for the topics and
     * what it may do with them, within {@code timeout}. A running bridge checks a change this way
     * before it lets go of its producer: a producer finds a wrong login or a missing right only
     * once it sends, where it shows as readings waiting, not as a refusal.
     *
     * @return null when Kafka lets it write, else why Kafka did not answer (away, slow): the change
     *     may be tried again
     * @throws ConfigException when Kafka refused the login, or the right to describe or write a
     *     topic, or Kafka's client refused a setting
     */
    static String checkKafka(GatewayConfig config, Duration timeout) {
        List<String> topics = List.of(config.readingsTopic(), config.dlqTopic());
        Admin admin;
        try {
            admin = Admin.create(adminProperties(config, "-check", timeout));
        } catch (KafkaException e) {
            if (rootMessage(e).contains("No resolvable bootstrap urls")) {
                // A name server away for a moment: not the settings' fault.
                return "Kafka " + config.kafkaBootstrap() + " did not answer: " + rootMessage(e);
            }
            throw new ConfigException(
                    "Kafka's client cannot be created from kafka.bootstrap ("
                            + config.kafkaBootstrap()
                            + ") and the kafka.producer settings: "
                            + rootMessage(e),
                    e);
        }
        try {
            Map<String, TopicDescription> described =
                    admin.describeTopics(
                                    topics,
                                    new DescribeTopicsOptions()
                                            .includeAuthorizedOperations(true)
                                            .timeoutMs((int) timeout.toMillis()))
                            .allTopicNames()
                            .get(timeout.toMillis() + 1_000, TimeUnit.MILLISECONDS);
            for (String topic : topics) {
                // Null when the broker does not tell; every operation when it has no authorizer.
                java.util.Set<AclOperation> may = described.get(topic).authorizedOperations();
                if (may != null
                        && !may.contains(AclOperation.WRITE)
                        && !may.contains(AclOperation.ALL)) {
                    throw new ConfigException(
                            "Kafka "
                                    + config.kafkaBootstrap()
                                    + " does not let them write to "
                                    + topic);
                }
            }
            return null;
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RetriableException) {
                return "Kafka " + config.kafkaBootstrap() + " did not answer with them: " + cause;
            }
            // A login or right refused, a version or setting the broker does not take: the same
            // settings would fail the same way.
            throw new ConfigException(
                    "Kafka " + config.kafkaBootstrap() + " refused them: " + cause, cause);
        } catch (TimeoutException e) {
            return "Kafka "
                    + config.kafkaBootstrap()
                    + " did not answer with them within "
                    + timeout.toSeconds()
                    + " s";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        } finally {
            admin.close(Duration.ZERO);
        }
    }

    /** An admin client's settings: the producer's connection and login, answers within timeout. */
    private static Properties adminProperties(
            GatewayConfig config, String clientIdSuffix, Duration timeout) {
        Properties producer = producerProperties(config);
        Properties p = new Properties();
        for (String key : producer.stringPropertyNames()) {
            if (AdminClientConfig.configNames().contains(key)) {
                p.put(key, producer.get(key));
            }
        }
        p.put(AdminClientConfig.CLIENT_ID_CONFIG, config.gatewayId() + clientIdSuffix);
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, Long.toString(timeout.toMillis()));
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, Long.toString(timeout.toMillis()));
        return p;
    }

    /**
     * The innermost cause's message on one line: what Kafka's client says is wrong. Not for a login
     * it cannot parse: its message quotes a piece of it, which may be of the password.
     */
    private static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String message = String.valueOf(root.getMessage()).replaceAll("\\s+", " ").strip();
        // Not "... entry in the JAAS configuration": a login missing, which quotes nothing.
        return message.matches(".*JAAS config(?!uration).*")
                ? "the login (sasl.jaas.config) cannot be parsed; check its quotes and the ; at"
                        + " its end"
                : message;
    }

    /** The producer settings: ours first, then whatever the operator passed through. */
    static Properties producerProperties(GatewayConfig config) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, config.kafkaBootstrap());
        p.put(ProducerConfig.CLIENT_ID_CONFIG, config.gatewayId());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "5");
        p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "1");
        p.put(ProducerConfig.BATCH_SIZE_CONFIG, Integer.toString(128 * 1024));
        // The MQTT acknowledgement waits for Kafka, so a record must never be given up on.
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, Integer.toString(Integer.MAX_VALUE));
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "5000");
        p.put(ProducerConfig.RETRY_BACKOFF_MAX_MS_CONFIG, "2000");
        p.put(ProducerConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "2000");
        p.putAll(config.producerOverrides());
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        return p;
    }

    /**
     * Connects and subscribes. A broker that refuses the login fails at once; one that cannot be
     * reached is retried in the background with backoff, as after any later loss.
     *
     * @throws LoginRefusedException when the broker refuses the credentials
     */
    public void start() throws InterruptedException {
        CompletableFuture<?> connect;
        byte[] password = config.password();
        if (v5 != null) {
            var c =
                    v5.connectWith()
                            .cleanStart(false)
                            .sessionExpiryInterval(config.sessionExpiry().toSeconds())
                            .restrictions()
                            .receiveMaximum(config.maxInFlight())
                            .applyRestrictions();
            if (stateTopic != null) {
                c =
                        c.willPublish()
                                .topic(stateTopic)
                                .payload(state(false))
                                .qos(MqttQos.AT_LEAST_ONCE)
                                .retain(true)
                                .applyWillPublish();
            }
            if (config.username() != null) {
                c =
                        c.simpleAuth()
                                .username(config.username())
                                .password(password == null ? new byte[0] : password)
                                .applySimpleAuth();
            }
            connect = c.send();
        } else {
            var c = v3.connectWith().cleanSession(false);
            if (stateTopic != null) {
                c =
                        c.willPublish()
                                .topic(stateTopic)
                                .payload(state(false))
                                .qos(MqttQos.AT_LEAST_ONCE)
                                .retain(true)
                                .applyWillPublish();
            }
            if (config.username() != null) {
                c =
                        c.simpleAuth()
                                .username(config.username())
                                .password(password == null ? new byte[0] : password)
                                .applySimpleAuth();
            }
            connect = c.send();
        }
        try {
            CompletableFuture.anyOf(connect, firstAttemptFailed)
                    .get(CONNECT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            if (firstAttemptFailed.isDone() && !connect.isDone()) {
                // onDisconnected said why; the client goes on retrying in the background.
                return;
            }
            connect.get();
            firstSubscription.get(CONNECT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof Mqtt5ConnAckException refused) {
                close();
                throw new LoginRefusedException(
                        "MQTT broker "
                                + config.brokerForLog()
                                + " refused the connection: "
                                + refused.getMqttMessage().getReasonCode(),
                        cause);
            }
            if (cause instanceof Mqtt3ConnAckException refused) {
                close();
                throw new LoginRefusedException(
                        "MQTT broker "
                                + config.brokerForLog()
                                + " refused the connection: "
                                + refused.getMqttMessage().getReturnCode(),
                        cause);
            }
            LOG.warn(
                    "MQTT broker {} not reachable yet ({}); retrying with backoff up to {}",
                    config.brokerForLog(),
                    cause.getMessage(),
                    config.reconnectMaxDelay());
        } catch (TimeoutException e) {
            LOG.warn(
                    "MQTT broker {} did not answer within {}; retrying in the background",
                    config.brokerForLog(),
                    CONNECT_TIMEOUT);
        }
    }

    private void onConnected(MqttClientConnectedContext context) {
        if (stopping) {
            // A reconnect that was under way when this bridge stopped: another bridge may hold the
            // session under the same client id by now, and the metrics are its.
            (v5 != null ? v5.disconnect() : v3.disconnect())
                    .whenComplete((ok, e) -> LOG.debug("Stopped bridge disconnected again"));
            return;
        }
        connected = true;
        metrics.mqttConnected.set(1);
        if (connects.incrementAndGet() > 1) {
            metrics.reconnects.inc();
            LOG.info("MQTT connection to {} re-established", config.brokerForLog());
        }
        // Subscribing again is harmless with a surviving session and needed when the broker
        // lost it (restarted without persistence).
        // Sparkplug B's filters are never shared: an edge node's birth certificate and its data
        // must reach the one gateway that keeps its aliases and sequence.
        List<String> filters = new ArrayList<>();
        filters.add(config.subscriptionFilter());
        filters.addAll(config.sparkplug().subscriptionFilters());
        if (stateTopic != null) {
            // Sparkplug asks a host to watch its own STATE: a late will of its earlier connection
            // would otherwise leave it offline to the nodes while it runs.
            filters.add(stateTopic);
        }
        CompletableFuture<?> sub;
        if (v5 != null) {
            List<Mqtt5Subscription> subscriptions = new ArrayList<>();
            for (String f : filters) {
                subscriptions.add(
                        Mqtt5Subscription.builder()
                                .topicFilter(f)
                                .qos(MqttQos.AT_LEAST_ONCE)
                                // Not its own rebirth requests; a shared subscription may not ask.
                                .noLocal(
                                        !f.equals(config.subscriptionFilter())
                                                && !f.equals(stateTopic))
                                .build());
            }
            sub = v5.subscribeWith().addSubscriptions(subscriptions).send();
        } else {
            List<Mqtt3Subscription> subscriptions = new ArrayList<>();
            for (String f : filters) {
                subscriptions.add(
                        Mqtt3Subscription.builder()
                                .topicFilter(f)
                                .qos(MqttQos.AT_LEAST_ONCE)
                                .build());
            }
            sub = v3.subscribeWith().addSubscriptions(subscriptions).send();
        }
        sub.whenComplete(
                (ok, error) -> {
                    if (error != null) {
                        LOG.error("Cannot subscribe to {}: {}", filters, error.getMessage());
                        firstSubscription.completeExceptionally(error);
                    } else {
                        if (stateTopic != null) {
                            // After subscribing, as Sparkplug asks: edge nodes that wait for this
                            // host send their data (and what they stored meanwhile) once it is up.
                            // Not after close() published offline: no will would correct it.
                            synchronized (stateLock) {
                                if (!stopping) {
                                    publishState(true);
                                }
                            }
                        }
                        firstSubscription.complete(null);
                    }
                });
    }

    private void onDisconnected(MqttClientDisconnectedContext context) {
        if (stopping) {
            context.getReconnector().reconnect(false);
            return;
        }
        connected = false;
        metrics.mqttConnected.set(0);
        if (connects.get() == 0) {
            Throwable cause = context.getCause();
            if (isLoginRefusal(cause)) {
                // Retried, a refused login would be refused for ever and the first connect would
                // never fail: start() could not stop the gateway with exit code 4.
                context.getReconnector().reconnect(false);
                return;
            }
            // Nothing else says why, e.g. a broker certificate that mqtt.ca-file does not trust.
            LOG.warn(
                    "MQTT broker {} not reachable yet ({}); retrying with backoff up to {}",
                    config.brokerForLog(),
                    cause.getMessage(),
                    config.reconnectMaxDelay());
            firstAttemptFailed.complete(cause);
            return;
        }
        LOG.warn(
                "MQTT connection to {} lost ({}); reconnecting with backoff",
                config.brokerForLog(),
                context.getCause().getMessage());
        String cause = String.valueOf(context.getCause().getMessage());
        if (cause.contains("receive maximum") && !receiveMaximumHinted) {
            receiveMaximumHinted = true;
            LOG.warn(
                    "The broker sent more unacknowledged messages than the receive maximum"
                            + " ({}) allows; mosquitto 2.0 does this under load. Set"
                            + " mqtt.version: 3 for such a broker: its own"
                            + " max_inflight_messages then bounds what is in flight",
                    config.maxInFlight());
        }
    }

    /** A CONNACK refusing the login itself, which no retry can change. */
    private static boolean isLoginRefusal(Throwable cause) {
        if (cause instanceof Mqtt5ConnAckException refused) {
            return switch (refused.getMqttMessage().getReasonCode()) {
                case BAD_USER_NAME_OR_PASSWORD, NOT_AUTHORIZED, BAD_AUTHENTICATION_METHOD, BANNED ->
                        true;
                default -> false;
            };
        }
        if (cause instanceof Mqtt3ConnAckException refused) {
            return switch (refused.getMqttMessage().getReturnCode()) {
                case BAD_USER_NAME_OR_PASSWORD, NOT_AUTHORIZED -> true;
                default -> false;
            };
        }
        return false;
    }

    /** On the client's thread: note the time, then hand over to the intake thread. */
    private void receive(String topic, byte[] payload, boolean retained, Runnable ack) {
        long receivedNanos = System.nanoTime();
        try {
            intake.execute(() -> handle(topic, payload, retained, ack, receivedNanos));
        } catch (RejectedExecutionException closed) {
            // The client may still deliver after close(); unacknowledged, it is redelivered.
            metrics.skippedOnShutdown.inc();
        }
    }

    private void handle(
            String topic, byte[] payload, boolean retained, Runnable ack, long receivedNanos) {
        if (topic.equals(stateTopic)) {
            // Before the check for a stop: the offline STATE close() publishes comes back here,
            // and left unacknowledged it would be redelivered to the next start.
            boolean offline =
                    !new String(payload, java.nio.charset.StandardCharsets.UTF_8)
                            .replaceAll("\\s", "")
                            .contains("\"online\":true");
            synchronized (stateLock) {
                if (offline && !stopping) {
                    LOG.info(
                            "Sparkplug STATE {} says this host is offline (a will of an earlier"
                                    + " connection?): publishing it online again",
                            stateTopic);
                    publishState(true);
                }
            }
            acknowledgeInTurn(ack, receivedNanos);
            return;
        }
        if (stopping) {
            // Not acknowledged: the broker keeps it in the session and redelivers it.
            metrics.skippedOnShutdown.inc();
            return;
        }
        metrics.received.inc();
        List<ReadingRouter.Routed> routed =
                router.routeAll(topic, payload, retained, System.currentTimeMillis());
        if (routed.isEmpty()) {
            // Nothing for Kafka: a Sparkplug death certificate, a command.
            acknowledgeInTurn(ack, receivedNanos);
            return;
        }
        // A message of several records is acknowledged with its last: acknowledgements go out in
        // arrival order, so that is once Kafka has taken every one of them.
        List<PendingAck> pendings = new ArrayList<>(routed.size());
        for (int i = 0; i < routed.size(); i++) {
            pendings.add(
                    new PendingAck(
                            routed.get(i), i == routed.size() - 1 ? ack : NO_ACK, receivedNanos));
        }
        metrics.inFlight.addAndGet(pendings.size());
        synchronized (pendingAcks) {
            pendingAcks.addAll(pendings);
        }
        for (PendingAck pending : pendings) {
            send(pending, 0);
        }
    }

    private static final Runnable NO_ACK = () -> {};

    /** Acknowledges a message that sends nothing to Kafka, after those that arrived before it. */
    private void acknowledgeInTurn(Runnable ack, long receivedNanos) {
        PendingAck nothing = new PendingAck(null, ack, receivedNanos);
        nothing.settled.set(true);
        synchronized (pendingAcks) {
            pendingAcks.add(nothing);
        }
        complete(nothing);
    }

    /** A Sparkplug B command to an edge node: QoS 0 and not retained, as Sparkplug asks. */
    private void publishCommand(String topic, byte[] payload) {
        publish(topic, MqttQos.AT_MOST_ONCE, false, payload, "the Sparkplug command");
    }

    private CompletableFuture<?> publish(
            String topic, MqttQos qos, boolean retain, byte[] payload, String what) {
        CompletableFuture<?> sent =
                v5 != null
                        ? v5.publishWith()
                                .topic(topic)
                                .qos(qos)
                                .retain(retain)
                                .payload(payload)
                                .send()
                        : v3.publishWith()
                                .topic(topic)
                                .qos(qos)
                                .retain(retain)
                                .payload(payload)
                                .send();
        return sent.whenComplete(
                (ok, e) -> {
                    if (e != null) {
                        LOG.warn("Cannot send {} to {}: {}", what, topic, e.toString());
                    }
                });
    }

    /** Sparkplug B 3.0's STATE payload of this host application. */
    private byte[] state(boolean online) {
        return ("{\"online\":" + online + ",\"timestamp\":" + stateTimestamp + "}")
                .getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    private CompletableFuture<?> publishState(boolean online) {
        return publish(
                stateTopic, MqttQos.AT_LEAST_ONCE, true, state(online), "the Sparkplug STATE");
    }

    /**
     * Hands the record to the producer, retrying on this thread until it takes it. While sending is
     * {@link #held}, it waits in {@link #pendingAcks} for the resend instead.
     */
    private void send(PendingAck pending, int attempt) {
        int tries = attempt;
        while (!pending.settled.get() && !held.get()) {
            long generation = producerGeneration;
            try {
                // Partitions first: a record sent before they are known waits max.block.ms in
                // send() and then fails through its callback, to be retried behind later records.
                String topic = pending.routed.record().topic();
                if (!topicsKnown.contains(topic)) {
                    producer.partitionsFor(topic);
                    topicsKnown.add(topic);
                }
                producer.send(
                        pending.routed.record(),
                        (metadata, error) -> {
                            if (error == null) {
                                delivered(pending);
                            } else {
                                failed(pending, generation, error);
                            }
                        });
                return;
            } catch (KafkaException | IllegalStateException e) {
                if (stopping) {
                    leaveUnacknowledged(pending);
                    return;
                }
                noteKafkaError(e);
                metrics.kafkaRetries.inc();
                tries++;
                try {
                    Thread.sleep(backoffMillis(tries));
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    leaveUnacknowledged(pending);
                    return;
                }
            }
        }
    }

    /** Not acknowledged to the broker, which delivers it again to the next session. */
    private void leaveUnacknowledged(PendingAck pending) {
        if (pending.settled.compareAndSet(false, true)) {
            metrics.inFlight.decrementAndGet();
            metrics.skippedOnShutdown.inc();
        }
    }

    private void complete(PendingAck pending) {
        pending.done = true;
        synchronized (pendingAcks) {
            while (!pendingAcks.isEmpty() && pendingAcks.peekFirst().done) {
                Runnable ack = pendingAcks.pollFirst().ack;
                try {
                    ack.run();
                } catch (RuntimeException e) {
                    // The connection that delivered it is gone; the broker redelivers it.
                    LOG.debug("Acknowledgement not sent: {}", e.toString());
                }
            }
        }
    }

    private void delivered(PendingAck pending) {
        lastKafkaSuccessNanos = System.nanoTime();
        if (quietKafkaFailing) {
            quietKafkaFailing = false;
        }
        if (holds.get() != 0) {
            holds.set(0);
        }
        if (!pending.settled.compareAndSet(false, true)) {
            // Sent again by a new producer, and both copies arrived.
            return;
        }
        complete(pending);
        metrics.inFlight.decrementAndGet();
        if (pending.ack != NO_ACK) {
            // Once per message, however many records it became.
            metrics.sendLatency.observe((System.nanoTime() - pending.receivedNanos) / 1e9);
        }
        if (pending.routed.isReading()) {
            metrics.produced.inc();
        } else {
            metrics.dlq.labelValues(pending.routed.rejected().code()).inc();
        }
    }

    /**
     * A record the producer gave up on (a non-retriable error, e.g. authorization): still
     * unacknowledged, so nothing is lost while an operator fixes the cause, and sent again with
     * everything behind it ({@link #hold}).
     */
    private void failed(PendingAck pending, long generation, Exception error) {
        if (generation != producerGeneration) {
            // A replaced producer failing what it still held: the new one was given it.
            return;
        }
        if (refusedForGood(error) && !stopping) {
            ReadingRouter.Routed instead =
                    router.refused(pending.routed, error, System.currentTimeMillis());
            if (instead != null) {
                // Tried again as it was, it would fail again forever, and its acknowledgement
                // would hold back every later message's: once mqtt.max-in-flight of them waited,
                // the broker would send no more.
                pending.routed = instead;
                metrics.kafkaRefused.inc();
                noteRefused(error, instead);
                try {
                    intake.execute(() -> send(pending, 0));
                } catch (RejectedExecutionException closed) {
                    leaveUnacknowledged(pending);
                }
                return;
            }
        }
        noteKafkaError(error);
        metrics.kafkaRetries.inc();
        if (stopping) {
            leaveUnacknowledged(pending);
            return;
        }
        hold(generation);
    }

    /**
     * Kafka refused a record for a reason that is not the record's (authorization, a login, a
     * producer in a fatal state): it would refuse the records behind it too. Nothing more goes to
     * the producer; after a backoff a new one sends every waiting record again, in arrival order.
     * Each record retried on its own, as before, was overtaken by the ones behind it once the cause
     * was fixed: with 1,000 messages in flight a sensor's readings reached Kafka out of order
     * (GatewayKafkaAuthorizationTest), and every one of them was retried every 400 ms meanwhile.
     */
    private void hold(long generation) {
        if (!held.compareAndSet(false, true)) {
            return;
        }
        int attempt = holds.incrementAndGet();
        retries.schedule(
                () -> {
                    try {
                        intake.execute(() -> resendAfterHold(generation));
                    } catch (RejectedExecutionException closed) {
                        // Shutting down: what waits stays unacknowledged and is redelivered.
                    }
                },
                backoffMillis(attempt),
                TimeUnit.MILLISECONDS);
    }

    /** On the intake thread: the resend {@link #hold} scheduled. */
    private void resendAfterHold(long generation) {
        if (stopping || generation != producerGeneration) {
            // A producer restart came first, and sent everything again already.
            return;
        }
        java.util.List<PendingAck> waiting = waiting();
        if (waiting.isEmpty()) {
            held.set(false);
            return;
        }
        replaceProducer();
        LOG.debug("Sending {} waiting records again after a refusal", waiting.size());
        resend(waiting);
    }

    /**
     * Every second, on the retry thread: when the oldest waiting record has gone unacknowledged for
     * {@code kafka.producer-restart-after}, and as long since the last restart, the producer is
     * replaced on the intake thread, between two sends.
     */
    private void checkStall() {
        if (stopping || !stalled() || !restartQueued.compareAndSet(false, true)) {
            return;
        }
        try {
            intake.execute(this::restartProducer);
        } catch (RejectedExecutionException closed) {
            // Shutting down.
            restartQueued.set(false);
        }
    }

    /**
     * The oldest waiting record and the producer are both older than {@code
     * kafka.producer-restart-after}.
     */
    private boolean stalled() {
        long limit = config.producerRestartAfter().toNanos();
        long now = System.nanoTime();
        Long oldest = oldestWaitingNanos();
        return oldest != null && now - oldest >= limit && now - producerStartedNanos >= limit;
    }

    /** When the oldest record still waiting for Kafka was received; null when none waits. */
    private Long oldestWaitingNanos() {
        synchronized (pendingAcks) {
            for (PendingAck p : pendingAcks) {
                if (!p.done) {
                    return p.receivedNanos;
                }
            }
        }
        return null;
    }

    /**
     * A new producer (a new producer id, so sequence numbers start again) gets every waiting record
     * in arrival order. The old one is closed first, without waiting: what it still delivers is
     * acknowledged once, what it fails is ignored.
     */
    private void restartProducer() {
        restartQueued.set(false);
        // Checked again: the intake thread may have been busy handing records to the producer,
        // which then acknowledged them.
        if (stopping || !stalled()) {
            return;
        }
        java.util.List<PendingAck> waiting = waiting();
        if (waiting.isEmpty()) {
            return;
        }
        replaceProducer();
        LOG.warn(
                "No acknowledgement from Kafka {} for {} s with {} records waiting (an outage, or"
                        + " a partition stuck on OUT_OF_ORDER_SEQUENCE_NUMBER, KAFKA-15591):"
                        + " replacing the producer and sending them again in order",
                config.kafkaBootstrap(),
                config.producerRestartAfter().toSeconds(),
                waiting.size());
        resend(waiting);
    }

    /** The records not yet delivered, in arrival order. */
    private java.util.List<PendingAck> waiting() {
        java.util.List<PendingAck> waiting = new java.util.ArrayList<>();
        synchronized (pendingAcks) {
            for (PendingAck p : pendingAcks) {
                if (!p.settled.get()) {
                    waiting.add(p);
                }
            }
        }
        return waiting;
    }

    /**
     * On the intake thread: a new producer, with a new producer id, in place of the current one,
     * which is closed without waiting; what it still delivers is acknowledged once, what it fails
     * is ignored. Sending is no longer held.
     */
    private void replaceProducer() {
        Producer<String, byte[]> old = producer;
        producerGeneration++;
        old.close(Duration.ZERO);
        producer = new KafkaProducer<>(producerProperties(config));
        topicsKnown.clear();
        metrics.producerRestarts.inc();
        held.set(false);
    }

    /** On the intake thread: {@code waiting} to the producer again, in arrival order. */
    private void resend(java.util.List<PendingAck> waiting) {
        for (PendingAck p : waiting) {
            send(p, 0);
        }
        // While Kafka is away the first send waits for the partitions; the new producer's time
        // counts from when it took the records.
        producerStartedNanos = System.nanoTime();
    }

    /** Errors that refuse one record whatever is tried again, not Kafka as a whole. */
    private static boolean refusedForGood(Exception e) {
        return e instanceof RecordTooLargeException
                || e instanceof RecordBatchTooLargeException
                || e instanceof InvalidRecordException;
    }

    private void noteRefused(Exception error, ReadingRouter.Routed instead) {
        long now = System.nanoTime();
        // One line per 10 s at most, with how many since.
        long count = refusedSinceLog.incrementAndGet();
        if (now - lastRefusedLogNanos > TimeUnit.SECONDS.toNanos(10)) {
            lastRefusedLogNanos = now;
            refusedSinceLog.set(0);
            LOG.warn(
                    "Kafka refused {} record(s) for good, the last with {}; sent to {} instead ({}"
                            + " bytes kept), so later messages are not held behind them",
                    count,
                    error.toString(),
                    instead.record().topic(),
                    instead.record().value().length);
        }
    }

    private void noteKafkaError(Exception e) {
        long now = System.nanoTime();
        // One line per 10 s at most: a Kafka outage must not flood the log.
        if (now - lastKafkaErrorNanos > TimeUnit.SECONDS.toNanos(10)) {
            LOG.warn(
                    "Kafka {} not accepting records ({}); holding MQTT acknowledgements and"
                            + " retrying",
                    config.kafkaBootstrap(),
                    e.toString());
        }
        lastKafkaErrorNanos = now;
        lastKafkaError = e.toString();
    }

    private static long backoffMillis(int attempt) {
        return Math.min(MAX_RETRY_BACKOFF_MILLIS, 50L << Math.min(attempt, 10));
    }

    /**
     * Keeps {@code /health} true while there is nothing to send: the producer only notices a Kafka
     * gone when it sends, so a quiet gateway (a line stopped, a night shift) said UP through a
     * whole outage. Until Kafka first answers, the producer is asked for the readings topic's
     * partitions, which also readies it; after that, whenever nothing has been acknowledged for
     * {@link #KAFKA_QUIET_PROBE_AFTER} and nothing waits, an admin client with the producer's
     * connection and login asks for them. Records waiting show a stall on their own.
     */
    private void watchKafka() {
        while (!stopping) {
            try {
                producer.partitionsFor(config.readingsTopic());
                lastKafkaSuccessNanos = System.nanoTime();
                break;
            } catch (KafkaException | IllegalStateException e) {
                // A timeout after max.block.ms: Kafka away, or the topic missing.
                lastKafkaError = e.toString();
                lastKafkaErrorNanos = System.nanoTime();
            }
            if (!pause(1_000)) {
                return;
            }
        }
        Admin admin = null;
        int failedInARow = 0;
        try {
            while (pause(1_000) && !stopping) {
                long asked = System.nanoTime();
                long successBefore = lastKafkaSuccessNanos;
                if (inFlight() > 0
                        || asked - lastKafkaSuccessNanos < KAFKA_QUIET_PROBE_AFTER.toNanos()) {
                    continue;
                }
                String failure;
                try {
                    if (admin == null) {
                        admin =
                                Admin.create(
                                        adminProperties(config, "-probe", KAFKA_PROBE_TIMEOUT));
                    }
                    failure = askForPartitions(admin, config.readingsTopic(), KAFKA_PROBE_TIMEOUT);
                } catch (KafkaException e) {
                    // A bootstrap name no resolver knows at the moment.
                    failure = e.toString();
                } catch (InterruptedException e) {
                    return;
                }
                if (failure == null) {
                    failedInARow = 0;
                    quietKafkaFailing = false;
                    // Dated at the question: Kafka answered at some point after it.
                    if (asked - lastKafkaSuccessNanos > 0) {
                        lastKafkaSuccessNanos = asked;
                    }
                } else if (lastKafkaSuccessNanos == successBefore) {
                    // Not an error at once: a leader moving in a rolling restart, one slow answer.
                    // Twice in a row, and nothing through for KAFKA_STALL, as for a busy gateway.
                    lastKafkaError = failure;
                    quietKafkaFailing = ++failedInARow >= 2;
                } else {
                    // A record went through meanwhile: Kafka answers.
                    failedInARow = 0;
                }
            }
        } finally {
            if (admin != null) {
                admin.close(Duration.ZERO);
            }
        }
    }

    private static int millisLeft(long deadlineNanos) {
        return (int) Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime()));
    }

    /** False when interrupted, which a stopping bridge does. */
    private static boolean pause(long millis) {
        try {
            Thread.sleep(millis);
            return true;
        } catch (InterruptedException e) {
            return false;
        }
    }

    /**
     * Null when the leader of every partition of {@code topic} answered within {@code timeout} (for
     * its latest offset, which only the leader answers, as only the leader takes a record); else
     * what went wrong, as {@code /health} and the log say it.
     */
    static String askForPartitions(Admin admin, String topic, Duration timeout)
            throws InterruptedException {
        // One deadline for both questions: the whole probe answers within timeout.
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            TopicDescription described =
                    admin.describeTopics(
                                    List.of(topic),
                                    new DescribeTopicsOptions().timeoutMs(millisLeft(deadline)))
                            .allTopicNames()
                            .get(millisLeft(deadline), TimeUnit.MILLISECONDS)
                            .get(topic);
            Map<TopicPartition, OffsetSpec> latest = new java.util.HashMap<>();
            for (TopicPartitionInfo partition : described.partitions()) {
                if (partition.leader() == null || partition.leader().isEmpty()) {
                    return "partition " + partition.partition() + " of " + topic + " has no leader";
                }
                latest.put(new TopicPartition(topic, partition.partition()), OffsetSpec.latest());
            }
            admin.listOffsets(latest, new ListOffsetsOptions().timeoutMs(millisLeft(deadline)))
                    .all()
                    .get(millisLeft(deadline), TimeUnit.MILLISECONDS);
            return null;
        } catch (ExecutionException e) {
            return "asked for the partitions of " + topic + ": " + e.getCause();
        } catch (TimeoutException e) {
            return "asked for the partitions of "
                    + topic
                    + ", no answer within "
                    + timeout.toSeconds()
                    + " s";
        }
    }

    /**
     * Every second, on the retry thread: says when Kafka stops acknowledging, every 30 s while it
     * does, and when it takes records again. Kafka's client warns at each reconnect attempt
     * instead, about every 2 s with nothing on what waits; the gateway's logging silences it.
     */
    private void reportKafkaHealth() {
        if (stopping) {
            return;
        }
        long now = System.nanoTime();
        if (!kafkaHealthy()) {
            boolean first = !unhealthy;
            if (first) {
                unhealthy = true;
                // Unhealthy is noticed KAFKA_STALL after the last acknowledgement at the latest.
                unhealthySinceNanos = Math.max(lastKafkaSuccessNanos, now - KAFKA_STALL.toNanos());
                mostWaiting = 0;
            }
            mostWaiting = Math.max(mostWaiting, inFlight());
            if (first || now - lastHealthLogNanos >= HEALTH_LOG_EVERY.toNanos()) {
                lastHealthLogNanos = now;
                LOG.warn(
                        "Kafka {}: {}; readings wait in the MQTT broker, unacknowledged, so nothing"
                                + " is lost",
                        config.kafkaBootstrap(),
                        lastKafkaError());
            }
        } else if (unhealthy) {
            // At the warning's level, so the all-clear reaches wherever the warning did.
            LOG.warn(
                    "Kafka {} acknowledging again, after {} s without; at most {} records waited",
                    config.kafkaBootstrap(),
                    TimeUnit.NANOSECONDS.toSeconds(now - unhealthySinceNanos),
                    mostWaiting);
            unhealthy = false;
        }
    }

    /** Connected to MQTT, and Kafka took a record since its last error. */
    public boolean healthy() {
        return connected && kafkaHealthy();
    }

    public boolean mqttConnected() {
        return connected;
    }

    /**
     * No error since the last acknowledgement, and no record waiting longer than {@link
     * #KAFKA_STALL}: with an unlimited delivery timeout a Kafka outage shows as waiting records,
     * not as errors.
     */
    public boolean kafkaHealthy() {
        boolean noNewError =
                lastKafkaErrorNanos == 0 || lastKafkaSuccessNanos - lastKafkaErrorNanos > 0;
        long now = System.nanoTime();
        Long oldest = oldestWaitingNanos();
        // Records that came since do not make it healthy: only an acknowledgement does.
        boolean quietAndUnanswered =
                quietKafkaFailing && now - lastKafkaSuccessNanos >= KAFKA_STALL.toNanos();
        return noNewError
                && !quietAndUnanswered
                && waitedNanos(now, lastKafkaSuccessNanos, oldest) < KAFKA_STALL.toNanos();
    }

    /**
     * How long Kafka has kept the oldest waiting record without acknowledging anything: counted
     * from that record's arrival or the last acknowledgement, whichever is later, so a record after
     * a quiet minute does not look stalled the moment it is sent. 0 when none waits.
     */
    static long waitedNanos(long now, long lastSuccessNanos, Long oldestWaitingNanos) {
        if (oldestWaitingNanos == null) {
            return 0;
        }
        return now - Math.max(lastSuccessNanos, oldestWaitingNanos);
    }

    /** Why Kafka is not healthy, for {@code /health}; null when it is. */
    public String lastKafkaError() {
        if (kafkaHealthy()) {
            return null;
        }
        long now = System.nanoTime();
        Long oldest = oldestWaitingNanos();
        long waitingSeconds =
                (oldest == null || quietKafkaFailing
                                ? now - lastKafkaSuccessNanos
                                : waitedNanos(now, lastKafkaSuccessNanos, oldest))
                        / 1_000_000_000L;
        String stall =
                oldest == null
                        ? "no answer for " + waitingSeconds + " s, no record waiting"
                        : "no acknowledgement for "
                                + waitingSeconds
                                + " s, "
                                + inFlight()
                                + " records waiting";
        return lastKafkaError == null ? stall : stall + "; last error: " + lastKafkaError;
    }

    public int inFlight() {
        return metrics.inFlight.get();
    }

    /**
     * Stops taking messages, waits up to {@code shutdown.drain-timeout} for those in flight to be
     * acknowledged by Kafka and then to the broker, and disconnects. What is left unacknowledged
     * stays in the broker's session and is delivered again.
     */
    @Override
    public void close() {
        if (stopping) {
            return;
        }
        stopping = true;
        if (held.get()) {
            // Nothing more will be sent: the broker redelivers what waits to the next session.
            waiting().forEach(this::leaveUnacknowledged);
        }
        long deadline = System.nanoTime() + config.drainTimeout().toNanos();
        while (metrics.inFlight.get() > 0 && System.nanoTime() < deadline) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (metrics.inFlight.get() > 0) {
            LOG.warn(
                    "{} messages still unacknowledged after {}; the broker will redeliver them",
                    metrics.inFlight.get(),
                    config.drainTimeout());
        }
        if (stateTopic != null && connected) {
            // A clean disconnect sends no will: edge nodes learn that this host went away here.
            // Under the lock, after stopping is set: no online STATE can follow it.
            CompletableFuture<?> offline;
            synchronized (stateLock) {
                offline = publishState(false);
            }
            try {
                offline.get(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (ExecutionException | TimeoutException e) {
                LOG.debug("Sparkplug STATE offline: {}", e.toString());
            }
        }
        try {
            (v5 != null ? v5.disconnect() : v3.disconnect()).get(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            LOG.debug("MQTT disconnect: {}", e.toString());
        }
        retries.shutdownNow();
        intake.shutdownNow();
        kafkaWatch.interrupt();
        producer.close(Duration.ofSeconds(5));
        // Its callbacks leave the gauge alone once stopping; a bridge that replaces it sets it
        // when it connects.
        connected = false;
        metrics.mqttConnected.set(0);
    }

    private static java.util.concurrent.ThreadFactory daemon(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }
}
