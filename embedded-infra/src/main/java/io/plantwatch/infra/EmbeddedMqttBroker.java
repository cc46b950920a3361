package io.plantwatch.infra;

import com.codahale.metrics.Counter;
import com.hivemq.configuration.service.InternalConfigurations;
import com.hivemq.embedded.EmbeddedExtension;
import com.hivemq.embedded.EmbeddedHiveMQ;
import com.hivemq.embedded.EmbeddedHiveMQBuilder;
import com.hivemq.extension.sdk.api.ExtensionMain;
import com.hivemq.extension.sdk.api.auth.SimpleAuthenticator;
import com.hivemq.extension.sdk.api.packets.connect.ConnackReasonCode;
import com.hivemq.extension.sdk.api.parameter.ExtensionStartInput;
import com.hivemq.extension.sdk.api.parameter.ExtensionStartOutput;
import com.hivemq.extension.sdk.api.parameter.ExtensionStopInput;
import com.hivemq.extension.sdk.api.parameter.ExtensionStopOutput;
import com.hivemq.extension.sdk.api.services.Services;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An MQTT 3 and 5 broker in this JVM: HiveMQ Community Edition embedded, listening on 127.0.0.1
 * only, with in-memory persistence.
 *
 * <p>The per-client queue ({@code max-queue-size}) is raised from HiveMQ's 1,000 to 100,000 by
 * default: HiveMQ silently discards QoS 1 messages beyond it, so a burst to a subscriber that lags
 * by more than a thousand messages would lose data without any error. It still discards beyond
 * 100,000, and tells no client: {@link #droppedMessages()} counts what it discarded, for whoever
 * runs the broker to say so.
 *
 * <p>The port is chosen at the first {@link #start()} and kept, so {@link #stop()} then {@link
 * #start()} brings the broker back on the same {@link #uri()}. Sessions and queued messages do not
 * survive a stop (in-memory persistence), like a real broker restarted without disk, unless the
 * broker has a {@link Builder#dataDirectory data directory}: then they are kept there on disk, and
 * a broker started again on it, in this process or the next, has them back.
 *
 * <p>With {@link Builder#tls()} it also listens for MQTT over TLS ({@link #tlsUri()}), presenting a
 * {@link SelfSignedCertificate} made at the first start and kept across restarts; clients trust
 * {@link #caFile()}. With {@link Builder#credentials} every client, on either listener, must log in
 * with that username and password.
 */
public final class EmbeddedMqttBroker implements AutoCloseable {
    /** Enough for a 100k-message QoS 1 burst to one slow subscriber. */
    public static final long DEFAULT_MAX_QUEUE_SIZE = 100_000;

    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedMqttBroker.class);
    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);

    /** Unacknowledged messages per subscriber; HiveMQ CE's own default is 50. */
    public static final int DEFAULT_INFLIGHT_WINDOW = 1000;

    /**
     * HiveMQ's counter of the PUBLISH messages it dropped, whatever the reason. HiveMQ CE 2025.5
     * registers no count per reason (no {@code queue-full} counter): its event log names each
     * drop's client and reason, at DEBUG on the logger {@code event.message-dropped}.
     */
    public static final String DROPPED_MESSAGES_METRIC = "com.hivemq.messages.dropped.count";

    private final long maxQueueSize;
    private final int inflightWindow;

    /**
     * The broker's configuration folder (and data, without a data directory), made at its first
     * start: a broker built and never started, or refused before its start, leaves nothing behind
     * (the test suites left two empty folders in /tmp a run).
     */
    private Path root;

    private final Path dataDirectory;
    private final boolean hivemqDefaults;
    private int port;
    private final String bindAddress;
    private final boolean tls;
    private int tlsPort;
    private SelfSignedCertificate certificate;
    private final String username;
    private final byte[] password;
    private EmbeddedHiveMQ hivemq;
    private boolean closed;
    // Read by watchers on other threads while start() or stop() may hold the monitor for seconds,
    // so the count is one immutable value swapped whole rather than two fields behind the lock.
    private volatile DropCount drops = new DropCount(0, null);

    /**
     * HiveMQ's counter belongs to one started instance and begins at 0 with each: the drops of the
     * instances already stopped, and the counter of the running one.
     */
    private record DropCount(long byStoppedInstances, Counter running) {
        long total() {
            return byStoppedInstances + (running == null ? 0 : running.getCount());
        }
    }

    private EmbeddedMqttBroker(Builder builder) {
        this.maxQueueSize = builder.maxQueueSize;
        this.inflightWindow = builder.inflightWindow;
        this.port = builder.port;
        this.bindAddress = builder.bindAddress;
        this.tls = builder.tls;
        this.username = builder.username;
        this.password = builder.password;
        this.dataDirectory = builder.dataDirectory;
        this.hivemqDefaults = builder.hivemqDefaults;
    }

    /** A builder with a free port and {@link #DEFAULT_MAX_QUEUE_SIZE}. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Starts the broker and returns once it accepts connections. Starting a running broker does
     * nothing.
     *
     * @return this, for chaining after {@link Builder#build()}
     */
    public synchronized EmbeddedMqttBroker start() {
        if (closed) {
            throw new IllegalStateException("EmbeddedMqttBroker is closed");
        }
        if (hivemq != null) {
            return this;
        }
        long startNanos = System.nanoTime();
        if (port == 0) {
            port = Loopback.freePorts(1)[0];
        }
        // The plain port is not bound yet, so the kernel may offer it again.
        while (tls && (tlsPort == 0 || tlsPort == port)) {
            tlsPort = Loopback.freePorts(1)[0];
        }
        if (tls && certificate == null) {
            certificate = SelfSignedCertificate.generate();
        }
        // HiveMQ CE keeps at most 50 unacknowledged messages per subscriber and polls its queue
        // 50 at a time: internal defaults, not settable in config.xml. A subscriber that
        // acknowledges only after its own write (the gateway, after Kafka) then runs at 50 per
        // round trip. They are static, so the widest window asked for in this JVM wins.
        InternalConfigurations.MAX_INFLIGHT_WINDOW_SIZE_MESSAGES =
                Math.max(InternalConfigurations.MAX_INFLIGHT_WINDOW_SIZE_MESSAGES, inflightWindow);
        InternalConfigurations.PUBLISH_POLL_BATCH_SIZE =
                Math.max(InternalConfigurations.PUBLISH_POLL_BATCH_SIZE, inflightWindow);
        // On disk, every message passes through RocksDB's payload store, whose memtables HiveMQ
        // sizes at a 32nd of the machine's RAM, twice over: native memory outside the heap that
        // grew by about 520 MB an hour in a soak on a 23 GB machine, beside Kafka and Flink in
        // the same process. A queue that is read soon after it is written needs far less.
        InternalConfigurations.PAYLOAD_PERSISTENCE_MEMTABLE_SIZE_PORTION.set(
                memtablePortion(physicalMemory()));
        // On disk each of HiveMQ's 64 buckets per store preallocates RocksDB logs: 600 MB before
        // the first message, 1.1 GB of a small disk once the gateway's queue ran. One broker of a
        // few sessions needs few. A folder keeps the count it was written with: read with another,
        // its queued messages were not found, and were lost without a word.
        InternalConfigurations.PERSISTENCE_BUCKET_COUNT.set(
                dataDirectory == null
                        ? HIVEMQ_BUCKETS
                        : bucketsIn(dataDirectory, "client_queue", freshBuckets()));
        // Retained messages in RocksDB preallocated a 212 MB log in one bucket of an empty store
        // (sized from the heap); Xodus grows its log as it is written. The appliance's sensors
        // rarely retain anything. A store written in RocksDB stays there.
        InternalConfigurations.RETAINED_MESSAGE_PERSISTENCE_TYPE.set(
                dataDirectory != null
                                && !hivemqDefaults
                                && !writtenInRocksDb(dataDirectory, "retained_messages")
                        ? com.hivemq.migration.meta.PersistenceType.FILE
                        : com.hivemq.migration.meta.PersistenceType.FILE_NATIVE);
        InternalConfigurations.PAYLOAD_PERSISTENCE_BUCKET_COUNT.set(
                dataDirectory == null
                        ? HIVEMQ_BUCKETS
                        : bucketsIn(dataDirectory, "publish_payload_store", freshBuckets()));
        Path config = directory("conf");
        writeConfig(config);
        // A fresh instance per start: HiveMQ re-reads config.xml and starts from its data
        // folder (clean, in memory, without a data directory), as a restarted broker would.
        EmbeddedHiveMQBuilder builder =
                EmbeddedHiveMQ.builder()
                        .withConfigurationFolder(config)
                        .withDataFolder(dataFolder())
                        .withExtensionsFolder(directory("extensions"))
                        // Otherwise HiveMQ resets logback to its own INFO console setup.
                        .withoutLoggingBootstrap();
        if (username != null) {
            builder = builder.withEmbeddedExtension(loginExtension());
        }
        EmbeddedHiveMQ candidate = builder.build();
        try {
            candidate.start().get(START_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            Loopback.awaitListening(port, START_TIMEOUT, () -> true, "HiveMQ");
            if (tls) {
                Loopback.awaitListening(tlsPort, START_TIMEOUT, () -> true, "HiveMQ over TLS");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            closeQuietly(candidate);
            throw new IllegalStateException("Interrupted while starting HiveMQ", e);
        } catch (ExecutionException | TimeoutException | RuntimeException e) {
            closeQuietly(candidate);
            throw new IllegalStateException("HiveMQ did not start on port " + port, e);
        }
        // Looked up once it started: HiveMQ registers its metrics while starting.
        Counter dropped = candidate.getMetricRegistry().getCounters().get(DROPPED_MESSAGES_METRIC);
        if (dropped == null) {
            closeQuietly(candidate);
            throw new IllegalStateException(
                    "HiveMQ has no counter "
                            + DROPPED_MESSAGES_METRIC
                            + ", so the messages it drops would go uncounted; has a new HiveMQ"
                            + " version renamed it?");
        }
        drops = new DropCount(drops.byStoppedInstances(), dropped);
        hivemq = candidate;
        LOG.info(
                "HiveMQ CE ready at {}{}{} in {}",
                uri(),
                tls ? " and " + tlsUri() : "",
                username != null ? " (login required)" : "",
                Loopback.seconds(startNanos));
        return this;
    }

    /**
     * HiveMQ CE has no login of its own; an extension's authenticator is its one way to ask for
     * one. Once an authenticator is registered, a client it does not accept is refused.
     */
    private EmbeddedExtension loginExtension() {
        SimpleAuthenticator authenticator =
                (input, output) -> {
                    Optional<String> user = input.getConnectPacket().getUserName();
                    Optional<byte[]> given =
                            input.getConnectPacket()
                                    .getPassword()
                                    .map(
                                            buffer -> {
                                                byte[] bytes = new byte[buffer.remaining()];
                                                buffer.duplicate().get(bytes);
                                                return bytes;
                                            });
                    if (user.filter(username::equals).isPresent()
                            && given.filter(p -> MessageDigest.isEqual(p, password)).isPresent()) {
                        output.authenticateSuccessfully();
                    } else {
                        output.failAuthentication(
                                ConnackReasonCode.BAD_USER_NAME_OR_PASSWORD,
                                "wrong username or password");
                    }
                };
        return EmbeddedExtension.builder()
                .withId("plantwatch-test-login")
                .withName("Plantwatch test login")
                .withVersion("1")
                .withAuthor("plantwatch")
                .withPriority(0)
                .withStartPriority(0)
                .withExtensionMain(
                        new ExtensionMain() {
                            @Override
                            public void extensionStart(
                                    ExtensionStartInput input, ExtensionStartOutput output) {
                                Services.securityRegistry()
                                        .setAuthenticatorProvider(provider -> authenticator);
                            }

                            @Override
                            public void extensionStop(
                                    ExtensionStopInput input, ExtensionStopOutput output) {
                                // HiveMQ drops the extension's authenticator with it.
                            }
                        })
                .build();
    }

    /** Stops the broker, keeping its port for a later {@link #start()}. */
    public synchronized void stop() {
        if (hivemq == null) {
            return;
        }
        EmbeddedHiveMQ stopping = hivemq;
        hivemq = null;
        try {
            stopping.close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while stopping HiveMQ", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("HiveMQ did not stop cleanly", e.getCause());
        } finally {
            // After the close, so that what the instance dropped while stopping is in the sum.
            drops = new DropCount(drops.total(), null);
        }
    }

    /**
     * The messages HiveMQ dropped since this broker was built, over all its starts: the sum of
     * HiveMQ's {@value #DROPPED_MESSAGES_METRIC}. It does so without telling publisher or
     * subscriber. Mostly a subscriber's queue was full: its persistent session already held {@link
     * #maxQueueSize()} messages while it was offline or did not acknowledge, and with strategy
     * {@code discard} each newer message for it is dropped. HiveMQ counts there too a QoS 0 message
     * over a client's memory limit or to a socket that is not writable, one larger than the
     * client's maximum packet size, one an extension stopped, and an internal error; it keeps no
     * count per reason.
     *
     * <p>Counted by this process only: a broker started again on the same {@link
     * Builder#dataDirectory data directory} in a later process counts from 0. Any thread may ask,
     * also while the broker starts or stops.
     */
    public long droppedMessages() {
        return drops.total();
    }

    /** HiveMQ's gauge of the MQTT connections open now. */
    public static final String OPEN_CONNECTIONS_METRIC =
            "com.hivemq.networking.connections.current";

    /**
     * MQTT connections open now ({@value #OPEN_CONNECTIONS_METRIC}), so a test can see a client let
     * go of its connection; 0 while the broker is stopped.
     */
    public synchronized long openConnections() {
        if (hivemq == null) {
            return 0;
        }
        var gauge = hivemq.getMetricRegistry().getGauges().get(OPEN_CONNECTIONS_METRIC);
        if (gauge == null) {
            throw new IllegalStateException(
                    "HiveMQ has no gauge "
                            + OPEN_CONNECTIONS_METRIC
                            + "; has a new HiveMQ renamed it?");
        }
        return ((Number) gauge.getValue()).longValue();
    }

    /** True between {@link #start()} and {@link #stop()}. */
    public synchronized boolean isRunning() {
        return hivemq != null;
    }

    /**
     * {@code tcp://127.0.0.1:PORT}.
     *
     * @throws IllegalStateException before the first start when no port was configured
     */
    public String uri() {
        return "tcp://" + host() + ":" + port();
    }

    /**
     * {@code ssl://127.0.0.1:TLS_PORT}, the TLS listener.
     *
     * @throws IllegalStateException when the broker was built without {@link Builder#tls()}, or
     *     before its first start
     */
    public synchronized String tlsUri() {
        if (!tls) {
            throw new IllegalStateException("HiveMQ was built without TLS; use Builder.tls()");
        }
        if (tlsPort == 0) {
            throw new IllegalStateException("HiveMQ has not been started yet");
        }
        return "ssl://" + host() + ":" + tlsPort;
    }

    /**
     * The PEM file of the CA that signed the TLS listener's certificate (the certificate itself):
     * what a client names as {@code mqtt.ca-file}, {@code ca-file} or {@code --ca-file}.
     *
     * @throws IllegalStateException when the broker was built without {@link Builder#tls()}, or
     *     before its first start
     */
    public synchronized Path caFile() {
        if (certificate == null) {
            throw new IllegalStateException(
                    tls ? "HiveMQ has not been started yet" : "HiveMQ was built without TLS");
        }
        return certificate.caFile();
    }

    /** {@code 127.0.0.1}, where this process reaches the broker whatever it listens on. */
    public String host() {
        return Loopback.HOST;
    }

    /**
     * The listening port, stable across stop and start.
     *
     * @throws IllegalStateException before the first start when no port was configured
     */
    public synchronized int port() {
        if (port == 0) {
            throw new IllegalStateException("HiveMQ has not been started yet");
        }
        return port;
    }

    /** The per-client queue limit written to HiveMQ's configuration. */
    /** HiveMQ's own bucket count per store. */
    static final int HIVEMQ_BUCKETS = 64;

    /** Buckets per store of a new data directory. */
    static final int FILE_BUCKETS = 4;

    /**
     * The buckets HiveMQ wrote {@code store} with in {@code data} ({@code <store>_<n>} folders
     * under its version's folder), or {@code fresh} for a store not written yet.
     */
    static int bucketsIn(Path data, String store, int fresh) {
        Path dir = data.resolve("persistence").resolve(store);
        if (!Files.isDirectory(dir)) {
            return fresh;
        }
        java.util.regex.Pattern bucket =
                java.util.regex.Pattern.compile(java.util.regex.Pattern.quote(store) + "_(\\d+)");
        try (java.util.stream.Stream<Path> found = Files.walk(dir, 2)) {
            return found.map(f -> bucket.matcher(f.getFileName().toString()))
                    .filter(java.util.regex.Matcher::matches)
                    .mapToInt(m -> Integer.parseInt(m.group(1)) + 1)
                    .max()
                    .orElse(fresh);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read " + dir, e);
        }
    }

    private int freshBuckets() {
        return hivemqDefaults ? HIVEMQ_BUCKETS : FILE_BUCKETS;
    }

    /** Whether HiveMQ wrote {@code store} in RocksDB: its version folders end in {@code _R}. */
    static boolean writtenInRocksDb(Path data, String store) {
        Path dir = data.resolve("persistence").resolve(store);
        if (!Files.isDirectory(dir)) {
            return false;
        }
        try (java.util.stream.Stream<Path> versions = Files.list(dir)) {
            return versions.anyMatch(v -> v.getFileName().toString().endsWith("_R"));
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read " + dir, e);
        }
    }

    /** HiveMQ's payload memtables in all, at most: RAM divided by the portion HiveMQ is given. */
    static final long PAYLOAD_MEMTABLES_BYTES = 64L << 20;

    /** The portion of RAM for HiveMQ's payload memtables: its own 32nd, or less, to 64 MB. */
    static int memtablePortion(long physicalMemory) {
        long portion =
                Math.max(
                        32,
                        (physicalMemory + PAYLOAD_MEMTABLES_BYTES - 1) / PAYLOAD_MEMTABLES_BYTES);
        return (int) Math.min(Integer.MAX_VALUE, portion);
    }

    private static long physicalMemory() {
        return java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                        instanceof com.sun.management.OperatingSystemMXBean os
                ? os.getTotalMemorySize()
                : Runtime.getRuntime().maxMemory();
    }

    public long maxQueueSize() {
        return maxQueueSize;
    }

    /**
     * Stops the broker and deletes its configuration folder, and its data unless it has a data
     * directory.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        try {
            stop();
        } finally {
            closed = true;
            TempDirs.deleteQuietly(root);
            if (certificate != null) {
                certificate.close();
            }
        }
    }

    private void writeConfig(Path folder) {
        // The certificate names only the loopback address, so the TLS listener stays on it even
        // when the plain one serves the plant's network: elsewhere no client could verify it.
        String tlsListener =
                !tls
                        ? ""
                        : """
                        <tls-tcp-listener>
                            <port>%d</port>
                            <bind-address>%s</bind-address>
                            <tls>
                                <keystore>
                                    <path>%s</path>
                                    <password>%s</password>
                                    <private-key-password>%s</private-key-password>
                                </keystore>
                                <client-authentication-mode>NONE</client-authentication-mode>
                            </tls>
                        </tls-tcp-listener>
                """
                                .formatted(
                                        tlsPort,
                                        Loopback.HOST,
                                        certificate.keyStore(),
                                        certificate.keyStorePassword(),
                                        certificate.keyStorePassword());
        String xml =
                """
                <?xml version="1.0"?>
                <hivemq>
                    <listeners>
                        <tcp-listener>
                            <port>%d</port>
                            <bind-address>%s</bind-address>
                        </tcp-listener>
                %s    </listeners>
                    <mqtt>
                        <queued-messages>
                            <max-queue-size>%d</max-queue-size>
                            <strategy>discard</strategy>
                        </queued-messages>
                    </mqtt>
                    <persistence>
                        <mode>%s</mode>
                    </persistence>
                    <anonymous-usage-statistics>
                        <enabled>false</enabled>
                    </anonymous-usage-statistics>
                </hivemq>
                """
                        .formatted(
                                port,
                                bindAddress,
                                tlsListener,
                                maxQueueSize,
                                dataDirectory == null ? "in-memory" : "file");
        try {
            Files.writeString(folder.resolve("config.xml"), xml, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write HiveMQ config.xml", e);
        }
    }

    private Path dataFolder() {
        if (dataDirectory == null) {
            return directory("data");
        }
        try {
            return Files.createDirectories(dataDirectory);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot create " + dataDirectory, e);
        }
    }

    private Path directory(String name) {
        if (root == null) {
            root = TempDirs.create("embedded-hivemq-");
        }
        try {
            return Files.createDirectories(root.resolve(name));
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot create " + root.resolve(name), e);
        }
    }

    private static void closeQuietly(EmbeddedHiveMQ instance) {
        try {
            instance.close();
        } catch (Exception e) {
            LOG.warn("HiveMQ did not close after a failed start", e);
        }
    }

    /** Configures an {@link EmbeddedMqttBroker}; {@link #build()} does not start it. */
    public static final class Builder {
        private long maxQueueSize = DEFAULT_MAX_QUEUE_SIZE;
        private int inflightWindow = DEFAULT_INFLIGHT_WINDOW;
        private int port;
        private String bindAddress = Loopback.HOST;
        private boolean tls;
        private String username;
        private byte[] password;
        private Path dataDirectory;
        private boolean hivemqDefaults;

        private Builder() {}

        /**
         * Keeps sessions, subscriptions and queued messages on disk in {@code directory}, which
         * {@link EmbeddedMqttBroker#close()} leaves in place: a subscriber's persistent session
         * then outlives a restart of the broker, or of the process (kill -9 included), and messages
         * published for it meanwhile wait in it instead of being acknowledged to the publisher and
         * dropped for want of a subscriber.
         */
        public Builder dataDirectory(Path directory) {
            this.dataDirectory = directory;
            return this;
        }

        /**
         * Writes a new data directory in HiveMQ's own layout (64 buckets, retained messages in
         * RocksDB), as the appliance did before: for tests that a later start reads it.
         */
        Builder hivemqDefaults() {
            this.hivemqDefaults = true;
            return this;
        }

        /**
         * Also listens for MQTT over TLS on 127.0.0.1 ({@link EmbeddedMqttBroker#tlsUri()}), with a
         * certificate made at the first start ({@link EmbeddedMqttBroker#caFile()}).
         */
        public Builder tls() {
            this.tls = true;
            return this;
        }

        /**
         * Requires this username and password from every client, as a plant broker with logins
         * does; a wrong or missing login is refused with {@code BAD_USER_NAME_OR_PASSWORD}.
         */
        public Builder credentials(String username, String password) {
            if (username == null || username.isEmpty() || password == null) {
                throw new IllegalArgumentException("A username and a password are required");
            }
            this.username = username;
            this.password = password.getBytes(StandardCharsets.UTF_8);
            return this;
        }

        /**
         * Where the broker listens: {@code 127.0.0.1} (the default; this machine only) or {@code
         * 0.0.0.0} (every interface, for sensors on the plant's network).
         */
        public Builder bindAddress(String address) {
            if (!address.equals(Loopback.HOST) && !address.equals("0.0.0.0")) {
                throw new IllegalArgumentException(
                        "Listen on 127.0.0.1 or 0.0.0.0, not " + address);
            }
            this.bindAddress = address;
            return this;
        }

        /**
         * HiveMQ's per-client queue limit ({@code max-queue-size}); messages beyond it are
         * discarded. Default {@link #DEFAULT_MAX_QUEUE_SIZE}.
         */
        public Builder maxQueueSize(long messages) {
            if (messages < 1) {
                throw new IllegalArgumentException("Queue size must be positive: " + messages);
            }
            this.maxQueueSize = messages;
            return this;
        }

        /**
         * Unacknowledged QoS 1/2 messages HiveMQ sends one subscriber (and polls from its queue at
         * once); default {@link #DEFAULT_INFLIGHT_WINDOW}, HiveMQ's own is 50.
         */
        public Builder inflightWindow(int messages) {
            if (messages < 1) {
                throw new IllegalArgumentException("Window must be positive: " + messages);
            }
            this.inflightWindow = messages;
            return this;
        }

        /** A fixed port; default 0, a free port chosen at the first start. */
        public Builder port(int port) {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("Not a TCP port: " + port);
            }
            this.port = port;
            return this;
        }

        /** Creates the broker without starting it. */
        public EmbeddedMqttBroker build() {
            return new EmbeddedMqttBroker(this);
        }
    }
}
