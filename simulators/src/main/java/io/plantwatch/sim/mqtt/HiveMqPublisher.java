package io.plantwatch.sim.mqtt;

import com.hivemq.client.mqtt.MqttClient;
import com.hivemq.client.mqtt.MqttClientBuilder;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.exceptions.ConnectionFailedException;
import com.hivemq.client.mqtt.lifecycle.MqttClientDisconnectedContext;
import com.hivemq.client.mqtt.mqtt3.Mqtt3AsyncClient;
import com.hivemq.client.mqtt.mqtt3.exceptions.Mqtt3ConnAckException;
import com.hivemq.client.mqtt.mqtt5.Mqtt5AsyncClient;
import com.hivemq.client.mqtt.mqtt5.exceptions.Mqtt5ConnAckException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import javax.net.ssl.TrustManagerFactory;

/**
 * {@link MqttPublisher} on the HiveMQ MQTT client, MQTT 5 or 3.1.1.
 *
 * <p>Once connected it reconnects by itself, as a field device does: a broker restart or a network
 * blip must not end a long simulation. Publishes made meanwhile wait in the client; those the
 * broker had not acknowledged when the connection dropped fail with the session's end and are sent
 * again by {@link PublishLoop}. A broker that cannot be reached at the start is still an error at
 * once.
 */
final class HiveMqPublisher implements MqttPublisher {

    private static final long CONNECT_TIMEOUT_SECONDS = 10;
    private static final long RECONNECT_INITIAL_DELAY_MILLIS = 500;
    private static final long RECONNECT_MAX_DELAY_SECONDS = 10;

    private final Mqtt5AsyncClient v5;
    private final Mqtt3AsyncClient v3;
    private final MqttQos qos;

    private final Connection connection;

    private HiveMqPublisher(
            Mqtt5AsyncClient v5, Mqtt3AsyncClient v3, MqttQos qos, Connection connection) {
        this.v5 = v5;
        this.v3 = v3;
        this.qos = qos;
        this.connection = connection;
    }

    /** Whether to reconnect, and the lines a person reads about losing and regaining the broker. */
    private static final class Connection {
        final AtomicBoolean established = new AtomicBoolean();
        final AtomicBoolean closing = new AtomicBoolean();
        final AtomicLong lostAtNanos = new AtomicLong();
        final MqttSettings settings;
        final Consumer<String> notices;

        Connection(MqttSettings settings, Consumer<String> notices) {
            this.settings = settings;
            this.notices = notices;
        }

        /** Completes when the connection is back; replaced each time it is lost. */
        private CompletableFuture<Void> back = CompletableFuture.completedFuture(null);

        /** When a publish that failed with the connection may be made again. */
        synchronized CompletableFuture<Void> back() {
            return back;
        }

        synchronized void close() {
            back.completeExceptionally(
                    new IllegalStateException("closed while the connection was lost"));
        }

        /** Run on the client's thread after each reconnect (not the first connect). */
        final java.util.List<Runnable> reconnected =
                new java.util.concurrent.CopyOnWriteArrayList<>();

        synchronized void onConnected() {
            established.set(true);
            back.complete(null);
            long lost = lostAtNanos.getAndSet(0);
            if (lost != 0) {
                reconnected.forEach(Runnable::run);
                notices.accept(
                        String.format(
                                java.util.Locale.ROOT,
                                "reconnected to %s after %.1f s",
                                settings.describe(),
                                (System.nanoTime() - lost) / 1e9));
            }
        }

        synchronized void onDisconnected(MqttClientDisconnectedContext context) {
            if (!established.get() || closing.get()) {
                // The first connect's failure is reported by connect(), with its exit code.
                context.getReconnector().reconnect(false);
                return;
            }
            if (lostAtNanos.compareAndSet(0, System.nanoTime())) {
                back = new CompletableFuture<>();
                Throwable cause = context.getCause();
                notices.accept(
                        "connection to "
                                + settings.describe()
                                + " lost ("
                                + (cause.getMessage() != null
                                        ? cause.getMessage()
                                        : cause.getClass().getSimpleName())
                                + "); reconnecting, publishes wait");
            }
        }
    }

