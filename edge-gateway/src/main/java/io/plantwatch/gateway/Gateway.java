package io.plantwatch.gateway;

import io.plantwatch.model.ConfigException;
import java.io.IOException;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running gateway: the bridge plus its HTTP endpoint. What {@code edge-gateway} runs, and what
 * tests and the appliance start in-process.
 */
public final class Gateway implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Gateway.class);

    private final GatewayConfig config;
    private final GatewayMetrics metrics = new GatewayMetrics();
    private final MqttKafkaBridge bridge;
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

    /** Drains in-flight messages and disconnects; see {@link MqttKafkaBridge#close()}. */
    @Override
    public void close() {
        try {
            bridge.close();
        } finally {
            if (http != null) {
                http.close();
            }
        }
    }
}
