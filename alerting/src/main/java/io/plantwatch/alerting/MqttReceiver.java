package io.plantwatch.alerting;

import com.hivemq.client.mqtt.MqttClient;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.exceptions.Mqtt5ConnAckException;
import com.hivemq.client.mqtt.mqtt5.message.connect.connack.Mqtt5ConnAckReasonCode;
import io.plantwatch.model.Alert;
import java.net.URI;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.TrustManagerFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes a machine's alert state back to the plant for andon lights and HMIs: the notification's
 * JSON, QoS 1 and retained, on {@code plant/{site}/{area}/{line}/{machine}/alerts} by default, so a
 * panel that connects later sees the machine's last state at once. Connection and publish failures
 * are retried with backoff up to {@code giveUpAfter}, counted and logged; a login the broker
 * refuses is not retried, as it would be refused again.
 *
 * <p>With an {@code ssl://} broker it speaks TLS, trusting the CA certificates it is given ({@code
 * ca-file}) or else the JVM's. With a username it logs in; the password is never logged.
 */
public final class MqttReceiver implements Receiver {
    private static final Logger LOG = LoggerFactory.getLogger(MqttReceiver.class);

    /** The broker's answers to a login it will not take; retrying would only repeat them. */
    private static final Set<Mqtt5ConnAckReasonCode> LOGIN_REFUSED =
            Set.of(
                    Mqtt5ConnAckReasonCode.BAD_USER_NAME_OR_PASSWORD,
                    Mqtt5ConnAckReasonCode.NOT_AUTHORIZED,
                    Mqtt5ConnAckReasonCode.BAD_AUTHENTICATION_METHOD,
                    Mqtt5ConnAckReasonCode.BANNED);

    private final String name;
    private final URI broker;
    private final TrustManagerFactory trust;
    private final String username;
    private final byte[] password;
    private final String topicTemplate;
    private final Duration giveUpAfter;
    private final AtomicLong failedAttempts = new AtomicLong();
    // Set by the delivering lane, cleared by it or by close() from the stopping service.
    private volatile Mqtt5BlockingClient client;
    private volatile boolean closed;

    /**
     * @param broker {@code tcp://host:port} or {@code ssl://host:port}
     * @param trust for {@code ssl://}: the CA certificates to trust, or null for the JVM's
     * @param username null to connect without a login
     * @param password the login's password; null without a username
     */
    public MqttReceiver(
            String name,
            URI broker,
            TrustManagerFactory trust,
            String username,
            byte[] password,
            String topicTemplate,
            Duration giveUpAfter) {
        this.name = name;
        this.broker = broker;
        this.trust = trust;
        this.username = username;
        this.password = password;
        this.topicTemplate = topicTemplate;
        this.giveUpAfter = giveUpAfter;
        if (password != null && "tcp".equals(broker.getScheme())) {
            // Allowed, as plant brokers often run so, but not silently: anyone on the network
            // reads the password, and with it may publish on the andon topics.
            LOG.warn(
                    "Receiver {} logs in to {} as {} without TLS: its password crosses the network"
                            + " readable; use ssl:// (with ca-file) where the broker offers it",
                    name,
                    broker,
                    username);
        }
    }

    @Override
    public String name() {
        return name;
    }

    /** The topic for the machine of {@code a}. */
    String topic(Alert a) {
        return topic(topicTemplate, a);
    }

    /**
     * {@code template} with {@code {site}}, {@code {area}}, {@code {line}} and {@code {machine}}
     * filled in one pass: a level named like a placeholder ({@code {line}} is a valid name) is
     * taken as it is, not filled in again, which put one machine's alerts on another's retained
     * topic. Anything else in braces stays as written.
     */
    static String topic(String template, Alert a) {
        var s = a.sensorId();
        StringBuilder b = new StringBuilder(template.length() + 64);
        int i = 0;
        while (i < template.length()) {
            int open = template.indexOf('{', i);
            int close = open < 0 ? -1 : template.indexOf('}', open);
            if (close < 0) {
                b.append(template, i, template.length());
                break;
            }
            String value =
                    switch (template.substring(open + 1, close)) {
                        case "site" -> s.site();
                        case "area" -> s.area();
                        case "line" -> s.line();
                        case "machine" -> s.machine();
                        default -> null;
                    };
            if (value == null) {
                // Not a placeholder: keep the brace and look for the next one after it.
                b.append(template, i, open + 1);
                i = open + 1;
            } else {
                b.append(template, i, open).append(value);
                i = close + 1;
            }
        }
        return b.toString();
    }

