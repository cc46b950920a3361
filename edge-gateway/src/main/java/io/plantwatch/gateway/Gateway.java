package io.plantwatch.gateway;

import io.plantwatch.model.ConfigException;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
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

    /**
     * How long the check of changed Kafka producer settings waits for Kafka's answer before the
     * change waits to be tried again: Kafka answers a login at once, and one that took records a
     * moment ago is not slow.
     */
    static final Duration KAFKA_CHECK_TIMEOUT = Duration.ofSeconds(10);

    /** Set by {@link #close}: a change applied after it must not bring a bridge back. */
    private boolean closed;

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
                config.sparkplug().enabled()
                        ? config.subscriptionFilter()
                                + ", Sparkplug B "
                                + String.join(", ", config.sparkplug().subscriptionFilters())
                                + (config.sparkplug().hostId() == null
                                        ? ""
                                        : " as host " + config.sparkplug().hostId())
                        : config.subscriptionFilter(),
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

    /**
     * Why the gateway does not forward readings now, one sentence a person can act on; null while
     * it does. As {@code /health} judges it.
     */
    public String problem() {
        if (!bridge.mqttConnected()) {
            return "The gateway "
                    + config.gatewayId()
                    + " is not connected to the MQTT broker "
                    + config.brokerForLog()
                    + ": no reading reaches Kafka; a sensor's own queue or the broker's session"
                    + " for the gateway holds what it can.";
        }
        String kafka = bridge.lastKafkaError();
        if (kafka != null) {
            return "Kafka does not take the gateway "
                    + config.gatewayId()
                    + "'s readings ("
                    + kafka
                    + "): the broker's session holds them until its queue is full, then drops"
                    + " them.";
        }
        return null;
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
     * GatewayConfig#checkedAsChangeOf} allows: the bridge drains and disconnects as at a stop, and
     * a new one connects with the same client id, so the broker's session hands it what sensors
     * sent meanwhile. The HTTP endpoint and the metrics go on. A new bridge that does not start
     * (the broker refuses a changed login, a producer setting Kafka's client refuses), or that does
     * not connect where the old one was connected (a CA file the broker's certificate does not
     * match), is closed, and one with the settings it had starts instead, with the secrets as they
     * were read then. Changed Kafka producer settings are checked first, while the old bridge runs
     * on, by a client of their own ({@link MqttKafkaBridge#checkKafka}), when the bridge's Kafka is
     * taking records: one Kafka refuses (a wrong login, no right to write a topic) is not taken,
     * and the bridge is not restarted at all; one Kafka does not answer within {@link
     * #KAFKA_CHECK_TIMEOUT} waits, to be tried again. A bridge whose Kafka is failing already takes
     * them unchecked: nothing works that they could break.
     *
     * @return null, or why the bridge was not restarted this time: closed meanwhile, Kafka did not
     *     answer the check
     * @throws ConfigException when {@code next} was not taken: the bridge runs with the settings it
     *     had
     * @throws IllegalStateException when not even a bridge with the settings it had starts
     * @throws InterruptedException when interrupted while connecting
     */
    public String restartBridge(GatewayConfig next) throws InterruptedException {
        GatewayConfig before;
        boolean checkKafka;
        synchronized (this) {
            if (closed) {
                return "the gateway is closed";
            }
            before = config;
            checkKafka =
                    bridge.kafkaHealthy()
                            && !MqttKafkaBridge.producerProperties(before)
                                    .equals(MqttKafkaBridge.producerProperties(next));
        }
        if (checkKafka) {
            // Outside the lock, so a stop does not wait for Kafka's answer.
            String noAnswer;
            try {
                noAnswer = MqttKafkaBridge.checkKafka(next, KAFKA_CHECK_TIMEOUT);
            } catch (ConfigException e) {
                throw new ConfigException(
                        "the gateway did not run with them ("
                                + e.getMessage()
                                + "); it runs with those it had",
                        e);
            }
            if (noAnswer != null) {
                return noAnswer;
            }
        }
        synchronized (this) {
            if (closed) {
                return "the gateway is closed";
            }
            if (config != before) {
                return "the gateway's settings changed meanwhile";
            }
            return restartBridgeChecked(before, next);
        }
    }

    private String restartBridgeChecked(GatewayConfig before, GatewayConfig next)
            throws InterruptedException {
        boolean wasConnected = bridge.mqttConnected();
        bridge.close();
        // What the old bridge left unacknowledged is the broker's again, redelivered to the next.
        metrics.inFlight.set(0);
        String notTaken;
        try {
            connect(next);
            if (!wasConnected || bridge.mqttConnected()) {
                return null;
            }
            bridge.close();
            notTaken = "it did not connect to " + next.brokerForLog() + " with them";
        } catch (RuntimeException e) {
            notTaken = e.getMessage();
        }
        try {
            connect(before);
        } catch (RuntimeException e) {
            throw new IllegalStateException("nor with the settings it had: " + e.getMessage(), e);
        }
        throw new ConfigException(
                "the gateway did not run with them (" + notTaken + "); it runs with those it had");
    }

    /**
     * {@link #restartBridge} for a watch of the gateway's {@code file}, with one WARN line saying
     * how long the reconnection took.
     *
     * @return null, or why the bridge was not restarted (closed meanwhile, Kafka did not answer the
     *     check, interrupted)
     * @throws ConfigException as {@link #restartBridge}
     */
    public String apply(GatewayConfig next, Path file) {
        long startNanos = System.nanoTime();
        try {
            String notRestarted = restartBridge(next);
            if (notRestarted != null) {
                return notRestarted;
            }
            LOG.warn(
                    "The gateway runs with the changed settings of {}, reconnected in {} ms",
                    file,
                    (System.nanoTime() - startNanos) / 1_000_000);
            return null;
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
        if (closed) {
            return;
        }
        closed = true;
        try {
            bridge.close();
        } finally {
            if (http != null) {
                http.close();
            }
        }
    }
}
