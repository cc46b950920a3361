package io.plantwatch.infra;

import com.hivemq.configuration.service.InternalConfigurations;
import com.hivemq.embedded.EmbeddedHiveMQ;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
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
 * by more than a thousand messages would lose data without any error.
 *
 * <p>The port is chosen at the first {@link #start()} and kept, so {@link #stop()} then {@link
 * #start()} brings the broker back on the same {@link #uri()}. Sessions and queued messages do not
 * survive a stop (in-memory persistence), like a real broker restarted without disk.
 */
public final class EmbeddedMqttBroker implements AutoCloseable {
    /** Enough for a 100k-message QoS 1 burst to one slow subscriber. */
    public static final long DEFAULT_MAX_QUEUE_SIZE = 100_000;

    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedMqttBroker.class);
    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);

    /** Unacknowledged messages per subscriber; HiveMQ CE's own default is 50. */
    public static final int DEFAULT_INFLIGHT_WINDOW = 1000;

    private final long maxQueueSize;
    private final int inflightWindow;
    private final Path root = TempDirs.create("embedded-hivemq-");
    private int port;
    private final String bindAddress;
    private EmbeddedHiveMQ hivemq;
    private boolean closed;

    private EmbeddedMqttBroker(Builder builder) {
        this.maxQueueSize = builder.maxQueueSize;
        this.inflightWindow = builder.inflightWindow;
        this.port = builder.port;
        this.bindAddress = builder.bindAddress;
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
        // HiveMQ CE keeps at most 50 unacknowledged messages per subscriber and polls its queue
        // 50 at a time: internal defaults, not settable in config.xml. A subscriber that
        // acknowledges only after its own write (the gateway, after Kafka) then runs at 50 per
        // round trip. They are static, so the widest window asked for in this JVM wins.
        InternalConfigurations.MAX_INFLIGHT_WINDOW_SIZE_MESSAGES =
                Math.max(InternalConfigurations.MAX_INFLIGHT_WINDOW_SIZE_MESSAGES, inflightWindow);
        InternalConfigurations.PUBLISH_POLL_BATCH_SIZE =
                Math.max(InternalConfigurations.PUBLISH_POLL_BATCH_SIZE, inflightWindow);
        Path config = directory("conf");
        writeConfig(config);
        // A fresh instance per start: HiveMQ re-reads config.xml and starts from clean
        // in-memory state, as a restarted broker process would.
        EmbeddedHiveMQ candidate =
                EmbeddedHiveMQ.builder()
                        .withConfigurationFolder(config)
                        .withDataFolder(directory("data"))
                        .withExtensionsFolder(directory("extensions"))
                        // Otherwise HiveMQ resets logback to its own INFO console setup.
                        .withoutLoggingBootstrap()
                        .build();
        try {
            candidate.start().get(START_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            Loopback.awaitListening(port, START_TIMEOUT, () -> true, "HiveMQ");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            closeQuietly(candidate);
            throw new IllegalStateException("Interrupted while starting HiveMQ", e);
        } catch (ExecutionException | TimeoutException | RuntimeException e) {
            closeQuietly(candidate);
            throw new IllegalStateException("HiveMQ did not start on port " + port, e);
        }
        hivemq = candidate;
        LOG.info("HiveMQ CE ready at {} in {}", uri(), Loopback.seconds(startNanos));
        return this;
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
        }
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
    public long maxQueueSize() {
        return maxQueueSize;
    }

    /** Stops the broker and deletes its configuration and data folders. */
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
        }
    }

    private void writeConfig(Path folder) {
        String xml =
                """
                <?xml version="1.0"?>
                <hivemq>
                    <listeners>
                        <tcp-listener>
                            <port>%d</port>
                            <bind-address>%s</bind-address>
                        </tcp-listener>
                    </listeners>
                    <mqtt>
                        <queued-messages>
                            <max-queue-size>%d</max-queue-size>
                            <strategy>discard</strategy>
                        </queued-messages>
                    </mqtt>
                    <persistence>
                        <mode>in-memory</mode>
                    </persistence>
                    <anonymous-usage-statistics>
                        <enabled>false</enabled>
                    </anonymous-usage-statistics>
                </hivemq>
                """
                        .formatted(port, bindAddress, maxQueueSize);
        try {
            Files.writeString(folder.resolve("config.xml"), xml, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write HiveMQ config.xml", e);
        }
    }

    private Path directory(String name) {
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

        private Builder() {}

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
