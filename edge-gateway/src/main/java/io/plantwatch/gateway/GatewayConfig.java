package io.plantwatch.gateway;

import io.plantwatch.model.ConfigException;
import io.plantwatch.model.LayeredSettings;
import io.plantwatch.model.Secrets;
import io.plantwatch.model.TopicTemplate;
import io.plantwatch.model.Topics;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * Every setting of the gateway, resolved from four layers, each overriding the one before:
 * defaults, the YAML file, environment variables ({@code PLANTWATCH_GATEWAY_} + the key in upper
 * case with {@code .} and {@code -} as {@code _}, e.g. {@code PLANTWATCH_GATEWAY_MQTT_BROKER}), and
 * command-line flags.
 *
 * <p>Kafka client settings pass through unchanged under {@code kafka.producer.}: in YAML as a map,
 * from the environment as {@code PLANTWATCH_GATEWAY_KAFKA_PRODUCER_SASL_MECHANISM=PLAIN}
 * (underscores become dots, as in Kafka's own images).
 */
public final class GatewayConfig {
    public static final String ENV_PREFIX = "PLANTWATCH_GATEWAY_";
    private static final String PRODUCER_PREFIX = "kafka.producer.";

    /** The known keys with their defaults; null means no default. */
    private static final Map<String, String> DEFAULTS = new LinkedHashMap<>();

    static {
        DEFAULTS.put("gateway.id", null);
        DEFAULTS.put("mqtt.broker", "tcp://127.0.0.1:1883");
        DEFAULTS.put("mqtt.version", "5");
        DEFAULTS.put("mqtt.username", null);
        DEFAULTS.put("mqtt.password", null);
        DEFAULTS.put("mqtt.password-file", null);
        DEFAULTS.put("mqtt.ca-file", null);
        DEFAULTS.put("mqtt.client-id", null);
        DEFAULTS.put("mqtt.shared-group", "");
        DEFAULTS.put("mqtt.topic-prefix", TopicTemplate.DEFAULT_PREFIX);
        DEFAULTS.put("mqtt.topic-template", TopicTemplate.DEFAULT_TEMPLATE);
        DEFAULTS.put("mqtt.session-expiry", "1h");
        DEFAULTS.put("mqtt.max-in-flight", "2000");
        DEFAULTS.put("mqtt.reconnect-initial-delay", "1s");
        DEFAULTS.put("mqtt.reconnect-max-delay", "30s");
        DEFAULTS.put("kafka.bootstrap", "127.0.0.1:9092");
        DEFAULTS.put("kafka.readings-topic", Topics.SENSOR_READINGS);
        DEFAULTS.put("kafka.dlq-topic", Topics.SENSOR_READINGS_DLQ);
        DEFAULTS.put("kafka.producer-restart-after", "60s");
        DEFAULTS.put("limits.max-payload-bytes", "16384");
        DEFAULTS.put("limits.max-future-skew", "5m");
        DEFAULTS.put("http.bind", "0.0.0.0");
        DEFAULTS.put("http.port", "9400");
        DEFAULTS.put("shutdown.drain-timeout", "30s");
    }

    private final LayeredSettings settings;
    private final Map<String, String> values;
    private final Properties producer;

    private GatewayConfig(LayeredSettings settings) {
        this.settings = settings;
        this.values = settings.describeUnmasked();
        this.producer = settings.withPrefix(PRODUCER_PREFIX);
        validate();
    }

    /**
     * Resolves the configuration.
     *
     * @param file the YAML file, or null for none
     * @param env the environment, usually {@link System#getenv()}
     * @param flags settings from the command line by key, e.g. {@code mqtt.broker}
     * @throws ConfigException naming the bad key and where it came from
     */
    public static GatewayConfig load(
            Path file, Map<String, String> env, Map<String, String> flags) {
        return new GatewayConfig(
                LayeredSettings.load(
                        DEFAULTS, List.of(PRODUCER_PREFIX), ENV_PREFIX, file, env, flags));
    }

    static String envName(String key) {
        return LayeredSettings.envName(ENV_PREFIX, key);
    }

    private void validate() {
        broker();
        mqttVersion();
        topics();
        sessionExpiry();
        positiveInt("mqtt.max-in-flight", 1, 65_535);
        duration("mqtt.reconnect-initial-delay");
        duration("mqtt.reconnect-max-delay");
        positiveInt("limits.max-payload-bytes", 64, 64 * 1024 * 1024);
        duration("limits.max-future-skew");
        intValue("http.port", -1, 65_535);
        duration("shutdown.drain-timeout");
        Duration restartAfter = duration("kafka.producer-restart-after");
        if (!restartAfter.isZero() && restartAfter.compareTo(Duration.ofSeconds(1)) < 0) {
            throw bad("kafka.producer-restart-after", "must be 0 (never) or at least 1s");
        }
        if (values.get("kafka.bootstrap") == null || values.get("kafka.bootstrap").isBlank()) {
            throw bad("kafka.bootstrap", "is required (host:port[,host:port])");
        }
        if (values.containsKey("mqtt.password") && values.containsKey("mqtt.password-file")) {
            throw bad("mqtt.password", "and mqtt.password-file are both set; keep one");
        }
        if (values.containsKey("mqtt.password-file")) {
            Path p = Path.of(values.get("mqtt.password-file"));
            if (!Files.isReadable(p)) {
                throw bad("mqtt.password-file", "names a file that cannot be read: " + p);
            }
        }
        if (values.containsKey("mqtt.ca-file")) {
            Path p = Path.of(values.get("mqtt.ca-file"));
            if (!Files.isReadable(p)) {
                throw bad("mqtt.ca-file", "names a file that cannot be read: " + p);
            }
        }
    }

    /** The gateway's name in logs, metrics and DLQ headers: default {@code gateway-<host>}. */
    public String gatewayId() {
        String id = values.get("gateway.id");
        if (id != null && !id.isBlank()) {
            return id;
        }
        try {
            return "gateway-" + InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            return "gateway-unknown-host";
        }
    }

    public URI broker() {
        String raw = values.get("mqtt.broker");
        try {
            URI uri = new URI(raw);
            String scheme = uri.getScheme();
            if (scheme == null
                    || !(scheme.equals("tcp")
                            || scheme.equals("ssl")
                            || scheme.equals("mqtt")
                            || scheme.equals("mqtts"))) {
                throw bad("mqtt.broker", "must start with tcp:// or ssl://");
            }
            if (uri.getHost() == null) {
                throw bad("mqtt.broker", "has no host");
            }
            return uri;
        } catch (URISyntaxException e) {
            throw bad("mqtt.broker", "is not a URI: " + e.getMessage());
        }
    }

    public boolean tls() {
        String s = broker().getScheme();
        return s.equals("ssl") || s.equals("mqtts");
    }

    public int brokerPort() {
        int p = broker().getPort();
        return p > 0 ? p : tls() ? 8883 : 1883;
    }

    /** The broker without credentials, for logs. */
    public String brokerForLog() {
        return broker().getScheme() + "://" + broker().getHost() + ":" + brokerPort();
    }

    public int mqttVersion() {
        int v = intValue("mqtt.version", 3, 5);
        if (v != 3 && v != 5) {
            throw bad("mqtt.version", "must be 5 or 3 (for 3.1.1)");
        }
        return v;
    }

    public String username() {
        return values.get("mqtt.username");
    }

    /** The password, from the setting or the file; null when none. Never logged. */
    public byte[] password() {
        if (values.containsKey("mqtt.password")) {
            return values.get("mqtt.password").getBytes(StandardCharsets.UTF_8);
        }
        if (values.containsKey("mqtt.password-file")) {
            return Secrets.firstLine(
                    Path.of(values.get("mqtt.password-file")), "mqtt.password-file");
        }
        return null;
    }

    public Path caFile() {
        String f = values.get("mqtt.ca-file");
        return f == null ? null : Path.of(f);
    }

    /** Stable across restarts, so the broker keeps the session: default the gateway id. */
    public String clientId() {
        String id = values.get("mqtt.client-id");
        return id != null && !id.isBlank() ? id : gatewayId();
    }

    /** Empty for a plain (not shared) subscription. */
    public String sharedGroup() {
        String g = values.getOrDefault("mqtt.shared-group", "");
        if (g.contains("/") || g.contains("+") || g.contains("#")) {
            throw bad("mqtt.shared-group", "must not contain /, + or #");
        }
        return g;
    }

    public TopicTemplate topics() {
        try {
            return new TopicTemplate(
                    values.get("mqtt.topic-prefix"), values.get("mqtt.topic-template"));
        } catch (IllegalArgumentException e) {
            throw bad("mqtt.topic-template", "is invalid: " + e.getMessage());
        }
    }

    /** {@code $share/<group>/<filter>}, or the plain filter without a group. */
    public String subscriptionFilter() {
        String filter = topics().subscriptionFilter();
        String group = sharedGroup();
        return group.isEmpty() ? filter : "$share/" + group + "/" + filter;
    }

    public Duration sessionExpiry() {
        return duration("mqtt.session-expiry");
    }

    public int maxInFlight() {
        return positiveInt("mqtt.max-in-flight", 1, 65_535);
    }

    public Duration reconnectInitialDelay() {
        return duration("mqtt.reconnect-initial-delay");
    }

    public Duration reconnectMaxDelay() {
        return duration("mqtt.reconnect-max-delay");
    }

    public String kafkaBootstrap() {
        return values.get("kafka.bootstrap");
    }

    public String readingsTopic() {
        return values.get("kafka.readings-topic");
    }

    public String dlqTopic() {
        return values.get("kafka.dlq-topic");
    }

    /** Kafka client settings passed through as given, SASL and SSL included. */
    public Properties producerOverrides() {
        Properties copy = new Properties();
        copy.putAll(producer);
        return copy;
    }

    public int maxPayloadBytes() {
        return positiveInt("limits.max-payload-bytes", 64, 64 * 1024 * 1024);
    }

    public Duration maxFutureSkew() {
        return duration("limits.max-future-skew");
    }

    public String httpBind() {
        return values.get("http.bind");
    }

    /** -1 turns the endpoint off, 0 picks a free port. */
    public int httpPort() {
        return intValue("http.port", -1, 65_535);
    }

    /**
     * How long the oldest waiting record may go without Kafka's acknowledgement before the producer
     * is replaced and every waiting record sent again; zero never replaces it.
     */
    public Duration producerRestartAfter() {
        return duration("kafka.producer-restart-after");
    }

    public Duration drainTimeout() {
        return duration("shutdown.drain-timeout");
    }

    private int positiveInt(String key, int min, int max) {
        return settings.intValue(key, min, max);
    }

    private int intValue(String key, int min, int max) {
        return settings.intValue(key, min, max);
    }

    private Duration duration(String key) {
        return settings.duration(key);
    }

    private ConfigException bad(String key, String why) {
        return settings.bad(key, why);
    }

    /** What the gateway runs with, secrets masked: for the start-up log and {@code --dry-run}. */
    public Map<String, String> describe() {
        return settings.describe();
    }
}
