package io.plantwatch.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import io.plantwatch.model.ConfigException;
import io.plantwatch.model.KafkaClientSettings;
import io.plantwatch.model.LayeredSettings;
import io.plantwatch.model.PayloadFormat;
import io.plantwatch.model.PayloadFormats;
import io.plantwatch.model.Secrets;
import io.plantwatch.model.SensorGlob;
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
import org.apache.kafka.clients.producer.ProducerConfig;

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

    /** Formats for some of the plant's devices, a list in the file: the first that matches. */
    static final String PAYLOAD_FORMATS = "payload-formats";

    private static final List<String> FORMAT_FIELDS =
            List.of(
                    "ts-field",
                    "value-field",
                    "unit-field",
                    "quality-field",
                    "seq-field",
                    "epoch",
                    "default-unit",
                    "type",
                    "time",
                    "fields",
                    "units",
                    "time-zone");

    private static final java.util.regex.Pattern FORMAT_NAME =
            java.util.regex.Pattern.compile("[A-Za-z0-9][A-Za-z0-9_-]{0,39}");

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
        DEFAULTS.put("payload.ts-field", "ts");
        DEFAULTS.put("payload.value-field", "value");
        DEFAULTS.put("payload.unit-field", "unit");
        DEFAULTS.put("payload.quality-field", "quality");
        DEFAULTS.put("payload.seq-field", "seq");
        DEFAULTS.put("payload.epoch", "ms");
        DEFAULTS.put("payload.default-unit", "");
        DEFAULTS.put("payload.type", "json");
        DEFAULTS.put("payload.time", null);
        DEFAULTS.put("payload.time-zone", null);
        DEFAULTS.put("sparkplug.groups", "");
        DEFAULTS.put("sparkplug.sensor-id", SparkplugSettings.DEFAULT_SENSOR_ID);
        DEFAULTS.put("sparkplug.host-id", null);
        DEFAULTS.put("sparkplug.request-rebirth", "true");
        DEFAULTS.put("sparkplug.max-payload-bytes", "262144");
        DEFAULTS.put("http.bind", "0.0.0.0");
        DEFAULTS.put("http.port", "9400");
        DEFAULTS.put("shutdown.drain-timeout", "30s");
    }

    /**
     * Settings a running gateway does not take from a changed file, as they name its session and
     * what it subscribes to (a new filter would leave the old one in the broker's session), where
     * it writes, or its endpoint; the rest (logins, limits, delays, producer settings) it takes
     * with a new bridge.
     */
    private static final List<String> FRESH_START_ONLY =
            List.of(
                    "gateway.id",
                    "mqtt.client-id",
                    "mqtt.broker",
                    "mqtt.version",
                    "mqtt.shared-group",
                    "mqtt.topic-prefix",
                    "mqtt.topic-template",
                    "sparkplug.groups",
                    "sparkplug.host-id",
                    "kafka.bootstrap",
                    "kafka.producer.bootstrap.servers",
                    "kafka.readings-topic",
                    "kafka.dlq-topic",
                    "http.bind",
                    "http.port");

    /** MQTT 5's session expiry interval is an unsigned 32-bit number of seconds. */
    static final long MAX_SESSION_EXPIRY_SECONDS = 0xFFFF_FFFFL;

    // Upper bounds keep every duration far from the overflow of Duration.toNanos (292 years) and
    // say plainly which values are mistakes.
    static final Duration MAX_RECONNECT_DELAY = Duration.ofHours(1);
    static final Duration MAX_DRAIN_TIMEOUT = Duration.ofHours(1);
    static final Duration MAX_PRODUCER_RESTART_AFTER = Duration.ofDays(1);

    private static final java.util.regex.Pattern TOPIC_NAME =
            java.util.regex.Pattern.compile("[a-zA-Z0-9._-]{1,249}");

    private final LayeredSettings settings;
    private final Map<String, String> values;
    private final Properties producer;
    private final PayloadFormats payloadFormats;

    /**
     * The MQTT password and CA files as they were read, which the bridge connects with: their
     * settings hold only their paths, so a secret rotated in place is a change only here, and a
     * bridge going back to the settings it had goes back to these, not to the files as they are.
     */
    private final List<byte[]> mqttFiles;

    private GatewayConfig(LayeredSettings settings) {
        this.settings = settings;
        this.values = settings.describeUnmasked();
        this.producer = settings.withPrefix(PRODUCER_PREFIX);
        // Read once, before they are checked: what is checked is what the bridge connects with.
        this.mqttFiles =
                java.util.stream.Stream.of("mqtt.password-file", "mqtt.ca-file")
                        .map(this::contentOf)
                        .toList();
        validate();
        this.payloadFormats = new PayloadFormats(payloadFormat(), namedPayloadFormats());
    }

    private byte[] contentOf(String key) {
        String f = values.get(key);
        try {
            return f == null ? new byte[0] : Files.readAllBytes(Path.of(f));
        } catch (java.io.IOException e) {
            throw bad(key, "names a file that cannot be read: " + f);
        }
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
                        DEFAULTS,
                        List.of(PRODUCER_PREFIX),
                        List.of(PAYLOAD_FORMATS),
                        ENV_PREFIX,
                        file,
                        env,
                        flags));
    }

    /**
     * The gateway's file and the files it names (every {@code *-file} key: passwords, CA
     * certificates, Kafka logins): what a watch of the gateway's settings reads again for a change.
     * Checks nothing; {@link #load} does.
     */
    public static List<Path> files(Path file) {
        return io.plantwatch.model.YamlFiles.namedFiles(file);
    }

    /**
     * These settings, read from {@code file}, as a change of the gateway running with {@code
     * running}: null when nothing it runs with changed (a comment), else this.
     *
     * @throws ConfigException naming each setting a running gateway does not take ({@link
     *     #FRESH_START_ONLY}) with its old and new value
     */
    public GatewayConfig checkedAsChangeOf(GatewayConfig running, Path file) {
        boolean sameFiles = true;
        for (int i = 0; i < mqttFiles.size(); i++) {
            sameFiles &= java.util.Arrays.equals(mqttFiles.get(i), running.mqttFiles.get(i));
        }
        if (sameFiles && settings.sameAs(running.settings)) {
            return null;
        }
        settings.refuseChangesOf(running.settings, FRESH_START_ONLY, file, "the gateway");
        return this;
    }

    static String envName(String key) {
        return LayeredSettings.envName(ENV_PREFIX, key);
    }

    private void validate() {
        broker();
        mqttVersion();
        topics();
        subscriptionFilter();
        sessionExpiry();
        positiveInt("mqtt.max-in-flight", 1, 65_535);
        reconnectInitialDelay();
        reconnectMaxDelay();
        positiveInt("limits.max-payload-bytes", 64, 64 * 1024 * 1024);
        maxFutureSkew();
        payloadFormat();
        sparkplug();
        intValue("http.port", -1, 65_535);
        drainTimeout();
        producerRestartAfter();
        readingsTopic();
        dlqTopic();
        if (values.get("kafka.bootstrap") == null || values.get("kafka.bootstrap").isBlank()) {
            throw bad("kafka.bootstrap", "is required (host:port[,host:port])");
        }
        if (values.containsKey("mqtt.password") && values.containsKey("mqtt.password-file")) {
            throw bad("mqtt.password", "and mqtt.password-file are both set; keep one");
        }
        if (values.containsKey("mqtt.password-file")) {
            Path p = Path.of(values.get("mqtt.password-file"));
            if (!Files.isRegularFile(p) || !Files.isReadable(p)) {
                throw bad("mqtt.password-file", "names a file that cannot be read: " + p);
            }
        }
        if (values.containsKey("mqtt.ca-file")) {
            Path p = Path.of(values.get("mqtt.ca-file"));
            if (!Files.isRegularFile(p) || !Files.isReadable(p)) {
                throw bad("mqtt.ca-file", "names a file that cannot be read: " + p);
            }
            // Read now, not at the TLS handshake: a wrong file is then a setting to fix, said
            // at start, and not a failure of every connection attempt.
            try {
                Secrets.trustFromPem(mqttFiles.get(1), p.toString());
            } catch (IllegalArgumentException e) {
                throw bad("mqtt.ca-file", "holds no CA certificate in PEM: " + oneLine(e));
            }
            // A CA file on a plain broker URL would be ignored, and the operator who set it
            // believes the link is encrypted.
            if (!tls()) {
                throw bad(
                        "mqtt.ca-file",
                        "is set, but mqtt.broker "
                                + broker()
                                + " is not TLS: write ssl:// to use it, or leave ca-file out");
            }
        }
        producerSettings();
    }

    /**
     * Kafka's producer checks its settings only when it is created, inside the gateway's start, and
     * reports a bad one with a stack trace; so they are checked here, with Kafka's own rules, and a
     * refusal names the key and where it came from.
     */
    private void producerSettings() {
        KafkaClientSettings.Refusal refusal =
                KafkaClientSettings.refusal(producer, ProducerConfig.configDef());
        if (refusal != null) {
            throw bad(PRODUCER_PREFIX + refusal.key(), refusal.reason());
        }
        try {
            // The rules between settings, e.g. acks=all for the idempotent producer.
            new ProducerConfig(MqttKafkaBridge.producerProperties(this));
        } catch (org.apache.kafka.common.config.ConfigException e) {
            String named =
                    producer.stringPropertyNames().stream()
                            .filter(n -> String.valueOf(e.getMessage()).contains(n))
                            .findFirst()
                            .orElse(null);
            if (named != null) {
                throw refusedByKafka(named, e);
            }
            throw new ConfigException(
                    "kafka.producer settings are refused by Kafka's producer: " + oneLine(e));
        }
    }

    private ConfigException refusedByKafka(String name, Exception e) {
        String key = PRODUCER_PREFIX + name;
        // Kafka's message can quote the value, which for a secret must not show.
        return bad(
                key,
                LayeredSettings.isSecret(key)
                        ? "is refused by Kafka's producer"
                        : "is refused by Kafka's producer: " + oneLine(e));
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
                    mqttFiles.get(0), "mqtt.password-file " + values.get("mqtt.password-file"));
        }
        return null;
    }

    /**
     * Trust in exactly the CA certificates of {@code mqtt.ca-file} as it was read; null if unset.
     */
    public javax.net.ssl.TrustManagerFactory caTrust() {
        String f = values.get("mqtt.ca-file");
        return f == null ? null : Secrets.trustFromPem(mqttFiles.get(1), f);
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

    /**
     * How long the broker keeps the session, and so the unacknowledged messages, while the gateway
     * is away: 1 s up to MQTT 5's largest (2^32 - 1 seconds, which the broker reads as never). Zero
     * is refused: the broker would drop what waits at every disconnect.
     */
    public Duration sessionExpiry() {
        return durationBetween(
                "mqtt.session-expiry",
                Duration.ofSeconds(1),
                Duration.ofSeconds(MAX_SESSION_EXPIRY_SECONDS),
                " (MQTT 5 carries it in whole seconds as an unsigned 32-bit number)");
    }

    public int maxInFlight() {
        return positiveInt("mqtt.max-in-flight", 1, 65_535);
    }

    /** The MQTT client takes the delay in whole milliseconds and refuses zero. */
    public Duration reconnectInitialDelay() {
        return durationBetween(
                "mqtt.reconnect-initial-delay", Duration.ofMillis(1), MAX_RECONNECT_DELAY, "");
    }

    /**
     * Below the initial delay the backoff would be capped under its own start, and a zero one
     * retries at once without end.
     */
    public Duration reconnectMaxDelay() {
        Duration initial = reconnectInitialDelay();
        Duration max = duration("mqtt.reconnect-max-delay");
        if (max.compareTo(initial) < 0 || max.compareTo(MAX_RECONNECT_DELAY) > 0) {
            throw bad(
                    "mqtt.reconnect-max-delay",
                    "must be between mqtt.reconnect-initial-delay ("
                            + human(initial)
                            + ") and "
                            + human(MAX_RECONNECT_DELAY));
        }
        return max;
    }

    public String kafkaBootstrap() {
        return values.get("kafka.bootstrap");
    }

    public String readingsTopic() {
        return topicName("kafka.readings-topic");
    }

    /** Never the readings topic: the anomaly job would read what the contract rejected. */
    public String dlqTopic() {
        String dlq = topicName("kafka.dlq-topic");
        if (dlq.equals(readingsTopic())) {
            throw bad("kafka.dlq-topic", "must differ from kafka.readings-topic");
        }
        return dlq;
    }

    /**
     * Kafka's rule for a topic's name. A name it refuses fails every request for the topic, which
     * the gateway, waiting for partitions, would take for a Kafka that is away.
     */
    private String topicName(String key) {
        String name = values.get(key);
        if (name == null
                || !TOPIC_NAME.matcher(name).matches()
                || name.equals(".")
                || name.equals("..")) {
            throw bad(key, "must be 1 to 249 of the characters a-z A-Z 0-9 . _ - (Kafka's rule)");
        }
        return name;
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

    /**
     * How far ahead of the gateway's clock a reading's time may be; zero refuses any reading from
     * the future. At most a day: beyond that a clock is broken, not skewed.
     */
    public Duration maxFutureSkew() {
        return durationBetween("limits.max-future-skew", Duration.ZERO, Duration.ofDays(1), "");
    }

    /**
     * How the plant's devices write a reading ({@code payload.*}), where no entry of {@code
     * payload-formats} matches: design.md's names by default; a PLC bridge's {@code {"timestamp":
     * 1764057600, "temp": 21.5}} with {@code payload.ts-field: timestamp}, {@code payload.epoch:
     * s}, {@code payload.value-field: temp}.
     */
    public PayloadFormat payloadFormat() {
        return format(
                k -> values.get("payload." + k),
                (k, why) -> bad(k == null ? "payload" : "payload." + k, why),
                null);
    }

    /**
     * How Sparkplug B edge nodes are read ({@code sparkplug.*}): off unless {@code
     * sparkplug.groups} names the groups, comma-separated, or {@code +} for every group.
     */
    public SparkplugSettings sparkplug() {
        String groups = values.getOrDefault("sparkplug.groups", "");
        List<String> names = new java.util.ArrayList<>();
        if (groups != null && !groups.isBlank()) {
            for (String g : groups.split(",", -1)) {
                String name = g.strip();
                if (names.contains(name)) {
                    throw bad("sparkplug.groups", "names " + name + " twice");
                }
                names.add(name);
            }
        }
        int maxPayloadBytes = positiveInt("sparkplug.max-payload-bytes", 64, 64 * 1024 * 1024);
        boolean requestRebirth = settings.booleanValue("sparkplug.request-rebirth");
        String hostId = values.get("sparkplug.host-id");
        try {
            SparkplugSettings.checkGroups(names);
        } catch (IllegalArgumentException e) {
            throw bad("sparkplug.groups", "is invalid: " + e.getMessage());
        }
        try {
            SparkplugSettings.checkHostId(hostId);
        } catch (IllegalArgumentException e) {
            throw bad("sparkplug.host-id", "is invalid: " + e.getMessage());
        }
        if (hostId != null && names.isEmpty()) {
            // Nodes waiting for this host would send their data to a gateway that reads none.
            throw bad("sparkplug.host-id", "is set while sparkplug.groups names no group to read");
        }
        String prefix = values.get("mqtt.topic-prefix");
        if (!names.isEmpty()
                && (prefix.isEmpty()
                        || prefix.equals(SparkplugSettings.NAMESPACE)
                        || prefix.startsWith(SparkplugSettings.NAMESPACE + "/"))) {
            // Its filter would take Sparkplug's topics too: each message twice, once unshared.
            throw bad(
                    "mqtt.topic-prefix",
                    "'"
                            + prefix
                            + "' takes in Sparkplug B's namespace "
                            + SparkplugSettings.NAMESPACE
                            + ", which sparkplug.groups reads; give the plant's topics a prefix of"
                            + " their own");
        }
        try {
            return new SparkplugSettings(
                    names,
                    values.get("sparkplug.sensor-id"),
                    hostId,
                    requestRebirth,
                    maxPayloadBytes);
        } catch (IllegalArgumentException e) {
            throw bad("sparkplug.sensor-id", "is invalid: " + e.getMessage());
        }
    }

    /**
     * Every sensor's format: the first {@code payload-formats} entry that matches, or {@link
     * #payloadFormat}.
     */
    public PayloadFormats payloadFormats() {
        return payloadFormats;
    }

    /**
     * {@code payload-formats}: a list in the file, each entry a {@code name}, the {@code sensors}
     * it reads (a sensor glob) and the fields of {@code payload.*}, which start from design.md's
     * rather than from {@code payload.*}.
     */
    private List<PayloadFormats.Named> namedPayloadFormats() {
        JsonNode list = settings.section(PAYLOAD_FORMATS);
        if (list == null) {
            return List.of();
        }
        if (!list.isArray()) {
            throw settings.badSection(
                    PAYLOAD_FORMATS,
                    "must be a list of formats, each with a name, the sensors it reads and its"
                            + " fields (see config/gateway.yaml)");
        }
        List<PayloadFormats.Named> named = new java.util.ArrayList<>();
        Map<String, String> nameOfGlob = new java.util.HashMap<>();
        for (int i = 0; i < list.size(); i++) {
            JsonNode entry = list.get(i);
            String at = PAYLOAD_FORMATS + " entry " + (i + 1);
            if (!entry.isObject()) {
                throw settings.badSection(at, "must be a mapping with name, sensors and fields");
            }
            for (java.util.Iterator<String> it = entry.fieldNames(); it.hasNext(); ) {
                String k = it.next();
                if (!k.equals("name") && !k.equals("sensors") && !FORMAT_FIELDS.contains(k)) {
                    throw settings.badSection(
                            at,
                            "has an unknown key '"
                                    + k
                                    + "'; known: name, sensors, "
                                    + String.join(", ", FORMAT_FIELDS));
                }
                if (k.equals("units")) {
                    JsonNode units = entry.get(k);
                    boolean textOnly = units.isObject();
                    for (JsonNode u : units) {
                        textOnly &= u.isTextual();
                    }
                    if (!textOnly) {
                        throw settings.badSection(
                                at,
                                "units must be a mapping of a field to its unit, e.g. {temp: degC}"
                                        + " (quote a unit YAML reads as a number: '1')");
                    }
                } else if (k.equals("fields") && entry.get(k).isArray()) {
                    for (JsonNode field : entry.get(k)) {
                        if (!field.isTextual()) {
                            throw settings.badSection(
                                    at,
                                    "fields must name the fields that are readings, each a text");
                        }
                    }
                } else if (!entry.get(k).isValueNode() || entry.get(k).isNull()) {
                    throw settings.badSection(at, k + " must be a single value");
                }
            }
            String name = entry.hasNonNull("name") ? entry.get("name").asText() : "";
            if (!FORMAT_NAME.matcher(name).matches()) {
                throw settings.badSection(
                        at,
                        "needs a name of 1 to 40 letters, digits, - and _ (it is told in the DLQ's"
                                + " detail of what it rejects), was '"
                                + name
                                + "'");
            }
            String where = PAYLOAD_FORMATS + " '" + name + "'";
            for (PayloadFormats.Named n : named) {
                if (n.name().equals(name)) {
                    throw settings.badSection(where, "is named twice");
                }
            }
            if (!entry.hasNonNull("sensors") || entry.get("sensors").asText().isBlank()) {
                throw settings.badSection(
                        where,
                        "needs sensors: the sensor ids it reads, a glob such as \"hall-2/**\" or"
                                + " \"*/utilities/*/*/power\" (quoted: YAML reads a leading * as an"
                                + " alias)");
            }
            SensorGlob glob;
            try {
                glob = new SensorGlob(entry.get("sensors").asText());
            } catch (IllegalArgumentException e) {
                throw settings.badSection(where, "sensors: " + e.getMessage());
            }
            long levels = glob.glob().chars().filter(ch -> ch == '/').count() + 1;
            if (!glob.glob().contains("**") && !glob.glob().contains("{") && levels != 5) {
                throw settings.badSection(
                        where,
                        "sensors '"
                                + glob.glob()
                                + "' has "
                                + levels
                                + (levels == 1 ? " level" : " levels")
                                + ", and a sensor id has 5 (site/area/line/machine/sensor, as the"
                                + " topic template reads them), so it matches none; ** spans"
                                + " levels");
            }
            String earlier = nameOfGlob.putIfAbsent(glob.glob(), name);
            if (earlier != null) {
                throw settings.badSection(
                        where,
                        "reads the same sensors as '"
                                + earlier
                                + "' before it, so it would never apply");
            }
            JsonNode e = entry;
            Map<String, String> units = new LinkedHashMap<>();
            if (e.has("units")) {
                e.get("units")
                        .fields()
                        .forEachRemaining(u -> units.put(u.getKey(), u.getValue().asText()));
            }
            PayloadFormat f =
                    format(
                            k ->
                                    k.equals("fields") && e.path(k).isArray()
                                            ? listed(e.get(k))
                                            : e.hasNonNull(k) ? e.get(k).asText() : entryDefault(k),
                            (k, why) ->
                                    settings.badSection(where, (k == null ? "" : k + " ") + why),
                            units);
            if (f.type() == PayloadFormat.Type.FIELDS) {
                for (String k : List.of("value-field", "unit-field")) {
                    if (e.has(k)) {
                        throw settings.badSection(
                                where,
                                k
                                        + " is set, but type: fields reads each reading from the"
                                        + " field named like its sensor"
                                        + (k.equals("unit-field")
                                                ? ", its unit from units or default-unit"
                                                : ""));
                    }
                }
            }
            if (f.type() == PayloadFormat.Type.VALUE || f.receivedTime()) {
                for (String k : List.of("ts-field", "epoch")) {
                    if (e.has(k)) {
                        throw settings.badSection(
                                where,
                                k
                                        + " is set, but "
                                        + (f.type() == PayloadFormat.Type.VALUE
                                                ? "type: value reads no fields"
                                                : "time: received reads no time from the payload"));
                    }
                }
            }
            if (f.type() == PayloadFormat.Type.VALUE) {
                for (String k :
                        List.of("value-field", "unit-field", "quality-field", "seq-field")) {
                    if (e.has(k)) {
                        throw settings.badSection(
                                where, k + " is set, but type: value reads no fields");
                    }
                }
            }
            named.add(new PayloadFormats.Named(name, glob, f));
        }
        return List.copyOf(named);
    }

    /** A YAML list of field names as the comma-separated form {@link #format} reads. */
    private static String listed(JsonNode list) {
        List<String> names = new java.util.ArrayList<>();
        list.forEach(n -> names.add(n.asText()));
        return String.join(",", names);
    }

    /** design.md's field names, what an entry of {@code payload-formats} starts from. */
    private static String entryDefault(String field) {
        return switch (field) {
            case "ts-field" -> "ts";
            case "value-field" -> "value";
            case "unit-field" -> "unit";
            case "quality-field" -> "quality";
            case "seq-field" -> "seq";
            case "epoch" -> "ms";
            case "default-unit" -> "";
            case "type" -> "json";
            default -> null;
        };
    }

    /**
     * One format from its fields ({@link #FORMAT_FIELDS}), read by {@code get}; {@code bad} makes
     * the error for a field (null: the format as a whole).
     */
    private static PayloadFormat format(
            java.util.function.Function<String, String> get,
            java.util.function.BiFunction<String, String, ConfigException> bad,
            Map<String, String> units) {
        boolean entry = units != null;
        for (String k :
                List.of("ts-field", "value-field", "unit-field", "quality-field", "seq-field")) {
            String v = get.apply(k);
            if (v == null || v.isBlank()) {
                throw bad.apply(
                        k,
                        entry
                                ? "is empty; name the JSON field, or leave the key out for design.md's"
                                : "is empty; name the JSON field, or leave the key out for the default");
            }
        }
        String epoch = get.apply("epoch");
        if (epoch == null || !epoch.equals("ms") && !epoch.equals("s")) {
            throw bad.apply("epoch", "is '" + epoch + "'; ms (epoch milliseconds) or s (seconds)");
        }
        String type = get.apply("type");
        if (type == null
                || !type.equals("json")
                        && !type.equals("value")
                        && !(entry && type.equals("fields"))) {
            throw bad.apply(
                    "type",
                    "is '"
                            + type
                            + "'; json (an object with the reading's fields) or value (the number"
                            + " alone)"
                            + (entry
                                    ? ", or fields (an object of a machine's readings, one per"
                                            + " field)"
                                    : "; a machine's readings in one message (fields) are read by"
                                            + " a payload-formats entry, sensors \"**\" for all"));
        }
        boolean bareValue = type.equals("value");
        List<String> fields = new java.util.ArrayList<>();
        String listed = get.apply("fields");
        if (listed != null) {
            for (String name : listed.split(",", -1)) {
                if (name.isBlank()) {
                    throw bad.apply(
                            "fields",
                            "names an empty field; write the fields that are readings as"
                                    + " temp,pressure");
                }
                fields.add(name.strip());
            }
        }
        String time = get.apply("time");
        if (time != null && !time.equals("payload") && !time.equals("received")) {
            throw bad.apply(
                    "time",
                    "is '"
                            + time
                            + "'; payload (the device's own, in the time field) or received (the"
                            + " gateway's clock when it arrives)");
        }
        String zone = get.apply("time-zone");
        java.time.ZoneId timeZone = null;
        if (zone != null && !zone.isBlank()) {
            try {
                timeZone = java.time.ZoneId.of(zone.strip());
            } catch (java.time.DateTimeException e) {
                timeZone = null;
            }
            // EST, MST and HST are ids of the time zone database, but fixed offsets: a plant on
            // New York time that wrote EST would be read an hour off all summer.
            if (timeZone == null
                    || !(timeZone instanceof java.time.ZoneOffset
                            || timeZone.getId().contains("/")
                            || timeZone.getId().equals("UTC"))) {
                throw bad.apply(
                        "time-zone",
                        "is '"
                                + zone
                                + "', not a time zone's region: an IANA name such as"
                                + " Europe/Berlin or America/New_York, UTC, or a fixed offset such"
                                + " as +01:00 (abbreviations such as EST or CET are refused: they"
                                + " are fixed offsets or ambiguous)");
            }
            if (bareValue || "received".equals(time)) {
                throw bad.apply(
                        "time-zone",
                        "is set, but "
                                + (bareValue ? "type: value" : "time: received")
                                + " reads no time from the payload");
            }
        }
        if (bareValue && "payload".equals(time)) {
            throw bad.apply(
                    "time",
                    "is payload, but type: value carries no time: it is stamped when received");
        }
        try {
            return new PayloadFormat(
                    get.apply("ts-field"),
                    get.apply("value-field"),
                    get.apply("unit-field"),
                    get.apply("quality-field"),
                    get.apply("seq-field"),
                    epoch.equals("s"),
                    get.apply("default-unit"),
                    bareValue
                            ? PayloadFormat.Type.VALUE
                            : type.equals("fields")
                                    ? PayloadFormat.Type.FIELDS
                                    : PayloadFormat.Type.JSON,
                    bareValue || "received".equals(time),
                    fields,
                    entry ? units : Map.of(),
                    timeZone);
        } catch (IllegalArgumentException e) {
            throw bad.apply(null, e.getMessage());
        }
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
        Duration d = duration("kafka.producer-restart-after");
        // A producer replaced every few hundred milliseconds would never get a record through.
        if (!d.isZero()
                && (d.compareTo(Duration.ofSeconds(1)) < 0
                        || d.compareTo(MAX_PRODUCER_RESTART_AFTER) > 0)) {
            throw bad(
                    "kafka.producer-restart-after",
                    "must be 0 (never) or at least 1s, at most "
                            + human(MAX_PRODUCER_RESTART_AFTER));
        }
        return d;
    }

    /**
     * How long a stop waits for Kafka to acknowledge what is in flight; zero does not wait, and the
     * broker redelivers what was not acknowledged to the next start.
     */
    public Duration drainTimeout() {
        return durationBetween("shutdown.drain-timeout", Duration.ZERO, MAX_DRAIN_TIMEOUT, "");
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

    /** A duration in {@code [min, max]}, refused otherwise with the range and {@code why}. */
    private Duration durationBetween(String key, Duration min, Duration max, String why) {
        Duration d = duration(key);
        if (d.compareTo(min) < 0 || d.compareTo(max) > 0) {
            throw bad(key, "must be between " + human(min) + " and " + human(max) + why);
        }
        return d;
    }

    /** A duration as the settings are written: 0s, 500ms, 30s, 5m, 1h, 1d. */
    static String human(Duration d) {
        long ms = d.toMillis();
        if (ms == 0) {
            return "0s";
        }
        if (ms % 86_400_000 == 0) {
            return ms / 86_400_000 + "d";
        }
        if (ms % 3_600_000 == 0) {
            return ms / 3_600_000 + "h";
        }
        if (ms % 60_000 == 0) {
            return ms / 60_000 + "m";
        }
        return ms % 1_000 == 0 ? ms / 1_000 + "s" : ms + "ms";
    }

    private static String oneLine(Throwable e) {
        return String.valueOf(e.getMessage()).replaceAll("\\s+", " ").strip();
    }

    private ConfigException bad(String key, String why) {
        return settings.bad(key, why);
    }

    /** What the gateway runs with, secrets masked: for the start-up log and {@code --dry-run}. */
    public Map<String, String> describe() {
        // In the order they apply, after the keys.
        Map<String, String> shown = new LinkedHashMap<>(settings.describe());
        JsonNode list = settings.section(PAYLOAD_FORMATS);
        if (list != null) {
            for (int i = 0; i < list.size(); i++) {
                shown.put(PAYLOAD_FORMATS + "[" + (i + 1) + "]", list.get(i).toString());
            }
        }
        return shown;
    }
}