    @Override
    public String preview(Notification n, byte[] json) {
        return n.alerts().isEmpty()
                ? ""
                : topic(n.alerts().get(0))
                        + " (QoS 1, retained)\n"
                        + new String(json, java.nio.charset.StandardCharsets.UTF_8);
    }

    @Override
    public WebhookReceiver.Outcome deliver(Notification n, byte[] json)
            throws InterruptedException {
        if (n.alerts().isEmpty()) {
            return WebhookReceiver.Outcome.DELIVERED;
        }
        String topic = topic(n.alerts().get(0));
        long deadline = System.nanoTime() + giveUpAfter.toNanos();
        long backoff = 200;
        while (true) {
            if (closed) {
                LOG.warn(
                        "Receiver {} stopped before it published notification {}; it is sent at"
                                + " the next start",
                        name,
                        n.id());
                return WebhookReceiver.Outcome.GAVE_UP;
            }
            try {
                connected()
                        .publishWith()
                        .topic(topic)
                        .qos(MqttQos.AT_LEAST_ONCE)
                        .retain(true)
                        .contentType("application/json")
                        .payload(json)
                        .send();
                return WebhookReceiver.Outcome.DELIVERED;
            } catch (RuntimeException e) {
                disconnectQuietly();
                if (closed) {
                    continue; // not a failure of the broker: said once, at the loop's top
                }
                failedAttempts.incrementAndGet();
                if (e instanceof Mqtt5ConnAckException refused
                        && LOGIN_REFUSED.contains(refused.getMqttMessage().getReasonCode())) {
                    LOG.error(
                            "Receiver {}: broker {} refused the login{} ({}); notification {} is"
                                    + " not sent",
                            name,
                            broker,
                            username == null ? " (it sent none)" : " as " + username,
                            refused.getMqttMessage().getReasonCode(),
                            n.id());
                    return WebhookReceiver.Outcome.REFUSED;
                }
                if (System.nanoTime() > deadline) {
                    LOG.error(
                            "Receiver {} gave up publishing notification {} to {}: {}",
                            name,
                            n.id(),
                            topic,
                            e.toString());
                    return WebhookReceiver.Outcome.GAVE_UP;
                }
                LOG.warn(
                        "Receiver {} cannot publish to {}: {}; retrying",
                        name,
                        broker,
                        e.toString());
            }
            Thread.sleep(ThreadLocalRandom.current().nextLong(backoff / 2, backoff + 1));
            backoff = Math.min(30_000, backoff * 2);
        }
    }

    private Mqtt5BlockingClient connected() {
        Mqtt5BlockingClient connected = client;
        if (connected == null) {
            boolean tls = "ssl".equalsIgnoreCase(broker.getScheme());
            var builder =
                    MqttClient.builder()
                            .useMqttVersion5()
                            .identifier("plantwatch-alerting-" + name)
                            .serverHost(broker.getHost())
                            .serverPort(
                                    broker.getPort() > 0 ? broker.getPort() : tls ? 8883 : 1883);
            if (tls) {
                // ssl:// was once accepted and then spoken to in plain text.
                builder =
                        trust == null
                                ? builder.sslWithDefaultConfig()
                                : builder.sslConfig().trustManagerFactory(trust).applySslConfig();
            }
            Mqtt5BlockingClient c = builder.buildBlocking();
            var connect = c.connectWith().cleanStart(true);
            if (username != null) {
                connect =
                        connect.simpleAuth()
                                .username(username)
                                .password(password == null ? new byte[0] : password)
                                .applySimpleAuth();
            }
            connect.send();
            client = c;
            if (closed) {
                // close() ran while this connected: nothing else would end this connection.
                disconnectQuietly();
                throw new IllegalStateException("receiver " + name + " is closed");
            }
            return c;
        }
        return connected;
    }

    private void disconnectQuietly() {
        Mqtt5BlockingClient c = client;
        client = null;
        if (c != null) {
            try {
                c.disconnect();
            } catch (RuntimeException ignored) {
                // Already gone; a new connection is made on the next attempt.
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        disconnectQuietly();
    }

    @Override
    public long failedAttempts() {
        return failedAttempts.get();
    }
}