    static HiveMqPublisher connect(MqttSettings s, Consumer<String> notices) {
        Connection connection = new Connection(s, notices);
        MqttClientBuilder b =
                MqttClient.builder()
                        .identifier(s.clientId())
                        .serverHost(s.broker().getHost())
                        .serverPort(s.port())
                        .automaticReconnect()
                        .initialDelay(RECONNECT_INITIAL_DELAY_MILLIS, TimeUnit.MILLISECONDS)
                        .maxDelay(RECONNECT_MAX_DELAY_SECONDS, TimeUnit.SECONDS)
                        .applyAutomaticReconnect()
                        .addConnectedListener(c -> connection.onConnected())
                        .addDisconnectedListener(connection::onDisconnected);
        if (s.tls()) {
            b =
                    s.trustedCaPem() == null
                            ? b.sslWithDefaultConfig()
                            : b.sslConfig().trustManagerFactory(trustFrom(s)).applySslConfig();
        }
        MqttQos qos = MqttQos.fromCode(s.qos());
        try {
            if (s.mqttVersion() == 5) {
                Mqtt5AsyncClient c = b.useMqttVersion5().buildAsync();
                var connect = c.connectWith().cleanStart(true);
                if (s.username() != null) {
                    connect =
                            connect.simpleAuth()
                                    .username(s.username())
                                    .password(s.password() == null ? new byte[0] : s.password())
                                    .applySimpleAuth();
                }
                connect.send().get(CONNECT_TIMEOUT_SECONDS, TimeUnit.SECONDS);
                return new HiveMqPublisher(c, null, qos, connection);
            }
            Mqtt3AsyncClient c = b.useMqttVersion3().buildAsync();
            var connect = c.connectWith().cleanSession(true);
            if (s.username() != null) {
                connect =
                        connect.simpleAuth()
                                .username(s.username())
                                .password(s.password() == null ? new byte[0] : s.password())
                                .applySimpleAuth();
            }
            connect.send().get(CONNECT_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            return new HiveMqPublisher(null, c, qos, connection);
        } catch (ExecutionException e) {
            throw translate(s, e.getCause());
        } catch (TimeoutException e) {
            throw new SimulatorException(
                    SimulatorException.EXIT_UNREACHABLE,
                    "MQTT broker "
                            + s.describe()
                            + " did not answer within "
                            + CONNECT_TIMEOUT_SECONDS
                            + " s",
                    e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SimulatorException(
                    SimulatorException.EXIT_UNREACHABLE, "interrupted while connecting", e);
        }
    }

    private static SimulatorException translate(MqttSettings s, Throwable cause) {
        if (cause instanceof Mqtt5ConnAckException e) {
            return new SimulatorException(
                    SimulatorException.EXIT_REFUSED,
                    "MQTT broker "
                            + s.describe()
                            + " refused the connection: "
                            + e.getMqttMessage().getReasonCode(),
                    cause);
        }
        if (cause instanceof Mqtt3ConnAckException e) {
            return new SimulatorException(
                    SimulatorException.EXIT_REFUSED,
                    "MQTT broker "
                            + s.describe()
                            + " refused the connection: "
                            + e.getMqttMessage().getReturnCode(),
                    cause);
        }
        String why =
                cause instanceof ConnectionFailedException && cause.getCause() != null
                        ? cause.getCause().getMessage()
                        : cause.getMessage();
        if (cause.getCause() instanceof javax.net.ssl.SSLHandshakeException) {
            // The JDK's message names its internal exception classes; the innermost says why.
            Throwable root = cause;
            while (root.getCause() != null && root.getCause() != root) {
                root = root.getCause();
            }
            why =
                    "TLS handshake failed ("
                            + (s.trustedCaPem() == null
                                    ? "the JVM's CAs"
                                    : "--ca-file " + s.trustedCaPem())
                            + " must hold the CA of the broker's certificate): "
                            + root.getMessage();
        }
        return new SimulatorException(
                SimulatorException.EXIT_UNREACHABLE,
                "cannot connect to MQTT broker " + s.describe() + ": " + why,
                cause);
    }

    private static TrustManagerFactory trustFrom(MqttSettings s) {
        try {
            return io.plantwatch.model.Secrets.trustFromPem(s.trustedCaPem());
        } catch (IllegalArgumentException e) {
            // A bad input file (exit 2), said with the option that names it, as the gateway does.
            java.nio.file.Path file = s.trustedCaPem();
            Throwable why = e.getCause();
            throw new IllegalArgumentException(
                    "--ca-file "
                            + file
                            + (!java.nio.file.Files.isRegularFile(file)
                                            || !java.nio.file.Files.isReadable(file)
                                    ? " names a file that cannot be read"
                                    : " holds no CA certificate in PEM"
                                            + (why == null ? "" : ": " + why.getMessage())),
                    e);
        }
    }

    @Override
    public CompletableFuture<Void> publish(String topic, byte[] payload) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        send(topic, payload, 1, done);
        return done;
    }

    @Override
    public void whenReconnected(Runnable action) {
        connection.reconnected.add(action);
    }

    @Override
    public void subscribe(String filter, java.util.function.BiConsumer<String, byte[]> handler) {

        try {
            sendSubscribe(filter, handler).get(CONNECT_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SimulatorException(
                    SimulatorException.EXIT_PUBLISH_FAILED,
                    "interrupted subscribing to " + filter,
                    e);
        } catch (ExecutionException | TimeoutException e) {
            throw new SimulatorException(
                    SimulatorException.EXIT_PUBLISH_FAILED,
                    "cannot subscribe to " + filter + ": " + e.getMessage(),
                    e);
        }
    }

    private CompletableFuture<?> sendSubscribe(
            String filter, java.util.function.BiConsumer<String, byte[]> handler) {
        return v5 != null
                ? v5.subscribeWith()
                        .topicFilter(filter)
                        .qos(MqttQos.AT_MOST_ONCE)
                        .callback(
                                p -> handler.accept(p.getTopic().toString(), p.getPayloadAsBytes()))
                        .send()
                : v3.subscribeWith()
                        .topicFilter(filter)
                        .qos(MqttQos.AT_MOST_ONCE)
                        .callback(
                                p -> handler.accept(p.getTopic().toString(), p.getPayloadAsBytes()))
                        .send();
    }

    @Override
    public long resent() {
        return resent.get();
    }

    private final AtomicLong resent = new AtomicLong();

    /**
     * One attempt; a publish that the connection's loss failed is made again, up to {@link
     * #MAX_ATTEMPTS}: the broker may have taken it before the loss (a duplicate, which QoS 1 allows
     * and the job drops by its sequence number) or not (which a field device would not accept
     * either).
     */
    private void send(String topic, byte[] payload, int attempt, CompletableFuture<Void> done) {
        sendOnce(topic, payload)
                .whenComplete(
                        (ok, error) -> {
                            if (error == null) {
                                done.complete(null);
                            } else if (attempt < MAX_ATTEMPTS
                                    && !connection.closing.get()
                                    && lostWithTheConnection(error)) {
                                resent.incrementAndGet();
                                // Made while the client was not connected, it failed at once;
                                // made again once the connection is back, after a short backoff
                                // in case the loss has not been noticed yet.
                                connection
                                        .back()
                                        .whenCompleteAsync(
                                                (up, closed) -> {
                                                    if (closed != null) {
                                                        done.completeExceptionally(error);
                                                    } else {
                                                        send(topic, payload, attempt + 1, done);
                                                    }
                                                },
                                                CompletableFuture.delayedExecutor(
                                                        RESEND_BACKOFF_MILLIS * attempt,
                                                        TimeUnit.MILLISECONDS));
                            } else {
                                done.completeExceptionally(error);
                            }
                        });
    }

    private static final int MAX_ATTEMPTS = 10;
    private static final long RESEND_BACKOFF_MILLIS = 100;

    private static boolean lostWithTheConnection(Throwable error) {
        for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof com.hivemq.client.mqtt.exceptions.MqttSessionExpiredException
                    || t instanceof com.hivemq.client.mqtt.exceptions.ConnectionClosedException
                    || t instanceof com.hivemq.client.mqtt.exceptions.MqttClientStateException) {
                return true;
            }
        }
        return false;
    }

    private CompletableFuture<Void> sendOnce(String topic, byte[] payload) {
        if (v5 != null) {
            return v5.publishWith()
                    .topic(topic)
                    .qos(qos)
                    .payload(payload)
                    .send()
                    .thenApply(
                            r -> {
                                r.getError()
                                        .ifPresent(
                                                e -> {
                                                    throw new CompletionException(e);
                                                });
                                return null;
                            });
        }
        return v3.publishWith().topic(topic).qos(qos).payload(payload).send().thenApply(r -> null);
    }

    @Override
    public void close() {
        connection.closing.set(true);
        // Publishes still waiting for a connection that did not come back fail now.
        connection.close();
        try {
            (v5 != null ? v5.disconnect() : v3.disconnect()).get(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            // Already gone: nothing is left to flush.
        }
    }
}
