package io.plantwatch.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.plantwatch.model.ConfigException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GatewayConfigTest {
    @TempDir Path dir;

    @Test
    void startsWithNoFileAtAll() {
        GatewayConfig c = GatewayConfig.load(null, Map.of(), Map.of());
        assertThat(c.brokerForLog()).isEqualTo("tcp://127.0.0.1:1883");
        assertThat(c.kafkaBootstrap()).isEqualTo("127.0.0.1:9092");
        assertThat(c.subscriptionFilter()).isEqualTo("plant/#");
        assertThat(c.mqttVersion()).isEqualTo(5);
        assertThat(c.sessionExpiry()).isEqualTo(Duration.ofHours(1));
        assertThat(c.producerRestartAfter()).isEqualTo(Duration.ofSeconds(60));
        assertThat(
                        GatewayConfig.load(
                                        null,
                                        Map.of(),
                                        Map.of("kafka.producer-restart-after", "0s"))
                                .producerRestartAfter())
                .isZero();
    }

    @Test
    void aPayloadsOwnFieldNamesAreSettingsCheckedAtStart() {
        assertThat(GatewayConfig.load(null, Map.of(), Map.of()).payloadFormat())
                .isEqualTo(io.plantwatch.model.PayloadFormat.DEFAULT);
        io.plantwatch.model.PayloadFormat f =
                GatewayConfig.load(
                                null,
                                Map.of(),
                                Map.of(
                                        "payload.ts-field", "timestamp",
                                        "payload.value-field", "temp",
                                        "payload.epoch", "s",
                                        "payload.default-unit", "degC"))
                        .payloadFormat();
        assertThat(f.ts()).isEqualTo("timestamp");
        assertThat(f.value()).isEqualTo("temp");
        assertThat(f.epochSeconds()).isTrue();
        assertThat(f.defaultUnit()).isEqualTo("degC");
        assertThatThrownBy(
                        () ->
                                GatewayConfig.load(
                                        null, Map.of(), Map.of("payload.epoch", "minutes")))
                .hasMessageContaining("payload.epoch")
                .hasMessageContaining("ms (epoch milliseconds) or s (seconds)");
        assertThatThrownBy(
                        () ->
                                GatewayConfig.load(
                                        null, Map.of(), Map.of("payload.value-field", "ts")))
                .hasMessageContaining("ts and value are both read from field 'ts'");
        assertThatThrownBy(
                        () ->
                                GatewayConfig.load(
                                        null, Map.of(), Map.of("payload.value-field", " ")))
                .hasMessageContaining("payload.value-field")
                .hasMessageContaining("is empty");
    }

    @Test
    void sparkplugIsOffUntilGroupsAreNamed() {
        SparkplugSettings off = GatewayConfig.load(null, Map.of(), Map.of()).sparkplug();
        assertThat(off.enabled()).isFalse();
        assertThat(off.subscriptionFilters()).isEmpty();
        assertThat(off.stateTopic()).isNull();
        SparkplugSettings on =
                GatewayConfig.load(
                                null,
                                Map.of("PLANTWATCH_GATEWAY_SPARKPLUG_GROUPS", "hall-3, hall-4"),
                                Map.of(
                                        "sparkplug.host-id", "plantwatch",
                                        "mqtt.shared-group", "north"))
                        .sparkplug();
        // Never shared, unlike the plant's own topics: a node's birth and data reach one gateway.
        assertThat(on.subscriptionFilters())
                .containsExactly("spBv1.0/hall-3/#", "spBv1.0/hall-4/#");
        assertThat(on.stateTopic()).isEqualTo("spBv1.0/STATE/plantwatch");
        assertThat(on.requestRebirth()).isTrue();
        assertThat(on.sensorId()).isEqualTo("{group}/default/{node}/{device}/{metric}");
        assertThat(
                        GatewayConfig.load(null, Map.of(), Map.of("sparkplug.groups", "+"))
                                .sparkplug()
                                .subscriptionFilters())
                .containsExactly("spBv1.0/+/#");
    }

    @Test
    void aHostIdWithoutGroupsIsRefused() {
        assertThatThrownBy(
                        () ->
                                GatewayConfig.load(
                                        null, Map.of(), Map.of("sparkplug.host-id", "scada")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("is set while sparkplug.groups names no group to read");
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource(
            delimiter = '|',
            value = {
                "sparkplug.groups | hall/3 | is invalid: group id 'hall/3' contains a forbidden character",
                "sparkplug.groups | 'a,,b' | is invalid: group id is empty",
                "sparkplug.groups | 'a, a' | names a twice",
                "sparkplug.groups | '+, a' | is invalid: + reads every group: name no other with it",
                "sparkplug.groups | STATE | STATE is not a group id",
                "sparkplug.host-id | a#b | is invalid: host id 'a#b' contains a forbidden character",
                "sparkplug.sensor-id | '{group}/{node}/{device}/{metric}/x/y' | has 6 levels; a sensor id has 5",
                "sparkplug.sensor-id | '{group}/x/{node}/{device}/{tag}' | unknown placeholder {tag}, use {group}, {node}, {device} or {metric}",
                "sparkplug.sensor-id | '{group}/{node}/{node}/{device}/{metric}' | {node} appears twice",
                "sparkplug.sensor-id | '{group}/a/{node}/{device}/b' | must contain {metric}",
                "sparkplug.sensor-id | '{group}/a+/{node}/{device}/{metric}' | literal level 'a+' contains a forbidden character",
                "sparkplug.request-rebirth | maybe | sparkplug.request-rebirth",
                "sparkplug.max-payload-bytes | 10 | sparkplug.max-payload-bytes",
                "mqtt.topic-prefix | spBv1.0 | takes in Sparkplug B's namespace spBv1.0",
                "mqtt.topic-prefix | '' | takes in Sparkplug B's namespace spBv1.0",
            })
    void aSparkplugMistakeStopsTheStartNamingTheSetting(String key, String value, String message) {
        assertThatThrownBy(
                        () ->
                                GatewayConfig.load(
                                        null,
                                        Map.of(),
                                        new java.util.HashMap<>(
                                                Map.of("sparkplug.groups", "plant")) {
                                            {
                                                put(key, value);
                                            }
                                        }))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith(key + " (")
                .hasMessageContaining(message);
    }

    @Test
    void theShippedExampleConfigurationLoads() {
        GatewayConfig c =
                GatewayConfig.load(Path.of("..", "config", "gateway.yaml"), Map.of(), Map.of());
        assertThat(c.gatewayId()).isEqualTo("gateway-1");
        assertThat(c.httpPort()).isEqualTo(9400);
        assertThat(c.producerOverrides()).containsEntry("compression.type", "lz4");
    }

    @Test
    void flagsBeatEnvironmentBeatsFileBeatsDefaults() throws Exception {
        Path file = dir.resolve("gateway.yaml");
        Files.writeString(
                file,
                """
                mqtt:
                  broker: tcp://from-file:1883
                  version: 3
                  shared-group: north-gateways
                kafka:
                  bootstrap: file:9092
                  producer:
                    linger.ms: 20
                    compression.type: zstd
                """);
        GatewayConfig c =
                GatewayConfig.load(
                        file,
                        Map.of(
                                "PLANTWATCH_GATEWAY_MQTT_BROKER", "tcp://from-env:1883",
                                "PLANTWATCH_GATEWAY_MQTT_SESSION_EXPIRY", "2h",
                                "PLANTWATCH_GATEWAY_KAFKA_PRODUCER_SASL_MECHANISM", "PLAIN",
                                "UNRELATED", "x"),
                        Map.of("mqtt.broker", "tcp://from-flag:1884"));
        assertThat(c.brokerForLog()).isEqualTo("tcp://from-flag:1884");
        assertThat(c.sessionExpiry()).isEqualTo(Duration.ofHours(2));
        assertThat(c.mqttVersion()).isEqualTo(3);
        assertThat(c.subscriptionFilter()).isEqualTo("$share/north-gateways/plant/#");
        assertThat(c.kafkaBootstrap()).isEqualTo("file:9092");
        assertThat(c.producerOverrides())
                .containsEntry("linger.ms", "20")
                .containsEntry("compression.type", "zstd")
                .containsEntry("sasl.mechanism", "PLAIN");
        // Passed-through settings win over the gateway's own producer defaults.
        assertThat(MqttKafkaBridge.producerProperties(c))
                .containsEntry("linger.ms", "20")
                .containsEntry("acks", "all")
                .containsEntry("enable.idempotence", "true");
    }

    @Test
    void brokenConfigurationNamesTheKeyAndWhereItCameFrom() throws Exception {
        assertThatThrownBy(
                        () ->
                                GatewayConfig.load(
                                        null,
                                        Map.of("PLANTWATCH_GATEWAY_MQTT_SESSION_EXPIRY", "soon"),
                                        Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("mqtt.session-expiry")
                .hasMessageContaining("PLANTWATCH_GATEWAY_MQTT_SESSION_EXPIRY");
        assertThatThrownBy(
                        () -> GatewayConfig.load(null, Map.of(), Map.of("mqtt.brokr", "tcp://x")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("unknown setting 'mqtt.brokr'");
        assertThatThrownBy(
                        () -> GatewayConfig.load(null, Map.of(), Map.of("mqtt.broker", "http://x")))
                .hasMessageContaining("must start with tcp:// or ssl://");
        // A producer replaced every few hundred milliseconds would never get a record through.
        assertThatThrownBy(
                        () ->
                                GatewayConfig.load(
                                        null,
                                        Map.of(),
                                        Map.of("kafka.producer-restart-after", "500ms")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("kafka.producer-restart-after")
                .hasMessageContaining("0 (never) or at least 1s");
        Path broken = dir.resolve("broken.yaml");
        Files.writeString(broken, "mqtt: [unclosed\n");
        assertThatThrownBy(() -> GatewayConfig.load(broken, Map.of(), Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(broken.toString())
                .hasMessageContaining("not valid YAML");
        Path twice = dir.resolve("twice.yaml");
        Files.writeString(twice, "mqtt: {broker: tcp://a:1883}\nmqtt: {broker: tcp://b:1883}\n");
        assertThatThrownBy(() -> GatewayConfig.load(twice, Map.of(), Map.of()))
                .hasMessageContaining("not valid YAML (line 2)")
                .hasMessageContaining("Duplicate field 'mqtt'");
        assertThatThrownBy(
                        () ->
                                GatewayConfig.load(
                                        null,
                                        Map.of(),
                                        Map.of(
                                                "mqtt.password-file",
                                                dir.resolve("nope").toString())))
                .hasMessageContaining("cannot be read");
    }

    /**
     * A secret written in the config file is refused, whether the gateway's own (the MQTT password)
     * or a client library's (a JAAS login); a library's secret may name a file instead.
     */
    @Test
    void secretsInTheConfigFileAreRefusedAndLibrarySecretsMayComeFromAFile() throws Exception {
        Path yaml = dir.resolve("gateway.yaml");
        Files.writeString(yaml, "mqtt: {username: gw, password: hunter2}\n");
        assertThatThrownBy(() -> GatewayConfig.load(yaml, Map.of(), Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("mqtt.password must not be written in the file")
                .hasMessageContaining("PLANTWATCH_GATEWAY_MQTT_PASSWORD")
                .hasMessageNotContaining("hunter2");
        Files.writeString(
                yaml,
                "kafka: {producer: {sasl.jaas.config: 'PlainLoginModule password=\"x\";'}}\n");
        assertThatThrownBy(() -> GatewayConfig.load(yaml, Map.of(), Map.of()))
                .hasMessageContaining(
                        "kafka.producer.sasl.jaas.config must not be written in the file");

        Path login = dir.resolve("kafka-login");
        Files.writeString(login, "PlainLoginModule required password=\"kafka-secret\";\n");
        Files.writeString(
                yaml, "kafka: {producer: {sasl.jaas.config-file: '%s'}}\n".formatted(login));
        GatewayConfig c = GatewayConfig.load(yaml, Map.of(), Map.of());
        assertThat(c.producerOverrides().getProperty("sasl.jaas.config"))
                .isEqualTo("PlainLoginModule required password=\"kafka-secret\";");
        assertThat(c.producerOverrides()).doesNotContainKey("sasl.jaas.config-file");
        assertThat(c.describe().toString()).doesNotContain("kafka-secret");
    }

    @Test
    void secretsComeFromFilesAndNeverShow() throws Exception {
        Path secret = dir.resolve("mqtt-password");
        Files.writeString(secret, "hunter2\n");
        GatewayConfig c =
                GatewayConfig.load(
                        null,
                        Map.of(
                                "PLANTWATCH_GATEWAY_MQTT_PASSWORD_FILE",
                                secret.toString(),
                                "PLANTWATCH_GATEWAY_KAFKA_PRODUCER_SASL_JAAS_CONFIG",
                                "org.apache.kafka.common.security.plain.PlainLoginModule"
                                        + " required username=\"u\" password=\"kafka-secret\";"),
                        Map.of("mqtt.username", "gw"));
        assertThat(new String(c.password())).isEqualTo("hunter2");
        assertThat(c.describe().toString())
                .doesNotContain("hunter2")
                .doesNotContain("kafka-secret")
                .contains("mqtt.password-file=" + secret);
        assertThatThrownBy(
                        () ->
                                GatewayConfig.load(
                                        null,
                                        Map.of("PLANTWATCH_GATEWAY_MQTT_PASSWORD", "hunter2"),
                                        Map.of("mqtt.version", "4")))
                .hasMessageContaining("mqtt.version")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("hunter2"));
    }

    private static GatewayConfig withFlag(String key, String value) {
        return GatewayConfig.load(null, Map.of(), Map.of(key, value));
    }

    /** Each duration's allowed range, its ends included, and a refusal naming key and range. */
    @Test
    void everyDurationHasARangeAndARefusalNamesIt() {
        assertThat(withFlag("mqtt.reconnect-initial-delay", "1ms").reconnectInitialDelay())
                .isEqualTo(Duration.ofMillis(1));
        assertThatThrownBy(() -> withFlag("mqtt.reconnect-initial-delay", "0s"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("mqtt.reconnect-initial-delay ('0s') from command line")
                .hasMessageContaining("between 1ms and 1h");
        // The MQTT client takes whole milliseconds: half a millisecond would be zero to it.
        assertThatThrownBy(() -> withFlag("mqtt.reconnect-initial-delay", "0.5ms"))
                .hasMessageContaining("between 1ms and 1h");
        assertThatThrownBy(() -> withFlag("mqtt.reconnect-max-delay", "500ms"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("mqtt.reconnect-max-delay")
                .hasMessageContaining("between mqtt.reconnect-initial-delay (1s) and 1h");
        assertThatThrownBy(() -> withFlag("mqtt.reconnect-max-delay", "2h"))
                .hasMessageContaining("between mqtt.reconnect-initial-delay (1s) and 1h");

        assertThat(withFlag("mqtt.session-expiry", "4294967295s").sessionExpiry())
                .isEqualTo(Duration.ofSeconds(4_294_967_295L));
        assertThatThrownBy(() -> withFlag("mqtt.session-expiry", "4294967296s"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("mqtt.session-expiry")
                .hasMessageContaining("between 1s and 4294967295s");
        assertThatThrownBy(() -> withFlag("mqtt.session-expiry", "0s"))
                .hasMessageContaining("between 1s and 4294967295s");
        assertThatThrownBy(
                        () ->
                                GatewayConfig.load(
                                        null,
                                        Map.of("PLANTWATCH_GATEWAY_MQTT_SESSION_EXPIRY", "PT-1H"),
                                        Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("mqtt.session-expiry")
                .hasMessageContaining("PLANTWATCH_GATEWAY_MQTT_SESSION_EXPIRY");

        assertThat(withFlag("shutdown.drain-timeout", "0s").drainTimeout()).isZero();
        assertThatThrownBy(() -> withFlag("shutdown.drain-timeout", "2h"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("shutdown.drain-timeout ('2h')")
                .hasMessageContaining("between 0s and 1h");
        assertThatThrownBy(() -> withFlag("shutdown.drain-timeout", "PT-1S"))
                .hasMessageContaining("shutdown.drain-timeout");

        assertThat(withFlag("limits.max-future-skew", "0s").maxFutureSkew()).isZero();
        assertThatThrownBy(() -> withFlag("limits.max-future-skew", "2d"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("limits.max-future-skew")
                .hasMessageContaining("between 0s and 1d");

        assertThat(withFlag("kafka.producer-restart-after", "1d").producerRestartAfter())
                .isEqualTo(Duration.ofDays(1));
        assertThatThrownBy(() -> withFlag("kafka.producer-restart-after", "300000000d"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("0 (never) or at least 1s, at most 1d");
    }

    @Test
    void aSharedGroupThatCannotBeSubscribedIsRefusedAtLoad() {
        assertThatThrownBy(() -> withFlag("mqtt.shared-group", "north/south"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("mqtt.shared-group ('north/south') from command line")
                .hasMessageContaining("must not contain /, + or #");
    }

    @Test
    void theCaFileMustBeAReadablePemWithACertificate() throws Exception {
        Path notPem = dir.resolve("ca.pem");
        Files.writeString(notPem, "this is not a certificate\n");
        assertThatThrownBy(
                        () ->
                                GatewayConfig.load(
                                        null,
                                        Map.of(),
                                        Map.of(
                                                "mqtt.broker",
                                                "ssl://broker:8883",
                                                "mqtt.ca-file",
                                                notPem.toString())))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("mqtt.ca-file ('" + notPem + "') from command line")
                .hasMessageContaining("holds no CA certificate in PEM")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
        assertThatThrownBy(() -> withFlag("mqtt.ca-file", dir.resolve("missing.pem").toString()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("mqtt.ca-file")
                .hasMessageContaining("cannot be read");
        assertThatThrownBy(() -> withFlag("mqtt.ca-file", dir.toString()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("cannot be read");
        assertThatThrownBy(() -> withFlag("mqtt.password-file", dir.toString()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("mqtt.password-file")
                .hasMessageContaining("cannot be read");

        Path good = dir.resolve("good-ca.pem");
        Files.writeString(good, aTrustedCaAsPem());
        assertThat(
                        GatewayConfig.load(
                                        null,
                                        Map.of(),
                                        Map.of(
                                                "mqtt.broker",
                                                "ssl://broker:8883",
                                                "mqtt.ca-file",
                                                good.toString()))
                                .caFile())
                .isEqualTo(good);
        assertThatThrownBy(() -> withFlag("mqtt.ca-file", good.toString()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("mqtt.ca-file")
                .hasMessageContaining("is not TLS: write ssl:// to use it, or leave ca-file out");
    }

    /** One of the JDK's own trusted CAs, written as PEM: a real certificate without keytool. */
    private static String aTrustedCaAsPem() throws Exception {
        java.security.KeyStore cacerts = java.security.KeyStore.getInstance("PKCS12");
        try (var in =
                Files.newInputStream(
                        Path.of(System.getProperty("java.home"), "lib", "security", "cacerts"))) {
            cacerts.load(in, null);
        }
        String alias = cacerts.aliases().nextElement();
        byte[] der = cacerts.getCertificate(alias).getEncoded();
        return "-----BEGIN CERTIFICATE-----\n"
                + java.util.Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(der)
                + "\n-----END CERTIFICATE-----\n";
    }

    /**
     * Kafka parses the JAAS login only when the producer is created, inside the start; the refusal
     * comes at load now, naming the variable and never showing the login.
     */
    @Test
    void aJaasLoginKafkaWouldRefuseIsRefusedAtLoadWithoutShowingIt() throws Exception {
        String unterminated =
                "org.apache.kafka.common.security.plain.PlainLoginModule required"
                        + " username=\"gw\" password=\"kafka-secret\"";
        assertThatThrownBy(
                        () ->
                                GatewayConfig.load(
                                        null,
                                        Map.of(
                                                "PLANTWATCH_GATEWAY_KAFKA_PRODUCER_SASL_JAAS_CONFIG",
                                                unterminated),
                                        Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("kafka.producer.sasl.jaas.config from environment")
                .hasMessageContaining("PLANTWATCH_GATEWAY_KAFKA_PRODUCER_SASL_JAAS_CONFIG")
                .hasMessageContaining("not terminated by semi-colon")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("kafka-secret"));
        // A secret where Kafka expects the control flag: Kafka's reason would quote it.
        assertThatThrownBy(
                        () ->
                                GatewayConfig.load(
                                        null,
                                        Map.of(
                                                "PLANTWATCH_GATEWAY_KAFKA_PRODUCER_SASL_JAAS_CONFIG",
                                                "PlainLoginModule hunter2;"),
                                        Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("control flag")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("hunter2"));

        Path login = dir.resolve("kafka-login");
        Files.writeString(login, unterminated + "\n");
        assertThatThrownBy(
                        () ->
                                GatewayConfig.load(
                                        null,
                                        Map.of(),
                                        Map.of(
                                                "kafka.producer.sasl.jaas.config-file",
                                                login.toString())))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("kafka.producer.sasl.jaas.config-file")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("kafka-secret"));
    }

    @Test
    void aProducerSettingKafkaWouldRefuseIsRefusedAtLoadNamingIt() {
        assertThatThrownBy(
                        () ->
                                GatewayConfig.load(
                                        null,
                                        Map.of(
                                                "PLANTWATCH_GATEWAY_KAFKA_PRODUCER_LINGER_MS",
                                                "soon"),
                                        Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("kafka.producer.linger.ms ('soon') from environment")
                .hasMessageContaining("PLANTWATCH_GATEWAY_KAFKA_PRODUCER_LINGER_MS")
                .hasMessageContaining("is refused by Kafka: ");
        // Only all replicas acknowledging suits the gateway's idempotent producer.
        assertThatThrownBy(() -> withFlag("kafka.producer.acks", "1"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("kafka.producer.acks ('1') from command line")
                .hasMessageContaining("idempotent");
        assertThat(withFlag("kafka.producer.linger.ms", "5").producerOverrides())
                .containsEntry("linger.ms", "5");
    }

    @Test
    void topicNamesFollowKafkasRuleAndTheDlqIsNotTheReadingsTopic() {
        assertThatThrownBy(() -> withFlag("kafka.readings-topic", "sensor readings"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("kafka.readings-topic ('sensor readings') from command line")
                .hasMessageContaining("Kafka's rule");
        assertThatThrownBy(() -> withFlag("kafka.dlq-topic", ""))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("kafka.dlq-topic");
        assertThatThrownBy(() -> withFlag("kafka.dlq-topic", "sensor-readings"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("must differ from kafka.readings-topic");
        assertThat(withFlag("kafka.readings-topic", "plant_1.readings").readingsTopic())
                .isEqualTo("plant_1.readings");
    }

    /**
     * A change of a running gateway: its password rotated in the same file is a change, though the
     * settings name the same path; a comment is none; a change of what names its session or where
     * it writes is refused with the old and new value, the producer's own bootstrap included.
     */
    @Test
    void aChangeOfARunningGatewayIsCheckedAsSuch() throws Exception {
        Path password = Files.writeString(dir.resolve("mqtt-password"), "one\n");
        Path file = dir.resolve("gateway.yaml");
        String yaml =
                "gateway: {id: g1}\nmqtt: {username: gw, password-file: '%s'}\n"
                        .formatted(password);
        Files.writeString(file, yaml);
        GatewayConfig running = GatewayConfig.load(file, Map.of(), Map.of());

        Files.writeString(file, yaml + "# a comment\n");
        assertThat(GatewayConfig.load(file, Map.of(), Map.of()).checkedAsChangeOf(running, file))
                .isNull();

        Files.writeString(password, "two\n");
        GatewayConfig rotated = GatewayConfig.load(file, Map.of(), Map.of());
        assertThat(rotated.checkedAsChangeOf(running, file)).isSameAs(rotated);

        Files.writeString(
                file,
                yaml.replace("g1", "g2")
                        + "kafka: {producer: {bootstrap.servers: 'elsewhere:9092'}}\n");
        assertThatThrownBy(
                        () ->
                                GatewayConfig.load(file, Map.of(), Map.of())
                                        .checkedAsChangeOf(running, file))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("gateway.id (g1 -> g2)")
                .hasMessageContaining("kafka.producer.bootstrap.servers (null -> elsewhere:9092)")
                .hasMessageContaining("the gateway takes them only at a start");
    }

    private GatewayConfig withFormats(String yaml) throws Exception {
        Path file = dir.resolve("formats.yaml");
        Files.writeString(file, "gateway: {id: g1}\n" + yaml);
        return GatewayConfig.load(file, Map.of(), Map.of());
    }

    @Test
    void payloadFormatsAreAListInTheFileReadInItsOrder() throws Exception {
        GatewayConfig c =
                withFormats(
                        """
                        payload: {epoch: s}
                        payload-formats:
                          - name: wago-plc
                            sensors: "hall-2/**"
                            ts-field: timestamp
                            value-field: temp
                            default-unit: degC
                          - name: shelly
                            sensors: "*/utilities/*/*/power"
                            type: value
                            default-unit: W
                          - name: no-clock
                            sensors: "*/utilities/**"
                            time: received
                          - name: press-line
                            sensors: "*/*/*/*/data"
                            type: fields
                            fields: [temp, pressure]
                            units: {temp: degC, pressure: bar}
                            quality-field: q
                            time-zone: Europe/Berlin
                        """);
        io.plantwatch.model.PayloadFormats formats = c.payloadFormats();
        assertThat(formats.fallback().epochSeconds()).isTrue();
        assertThat(formats.named())
                .extracting(n -> n.name() + " " + n.sensors())
                .containsExactly(
                        "wago-plc hall-2/**",
                        "shelly */utilities/*/*/power",
                        "no-clock */utilities/**",
                        "press-line */*/*/*/data");
        io.plantwatch.model.PayloadFormat line = formats.named().get(3).format();
        assertThat(line.type()).isEqualTo(io.plantwatch.model.PayloadFormat.Type.FIELDS);
        assertThat(line.fields()).containsExactly("temp", "pressure");
        assertThat(line.unitOf("pressure")).isEqualTo("bar");
        assertThat(line.unitOf("other")).isEmpty();
        assertThat(line.quality()).isEqualTo("q");
        assertThat(line.timeZone()).isEqualTo(java.time.ZoneId.of("Europe/Berlin"));
        assertThat(formats.named().get(0).format().timeZone()).isNull();
        io.plantwatch.model.PayloadFormat plc = formats.named().get(0).format();
        assertThat(plc.ts()).isEqualTo("timestamp");
        assertThat(plc.value()).isEqualTo("temp");
        // An entry starts from design.md's fields, not from payload.*.
        assertThat(plc.epochSeconds()).isFalse();
        assertThat(plc.unit()).isEqualTo("unit");
        assertThat(formats.named().get(1).format())
                .isEqualTo(io.plantwatch.model.PayloadFormat.bareValue("W"));
        assertThat(formats.named().get(2).format().receivedTime()).isTrue();
        assertThat(formats.named().get(2).format().type())
                .isEqualTo(io.plantwatch.model.PayloadFormat.Type.JSON);
        assertThat(c.describe())
                .containsEntry(
                        "payload-formats[2]",
                        "{\"name\":\"shelly\",\"sensors\":\"*/utilities/*/*/power\",\"type\":\"value\",\"default-unit\":\"W\"}");
        assertThat(GatewayConfig.load(null, Map.of(), Map.of()).payloadFormats().named()).isEmpty();
    }

    @Test
    void everyMistakeInAPayloadFormatStopsTheStartNamingTheFileAndTheFormat() throws Exception {
        Path file = dir.resolve("formats.yaml");
        Map<String, String> mistakes = new java.util.LinkedHashMap<>();
        mistakes.put("payload-formats: {name: a}", "payload-formats must be a list of formats");
        mistakes.put("payload-formats: [plc]", "payload-formats entry 1 must be a mapping");
        mistakes.put(
                "payload-formats: [{sensors: '**'}]",
                "payload-formats entry 1 needs a name of 1 to 40 letters");
        mistakes.put(
                "payload-formats: [{name: 'a.b', sensors: '**'}]",
                "payload-formats entry 1 needs a name");
        mistakes.put(
                "payload-formats: [{name: a, sensors: '**', valu-field: x}]",
                "payload-formats entry 1 has an unknown key 'valu-field'; known: name, sensors,"
                        + " ts-field");
        mistakes.put(
                "payload-formats: [{name: a, sensors: {glob: '**'}}]",
                "payload-formats entry 1 sensors must be a single value");
        mistakes.put("payload-formats: [{name: a}]", "payload-formats 'a' needs sensors");
        mistakes.put(
                "payload-formats: [{name: a, sensors: '**', time-zone: CEST}]",
                "payload-formats 'a' time-zone is 'CEST', not a time zone's region: an IANA name"
                        + " such as Europe/Berlin");
        mistakes.put(
                "payload-formats: [{name: a, sensors: '**', time-zone: EST}]",
                "payload-formats 'a' time-zone is 'EST', not a time zone's region");
        mistakes.put(
                "payload-formats: [{name: a, sensors: '**', time: received, time-zone: UTC}]",
                "payload-formats 'a' time-zone is set, but time: received reads no time from the"
                        + " payload");
        mistakes.put(
                "payload-formats: [{name: a, sensors: '**', type: fields, units: degC}]",
                "payload-formats entry 1 units must be a mapping of a field to its unit");
        mistakes.put(
                "payload-formats: [{name: a, sensors: '**', type: fields, units: {t: [a]}}]",
                "payload-formats entry 1 units must be a mapping of a field to its unit");
        mistakes.put(
                "payload-formats: [{name: a, sensors: '**', type: fields, units: {count: 1}}]",
                "payload-formats entry 1 units must be a mapping of a field to its unit, e.g."
                        + " {temp: degC} (quote a unit YAML reads as a number: '1')");
        mistakes.put(
                "payload-formats: [{name: a, sensors: '**', type: fields, fields: [temp, 3]}]",
                "payload-formats entry 1 fields must name the fields that are readings, each a"
                        + " text");
        mistakes.put(
                "payload-formats: [{name: a, sensors: '**', type: fields, value-field: temp}]",
                "payload-formats 'a' value-field is set, but type: fields reads each reading from"
                        + " the field named like its sensor");
        mistakes.put(
                "payload-formats: [{name: a, sensors: '**', type: fields, fields: 'temp,,p'}]",
                "payload-formats 'a' fields names an empty field");
        mistakes.put(
                "payload-formats: [{name: a, sensors: '**', fields: temp}]",
                "payload-formats 'a' fields and units are for type fields only");
        mistakes.put(
                "payload-formats: [{name: a, sensors: '**', type: fields, units: {t: \"\\e[2J\"}}]",
                "payload-formats 'a' the unit of t '?[2J' contains a control or format character");
        mistakes.put(
                "payload-formats: [{name: a, sensors: 'hall-2/*'}]",
                "payload-formats 'a' sensors 'hall-2/*' has 2 levels, and a sensor id has 5");
        mistakes.put(
                "payload-formats: [{name: a, sensors: 'hall-{2'}]",
                "payload-formats 'a' sensors: sensor glob 'hall-{2' is invalid");
        mistakes.put(
                "payload-formats: [{name: a, sensors: '**'}, {name: a, sensors: 'x/**'}]",
                "payload-formats 'a' is named twice");
        mistakes.put(
                "payload-formats: [{name: a, sensors: 'x/**'}, {name: b, sensors: 'x/**'}]",
                "payload-formats 'b' reads the same sensors as 'a' before it, so it would never"
                        + " apply");
        mistakes.put(
                "payload-formats: [{name: a, sensors: '**', type: csv}]",
                "payload-formats 'a' type is 'csv'; json");
        mistakes.put(
                "payload-formats: [{name: a, sensors: '**', time: device}]",
                "payload-formats 'a' time is 'device'; payload");
        mistakes.put(
                "payload-formats: [{name: a, sensors: '**', type: value, time: payload}]",
                "payload-formats 'a' time is payload, but type: value carries no time");
        mistakes.put(
                "payload-formats: [{name: a, sensors: '**', type: value, value-field: temp}]",
                "payload-formats 'a' value-field is set, but type: value reads no fields");
        mistakes.put(
                "payload-formats: [{name: a, sensors: '**', time: received, epoch: s}]",
                "payload-formats 'a' epoch is set, but time: received reads no time from the"
                        + " payload");
        mistakes.put(
                "payload-formats: [{name: a, sensors: '**', value-field: ts}]",
                "payload-formats 'a' ts and value are both read from field 'ts'");
        mistakes.put(
                "payload-formats: [{name: a, sensors: '**', epoch: minutes}]",
                "payload-formats 'a' epoch is 'minutes'; ms (epoch milliseconds) or s (seconds)");
        mistakes.put(
                "payload-formats: [{name: a, sensors: '**', seq-field: ''}]",
                "payload-formats 'a' seq-field is empty");
        for (Map.Entry<String, String> m : mistakes.entrySet()) {
            Files.writeString(file, m.getKey() + "\n");
            assertThatThrownBy(() -> GatewayConfig.load(file, Map.of(), Map.of()))
                    .as(m.getKey())
                    .isInstanceOf(ConfigException.class)
                    .hasMessageStartingWith(file + ": " + m.getValue());
        }
        assertThatThrownBy(
                        () ->
                                GatewayConfig.load(
                                        null,
                                        Map.of(
                                                "PLANTWATCH_GATEWAY_PAYLOAD_FORMATS_A_SENSORS",
                                                "**"),
                                        Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessage(
                        "environment variable PLANTWATCH_GATEWAY_PAYLOAD_FORMATS_A_SENSORS:"
                                + " payload-formats is read from the settings file only");
        assertThatThrownBy(
                        () ->
                                GatewayConfig.load(
                                        null, Map.of(), Map.of("payload-formats.a.sensors", "**")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("payload-formats is read from the settings file only");
        assertThatThrownBy(
                        () -> GatewayConfig.load(null, Map.of(), Map.of("payload.type", "fields")))
                .hasMessageContaining(
                        "a machine's readings in one message (fields) are read by a payload-formats"
                                + " entry, sensors \"**\" for all");
        assertThatThrownBy(() -> GatewayConfig.load(null, Map.of(), Map.of("payload.type", "csv")))
                .hasMessageContaining("payload.type")
                .hasMessageContaining("json (an object with the reading's fields) or value");
        assertThat(
                        GatewayConfig.load(
                                        null,
                                        Map.of(),
                                        Map.of("payload.time-zone", "Europe/Berlin"))
                                .payloadFormat()
                                .timeZone())
                .isEqualTo(java.time.ZoneId.of("Europe/Berlin"));
        for (String zone : List.of("UTC", "+01:00", "America/New_York", "Etc/GMT-1")) {
            assertThat(
                            GatewayConfig.load(null, Map.of(), Map.of("payload.time-zone", zone))
                                    .payloadFormat()
                                    .timeZone())
                    .as(zone)
                    .isNotNull();
        }
        GatewayConfig bare =
                GatewayConfig.load(
                        null,
                        Map.of("PLANTWATCH_GATEWAY_PAYLOAD_TYPE", "value"),
                        Map.of("payload.default-unit", "W"));
        assertThat(bare.payloadFormat())
                .isEqualTo(io.plantwatch.model.PayloadFormat.bareValue("W"));
    }

    /** The example in the shipped file's comments is what the gateway reads. */
    @Test
    void theShippedPayloadFormatsExampleLoads() throws Exception {
        List<String> lines = Files.readAllLines(Path.of("..", "config", "gateway.yaml"));
        int start = lines.indexOf("# payload-formats:");
        assertThat(start).isNotNegative();
        StringBuilder example = new StringBuilder();
        for (int i = start; i < lines.size() && lines.get(i).startsWith("#"); i++) {
            example.append(lines.get(i).substring(Math.min(2, lines.get(i).length()))).append('\n');
        }
        GatewayConfig c = withFormats(example.toString());
        assertThat(c.payloadFormats().named())
                .extracting(n -> n.name())
                .containsExactly("wago-plc", "power-meters", "press-line");
        assertThat(c.payloadFormats().named().get(1).format())
                .isEqualTo(io.plantwatch.model.PayloadFormat.bareValue("W"));
    }

    /** A running gateway takes a change of its formats with a new bridge, as other settings. */
    @Test
    void aChangedPayloadFormatIsAChangeARunningGatewayTakes() throws Exception {
        String yaml = "payload-formats: [{name: a, sensors: 'x/**', type: value}]\n";
        GatewayConfig running = withFormats(yaml);
        Path file = dir.resolve("formats.yaml");
        assertThat(withFormats(yaml + "# a comment\n").checkedAsChangeOf(running, file)).isNull();
        GatewayConfig changed = withFormats(yaml.replace("x/**", "y/**"));
        assertThat(changed.checkedAsChangeOf(running, file)).isSameAs(changed);
        GatewayConfig none = withFormats("");
        assertThat(none.checkedAsChangeOf(running, file)).isSameAs(none);
    }
}
