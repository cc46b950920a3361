package io.plantwatch.alerting;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.plantwatch.model.ConfigException;
import io.plantwatch.model.Durations;
import io.plantwatch.model.FreePorts;
import io.plantwatch.model.LayeredSettings;
import io.plantwatch.model.Secrets;
import io.plantwatch.model.SensorId;
import io.plantwatch.model.Topics;
import io.plantwatch.model.YamlFiles;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import javax.net.ssl.TrustManagerFactory;

/**
 * config/alerting.yaml: Kafka, the store, flood and flapping limits, the receivers and the routing
 * tree. Secrets (webhook secrets, passwords) come from a file ({@code secret-file}, {@code
 * password-file}) or an environment variable ({@code secret-env}, {@code password-env}), never from
 * the file itself. Every mistake is one line naming the file and the key.
 */
public record AlertingConfig(
        String kafkaBootstrap,
        String alertsTopic,
        String dlqTopic,
        String groupId,
        Path storeDir,
        Duration storeRetention,
        int floodLimit,
        Duration floodWindow,
        int flapMaxChanges,
        Duration flapWindow,
        Map<String, Receiver> receivers,
        Route route,
        List<AlertMatcher> latching,
        List<Inhibition> inhibitions,
        String apiHost,
        int apiPort,
        byte[] apiToken,
        KafkaConsumerSettings kafkaConsumer,
        Duration healthKafkaGrace,
        URI grafanaUrl,
        PipelineAlerts.Settings pipelineAlerts,
        Heartbeat.Settings heartbeat) {

    public AlertingConfig {
        String wait = kafkaConsumer.values().get("fetch.max.wait.ms");
        if (wait != null && healthKafkaGrace != null) {
            long waitMillis;
            try {
                waitMillis = Long.parseLong(wait.trim());
            } catch (NumberFormatException e) {
                waitMillis = -1; // Kafka's consumer says what is wrong with it
            }
            if (waitMillis >= healthKafkaGrace.toMillis()) {
                throw new ConfigException(
                        "api.health-kafka-grace ("
                                + healthKafkaGrace.toMillis()
                                + " ms) must be longer than kafka.consumer.fetch.max.wait.ms ("
                                + waitMillis
                                + " ms): an idle Kafka answers a fetch only that often, and"
                                + " /health would say DOWN of a healthy service");
            }
        }
        if (grafanaUrl != null
                && (grafanaUrl.getRawUserInfo() != null
                        || grafanaUrl.getRawQuery() != null
                        || grafanaUrl.getRawFragment() != null)) {
            // Not repeated: a login in it may hold a password.
            throw new ConfigException(
                    "links.grafana-url must be Grafana's address alone, without a login, a query"
                            + " or a fragment: it is sent in every notification");
        }
    }

    /**
     * Kafka consumer settings passed through as they are, for a secured Kafka (SASL, SSL): from
     * {@code kafka.consumer} in the file. A secret one ({@code sasl.jaas.config}, a password) comes
     * from {@code <key>-env} (an environment variable's name) or {@code <key>-file}, never from the
     * file itself. Shown with secrets masked.
     */
    public record KafkaConsumerSettings(Map<String, String> values) {
        public static final KafkaConsumerSettings NONE = new KafkaConsumerSettings(Map.of());

        /** What the service sets itself: the alert journal's guarantees depend on them. */
        static final List<String> RESERVED =
                List.of(
                        "bootstrap.servers",
                        "group.id",
                        "enable.auto.commit",
                        "isolation.level",
                        "auto.offset.reset",
                        "key.deserializer",
                        "value.deserializer");

        public KafkaConsumerSettings {
            values = Map.copyOf(values);
        }

        @Override
        public String toString() {
            Map<String, String> shown = new java.util.TreeMap<>();
            values.forEach((k, v) -> shown.put(k, LayeredSettings.isSecret(k) ? "****" : v));
            return "KafkaConsumerSettings" + shown;
        }
    }

    /**
     * This config, read from {@code file} while alerting runs with {@code running}, if alerting can
     * restart with it: its receivers, routes, limits and API may change; what it reads from Kafka
     * may not (its journal holds positions in that topic for that group). A changed API port is
     * found taken here, before alerting stops for it, rather than by the restarted service.
     *
     * @throws ConfigException naming the file and what cannot change
     */
    public AlertingConfig checkedAsChangeOf(AlertingConfig running, Path file) {
        if (!kafkaBootstrap.equals(running.kafkaBootstrap())
                || !alertsTopic.equals(running.alertsTopic())
                || !dlqTopic.equals(running.dlqTopic())
                || !groupId.equals(running.groupId())
                || !kafkaConsumer.equals(running.kafkaConsumer())) {
            throw new ConfigException(
                    file
                            + ": its kafka settings (bootstrap, topics, group, consumer) changed; they are"
                            + " applied only at a start");
        }
        if (apiPort >= 0 && (apiPort != running.apiPort() || !apiHost.equals(running.apiHost()))) {
            FreePorts.requireFree(
                    apiHost,
                    apiPort,
                    file + ": api.port",
                    "stop what holds it, or choose another (-1: no API)");
        }
        return this;
    }

    /**
     * Alerting's file and the files it names (every {@code *-file} key: secrets, CA certificates),
     * as far as it can be read: what a watch of alerting's settings reads again for a change, so a
     * secret rotated in its file is taken up. Checks nothing; {@link #load} does.
     */
    public static List<Path> files(Path file) {
        return YamlFiles.namedFiles(file);
    }

    /**
     * A single value: a mapping or a list where one is asked for became "" (the store in the
     * working folder, an empty topic).
     */
    private static String scalar(JsonNode parent, String key, String otherwise, String where) {
        JsonNode v = parent.get(key);
        if (v == null || v.isNull()) {
            return otherwise;
        }
        if (!v.isValueNode() || v.asText().isBlank()) {
            throw new ConfigException(where + "." + key + " must be one value, not " + v);
        }
        return v.asText();
    }

    /**
     * A topic one can publish to: with a wildcard, every publish was refused as if the broker were
     * away, retried for give-up-after, then given up, andon after andon.
     */
    private static String mqttTopic(String template, String where) {
        if (template.isBlank() || template.contains("+") || template.contains("#")) {
            throw new ConfigException(
                    where
                            + ".topic '"
                            + template
                            + "' is not a topic to publish to: no '+' or '#', not empty");
        }
        return template;
    }

    /** As Kafka names topics; refused here rather than by Kafka at the first poll. */
    private static String topicName(String key, String name) {
        if (!name.matches("[a-zA-Z0-9._-]{1,249}") || name.equals(".") || name.equals("..")) {
            throw new ConfigException(
                    "kafka."
                            + key
                            + " '"
                            + name
                            + "' is not a Kafka topic name (letters, digits, '.', '_', '-')");
        }
        return name;
    }

    public static AlertingConfig load(
            Path file, String kafkaBootstrapFlag, Function<String, String> env) {
        String source = file == null ? "(no file)" : file.toString();
        JsonNode root =
                file == null ? new ObjectMapper().createObjectNode() : YamlFiles.readMapping(file);
        checkKeys(root, source);
        String bootstrap =
                kafkaBootstrapFlag != null
                        ? kafkaBootstrapFlag
                        : root.path("kafka").path("bootstrap").asText(null);
        if (bootstrap == null || bootstrap.isBlank()) {
            throw new ConfigException(
                    source + ": kafka.bootstrap is required (or --kafka-bootstrap)");
        }
        Map<String, Receiver> receivers = new LinkedHashMap<>();
        JsonNode list = root.path("receivers");
        for (int i = 0; i < list.size(); i++) {
            JsonNode r = list.get(i);
            String where = source + ": receivers[" + i + "]";
            String name = r.path("name").asText("");
            if (name.isBlank()) {
                throw new ConfigException(where + ".name is required");
            }
            if (receivers.containsKey(name)) {
                // The later one silently took the earlier one's place, and its routes with it.
                throw new ConfigException(
                        where
                                + ".name "
                                + name
                                + " is an earlier receiver's name; routes name receivers, so each"
                                + " needs its own");
            }
            String type = r.path("type").asText("webhook");
            Set<String> keys = RECEIVER_KEYS.get(type);
            if (keys != null) {
                known(r, keys, where + ".", "a " + type + " receiver's setting");
            }
            if (type.equals("mqtt")) {
                URI broker = uri(r, "broker", "tcp://127.0.0.1:1883", where, "tcp", "ssl");
                if (broker.getRawUserInfo() != null) {
                    // A login in the URL is a secret in the file.
                    throw new ConfigException(
                            where
                                    + ".broker carries a login (user:password@); give username"
                                    + " and password-env or password-file instead, as a password"
                                    + " must not be written in the file");
                }
                String username = r.hasNonNull("username") ? r.get("username").asText() : null;
                receivers.put(
                        name,
                        new MqttReceiver(
                                name,
                                broker,
                                caFile(r, broker, where),
                                username,
                                password(
                                        r,
                                        username,
                                        where,
                                        env,
                                        "PLANTWATCH_ALERTING_MQTT_PASSWORD"),
                                mqttTopic(
                                        r.path("topic")
                                                .asText(
                                                        "plant/{site}/{area}/{line}/{machine}/alerts"),
                                        where),
                                duration(r, "give-up-after", "1h", where, GIVE_UP)));
                continue;
            }
            if (type.equals("pagerduty")) {
                String key;
                if (r.has("routing-key-file")) {
                    key =
                            new String(
                                    secretFile(r, "routing-key-file", where),
                                    StandardCharsets.UTF_8);
                } else {
                    key =
                            env.apply(
                                    r.path("routing-key-env")
                                            .asText("PLANTWATCH_PAGERDUTY_ROUTING_KEY"));
                }
                if (key == null || key.isBlank()) {
                    throw new ConfigException(where + " needs routing-key-env or routing-key-file");
                }
                receivers.put(
                        name,
                        new PagerDutyReceiver(
                                name,
                                uri(
                                        r,
                                        "url",
                                        PagerDutyReceiver.EVENTS_V2.toString(),
                                        where,
                                        "http",
                                        "https"),
                                key,
                                duration(r, "timeout", "5s", where, MORE_THAN_ZERO),
                                duration(r, "max-backoff", "1m", where, BACKOFF),
                                duration(r, "give-up-after", "1h", where, GIVE_UP),
                                template(
                                        r,
                                        type,
                                        "summary",
                                        PagerDutyReceiver.SHIPPED_SUMMARY,
                                        where)));
                continue;
            }
            if (type.equals("slack")) {
                // An incoming-webhook URL is itself the secret: from the environment or a file.
                URI url = secretUrl(r, where, env, "PLANTWATCH_SLACK_WEBHOOK_URL");
                NotificationTemplate text = template(r, type, "text", SlackFormat.SHIPPED, where);
                receivers.put(
                        name,
                        new WebhookReceiver(
                                name,
                                url,
                                null,
                                duration(r, "timeout", "5s", where, MORE_THAN_ZERO),
                                duration(r, "max-backoff", "1m", where, BACKOFF),
                                duration(r, "give-up-after", "1h", where, GIVE_UP),
                                n -> SlackFormat.render(n, text)));
                continue;
            }
            if (type.equals("console")) {
                receivers.put(name, new ConsoleReceiver(name, System.out));
                continue;
            }
            if (type.equals("email")) {
                receivers.put(name, email(name, r, where, env));
                continue;
            }
            if (!type.equals("webhook")) {
                throw new ConfigException(
                        where
                                + ".type '"
                                + type
                                + "' is not supported; use webhook, slack, email, pagerduty, mqtt or console");
            }
            // A URL written in the file is known to whoever reads the file, so what is sent to it
            // is signed; a URL given as a secret (a chat's incoming webhook) authenticates itself,
            // and a signature is sent only when a secret is set.
            if (r.has("url") && (r.has("url-env") || r.has("url-file"))) {
                throw new ConfigException(
                        where
                                + " has url and url-"
                                + (r.has("url-env") ? "env" : "file")
                                + "; keep one");
            }
            URI secretUrl = secretUrl(r, where, env, null);
            if (secretUrl == null && !r.hasNonNull("url")) {
                throw new ConfigException(
                        where
                                + " needs url, or url-env or url-file for a URL that is itself a"
                                + " secret (a chat's incoming webhook)");
            }
            NotificationTemplate body = template(r, type, "body", null, where);
            receivers.put(
                    name,
                    new WebhookReceiver(
                            name,
                            secretUrl != null
                                    ? secretUrl
                                    : uri(r, "url", null, where, "http", "https"),
                            secretUrl == null
                                            || r.has("secret")
                                            || r.has("secret-env")
                                            || r.has("secret-file")
                                    ? secret(r, where, env)
                                    : null,
                            duration(r, "timeout", "5s", where, MORE_THAN_ZERO),
                            duration(r, "max-backoff", "1m", where, BACKOFF),
                            duration(r, "give-up-after", "1h", where, GIVE_UP),
                            body == null
                                    ? null
                                    : JsonTemplate.body(
                                            body,
                                            where
                                                    + (r.path("template").has("body-file")
                                                            ? ".template.body-file "
                                                                    + r.path("template")
                                                                            .get("body-file")
                                                                            .asText()
                                                            : ".template.body"))));
        }
        if (receivers.isEmpty()) {
            throw new ConfigException(source + ": receivers: name at least one receiver");
        }
        String alertsTopic =
                topicName(
                        "alerts-topic",
                        scalar(
                                root.path("kafka"),
                                "alerts-topic",
                                Topics.ALERTS,
                                source + ": kafka"));
        String dlqTopic =
                topicName(
                        "dlq-topic",
                        scalar(
                                root.path("kafka"),
                                "dlq-topic",
                                Topics.ALERTS_DLQ,
                                source + ": kafka"));
        if (dlqTopic.equals(alertsTopic)) {
            throw new ConfigException(
                    source + ": kafka.dlq-topic must differ from kafka.alerts-topic");
        }
        return new AlertingConfig(
                bootstrap,
                alertsTopic,
                dlqTopic,
                scalar(root.path("kafka"), "group-id", "plantwatch-alerting", source + ": kafka"),
                Path.of(scalar(root.path("store"), "dir", "data/alerting", source + ": store")),
                duration(
                        root.path("store"),
                        "retention",
                        "30d",
                        source + ": store",
                        // Shorter, a job restored from an older checkpoint replays states of
                        // episodes the store has forgotten, and people are told them again.
                        new Least(
                                Duration.ofDays(1),
                                "1d or more (a replayed alert state must find its episode)",
                                // An audit may want years; the store only compares event times.
                                Duration.ofDays(3650))),
                integer(root.path("flood"), "limit", 20, source + ": flood", 1, MAX, "1 or more"),
                duration(root.path("flood"), "window", "10m", source + ": flood", MORE_THAN_ZERO),
                integer(
                        root.path("flapping"),
                        "max-changes",
                        6,
                        source + ": flapping",
                        1,
                        MAX,
                        "1 or more"),
                duration(
                        root.path("flapping"),
                        "window",
                        "30m",
                        source + ": flapping",
                        MORE_THAN_ZERO),
                receivers,
                Routing.parse(root.get("route"), receivers.keySet(), source),
                latching(root.path("latching"), source),
                Inhibition.parse(root.path("inhibit"), source),
                root.path("api").path("host").asText("0.0.0.0"),
                integer(
                        root.path("api"),
                        "port",
                        9500,
                        source + ": api",
                        -1,
                        65535,
                        "-1 (the API off), 0 (any free port, logged at start) or 1 to 65535"),
                apiToken(root.path("api"), source + ": api", env),
                kafkaConsumer(
                        root.path("kafka").path("consumer"), source + ": kafka.consumer", env),
                duration(
                        root.path("api"),
                        "health-kafka-grace",
                        "30s",
                        source + ": api",
                        HEALTH_GRACE),
                root.path("links").has("grafana-url")
                        ? uri(
                                root.path("links"),
                                "grafana-url",
                                null,
                                source + ": links",
                                "http",
                                "https")
                        : null,
                pipelineAlerts(root.path("pipeline-alerts"), source + ": pipeline-alerts"),
                heartbeat(root.path("heartbeat"), source + ": heartbeat", env));
    }

    /** {@code heartbeat}: off unless set. Its URL holds the monitor's token, so it is a secret. */
    private static Heartbeat.Settings heartbeat(
            JsonNode n, String where, Function<String, String> env) {
        if (n.isMissingNode() || n.isNull()) {
            return null;
        }
        URI url = secretUrl(n, where, env, null);
        if (url == null) {
            throw new ConfigException(
                    where + " needs url-env or url-file (the monitor's URL holds its token)");
        }
        return new Heartbeat.Settings(
                url,
                duration(
                        n,
                        "every",
                        "1m",
                        where,
                        new Least(Duration.ofSeconds(1), "1s or more", Duration.ofDays(1))));
    }

    /**
     * A URL that is itself a secret (a chat's incoming webhook, a monitor's ping URL): from the
     * variable {@code url-env} names ({@code defaultVariable} when neither key is set; null: none)
     * or the first line of the file {@code url-file} names; null when there is none. Errors say
     * where it came from, never the URL.
     */
    private static URI secretUrl(
            JsonNode n, String where, Function<String, String> env, String defaultVariable) {
        if (n.has("url-file") && n.has("url-env")) {
            throw new ConfigException(where + " has url-file and url-env; keep one");
        }
        String url;
        String from;
        if (n.has("url-file")) {
            url = new String(secretFile(n, "url-file", where), StandardCharsets.UTF_8).strip();
            from = ".url-file " + n.get("url-file").asText();
        } else if (n.has("url-env") || defaultVariable != null) {
            String var = n.has("url-env") ? n.get("url-env").asText() : defaultVariable;
            url = env.apply(var);
            from = ".url-env " + var;
            if (url == null || url.isBlank()) {
                throw new ConfigException(
                        where
                                + from
                                + " is not set (the URL is a secret, so it is not in the file)");
            }
            url = url.strip();
        } else {
            return null;
        }
        String problem = urlProblem(url, "http", "https");
        if (problem != null) {
            throw new ConfigException(
                    where
                            + from
                            + " is not a http or https URL with a host: "
                            + problem
                            + " (the value is a secret and not shown)");
        }
        return URI.create(url);
    }

    private static PipelineAlerts.Settings pipelineAlerts(JsonNode n, String where) {
        JsonNode enabled = n.path("enabled");
        if (!enabled.isMissingNode() && !enabled.isNull() && !enabled.isBoolean()) {
            throw new ConfigException(where + ".enabled must be true or false, not " + enabled);
        }
        PipelineAlerts.Settings d = PipelineAlerts.Settings.DEFAULT;
        String instance = scalar(n, "instance", d.instance(), where);
        try {
            SensorId.parse(
                    PipelineAlerts.SITE + "/" + PipelineAlerts.AREA + "/" + instance + "/a/b");
        } catch (IllegalArgumentException e) {
            throw new ConfigException(
                    where
                            + ".instance '"
                            + instance
                            + "' is not one level of a sensor id (no '/', '+', '#' or control"
                            + " characters, at most "
                            + SensorId.MAX_LEVEL_LENGTH
                            + " characters)");
        }
        return new PipelineAlerts.Settings(
                enabled.asBoolean(d.enabled()),
                instance,
                duration(
                        n,
                        "after",
                        d.after().toSeconds() + "s",
                        where,
                        new Least(
                                Duration.ofSeconds(5),
                                "5s or more (parts restart in seconds)",
                                Duration.ofDays(1))));
    }

    private static KafkaConsumerSettings kafkaConsumer(
            JsonNode node, String where, Function<String, String> env) {
        if (node.isMissingNode() || node.isNull()) {
            return KafkaConsumerSettings.NONE;
        }
        if (!node.isObject()) {
            throw new ConfigException(where + " must be a mapping of Kafka consumer settings");
        }
        Map<String, String> values = new LinkedHashMap<>();
        for (var it = node.fields(); it.hasNext(); ) {
            var e = it.next();
            String key = e.getKey();
            JsonNode v = e.getValue();
            if (!v.isValueNode() || v.isNull()) {
                throw new ConfigException(where + "." + key + " must be a single value");
            }
            if (key.endsWith("-env")) {
                String name = key.substring(0, key.length() - "-env".length());
                String value = env.apply(v.asText());
                if (value == null || value.isBlank()) {
                    throw new ConfigException(
                            where + "." + key + " names " + v.asText() + ", which is not set");
                }
                values.put(name, value);
                checkJaas(
                        name, value, where + "." + key + " names " + v.asText() + ", whose value");
            } else if (key.endsWith("-file")) {
                String name = key.substring(0, key.length() - "-file".length());
                String value = new String(secretFile(node, key, where), StandardCharsets.UTF_8);
                values.put(name, value);
                checkJaas(name, value, where + "." + key + " " + v.asText());
            } else if (LayeredSettings.isSecret(key)) {
                throw new ConfigException(
                        where
                                + "."
                                + key
                                + " must not be written in the file; use "
                                + key
                                + "-env or "
                                + key
                                + "-file");
            } else {
                values.put(key, v.asText());
            }
        }
        for (String key : values.keySet()) {
            if (KafkaConsumerSettings.RESERVED.contains(key)) {
                throw new ConfigException(
                        where
                                + "."
                                + key
                                + " is set by the service itself (reserved: "
                                + String.join(", ", KafkaConsumerSettings.RESERVED)
                                + ")");
            }
        }
        return new KafkaConsumerSettings(values);
    }

    /**
     * Parses a {@code sasl.jaas.config} as the Kafka client will, so a mistake stops the start with
     * one line rather than a Kafka stack trace. The value holds a password: the line names where it
     * came from, and any part of it that Kafka's message quotes is masked.
     */
    private static void checkJaas(String key, String value, String source) {
        if (!key.equals(org.apache.kafka.common.config.SaslConfigs.SASL_JAAS_CONFIG)) {
            return;
        }
        String problem = io.plantwatch.model.KafkaClientSettings.jaasLoginProblem(value);
        if (problem != null) {
            throw new ConfigException(
                    source
                            + " is not a JAAS login: "
                            + problem
                            + " (the value is a secret and not shown)");
        }
    }

    /** The settings of each section; a key not here is a typo that would silently do nothing. */
    private static final Map<String, Set<String>> SECTION_KEYS =
            Map.ofEntries(
                    Map.entry(
                            "",
                            Set.of(
                                    "kafka",
                                    "store",
                                    "flood",
                                    "flapping",
                                    "receivers",
                                    "route",
                                    "latching",
                                    "inhibit",
                                    "api",
                                    "links",
                                    "pipeline-alerts",
                                    "heartbeat")),
                    Map.entry(
                            "kafka",
                            Set.of(
                                    "bootstrap",
                                    "alerts-topic",
                                    "dlq-topic",
                                    "group-id",
                                    "consumer")),
                    Map.entry("store", Set.of("dir", "retention")),
                    Map.entry("flood", Set.of("limit", "window")),
                    Map.entry("flapping", Set.of("max-changes", "window")),
                    Map.entry(
                            "api",
                            Set.of(
                                    "host",
                                    "port",
                                    "token",
                                    "token-file",
                                    "token-env",
                                    "health-kafka-grace")),
                    Map.entry("links", Set.of("grafana-url")),
                    Map.entry("pipeline-alerts", Set.of("enabled", "instance", "after")),
                    Map.entry("heartbeat", Set.of("url-env", "url-file", "every")));

    private static final Set<String> DELIVERY = Set.of("timeout", "max-backoff", "give-up-after");

    private static final Map<String, Set<String>> RECEIVER_KEYS =
            Map.of(
                    "webhook",
                    with(
                            DELIVERY,
                            "url",
                            "url-env",
                            "url-file",
                            "secret",
                            "secret-file",
                            "secret-env",
                            "template"),
                    "slack",
                    with(DELIVERY, "url-file", "url-env", "template"),
                    "pagerduty",
                    with(DELIVERY, "url", "routing-key-file", "routing-key-env", "template"),
                    "email",
                    with(
                            DELIVERY,
                            "template",
                            "host",
                            "port",
                            "tls",
                            "username",
                            "password",
                            "password-file",
                            "password-env",
                            "from",
                            "to",
                            "trust"),
                    "mqtt",
                    Set.of(
                            "broker",
                            "topic",
                            "give-up-after",
                            "ca-file",
                            "username",
                            "password",
                            "password-file",
                            "password-env"),
                    "console",
                    Set.of());

    /** The texts a receiver type's {@code template} may write. */
    private static final Map<String, List<String>> TEMPLATE_TEXTS =
            Map.of(
                    "slack", List.of("text"),
                    "webhook", List.of("body"),
                    "email", List.of("subject", "body"),
                    "pagerduty", List.of("summary"));

    /**
     * Receiver {@code r}'s {@code template.<text>} (written in the file, or in the file {@code
     * template.<text>-file} names), in its {@code template.time-zone}; {@code shipped} in that zone
     * when it writes none (null: a webhook's, whose body is otherwise the notification's JSON).
     */
    private static NotificationTemplate template(
            JsonNode r, String type, String text, NotificationTemplate shipped, String where) {
        JsonNode t = r.path("template");
        if (t.isMissingNode() || t.isNull()) {
            return shipped;
        }
        String at = where + ".template";
        if (!t.isObject()) {
            throw new ConfigException(
                    at
                            + " must be a map of texts ("
                            + String.join(", ", TEMPLATE_TEXTS.get(type))
                            + ", each or its -file) and time-zone");
        }
        Set<String> keys = new java.util.HashSet<>(Set.of("time-zone"));
        TEMPLATE_TEXTS.get(type).forEach(k -> keys.addAll(List.of(k, k + "-file")));
        // Not known(), which lets a receiver's own name and type through: a template has neither.
        String what = (type.equals("email") ? "an e-mail" : "a " + type) + " template's setting";
        for (java.util.Iterator<String> it = t.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (!keys.contains(key)) {
                throw new ConfigException(
                        at
                                + "."
                                + key
                                + " is not "
                                + what
                                + "; known: "
                                + String.join(", ", new java.util.TreeSet<>(keys)));
            }
        }
        java.time.ZoneId zone = java.time.ZoneId.of("UTC");
        if (t.hasNonNull("time-zone")) {
            String name = t.get("time-zone").asText();
            try {
                zone = java.time.ZoneId.of(name);
            } catch (java.time.DateTimeException e) {
                throw new ConfigException(
                        at
                                + ".time-zone '"
                                + name
                                + "' is not a time zone; give a region as Europe/Berlin, or UTC",
                        e);
            }
        }
        NotificationTemplate.Scope scope =
                shipped == null ? NotificationTemplate.Scope.NOTIFICATION : shipped.scope();
        if (t.has(text) && t.has(text + "-file")) {
            throw new ConfigException(
                    at + " has both " + text + " and " + text + "-file; keep one");
        }
        if (t.has(text)) {
            if (!t.get(text).isTextual()) {
                throw new ConfigException(at + "." + text + " must be text");
            }
            return NotificationTemplate.parse(t.get(text).asText(), scope, at + "." + text)
                    .in(zone);
        }
        if (t.has(text + "-file")) {
            if (!t.get(text + "-file").isTextual() || t.get(text + "-file").asText().isBlank()) {
                throw new ConfigException(at + "." + text + "-file must name a file");
            }
            String setting = at + "." + text + "-file " + t.get(text + "-file").asText();
            Path file = Path.of(t.get(text + "-file").asText());
            String written;
            try (java.io.InputStream in = Files.newInputStream(file)) {
                // At most what a template may hold (4 bytes a character), so a log file or a
                // device named by mistake is not read whole at every start and change.
                byte[] bytes = in.readNBytes(NotificationTemplate.MAX_LENGTH * 4 + 1);
                if (bytes.length > NotificationTemplate.MAX_LENGTH * 4) {
                    throw new ConfigException(
                            setting
                                    + " is longer than "
                                    + NotificationTemplate.MAX_LENGTH
                                    + " characters; is it the right file?");
                }
                written =
                        java.nio.charset.StandardCharsets.UTF_8
                                .newDecoder()
                                .decode(java.nio.ByteBuffer.wrap(bytes))
                                .toString();
            } catch (java.nio.file.NoSuchFileException e) {
                throw new ConfigException(setting + " does not exist", e);
            } catch (java.nio.charset.CharacterCodingException e) {
                throw new ConfigException(setting + " is not UTF-8 text", e);
            } catch (java.io.IOException e) {
                throw new ConfigException(
                        setting
                                + " cannot be read ("
                                + (e instanceof java.nio.file.AccessDeniedException
                                        ? "permission denied"
                                        : Files.isDirectory(file)
                                                ? "a directory"
                                                : e.getClass().getSimpleName())
                                + ")",
                        e);
            }
            return NotificationTemplate.parse(written, scope, setting).in(zone);
        }
        if (shipped == null) {
            throw new ConfigException(
                    at
                            + " sets no "
                            + text
                            + " (or "
                            + text
                            + "-file); without one it does nothing");
        }
        return shipped.in(zone);
    }

    private static Set<String> with(Set<String> base, String... more) {
        Set<String> all = new java.util.HashSet<>(base);
        all.addAll(List.of(more));
        return Set.copyOf(all);
    }

    private static void checkKeys(JsonNode root, String source) {
        if (!root.isObject()) {
            throw new ConfigException(
                    source + ": is not a map of settings (kafka, receivers, ...)");
        }
        for (Map.Entry<String, Set<String>> section : SECTION_KEYS.entrySet()) {
            String name = section.getKey();
            JsonNode n = name.isEmpty() ? root : root.path(name);
            if (n.isMissingNode() || n.isNull()) {
                continue;
            }
            if (!n.isObject()) {
                throw new ConfigException(source + ": " + name + " must be a map of settings");
            }
            known(
                    n,
                    section.getValue(),
                    source + ": " + (name.isEmpty() ? "" : name + "."),
                    name.isEmpty() ? "a section" : "a " + name + " setting");
        }
        if (!root.path("receivers").isMissingNode() && !root.path("receivers").isArray()) {
            throw new ConfigException(source + ": receivers must be a list");
        }
        if (!root.path("latching").isMissingNode() && !root.path("latching").isArray()) {
            throw new ConfigException(source + ": latching must be a list");
        }
    }

    /** Refuses a key of {@code n} not among {@code keys}; {@code prefix} names where n is. */
    private static void known(JsonNode n, Set<String> keys, String prefix, String what) {
        for (java.util.Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (!keys.contains(key) && !key.equals("name") && !key.equals("type")) {
                throw new ConfigException(
                        prefix
                                + key
                                + " is not "
                                + what
                                + "; known: "
                                + String.join(", ", new java.util.TreeSet<>(keys)));
            }
        }
    }

    private static final int MAX = Integer.MAX_VALUE;

    /**
     * A whole number from {@code min} to {@code max}, or {@code def} when absent; {@code allowed}
     * says the range in the error.
     */
    private static int integer(
            JsonNode n, String key, int def, String where, int min, int max, String allowed) {
        JsonNode v = n.path(key);
        if (v.isMissingNode() || v.isNull()) {
            return def;
        }
        if (!v.canConvertToInt() || !v.isIntegralNumber()) {
            throw new ConfigException(
                    where + "." + key + " '" + v.asText() + "' is not a whole number");
        }
        if (v.intValue() < min || v.intValue() > max) {
            throw new ConfigException(
                    where
                            + "."
                            + key
                            + " "
                            + v.intValue()
                            + " is out of range; allowed: "
                            + allowed);
        }
        return v.intValue();
    }

    /** An absolute URI with one of {@code schemes}; {@code def} when absent (null: required). */
    private static URI uri(JsonNode r, String key, String def, String where, String... schemes) {
        String text = r.path(key).asText(def);
        if (text == null || text.isBlank()) {
            throw new ConfigException(where + "." + key + " is required");
        }
        String problem = urlProblem(text, schemes);
        if (problem == null) {
            return URI.create(text);
        }
        throw new ConfigException(
                where
                        + "."
                        + key
                        // A URL with a login in it is not repeated: the login may hold a password.
                        + (text.contains("@") ? "" : " '" + text + "'")
                        + " is not a "
                        + String.join(" or ", schemes)
                        + " URL with a host, e.g. "
                        + schemes[0]
                        + "://host:port/ ("
                        + problem
                        + ")");
    }

    /**
     * What keeps {@code text} from being an absolute URL with one of {@code schemes}, a host and a
     * port in range; null when nothing does. It never quotes the text, which may be a secret.
     */
    static String urlProblem(String text, String... schemes) {
        URI u;
        try {
            u = new URI(text);
        } catch (java.net.URISyntaxException e) {
            // Its message repeats the input: only the reason and the position are told.
            return e.getReason() + (e.getIndex() < 0 ? "" : " at index " + e.getIndex());
        }
        if (u.getScheme() == null) {
            return "it has no scheme";
        }
        if (!List.of(schemes).contains(u.getScheme().toLowerCase(java.util.Locale.ROOT))) {
            return "its scheme is not " + String.join(" or ", schemes);
        }
        if (u.getHost() == null) {
            return "it has no host";
        }
        if (u.getPort() == 0 || u.getPort() > 65535) {
            return "its port " + u.getPort() + " is not between 1 and 65535";
        }
        return null;
    }

    private static EmailReceiver email(
            String name, JsonNode r, String where, Function<String, String> env) {
        String host = r.path("host").asText("");
        if (host.isBlank()) {
            throw new ConfigException(where + ".host is required (the SMTP server)");
        }
        EmailReceiver.Tls tls;
        String tlsName = r.path("tls").asText("starttls");
        try {
            tls = EmailReceiver.Tls.valueOf(tlsName.toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new ConfigException(
                    where + ".tls '" + tlsName + "' is not one of starttls, implicit, off", e);
        }
        String username = r.hasNonNull("username") ? r.get("username").asText() : null;
        byte[] password = password(r, username, where, env, "PLANTWATCH_SMTP_PASSWORD");
        String from = r.path("from").asText("");
        java.util.List<String> to = new java.util.ArrayList<>();
        r.path("to").forEach(t -> to.add(t.asText()));
        if (r.path("to").isTextual()) {
            to.add(r.get("to").asText());
        }
        if (from.isBlank() || to.isEmpty()) {
            throw new ConfigException(where + " needs from and to (one address or a list)");
        }
        // Checked here, or every message would be retried until give-up-after, then dropped.
        emailAddress(from, where + ".from");
        to.forEach(address -> emailAddress(address, where + ".to"));
        return new EmailReceiver(
                name,
                new EmailReceiver.Settings(
                        host,
                        integer(
                                r,
                                "port",
                                tls == EmailReceiver.Tls.IMPLICIT ? 465 : 587,
                                where,
                                1,
                                65535,
                                "1 to 65535"),
                        tls,
                        username,
                        password,
                        from,
                        to,
                        duration(r, "timeout", "10s", where, MORE_THAN_ZERO),
                        duration(r, "max-backoff", "1m", where, BACKOFF),
                        duration(r, "give-up-after", "1h", where, GIVE_UP),
                        r.hasNonNull("trust") ? r.get("trust").asText() : null),
                template(r, "email", "subject", EmailReceiver.SHIPPED_SUBJECT, where),
                template(r, "email", "body", EmailReceiver.SHIPPED_BODY, where));
    }

    /**
     * The password a receiver logs in with as {@code username}, null without one: from {@code
     * password-file}, or from the variable {@code password-env} names ({@code defaultVariable} when
     * absent). One written in the file is refused.
     */
    private static byte[] password(
            JsonNode r,
            String username,
            String where,
            Function<String, String> env,
            String defaultVariable) {
        if (r.has("password")) {
            throw new ConfigException(
                    where
                            + ".password must not be written in the file; use password-file or"
                            + " password-env");
        }
        if (username == null) {
            for (String key : List.of("password-file", "password-env")) {
                if (r.has(key)) {
                    // It would be ignored: without a username the receiver sends no login.
                    throw new ConfigException(
                            where + "." + key + " is set but username is not; name the user");
                }
            }
            return null;
        }
        if (r.has("password-file")) {
            return secretFile(r, "password-file", where);
        }
        String var = r.path("password-env").asText(defaultVariable);
        String v = env.apply(var);
        if (v == null || v.isBlank()) {
            throw new ConfigException(
                    where + " logs in as " + username + ": set " + var + " or password-file");
        }
        return v.getBytes(StandardCharsets.UTF_8);
    }

    /**
     * The CA certificates an {@code ssl://} broker's certificate is checked against, from the PEM
     * file {@code ca-file} names; null without one (the JVM's). Read here, not at the first
     * delivery: a wrong file is a setting to fix, said at start, and not a failure of every
     * notification for an hour.
     */
    private static TrustManagerFactory caFile(JsonNode r, URI broker, String where) {
        if (!r.hasNonNull("ca-file")) {
            return null;
        }
        String setting = where + ".ca-file";
        if (!broker.getScheme().equalsIgnoreCase("ssl")) {
            // Otherwise the file would suggest TLS while the alerts cross the network in clear.
            throw new ConfigException(
                    setting + " is for an ssl:// broker; " + broker + " is not one");
        }
        Path file = Path.of(r.get("ca-file").asText());
        if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
            throw new ConfigException(setting + " names a file that cannot be read: " + file);
        }
        try {
            return Secrets.trustFromPem(file);
        } catch (IllegalArgumentException e) {
            Throwable why = e.getCause();
            throw new ConfigException(
                    setting
                            + " "
                            + file
                            + " holds no CA certificate in PEM"
                            + (why == null
                                    ? ""
                                    : ": "
                                            + String.valueOf(why.getMessage())
                                                    .lines()
                                                    .findFirst()
                                                    .orElse("")));
        }
    }

    private static void emailAddress(String address, String setting) {
        try {
            new jakarta.mail.internet.InternetAddress(address, true);
        } catch (jakarta.mail.internet.AddressException e) {
            throw new ConfigException(
                    setting + " '" + address + "' is not an e-mail address: " + e.getMessage());
        }
    }

    /** Matchers for alerts that stay open until acknowledged, even after they cleared. */
    private static List<AlertMatcher> latching(JsonNode list, String source) {
        List<AlertMatcher> out = new java.util.ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            AlertMatcher m = AlertMatcher.parse(list.get(i), source, "latching[" + i + "]");
            if (m.isEmpty()) {
                throw new ConfigException(
                        source
                                + ": latching["
                                + i
                                + "] needs sensors or match; it would latch every alert");
            }
            out.add(m);
        }
        return out;
    }

    /** The API's bearer token; null when the API is switched off (port -1). */
    private static byte[] apiToken(JsonNode api, String where, Function<String, String> env) {
        if (api.path("port").asInt(9500) < 0) {
            return null;
        }
        if (api.has("token")) {
            throw new ConfigException(
                    where + ".token must not be written in the file; use token-file or token-env");
        }
        if (api.has("token-file")) {
            return secretFile(api, "token-file", where);
        }
        String var = api.path("token-env").asText("PLANTWATCH_ALERTING_TOKEN");
        String v = env.apply(var);
        if (v == null || v.isBlank()) {
            throw new ConfigException(
                    where
                            + " needs a token: set "
                            + var
                            + " or api.token-file (or api.port: -1 to switch the API off)");
        }
        return v.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] secret(JsonNode r, String where, Function<String, String> env) {
        if (r.has("secret")) {
            throw new ConfigException(
                    where
                            + ".secret must not be written in the file; use secret-file or secret-env");
        }
        if (r.has("secret-file")) {
            return secretFile(r, "secret-file", where);
        }
        if (r.has("secret-env")) {
            String v = env.apply(r.get("secret-env").asText());
            if (v == null || v.isBlank()) {
                throw new ConfigException(
                        where
                                + ".secret-env names "
                                + r.get("secret-env").asText()
                                + ", which is not set");
            }
            return v.getBytes(StandardCharsets.UTF_8);
        }
        throw new ConfigException(where + " needs secret-file or secret-env to sign its webhooks");
    }

    /**
     * The secret in the first line of the file that {@code n.key} names. An empty one is refused
     * here, since every delivery or request would fail with it later. Errors name the key and the
     * file, never what it holds.
     */
    private static byte[] secretFile(JsonNode n, String key, String where) {
        String setting = where + "." + key;
        Path file = Path.of(n.get(key).asText());
        if (Files.isDirectory(file)) {
            throw new ConfigException(
                    setting + " " + file + " is a directory; name the file that holds the secret");
        }
        if (!Files.exists(file)) {
            throw new ConfigException(setting + " " + file + " does not exist");
        }
        byte[] secret;
        try {
            secret = Secrets.firstLine(file, setting);
        } catch (IllegalArgumentException e) {
            Throwable why = e.getCause() == null ? e : e.getCause();
            throw new ConfigException(
                    setting
                            + " "
                            + file
                            + " cannot be read ("
                            + (why instanceof java.nio.file.AccessDeniedException
                                    ? "permission denied"
                                    : why instanceof java.nio.charset.CharacterCodingException
                                            ? "not UTF-8 text"
                                            : why.getClass().getSimpleName())
                            + ")");
        }
        if (new String(secret, StandardCharsets.UTF_8).isBlank()) {
            throw new ConfigException(
                    setting + " " + file + " is empty; its first line must hold the secret");
        }
        return secret;
    }

    /** The shortest a duration may be, how its error says so, and the longest. */
    record Least(Duration duration, String allowed, Duration most) {
        Least(Duration duration, String allowed) {
            this(duration, allowed, LONGEST);
        }
    }

    /**
     * No alerting time means anything past a year, and centuries overflow the nanosecond clocks
     * that time them: a give-up-after's deadline wrapped into the past (a receiver gave up at its
     * first failure), or its conversion threw at every delivery.
     */
    static final Duration LONGEST = Duration.ofDays(365);

    /** A timeout or window of 0 would fail every attempt or switch off what it bounds. */
    static final Least MORE_THAN_ZERO = new Least(Duration.ofMillis(1), "1ms or more");

    /** Retries start 200 ms apart; a shorter cap would make them faster, not slower. */
    static final Least BACKOFF =
            new Least(Duration.ofMillis(200), "200ms or more (the first retry's wait)");

    static final Least GIVE_UP = new Least(Duration.ZERO, "0 (one attempt, no retries) or more");

    /**
     * An idle Kafka answers a fetch every fetch.max.wait.ms (500 ms) and the loop polls every 200
     * ms: a shorter grace said DOWN of a healthy service most of the time.
     */
    static final Least HEALTH_GRACE = new Least(Duration.ofSeconds(5), "5s or more");

    private static Duration duration(
            JsonNode n, String key, String def, String where, Least least) {
        String text = n.path(key).asText(def);
        Duration d;
        try {
            d = Durations.parse(text);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(where + "." + key + " " + e.getMessage(), e);
        }
        if (d.compareTo(least.duration()) < 0 || d.compareTo(least.most()) > 0) {
            throw new ConfigException(
                    where
                            + "."
                            + key
                            + " "
                            + text
                            + " is out of range; allowed: "
                            + least.allowed()
                            + ", at most "
                            + least.most().toDays()
                            + "d");
        }
        return d;
    }
}
