package io.plantwatch.gateway;

import io.plantwatch.model.ConfigException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running gateway: the bridge plus its HTTP endpoint. What {@code edge-gateway} runs, and what
 * tests and the appliance start in-process.
 */
public final class Gateway implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Gateway.class);

    private volatile GatewayConfig config;
    private final GatewayMetrics metrics = new GatewayMetrics();
    private volatile MqttKafkaBridge bridge;
    private final HttpEndpoint http;

    private Gateway(GatewayConfig config) throws IOException {
        this.config = config;
        this.bridge = new MqttKafkaBridge(config, metrics);
        HttpEndpoint endpoint = null;
        if (config.httpPort() >= 0) {
            try {
                endpoint =
                        new HttpEndpoint(
                                config.httpBind(),
                                config.httpPort(),
                                metrics.registry,
                                this::health);
            } catch (IOException e) {
                bridge.close();
                // Most often another program (or another gateway) holds the port: a setting to
                // change, said in one line, not a stack trace.
                throw new ConfigException(
                        "http.port "
                                + config.httpPort()
                                + " on "
                                + config.httpBind()
                                + " cannot be served ("
                                + e.getMessage()
                                + "); stop what holds it, or set http.port (-1: no health and"
                                + " metrics endpoint)",
                        e);
            }
        }
        this.http = endpoint;
    }

    /**
     * Starts a gateway and logs one line saying what it connected to.
     *
     * @throws MqttKafkaBridge.LoginRefusedException when the broker refuses the login
     */
    public static Gateway start(GatewayConfig config) throws IOException, InterruptedException {
        Gateway g = new Gateway(config);
        try {
            g.bridge.start();
        } catch (RuntimeException | InterruptedException e) {
            g.close();
            throw e;
        }
        LOG.info(
                "edge-gateway {} started: MQTT {} (MQTT {}, {}, session expiry {}, {} in flight)"
                        + " -> Kafka {} ({}, DLQ {}){}",
                config.gatewayId(),
                config.brokerForLog(),
                config.mqttVersion() == 5 ? "5" : "3.1.1",
                config.subscriptionFilter(),
                config.sessionExpiry(),
                config.maxInFlight(),
                config.kafkaBootstrap(),
                config.readingsTopic(),
                config.dlqTopic(),
                g.http == null
                        ? ""
                        : "; metrics http://"
                                + config.httpBind()
                                + ":"
                                + g.http.port()
                                + "/metrics");
        return g;
    }

    HttpEndpoint.Health health() {
        boolean up = bridge.healthy();
        String kafkaError = bridge.lastKafkaError();
        String json =
                String.format(
                        Locale.ROOT,
                        "{\"status\":\"%s\",\"gateway\":\"%s\",\"mqtt\":\"%s\",\"kafka\":\"%s\","
                                + "\"in_flight\":%d%s}",
                        up ? "UP" : "DOWN",
                        jsonEscape(config.gatewayId()),
                        bridge.mqttConnected() ? "connected" : "disconnected",
                        bridge.kafkaHealthy() ? "ok" : "failing",
                        bridge.inFlight(),
                        kafkaError == null
                                ? ""
                                : ",\"kafka_error\":\"" + jsonEscape(kafkaError) + "\"");
        return new HttpEndpoint.Health(up, json);
    }

    private static String jsonEscape(String s) {
        return s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", " ");
    }

    /** The port of {@code /metrics} and {@code /health}, or -1 when they are off. */
    public int httpPort() {
        return http == null ? -1 : http.port();
    }

    public GatewayMetrics metrics() {
        return metrics;
    }

    public GatewayConfig config() {
        return config;
    }

    /**
     * Runs the bridge with {@code next}, a change of {@link #config()} that {@link
     * GatewayConfig#freshStartOnlyChanges} allows: the bridge drains and disconnects as at a stop,
     * and a new one connects with the same client id, so the broker's session hands it what sensors
     * sent meanwhile. The HTTP endpoint and the metrics go on. If the new bridge does not start
     * (the broker refuses a changed login), one with the settings it had starts instead.
     *
     * @return why {@code next} was not taken, or null when it was
     * @throws InterruptedException when interrupted while connecting; the gateway is then closed
     */
    public synchronized String restartBridge(GatewayConfig next) throws InterruptedException {
        GatewayConfig before = config;
        bridge.close();
        // What the old bridge left unacknowledged is the broker's again, redelivered to the next.
        metrics.inFlight.set(0);
        try {
            connect(next);
            return null;
        } catch (RuntimeException e) {
            LOG.debug("The gateway did not start with the changed settings", e);
            connect(before);
            return "it did not start with them (" + e.getMessage() + ")";
        }
    }

    /**
     * {@link #restartBridge} for a watch of the gateway's {@code file}: says in one WARN line which
     * settings it runs with and how long the reconnection took.
     *
     * @return why {@code next} was not taken, or null when it was
     */
    public String apply(GatewayConfig next, Path file) {
        long startNanos = System.nanoTime();
        try {
            String refused = restartBridge(next);
            LOG.warn(
                    "The gateway runs with {} settings of {}, reconnected in {} ms",
                    refused == null ? "the changed" : "the former",
                    file,
                    (System.nanoTime() - startNanos) / 1_000_000);
            return refused;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    private void connect(GatewayConfig c) throws InterruptedException {
        MqttKafkaBridge b = new MqttKafkaBridge(c, metrics);
        try {
            b.start();
        } catch (RuntimeException | InterruptedException e) {
            b.close();
            throw e;
        }
        bridge = b;
        config = c;
    }

    /** Drains in-flight messages and disconnects; see {@link MqttKafkaBridge#close()}. */
    @Override
    public synchronized void close() {
        try {
            bridge.close();
        } finally {
            if (http != null) {
                http.close();
            }
        }
    }
}
