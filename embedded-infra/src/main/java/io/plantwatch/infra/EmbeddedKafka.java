package io.plantwatch.infra;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.function.IntFunction;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.metadata.storage.Formatter;
import org.apache.kafka.server.common.MetadataVersion;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real Apache Kafka cluster in this JVM: every node is a combined KRaft broker and controller
 * ({@link KafkaRaftServer}), with storage formatted in-process.
 *
 * <p>Ports are chosen on 127.0.0.1 at the first {@link #start()} and kept for the life of the
 * object, so {@link #stop()} followed by {@link #start()} brings the same cluster back on the same
 * {@link #bootstrapServers()} with its data, as a restarted production broker would.
 *
 * <p>The defaults suit tests and the appliance's embedded mode: replication factors and minimum ISR
 * of the internal topics fit the node count, no initial rebalance delay, few threads and a small
 * log-cleaner buffer. Kafka treats some metadata errors as fatal and halts the JVM, exactly as it
 * would halt a standalone broker; that is Kafka's own fault handling and is left in place.
 *
 * <pre>{@code
 * try (EmbeddedKafka kafka = EmbeddedKafka.builder().brokers(1).build().start()) {
 *     kafka.createTopic("readings", 3);
 *     producerProps.put("bootstrap.servers", kafka.bootstrapServers());
 * }
 * }</pre>
 */
public final class EmbeddedKafka implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedKafka.class);
    private static final String BROKER_LISTENER = "PLAINTEXT";
    private static final String SASL_LISTENER = "CLIENT";

    /** The super user this class's own clients and the brokers log in as, with SASL. */
    public static final String ADMIN = "admin";

    private static final String CONTROLLER_LISTENER = "CONTROLLER";
    private static final Duration START_TIMEOUT = Duration.ofMinutes(2);
    private static final Duration TOPIC_TIMEOUT = Duration.ofSeconds(30);

    private final int brokerCount;
    private final int defaultPartitions;
    private final Map<String, String> extraProperties;

    /** SASL/PLAIN users by name, with their passwords; empty when clients need no login. */
    private final Map<String, String> users;

    private final Path dataDirectory;
    private final boolean ownsDataDirectory;
    private final String clusterId = Uuid.randomUuid().toString();
    private final KafkaRaftServer[] servers;
    private int[] brokerPorts;
    private int[] controllerPorts;
    private boolean closed;

    private EmbeddedKafka(Builder builder) {
        this.brokerCount = builder.brokers;
        this.defaultPartitions = builder.defaultPartitions;
        this.extraProperties = Map.copyOf(builder.brokerProperties);
        this.users = Map.copyOf(builder.users);
        this.ownsDataDirectory = builder.dataDirectory == null;
        this.dataDirectory =
                ownsDataDirectory ? TempDirs.create("embedded-kafka-") : builder.dataDirectory;
        this.servers = new KafkaRaftServer[brokerCount];
    }

    /**
     * A builder for a one-node cluster. Topics are made by {@link #createTopic} and never on first
     * use: a topic auto-created by a producer's first write loses that write's first batch now and
     * then (KAFKA-15591, see {@link KafkaTopics#awaitWritable}), and the plant's brokers in {@code
     * docker/} do not auto-create either.
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Starts every node that is not running and returns once all of them are registered and
     * unfenced, i.e. ready for clients. Starting a running cluster does nothing.
     *
     * @return this, for chaining after {@link Builder#build()}
     */
    public synchronized EmbeddedKafka start() {
        ensureOpen();
        long startNanos = System.nanoTime();
        List<Integer> stopped = new ArrayList<>();
        for (int i = 0; i < brokerCount; i++) {
            if (servers[i] == null) {
                stopped.add(i);
            }
        }
        if (stopped.isEmpty()) {
            return this;
        }
        assignPortsOnce();
        startNodes(stopped);
        LOG.info(
                "Kafka (KRaft, {} broker{}) ready at {} in {}",
                brokerCount,
                brokerCount == 1 ? "" : "s",
                bootstrapServers(),
                Loopback.seconds(startNanos));
        return this;
    }

    /** Stops every node, keeping ports and data for a later {@link #start()}. */
    public synchronized void stop() {
        List<Integer> running = new ArrayList<>();
        for (int i = 0; i < brokerCount; i++) {
            if (servers[i] != null) {
                running.add(i);
            }
        }
        // In parallel: a node waiting for the others to approve its controlled shutdown must not
        // wait behind them in a queue.
        runOnNodes(running, i -> stopNode(i), "stop");
    }

    /**
     * Stops one node (broker and controller together). With three or more nodes the remaining
     * controller quorum keeps the cluster serving replicated topics.
     */
    public synchronized void stopBroker(int index) {
        checkIndex(index);
        if (servers[index] != null) {
            stopNode(index);
        }
    }

    /** Starts one node stopped by {@link #stopBroker(int)}, on its former ports and data. */
    public synchronized void startBroker(int index) {
        checkIndex(index);
        ensureOpen();
        if (servers[index] != null) {
            return;
        }
        long startNanos = System.nanoTime();
        assignPortsOnce();
        startNodes(List.of(index));
        LOG.info(
                "Kafka broker {} ready at {}:{} in {}",
                index,
                Loopback.HOST,
                brokerPorts[index],
                Loopback.seconds(startNanos));
    }

    /** True when every node is running. */
    public synchronized boolean isRunning() {
        return Arrays.stream(servers).allMatch(Objects::nonNull);
    }

    /** The number of nodes; each is a broker and a controller. */
    public int brokerCount() {
        return brokerCount;
    }

    /**
     * The client bootstrap list, e.g. {@code 127.0.0.1:41234}; stable across stop and start.
     *
     * @throws IllegalStateException before the first start, when no ports are chosen yet
     */
    public synchronized String bootstrapServers() {
        if (brokerPorts == null) {
            throw new IllegalStateException("Kafka has not been started yet");
        }
        return Arrays.stream(brokerPorts)
                .mapToObj(port -> Loopback.HOST + ":" + port)
                .collect(Collectors.joining(","));
    }

    /** The directory holding every node's log and metadata directories. */
    public Path dataDirectory() {
        return dataDirectory;
    }

    /** A new admin client for this cluster, the super user with SASL; the caller closes it. */
    public Admin createAdmin() {
        Map<String, Object> p = new HashMap<>(clientProperties(ADMIN));
        p.put(AdminClientConfig.CLIENT_ID_CONFIG, "embedded-kafka-admin");
        return Admin.create(p);
    }

    /**
     * What a client of this cluster needs to connect: the bootstrap list and, when the cluster was
     * built with {@link Builder#saslPlain}, the login of {@code user}, who must be one of its users
     * or {@link #ADMIN}. Without SASL the user is ignored.
     */
    public Map<String, Object> clientProperties(String user) {
        Map<String, Object> p = new HashMap<>();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        if (!users.isEmpty()) {
            String password = users.get(user);
            if (password == null) {
                throw new IllegalArgumentException("No SASL user " + user + " in this cluster");
            }
            p.put("security.protocol", "SASL_PLAINTEXT");
            p.put("sasl.mechanism", "PLAIN");
            p.put("sasl.jaas.config", plainLogin(user, password, ""));
        }
        return p;
    }

    /**
     * Lets SASL user {@code user} do {@code operations} on {@code topic} (an ACL each), from any
     * host. Returns once the controller has them; a broker applies them a moment later.
     */
    public void allow(String user, String topic, AclOperation... operations) {
        List<AclBinding> acls =
                acls(user, ResourceType.TOPIC, topic, PatternType.LITERAL, operations);
        changeAcls("create ACLs " + acls, admin -> admin.createAcls(acls).all());
    }

    /** {@link #allow} for consumer group {@code group}. */
    public void allowGroup(String user, String group, AclOperation... operations) {
        List<AclBinding> acls =
                acls(user, ResourceType.GROUP, group, PatternType.LITERAL, operations);
        changeAcls("create ACLs " + acls, admin -> admin.createAcls(acls).all());
    }

    /**
     * Lets {@code user} use (write, describe) every transactional id starting with {@code prefix}.
     */
    public void allowTransactions(String user, String prefix) {
        List<AclBinding> acls =
                acls(
                        user,
                        ResourceType.TRANSACTIONAL_ID,
                        prefix,
                        PatternType.PREFIXED,
                        AclOperation.WRITE,
                        AclOperation.DESCRIBE);
        changeAcls("create ACLs " + acls, admin -> admin.createAcls(acls).all());
    }

    /** Takes back what {@link #allow} allowed. */
    public void revoke(String user, String topic, AclOperation... operations) {
        List<AclBindingFilter> filters =
                acls(user, ResourceType.TOPIC, topic, PatternType.LITERAL, operations).stream()
                        .map(AclBinding::toFilter)
                        .toList();
        changeAcls("delete ACLs " + filters, admin -> admin.deleteAcls(filters).all());
    }

    private void changeAcls(String what, Function<Admin, KafkaFuture<?>> change) {
        try (Admin admin = createAdmin()) {
            change.apply(admin).get(TOPIC_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted: " + what, e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("Cannot " + what, e);
        }
    }

    private static List<AclBinding> acls(
            String user,
            ResourceType type,
            String name,
            PatternType patternType,
            AclOperation... operations) {
        ResourcePattern pattern = new ResourcePattern(type, name, patternType);
        return Arrays.stream(operations)
                .map(
                        op ->
                                new AclBinding(
                                        pattern,
                                        new AccessControlEntry(
                                                "User:" + user, "*", op, AclPermissionType.ALLOW)))
                .toList();
    }

    private static String plainLogin(String user, String password, String more) {
        return "org.apache.kafka.common.security.plain.PlainLoginModule required username=\""
                + user
                + "\" password=\""
                + password
                + "\""
                + more
                + ";";
    }

    /**
     * Creates a topic with replication factor min(brokers, 3), or does nothing if it exists (an
     * existing topic keeps its partition count). Returns once every partition takes records ({@link
     * KafkaTopics#awaitWritable}).
     */
    public void createTopic(String name, int partitions) {
        createTopics(partitions, name);
    }

    /** {@link #createTopic(String, int)} for several topics in one request. */
    public void createTopics(int partitions, String... names) {
        short replication = (short) Math.min(brokerCount, 3);
        List<NewTopic> topics =
                Arrays.stream(names)
                        .map(name -> new NewTopic(name, partitions, replication))
                        .collect(Collectors.toList());
        try (Admin admin = createAdmin()) {
            for (var entry : admin.createTopics(topics).values().entrySet()) {
                try {
                    entry.getValue().get(TOPIC_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw new IllegalStateException(
                                "Cannot create topic " + entry.getKey(), e.getCause());
                    }
                }
            }
            KafkaTopics.awaitWritable(admin, List.of(names), TOPIC_TIMEOUT);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while creating topics", e);
        } catch (TimeoutException e) {
            throw new IllegalStateException("Topic creation timed out", e);
        }
    }

    /**
     * Stops the cluster and deletes its data directory, unless the builder gave it or it did not
     * stop.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        boolean stopped = false;
        try {
            stop();
            stopped = true;
        } catch (IllegalStateException e) {
            // Seen rarely with three nodes, one already stopped: the last two shut down together,
            // the quorum goes, and a broker's controlled shutdown waits for a controller that is
            // gone. Closing is clean-up; its caller's assertions already ran.
            LOG.warn(
                    "Kafka did not stop cleanly on close ({}); its threads are left to die, and"
                            + " its data in {}",
                    e.getMessage(),
                    dataDirectory);
        } finally {
            closed = true;
            // Not under threads still running: a broker whose log folder vanishes calls
            // Exit.halt(1), which once ended a whole test JVM in the next test class.
            if (ownsDataDirectory && stopped) {
                TempDirs.deleteQuietly(dataDirectory);
            }
        }
    }

    private void assignPortsOnce() {
        if (brokerPorts == null) {
            int[] ports = Loopback.freePorts(2 * brokerCount);
            brokerPorts = Arrays.copyOfRange(ports, 0, brokerCount);
            controllerPorts = Arrays.copyOfRange(ports, brokerCount, 2 * brokerCount);
        }
    }

    // Nodes start in parallel because each one's startup blocks until a controller quorum
    // exists, which needs a majority of the nodes up at the same time.
    private void startNodes(List<Integer> indexes) {
        try {
            runOnNodes(indexes, i -> servers[i] = startNode(i), "start");
        } catch (RuntimeException e) {
            for (int i : indexes) {
                if (servers[i] != null) {
                    stopNode(i);
                }
            }
            throw e;
        }
    }

    private KafkaRaftServer startNode(int node) {
        Path directory = dataDirectory.resolve("node-" + node);
        formatOnce(node, directory);
        KafkaConfig config = new KafkaConfig(nodeProperties(node, directory), false);
        KafkaRaftServer server = new KafkaRaftServer(config, Time.SYSTEM);
        try {
            server.startup();
            return server;
        } catch (RuntimeException e) {
            server.shutdown();
            server.awaitShutdown();
            throw e;
        }
    }

    private void stopNode(int node) {
        KafkaRaftServer server = servers[node];
        servers[node] = null;
        server.shutdown();
        server.awaitShutdown();
    }

    // Formatting again would fail on an existing meta.properties from an earlier process with
    // another cluster id (a caller-supplied data directory), so formatted nodes are left alone.
    private void formatOnce(int node, Path directory) {
        if (Files.exists(directory.resolve("meta.properties"))) {
            return;
        }
        try {
            new Formatter()
                    .setPrintStream(new PrintStream(OutputStream.nullOutputStream()))
                    .setNodeId(node)
                    .setClusterId(clusterId)
                    .setDirectories(List.of(directory.toString()))
                    .setMetadataLogDirectory(directory.toString())
                    .setControllerListenerName(CONTROLLER_LISTENER)
                    .setReleaseVersion(MetadataVersion.latestProduction())
                    .run();
        } catch (Exception e) {
            throw new IllegalStateException("Cannot format Kafka storage in " + directory, e);
        }
    }

    private Map<String, Object> nodeProperties(int node, Path directory) {
        int replication = Math.min(brokerCount, 3);
        boolean sasl = !users.isEmpty();
        String clientListener = sasl ? SASL_LISTENER : BROKER_LISTENER;
        // One replica may be down (a restarted broker) without blocking transactions.
        int minIsr = Math.max(1, replication - 1);
        String listeners =
                clientListener
                        + "://"
                        + Loopback.HOST
                        + ":"
                        + brokerPorts[node]
                        + ","
                        + CONTROLLER_LISTENER
                        + "://"
                        + Loopback.HOST
                        + ":"
                        + controllerPorts[node];
        String voters =
                IntStream.range(0, brokerCount)
                        .mapToObj(i -> i + "@" + Loopback.HOST + ":" + controllerPorts[i])
                        .collect(Collectors.joining(","));

        Map<String, Object> props = new LinkedHashMap<>();
        props.put("process.roles", "broker,controller");
        props.put("node.id", String.valueOf(node));
        props.put("controller.quorum.voters", voters);
        props.put("controller.listener.names", CONTROLLER_LISTENER);
        props.put("inter.broker.listener.name", clientListener);
        props.put("listeners", listeners);
        props.put("advertised.listeners", listeners);
        props.put(
                "listener.security.protocol.map",
                clientListener
                        + (sasl ? ":SASL_PLAINTEXT," : ":PLAINTEXT,")
                        + CONTROLLER_LISTENER
                        + ":PLAINTEXT");
        if (sasl) {
            // The brokers log in to each other as the super user; every user's password is in
            // the listener's own login module, as PLAIN's server side expects.
            String userEntries =
                    users.entrySet().stream()
                            .map(u -> " user_" + u.getKey() + "=\"" + u.getValue() + "\"")
                            .collect(Collectors.joining());
            String prefix = "listener.name." + SASL_LISTENER.toLowerCase(java.util.Locale.ROOT);
            props.put(
                    prefix + ".plain.sasl.jaas.config",
                    plainLogin(ADMIN, users.get(ADMIN), userEntries));
            props.put("sasl.enabled.mechanisms", "PLAIN");
            props.put("sasl.mechanism.inter.broker.protocol", "PLAIN");
            props.put(
                    "authorizer.class.name",
                    "org.apache.kafka.metadata.authorizer.StandardAuthorizer");
            // ANONYMOUS: the controller listener, which has no login.
            props.put("super.users", "User:" + ADMIN + ";User:ANONYMOUS");
        }
        props.put("log.dirs", directory.toString());
        props.put("metadata.log.dir", directory.toString());
        props.put("server.max.startup.time.ms", String.valueOf(START_TIMEOUT.toMillis()));

        // See builder(): a topic is created, and waited on, before anything writes to it.
        props.put("auto.create.topics.enable", "false");
        props.put("num.partitions", String.valueOf(defaultPartitions));
        props.put("default.replication.factor", String.valueOf(replication));
        props.put("offsets.topic.replication.factor", String.valueOf(replication));
        props.put("transaction.state.log.replication.factor", String.valueOf(replication));
        props.put("transaction.state.log.min.isr", String.valueOf(minIsr));
        // acks=all then means two copies, and one broker may be lost without blocking writes.
        props.put("min.insync.replicas", String.valueOf(minIsr));
        props.put("share.coordinator.state.topic.replication.factor", String.valueOf(replication));
        props.put("share.coordinator.state.topic.min.isr", String.valueOf(minIsr));
        props.put("group.initial.rebalance.delay.ms", "0");

        // Footprint: 50 partitions per internal topic and a 128 MiB cleaner buffer are sized
        // for production clusters, not for a broker sharing a 2-core machine with its clients.
        props.put("offsets.topic.num.partitions", "5");
        props.put("transaction.state.log.num.partitions", "5");
        props.put("share.coordinator.state.topic.num.partitions", "5");
        props.put("log.cleaner.dedupe.buffer.size", String.valueOf(2 * 1024 * 1024));
        props.put("num.network.threads", "2");
        props.put("num.io.threads", "2");
        props.put("background.threads", "2");
        props.put("num.recovery.threads.per.data.dir", "1");

        props.putAll(extraProperties);
        return props;
    }

    private static void runOnNodes(List<Integer> indexes, IntConsumerAction action, String what) {
        if (indexes.isEmpty()) {
            return;
        }
        if (indexes.size() == 1) {
            action.run(indexes.get(0));
            return;
        }
        IntFunction<Executor> perNodeThread =
                node ->
                        task -> {
                            Thread thread = new Thread(task, "embedded-kafka-" + what + "-" + node);
                            thread.setDaemon(true);
                            thread.start();
                        };
        CompletableFuture<?>[] futures =
                indexes.stream()
                        .map(
                                i ->
                                        CompletableFuture.runAsync(
                                                () -> action.run(i), perNodeThread.apply(i)))
                        .toArray(CompletableFuture[]::new);
        try {
            CompletableFuture.allOf(futures).get(START_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted during Kafka " + what, e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("Kafka " + what + " failed", e.getCause());
        } catch (TimeoutException e) {
            throw new IllegalStateException("Kafka " + what + " timed out after " + START_TIMEOUT);
        }
    }

    private void checkIndex(int index) {
        if (index < 0 || index >= brokerCount) {
            throw new IndexOutOfBoundsException(
                    "Broker " + index + " of a " + brokerCount + "-broker cluster");
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("EmbeddedKafka is closed");
        }
    }

    @FunctionalInterface
    private interface IntConsumerAction {
        void run(int node);
    }

    /** Configures an {@link EmbeddedKafka}; {@link #build()} does not start it. */
    public static final class Builder {
        private int brokers = 1;
        private int defaultPartitions = 1;
        private final Map<String, String> brokerProperties = new HashMap<>();
        private final Map<String, String> users = new LinkedHashMap<>();
        private Path dataDirectory;

        private Builder() {}

        /**
         * The number of nodes, each a combined broker and controller in a static quorum. Default 1.
         */
        public Builder brokers(int count) {
            if (count < 1) {
                throw new IllegalArgumentException("At least one broker: " + count);
            }
            this.brokers = count;
            return this;
        }

        /**
         * Partitions of a topic created without a count ({@code num.partitions}), as the
         * applications' own topic creation may do. Default 1.
         */
        public Builder defaultPartitions(int partitions) {
            if (partitions < 1) {
                throw new IllegalArgumentException("At least one partition: " + partitions);
            }
            this.defaultPartitions = partitions;
            return this;
        }

        /** A broker property applied to every node last, overriding the defaults. */
        public Builder brokerProperty(String key, String value) {
            brokerProperties.put(key, value);
            return this;
        }

        /** Broker properties applied to every node last, overriding the defaults. */
        public Builder brokerProperties(Map<String, String> properties) {
            brokerProperties.putAll(properties);
            return this;
        }

        /**
         * Clients must log in with SASL/PLAIN as one of {@code users} (name to password), and
         * Kafka's ACL authorizer decides what each may do: nothing until an ACL allows it. {@link
         * EmbeddedKafka#ADMIN} is added as a super user; {@link EmbeddedKafka#clientProperties}
         * gives a user's login. Default: no login, everything allowed.
         */
        public Builder saslPlain(Map<String, String> users) {
            // A new password per cluster: nothing to keep secret, nothing to find in the code.
            this.users.put(ADMIN, Uuid.randomUuid().toString());
            this.users.putAll(users);
            return this;
        }

        /**
         * Keeps data in this directory, which survives {@link EmbeddedKafka#close()}. Default: a
         * temporary directory deleted on close.
         */
        public Builder dataDirectory(Path directory) {
            this.dataDirectory = directory;
            return this;
        }

        /** Creates the cluster without starting it. */
        public EmbeddedKafka build() {
            return new EmbeddedKafka(this);
        }
    }
}
