package io.plantwatch.sim.mqtt;

import com.hivemq.client.mqtt.MqttClient;
import com.hivemq.client.mqtt.MqttClientBuilder;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.exceptions.ConnectionFailedException;
import com.hivemq.client.mqtt.mqtt3.Mqtt3AsyncClient;
import com.hivemq.client.mqtt.mqtt3.exceptions.Mqtt3ConnAckException;
import com.hivemq.client.mqtt.mqtt5.Mqtt5AsyncClient;
import com.hivemq.client.mqtt.mqtt5.exceptions.Mqtt5ConnAckException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import javax.net.ssl.TrustManagerFactory;

/** {@link MqttPublisher} on the HiveMQ MQTT client, MQTT 5 or 3.1.1. */
final class HiveMqPublisher implements MqttPublisher {

    private static final long CONNECT_TIMEOUT_SECONDS = 10;

    private final Mqtt5AsyncClient v5;
    private final Mqtt3AsyncClient v3;
    private final MqttQos qos;

    private HiveMqPublisher(Mqtt5AsyncClient v5, Mqtt3AsyncClient v3, MqttQos qos) {
        this.v5 = v5;
        this.v3 = v3;
        this.qos = qos;
    }

    static HiveMqPublisher connect(MqttSettings s) {
        MqttClientBuilder b =
                MqttClient.builder()
                        .identifier(s.clientId())
                        .serverHost(s.broker().getHost())
                        .serverPort(s.port());
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
                return new HiveMqPublisher(c, null, qos);
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
            return new HiveMqPublisher(null, c, qos);
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
        try {
            (v5 != null ? v5.disconnect() : v3.disconnect()).get(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            // Already gone: nothing is left to flush.
        }
    }
}
