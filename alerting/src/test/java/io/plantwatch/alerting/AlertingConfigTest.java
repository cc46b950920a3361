package io.plantwatch.alerting;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.plantwatch.model.ConfigException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AlertingConfigTest {
    @TempDir Path dir;

    private AlertingConfig load(String yaml, Map<String, String> env) throws Exception {
        Path file = dir.resolve("alerting.yaml");
        Files.writeString(file, yaml);
        return AlertingConfig.load(file, "127.0.0.1:9092", env::get);
    }

    private static final String ROUTE = "route: {receiver: mail}\napi: {port: -1}\n";

    @Test
    void theShippedConfigLoadsWithItsSecretsFromTheEnvironment() {
        AlertingConfig c =
                AlertingConfig.load(
                        Path.of("../config/alerting.yaml"),
                        null,
                        Map.of(
                                        "PLANTWATCH_WEBHOOK_SECRET", "s",
                                        "PLANTWATCH_ALERTING_TOKEN", "t")
                                ::get);
        assertThat(c.receivers()).containsKey("shift-lead");
        assertThat(c.storeRetention()).isEqualTo(Duration.ofDays(30));
        assertThat(c.latching()).isNotEmpty();
    }

    @Test
    void anEmailReceiverTakesItsPasswordFromTheEnvironmentAndLatchingItsMatchers()
            throws Exception {
        AlertingConfig c =
                load(
                        """
                        receivers:
                          - name: mail
                            type: email
                            host: mail.plant.example
                            username: plantwatch
                            from: plantwatch@plant.example
                            to: maintenance@plant.example
                        latching:
                          - match: {severity: [CRITICAL]}
                        store: {retention: 7d}
                        """
                                + ROUTE,
                        Map.of("PLANTWATCH_SMTP_PASSWORD", "pw"));
        assertThat(c.receivers().get("mail")).isInstanceOf(EmailReceiver.class);
        assertThat(c.latching()).hasSize(1);
        assertThat(c.storeRetention()).isEqualTo(Duration.ofDays(7));
    }

    @Test
    void mistakesAreOneLineNamingTheKey() {
        String mail =
                """
                receivers:
                  - name: mail
                    type: email
                    host: mail.plant.example
                    username: plantwatch
                    from: a@b.example
                    to: c@d.example
                """;
        assertThatThrownBy(() -> load(mail + "    password: hunter2\n" + ROUTE, Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("receivers[0].password must not be written in the file");
        assertThatThrownBy(() -> load(mail + ROUTE, Map.of()))
                .hasMessageContaining("set PLANTWATCH_SMTP_PASSWORD or password-file");
        assertThatThrownBy(
                        () ->
                                load(
                                        mail + "    tls: maybe\n" + ROUTE,
                                        Map.of("PLANTWATCH_SMTP_PASSWORD", "pw")))
                .hasMessageContaining("receivers[0].tls 'maybe' is not one of");
        assertThatThrownBy(
                        () ->
                                load(
                                        mail + "latching:\n  - match: {colour: [red]}\n" + ROUTE,
                                        Map.of("PLANTWATCH_SMTP_PASSWORD", "pw")))
                .hasMessageContaining("latching[0].match.colour is not a label");
        assertThatThrownBy(
                        () ->
                                load(
                                        mail + "latching:\n  - {}\n" + ROUTE,
                                        Map.of("PLANTWATCH_SMTP_PASSWORD", "pw")))
                .hasMessageContaining("latching[0] needs sensors or match");
    }

    private static final String CONSOLE = "receivers:\n  - {name: mail, type: console}\n" + ROUTE;

    /** Inhibition rules: off unless written; each mistake one line naming the rule and the key. */
    @Test
    void inhibitionRulesAreReadAndEachMistakeIsOneLine() throws Exception {
        assertThat(load(CONSOLE, Map.of()).inhibitions()).isEmpty();
        AlertingConfig c =
                load(
                        CONSOLE
                                + "inhibit:\n  - source: {match: {severity: [critical]}}\n"
                                + "    target: {match: {severity: [WARNING, INFO]}}\n"
                                + "    equal: [line, kind]\n",
                        Map.of());
        assertThat(c.inhibitions()).hasSize(1);
        assertThat(c.inhibitions().get(0).equal()).containsExactly("line", "kind");
        String rule = CONSOLE + "inhibit:\n  - source: {match: {severity: [CRITICAL]}}\n";
        assertThatThrownBy(() -> load(rule + "    target: {}\n", Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("inhibit[0].equal is missing; name the labels");
        assertThatThrownBy(() -> load(rule + "    target: {}\n    equal: [cell]\n", Map.of()))
                .hasMessageContaining("inhibit[0].equal 'cell' is not a label");
        assertThatThrownBy(() -> load(rule + "    equal: [machine]\n", Map.of()))
                .hasMessageContaining("inhibit[0].target is missing");
        assertThatThrownBy(
                        () ->
                                load(
                                        rule
                                                + "    target: {match: {severity: [urgent]}}\n"
                                                + "    equal: [machine]\n",
                                        Map.of()))
                .hasMessageContaining(
                        "inhibit[0].target.match.severity 'urgent' is not a severity");
        assertThatThrownBy(
                        () ->
                                load(
                                        rule
                                                + "    target: {severity: WARNING}\n"
                                                + "    equal: [machine]\n",
                                        Map.of()))
                .hasMessageContaining("inhibit[0].target.severity is not a matcher key");
        assertThatThrownBy(
                        () ->
                                load(
                                        rule
                                                + "    target: {}\n    equal: [machine]\n    when: x\n",
                                        Map.of()))
                .hasMessageContaining("inhibit[0].when is not an inhibit key");
        assertThatThrownBy(() -> load(CONSOLE + "inhibit: {source: {}}\n", Map.of()))
                .hasMessageContaining("inhibit must be a list");
    }

    /** Grafana's address for the charts notifications link to: off unless set, checked if set. */
    @Test
    void grafanasUrlIsOptionalAndCheckedWhenSet() throws Exception {
        assertThat(load(CONSOLE, Map.of()).grafanaUrl()).isNull();
        assertThat(
                        load(
                                        CONSOLE
                                                + "links: {grafana-url: 'https://grafana.plant:3000'}\n",
                                        Map.of())
                                .grafanaUrl())
                .isEqualTo(URI.create("https://grafana.plant:3000"));
        assertThatThrownBy(() -> load(CONSOLE + "links: {grafana-url: grafana:3000}\n", Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("links.grafana-url")
                .hasMessageContaining("is not a http or https URL");
        assertThatThrownBy(() -> load(CONSOLE + "links: {grafana: x}\n", Map.of()))
                .hasMessageContaining("grafana");
        assertThatThrownBy(
                        () ->
                                load(
                                        CONSOLE
                                                + "links: {grafana-url: 'https://admin:s3cret@grafana:3000'}\n",
                                        Map.of()))
                .hasMessageContaining("without a login, a query or a fragment")
                .hasMessageNotContaining("s3cret");
        assertThatThrownBy(
                        () ->
                                load(
                                        CONSOLE
                                                + "links: {grafana-url: 'https://g:3000/?orgId=1'}\n",
                                        Map.of()))
                .hasMessageContaining("links.grafana-url");
    }

    /** Alerts about the pipeline itself: on unless switched off, each mistake one line. */
    @Test
    void pipelineAlertsAreOnByDefaultAndCheckedWhenSet() throws Exception {
        assertThat(load(CONSOLE, Map.of()).pipelineAlerts())
                .isEqualTo(new PipelineAlerts.Settings(true, "appliance", Duration.ofSeconds(30)));
        assertThat(
                        load(
                                        CONSOLE
                                                + "pipeline-alerts: {enabled: false, instance:"
                                                + " line-3-box, after: 2m}\n",
                                        Map.of())
                                .pipelineAlerts())
                .isEqualTo(new PipelineAlerts.Settings(false, "line-3-box", Duration.ofMinutes(2)));
        assertThatThrownBy(() -> load(CONSOLE + "pipeline-alerts: {instance: a/b}\n", Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("pipeline-alerts.instance 'a/b' is not one level");
        assertThatThrownBy(() -> load(CONSOLE + "pipeline-alerts: {after: 1s}\n", Map.of()))
                .hasMessageContaining("pipeline-alerts.after 1s is out of range; allowed: 5s");
        assertThatThrownBy(() -> load(CONSOLE + "pipeline-alerts: {enabled: 'no'}\n", Map.of()))
                .hasMessageContaining("pipeline-alerts.enabled must be true or false");
        assertThatThrownBy(() -> load(CONSOLE + "pipeline-alerts: {severity: INFO}\n", Map.of()))
                .hasMessageContaining("severity");
        assertThatThrownBy(() -> load(CONSOLE + "pipeline-alerts: on\n", Map.of()))
                .hasMessageContaining("pipeline-alerts must be a map of settings");
    }

    /** The heartbeat: off unless set; its URL, which holds the monitor's token, never in a line. */
    @Test
    void theHeartbeatIsOffUnlessSetAndItsUrlIsASecret() throws Exception {
        assertThat(load(CONSOLE, Map.of()).heartbeat()).isNull();
        String url = "https://hc-ping.com/0b2c-s3cret";
        Heartbeat.Settings set =
                load(CONSOLE + "heartbeat: {url-env: BEAT, every: 30s}\n", Map.of("BEAT", url))
                        .heartbeat();
        assertThat(set.url()).isEqualTo(URI.create(url));
        assertThat(set.every()).isEqualTo(Duration.ofSeconds(30));
        assertThat(set.toString()).doesNotContain("s3cret");
        Path file = Files.writeString(dir.resolve("beat-url"), url + "\n");
        assertThat(load(CONSOLE + "heartbeat: {url-file: " + file + "}\n", Map.of()).heartbeat())
                .isEqualTo(new Heartbeat.Settings(URI.create(url), Duration.ofMinutes(1)));
        assertThatThrownBy(() -> load(CONSOLE + "heartbeat: {every: 1m}\n", Map.of()))
                .hasMessageContaining("heartbeat needs url-env or url-file");
        assertThatThrownBy(() -> load(CONSOLE + "heartbeat: {url-env: BEAT}\n", Map.of()))
                .hasMessageContaining("heartbeat.url-env BEAT is not set");
        assertThatThrownBy(
                        () ->
                                load(
                                        CONSOLE
                                                + "heartbeat: {url-env: BEAT, url-file: "
                                                + file
                                                + "}\n",
                                        Map.of("BEAT", url)))
                .hasMessageContaining("heartbeat has url-file and url-env; keep one");
        assertThatThrownBy(
                        () ->
                                load(
                                        CONSOLE + "heartbeat: {url-env: BEAT}\n",
                                        Map.of("BEAT", "hc-ping.com/0b2c-s3cret")))
                .hasMessageContaining("heartbeat.url-env BEAT is not a http or https URL")
                .hasMessageNotContaining("s3cret");
        assertThatThrownBy(() -> load(CONSOLE + "heartbeat: {url: " + url + "}\n", Map.of()))
                .hasMessageContaining("heartbeat.url")
                .hasMessageNotContaining("s3cret");
        assertThatThrownBy(
                        () ->
                                load(
                                        CONSOLE + "heartbeat: {url-env: BEAT, every: 500ms}\n",
                                        Map.of("BEAT", url)))
                .hasMessageContaining("heartbeat.every 500ms is out of range; allowed: 1s");
    }

    /** A grace an idle Kafka cannot meet would say DOWN of a healthy service. */
    @Test
    void theHealthGraceMustOutlastKafkasFetchWait() throws Exception {
        assertThatThrownBy(
                        () ->
                                load(
                                        CONSOLE.replace(
                                                "api: {port: -1}",
                                                "api: {port: -1, health-kafka-grace: 1s}"),
                                        Map.of()))
                .hasMessageContaining("api.health-kafka-grace")
                .hasMessageContaining("5s or more");
        assertThatThrownBy(
                        () ->
                                load(
                                        CONSOLE.replace(
                                                        "api: {port: -1}",
                                                        "api: {port: -1, health-kafka-grace: 5s}")
                                                + "kafka: {consumer: {fetch.max.wait.ms: 10000}}\n",
                                        Map.of()))
                .hasMessageContaining(
                        "api.health-kafka-grace (5000 ms) must be longer than"
                                + " kafka.consumer.fetch.max.wait.ms (10000 ms)");
    }

    /**
     * A change alerting can restart with: receivers and routes may change, what it reads from Kafka
     * may not (its journal holds positions in that topic of that cluster), and a new API port that
     * is taken is refused before the running service stops.
     */
    @Test
    void aChangeOfWhatAlertingReadsFromKafkaOrToATakenPortIsRefused() throws Exception {
        AlertingConfig running = load(CONSOLE, Map.of());
        Path file = dir.resolve("alerting.yaml");
        Files.writeString(
                file,
                CONSOLE.replace("mail, type: console", "shift, type: console")
                        .replace("receiver: mail", "receiver: shift"));
        AlertingConfig receiversChanged = AlertingConfig.load(file, "127.0.0.1:9092", k -> null);
        assertThat(receiversChanged.checkedAsChangeOf(running, file)).isSameAs(receiversChanged);
        AlertingConfig otherCluster = AlertingConfig.load(file, "10.0.0.7:9092", k -> null);
        assertThatThrownBy(() -> otherCluster.checkedAsChangeOf(running, file))
                .isInstanceOf(ConfigException.class)
                .hasMessage(
                        file
                                + ": its kafka settings (bootstrap, topics, group, consumer) changed;"
                                + " they are applied only at a start");
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0)) {
            Path token = Files.writeString(dir.resolve("token"), "t0ken\n");
            Files.writeString(
                    file,
                    CONSOLE.replace(
                            "api: {port: -1}",
                            "api: {host: 127.0.0.1, port: "
                                    + taken.getLocalPort()
                                    + ", token-file: "
                                    + token
                                    + "}"));
            AlertingConfig portTaken = AlertingConfig.load(file, "127.0.0.1:9092", k -> null);
            assertThatThrownBy(() -> portTaken.checkedAsChangeOf(running, file))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageStartingWith(
                            file + ": api.port " + taken.getLocalPort() + " is taken");
        }
    }

    /** An API port another program holds stops the service with one line and exit 2. */
    @Test
    void anApiPortThatIsTakenIsOneLineWithExit2() throws Exception {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0)) {
            Path token = dir.resolve("token");
            Files.writeString(token, "t0ken\n");
            Path file = dir.resolve("alerting.yaml");
            Files.writeString(
                    file,
                    ("receivers:\n  - {name: mail, type: console}\nroute: {receiver: mail}\n"
                                    + "store: {dir: %s}\napi: {port: %d, token-file: %s}\n")
                            .formatted(dir.resolve("store"), taken.getLocalPort(), token));
            java.io.StringWriter err = new java.io.StringWriter();
            int code =
                    AlertingService.mainWithExitCode(
                            new java.io.PrintWriter(new java.io.StringWriter(), true),
                            new java.io.PrintWriter(err, true),
                            "--config",
                            file.toString(),
                            "--kafka-bootstrap",
                            "127.0.0.1:9");
            assertThat(code).isEqualTo(2);
            assertThat(err.toString().strip())
                    .startsWith("alerting: api.port " + taken.getLocalPort())
                    .contains("set api.port")
                    .doesNotContain("\n");
        }
    }

    /**
     * A misspelt key or a wrong value stops the service with one line, instead of leaving a default
     * in place: a misspelt {@code latching} would have switched off latching silently.
     */
    @Test
    void misspeltKeysAndWrongValuesAreRefused() {
        assertThatThrownBy(() -> load("latchng:\n  - {sensors: ['*']}\n" + CONSOLE, Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("latchng is not a section; known: ")
                .hasMessageContaining("latching");
        assertThatThrownBy(() -> load("flood: {limt: 20}\n" + CONSOLE, Map.of()))
                .hasMessageContaining("flood.limt is not a flood setting; known: limit, window");
        assertThatThrownBy(() -> load("flood: {limit: twenty}\n" + CONSOLE, Map.of()))
                .hasMessageContaining("flood.limit 'twenty' is not a whole number");
        assertThatThrownBy(
                        () ->
                                load(
                                        "receivers:\n  - {name: mail, type: console}\n"
                                                + "route: {receiver: mail}\napi: {port: 95OO}\n",
                                        Map.of()))
                .hasMessageContaining("api.port '95OO' is not a whole number");
        assertThatThrownBy(
                        () ->
                                load(
                                        "receivers:\n  - {name: mail, type: console, colour: red}\n"
                                                + ROUTE,
                                        Map.of()))
                .hasMessageContaining("receivers[0].colour is not a console receiver's setting");
        assertThatThrownBy(
                        () ->
                                load(
                                        "receivers:\n  - {name: mail, url: 127.0.0.1:8088/x,"
                                                + " secret-env: S, timout: 5s}\n"
                                                + ROUTE,
                                        Map.of("S", "s")))
                .hasMessageContaining("receivers[0].timout is not a webhook receiver's setting");
        assertThatThrownBy(
                        () ->
                                load(
                                        "receivers:\n  - {name: mail, url: 127.0.0.1:8088/x,"
                                                + " secret-env: S}\n"
                                                + ROUTE,
                                        Map.of("S", "s")))
                .hasMessageContaining(
                        "receivers[0].url '127.0.0.1:8088/x' is not a http or https URL");
        assertThatThrownBy(() -> load("- a\n- b\n", Map.of()))
                .hasMessageContaining("the top level must be a mapping of settings");
        assertThatThrownBy(
                        () -> load("flood: {limit: 5}\nflood: {limit: 50}\n" + CONSOLE, Map.of()))
                .hasMessageContaining("is not valid YAML (line 2)")
                .hasMessageContaining("Duplicate field 'flood'");
        // Two receivers of one name: the second took the first's place, and its routes.
        assertThatThrownBy(
                        () ->
                                load(
                                        "receivers:\n  - {name: andon, type: console}\n"
                                                + "  - {name: andon, type: console}\n",
                                        Map.of()))
                .hasMessageContaining("receivers[1].name andon is an earlier receiver's name");
        assertThatThrownBy(
                        () ->
                                load(
                                        "receivers:\n  - {name: andon, type: mqtt, topic: 'a/#/b'}\n",
                                        Map.of()))
                .hasMessageContaining("receivers[0].topic 'a/#/b' is not a topic to publish to");
        // A mapping where one value is asked for became "": the journal in the working folder.
        assertThatThrownBy(() -> load("store: {dir: {a: 1}}\n" + CONSOLE, Map.of()))
                .hasMessageContaining("store.dir must be one value");
        assertThatThrownBy(() -> load("kafka: {alerts-topic: \"al erts\"}\n" + CONSOLE, Map.of()))
                .hasMessageContaining("'al erts' is not a Kafka topic name");
        assertThatThrownBy(() -> load("kafka: {dlq-topic: \"dl q\"}\n" + CONSOLE, Map.of()))
                .hasMessageContaining("kafka.dlq-topic 'dl q' is not a Kafka topic name");
        assertThatThrownBy(() -> load("kafka: {dlq-topic: alerts}\n" + CONSOLE, Map.of()))
                .hasMessageContaining("kafka.dlq-topic must differ from kafka.alerts-topic");
    }

    private static final String LOGIN =
            "org.apache.kafka.common.security.plain.PlainLoginModule required"
                    + " username=\"alerting\" password=\"from-the-environment\";";

    @Test
    void kafkaConsumerSettingsPassThroughWithTheirSecretsFromTheEnvironmentOrAFile()
            throws Exception {
        Path jaas = dir.resolve("kafka-jaas");
        Files.writeString(jaas, "from-the-file\n");
        AlertingConfig c =
                load(
                        """
                        kafka:
                          consumer:
                            security.protocol: SASL_SSL
                            sasl.mechanism: PLAIN
                            sasl.jaas.config-env: KAFKA_JAAS
                            ssl.truststore.password-file: %s
                        """
                                        .formatted(jaas)
                                + CONSOLE,
                        Map.of("KAFKA_JAAS", LOGIN));
        assertThat(c.kafkaConsumer().values())
                .containsEntry("security.protocol", "SASL_SSL")
                .containsEntry("sasl.mechanism", "PLAIN")
                .containsEntry("sasl.jaas.config", LOGIN)
                .containsEntry("ssl.truststore.password", "from-the-file")
                .hasSize(4);
        assertThat(c.toString())
                .contains("SASL_SSL")
                .doesNotContain("from-the-environment")
                .doesNotContain("from-the-file");
        assertThat(load(CONSOLE, Map.of()).kafkaConsumer().values()).isEmpty();
    }

    /**
     * The files a watch of alerting's settings reads again: the file and every file it names, so a
     * secret rotated in its file is a change of the settings.
     */
    @Test
    void theFilesOfTheSettingsAreTheFileAndEveryFileItNames() throws Exception {
        Path file = dir.resolve("alerting.yaml");
        Files.writeString(
                file,
                """
                kafka:
                  bootstrap: 127.0.0.1:9092
                  consumer:
                    ssl.truststore.password-file: /run/secrets/truststore
                api: {token-file: /run/secrets/api-token}
                receivers:
                  - {name: hook, url: 'http://127.0.0.1:8088/x', secret-file: /run/secrets/hook}
                  - {name: andon, type: mqtt, broker: 'ssl://10.0.0.5:8883', ca-file: ca.pem}
                  - {name: mail, type: email, template: {body-file: templates/mail.mustache}}
                """);
        assertThat(AlertingConfig.files(file))
                .containsExactly(
                        file,
                        Path.of("/run/secrets/truststore"),
                        Path.of("/run/secrets/api-token"),
                        Path.of("/run/secrets/hook"),
                        Path.of("ca.pem"),
                        Path.of("templates/mail.mustache"));
        Files.writeString(file, "receivers: [");
        assertThat(AlertingConfig.files(file)).containsExactly(file);
    }

    @Test
    void kafkaConsumerSettingsRefuseSecretsInTheFileAndWhatTheServiceSetsItself() {
        assertThatThrownBy(
                        () ->
                                load(
                                        "kafka: {consumer: {sasl.jaas.config: 'x password=y'}}\n"
                                                + CONSOLE,
                                        Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(
                        "kafka.consumer.sasl.jaas.config must not be written in the file; use"
                                + " sasl.jaas.config-env or sasl.jaas.config-file")
                .hasMessageNotContaining("password=y");
        assertThatThrownBy(
                        () ->
                                load(
                                        "kafka: {consumer: {sasl.jaas.config-env: NOT_SET}}\n"
                                                + CONSOLE,
                                        Map.of()))
                .hasMessageContaining("sasl.jaas.config-env names NOT_SET, which is not set");
        assertThatThrownBy(
                        () ->
                                load(
                                        "kafka: {consumer: {isolation.level: read_uncommitted}}\n"
                                                + CONSOLE,
                                        Map.of()))
                .hasMessageContaining(
                        "kafka.consumer.isolation.level is set by the service itself");
        // Kafka's own reset moved a position it no longer had without a word, skipping alerts.
        assertThatThrownBy(
                        () ->
                                load(
                                        "kafka: {consumer: {auto.offset.reset: latest}}\n"
                                                + CONSOLE,
                                        Map.of()))
                .hasMessageContaining(
                        "kafka.consumer.auto.offset.reset is set by the service itself");
        assertThatThrownBy(() -> load("kafka: {consumer: [a]}\n" + CONSOLE, Map.of()))
                .hasMessageContaining("kafka.consumer must be a mapping");
    }

    /**
     * A secret file that is empty, missing or a directory is refused at start: an empty webhook
     * secret failed every signature ("Empty key") and an empty API token made every request a 401,
     * while a missing file gave a stack trace.
     */
    @Test
    void aSecretFileThatIsEmptyMissingOrADirectoryIsOneLineNamingTheKey() throws Exception {
        Path empty = dir.resolve("empty-secret");
        Files.writeString(empty, "\n");
        Path missing = dir.resolve("no-such-secret");
        String webhook =
                "receivers:\n  - {name: hook, url: 'http://127.0.0.1:8088/x', secret-file: %s}\n"
                        + "route: {receiver: hook}\napi: {port: -1}\n";
        for (Path file : new Path[] {empty, missing, dir}) {
            assertThatThrownBy(() -> load(webhook.formatted(file), Map.of()))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageStartingWith(dir.resolve("alerting.yaml").toString())
                    .hasMessageContaining("receivers[0].secret-file " + file)
                    .hasMessageContaining(
                            file == empty
                                    ? "is empty"
                                    : file == missing ? "does not exist" : "is a directory")
                    .hasNoCause();
        }
        assertThatThrownBy(
                        () ->
                                load(
                                        "receivers:\n  - {name: mail, type: console}\n"
                                                + "route: {receiver: mail}\n"
                                                + "api: {token-file: %s}\n".formatted(empty),
                                        Map.of()))
                .hasMessageContaining("api.token-file " + empty + " is empty");
        for (String receiver :
                new String[] {
                    "{name: r, type: slack, url-file: %s}",
                    "{name: r, type: pagerduty, routing-key-file: %s}",
                    "{name: r, type: email, host: h, username: u, password-file: %s,"
                            + " from: a@b.example, to: c@d.example}"
                }) {
            assertThatThrownBy(
                            () ->
                                    load(
                                            "receivers:\n  - "
                                                    + receiver.formatted(empty)
                                                    + "\nroute: {receiver: r}\napi: {port: -1}\n",
                                            Map.of()))
                    .hasMessageContaining("receivers[0].")
                    .hasMessageContaining("-file " + empty + " is empty");
        }
        assertThatThrownBy(
                        () ->
                                load(
                                        "kafka: {consumer: {ssl.truststore.password-file: %s}}\n"
                                                        .formatted(missing)
                                                + CONSOLE,
                                        Map.of()))
                .hasMessageContaining(
                        "kafka.consumer.ssl.truststore.password-file "
                                + missing
                                + " does not exist");
        assertThatThrownBy(
                        () ->
                                load(
                                        "receivers:\n  - {name: hook, url: 'http://h/x',"
                                                + " secret-env: S}\n"
                                                + ROUTE.replace("mail", "hook"),
                                        Map.of("S", "  ")))
                .hasMessageContaining("receivers[0].secret-env names S, which is not set");
    }

    /**
     * A receiver's template is read and checked with the rest of the file: a misspelt name, a text
     * the receiver type does not write, a time zone that is none, a missing or unreadable file are
     * each one line naming the file, the key, and for the template's own mistakes its line and
     * column, so they show at the start rather than as empty places in a plant's alarms.
     */
    @Test
    void aTemplateMistakeIsOneLineNamingTheKeyAndWhereInTheTemplate() throws Exception {
        String mail =
                "receivers:\n  - {name: mail, type: email, host: h, from: a@b.example,"
                        + " to: c@d.example, template: %s}\n"
                        + ROUTE;
        Path body = dir.resolve("body.mustache");
        Files.writeString(body, "{{#alerts}}\n  {{sensor}} {{vaule}}\n{{/alerts}}\n");
        Path latin1 = dir.resolve("latin1.mustache");
        Files.write(latin1, new byte[] {'S', (byte) 0xf6, 'r'});
        Path huge = dir.resolve("huge.log");
        Files.write(huge, new byte[NotificationTemplate.MAX_LENGTH * 4 + 1]);
        String[][] mistakes = {
            {
                "{subject: '{{status}} {{machin}}'}",
                "receivers[0].template.subject line 1 column 12: {{machin}} is not a name a"
                        + " template knows here"
            },
            {
                "{body-file: '%s'}".formatted(body),
                "receivers[0].template.body-file "
                        + body
                        + " line 2 column 14: {{vaule}} is not a name a template knows;"
            },
            {
                "{body-file: '%s'}".formatted(dir.resolve("none")),
                "receivers[0].template.body-file " + dir.resolve("none") + " does not exist"
            },
            {
                "{body-file: '%s'}".formatted(dir),
                "receivers[0].template.body-file " + dir + " cannot be read (a directory)"
            },
            {
                "{body-file: '%s'}".formatted(latin1),
                "receivers[0].template.body-file " + latin1 + " is not UTF-8 text"
            },
            {
                "{body-file: '%s'}".formatted(huge),
                "receivers[0].template.body-file " + huge + " is longer than 65536 characters"
            },
            {"{body-file: [a]}", "receivers[0].template.body-file must name a file"},
            {
                "{body: x, body-file: y}",
                "receivers[0].template has both body and body-file; keep one"
            },
            {
                "{text: x}",
                "receivers[0].template.text is not an e-mail template's setting; known: body,"
                        + " body-file, subject, subject-file, time-zone"
            },
            {"{type: email}", "receivers[0].template.type is not an e-mail template's setting"},
            {
                "{time-zone: Europe/Dresden}",
                "receivers[0].template.time-zone 'Europe/Dresden' is not a time zone"
            },
            {
                "'{{status}}'",
                "receivers[0].template must be a map of texts (subject, body, each or its -file)"
                        + " and time-zone"
            },
            {"{subject: [a]}", "receivers[0].template.subject must be text"}
        };
        for (String[] mistake : mistakes) {
            assertThatThrownBy(() -> load(mail.formatted(mistake[0]), Map.of()))
                    .as(mistake[0])
                    .isInstanceOf(ConfigException.class)
                    .hasMessageStartingWith(dir.resolve("alerting.yaml") + ": receivers[0].")
                    .hasMessageContaining(mistake[1])
                    .hasMessageNotContaining("\n");
        }
        // MQTT's JSON is for panels and HMIs, which read Plantwatch's own.
        assertThatThrownBy(
                        () ->
                                load(
                                        "receivers:\n  - {name: mail, type: mqtt,"
                                                + " template: {body: x}}\n"
                                                + ROUTE,
                                        Map.of()))
                .hasMessageContaining("receivers[0].template is not a mqtt receiver's setting");
        assertThat(
                        load(mail.formatted("{time-zone: America/Chicago}"), Map.of())
                                .receivers()
                                .get("mail"))
                .isInstanceOf(EmailReceiver.class);
    }

    /**
     * A Slack URL from the environment or a file is checked at start, and the error names where it
     * came from, never the URL: it is the secret. One without a scheme started and failed every
     * notification; one with a trailing space was printed in full.
     */
    @Test
    void aSlackUrlThatIsNotAUrlIsRefusedWithoutShowingIt() throws Exception {
        String slack =
                "receivers:\n  - {name: ops-chat, type: slack}\n"
                        + ROUTE.replace("mail", "ops-chat");
        assertThatThrownBy(
                        () ->
                                load(
                                        slack,
                                        Map.of(
                                                "PLANTWATCH_SLACK_WEBHOOK_URL",
                                                "hooks.slack.com/services/T0/B0/SECRET")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(
                        "receivers[0].url-env PLANTWATCH_SLACK_WEBHOOK_URL is not a http or https"
                                + " URL with a host: it has no scheme")
                .hasMessageNotContaining("SECRET")
                .hasNoCause();
        assertThatThrownBy(
                        () ->
                                load(
                                        slack,
                                        Map.of(
                                                "PLANTWATCH_SLACK_WEBHOOK_URL",
                                                "https://hooks.slack.com/services/T0/B 0/SECRET")))
                .hasMessageContaining("Illegal character in path at index 37")
                .hasMessageNotContaining("SECRET")
                .hasMessageNotContaining("hooks.slack.com");
        Path file = dir.resolve("slack-url");
        Files.writeString(file, "ftp://hooks.slack.com/services/T0/B0/SECRET\n");
        assertThatThrownBy(
                        () ->
                                load(
                                        slack.replace(
                                                "type: slack", "type: slack, url-file: " + file),
                                        Map.of()))
                .hasMessageContaining("receivers[0].url-file " + file + " is not a http")
                .hasMessageContaining("its scheme is not http or https")
                .hasMessageNotContaining("SECRET");
        assertThat(
                        load(
                                        slack,
                                        Map.of(
                                                "PLANTWATCH_SLACK_WEBHOOK_URL",
                                                "https://hooks.slack.com/services/T0/B0/SECRET"))
                                .receivers())
                .containsKey("ops-chat");
    }

    @Test
    void aReceiverUrlWithAPortOutOfRangeIsRefused() {
        assertThatThrownBy(
                        () ->
                                load(
                                        "receivers:\n  - {name: mail, url: 'http://127.0.0.1:99999/x',"
                                                + " secret-env: S}\n"
                                                + ROUTE,
                                        Map.of("S", "s")))
                .hasMessageContaining("receivers[0].url 'http://127.0.0.1:99999/x' is not a http")
                .hasMessageContaining("its port 99999 is not between 1 and 65535");
    }

    /**
     * Counts, windows, timeouts and ports that would break the service later are refused at load
     * with the allowed range: flood.limit -1 threw after the service had started, timeout 0s failed
     * every delivery ("Invalid duration: PT0S"), a flood window of 0 switched flood control off and
     * max-changes 0 called every alert flapping.
     */
    @Test
    void valuesOutOfRangeAreOneLineNamingTheKeyAndTheAllowedRange() {
        String hook = "receivers:\n  - {name: mail, url: 'http://h/x', secret-env: S%s}\n" + ROUTE;
        Map<String, String> refused =
                new java.util.LinkedHashMap<>(
                        Map.ofEntries(
                                Map.entry(
                                        "flood: {limit: -1}\n" + CONSOLE,
                                        "flood.limit -1 is out of range; allowed: 1 or more"),
                                Map.entry(
                                        "flood: {limit: 0}\n" + CONSOLE,
                                        "flood.limit 0 is out of range; allowed: 1 or more"),
                                Map.entry(
                                        "flood: {window: 0s}\n" + CONSOLE,
                                        "flood.window 0s is out of range; allowed: 1ms or more"),
                                Map.entry(
                                        "flapping: {max-changes: 0}\n" + CONSOLE,
                                        "flapping.max-changes 0 is out of range; allowed: 1 or more"),
                                Map.entry(
                                        "flapping: {window: 0s}\n" + CONSOLE,
                                        "flapping.window 0s is out of range"),
                                Map.entry(
                                        hook.formatted(", timeout: 0s"),
                                        "receivers[0].timeout 0s is out of range; allowed: 1ms or"
                                                + " more"),
                                Map.entry(
                                        hook.formatted(", give-up-after: 109500d"),
                                        "receivers[0].give-up-after 109500d is out of range;"
                                                + " allowed: 0 (one attempt, no retries) or more,"
                                                + " at most 365d"),
                                Map.entry(
                                        hook.formatted(", max-backoff: 10ms"),
                                        "receivers[0].max-backoff 10ms is out of range; allowed:"
                                                + " 200ms or more"),
                                Map.entry(
                                        "receivers:\n  - {name: mail, type: slack, timeout: 0s}\n"
                                                + ROUTE,
                                        "receivers[0].timeout 0s is out of range"),
                                Map.entry(
                                        "receivers:\n  - {name: mail, type: pagerduty, timeout: 0s}\n"
                                                + ROUTE,
                                        "receivers[0].timeout 0s is out of range"),
                                // It was accepted and ignored: PagerDuty's backoff was fixed at 1m.
                                Map.entry(
                                        "receivers:\n  - {name: mail, type: pagerduty,"
                                                + " max-backoff: 10ms}\n"
                                                + ROUTE,
                                        "receivers[0].max-backoff 10ms is out of range"),
                                Map.entry(
                                        "receivers:\n  - {name: mail, type: email, host: h,"
                                                + " from: a@b.example, to: c@d.example, port: 0}\n"
                                                + ROUTE,
                                        "receivers[0].port 0 is out of range; allowed: 1 to 65535"),
                                Map.entry(
                                        "receivers:\n  - {name: mail, type: email, host: h,"
                                                + " from: a@b.example, to: c@d.example, timeout: 0s}\n"
                                                + ROUTE,
                                        "receivers[0].timeout 0s is out of range"),
                                Map.entry(
                                        "receivers:\n  - {name: mail, type: email, host: h,"
                                                + " from: a@b.example, to: 'not an address'}\n"
                                                + ROUTE,
                                        "receivers[0].to 'not an address' is not an e-mail address"),
                                Map.entry(
                                        "receivers:\n  - {name: mail, type: console}\n"
                                                + "route: {receiver: mail, repeat-interval: 0s}\n"
                                                + "api: {port: -1}\n",
                                        "route.repeat-interval 0s is out of range; allowed: 1m or"
                                                + " more"),
                                Map.entry(
                                        "receivers:\n  - {name: mail, type: console}\n"
                                                + "route: {receiver: mail}\napi: {port: -2}\n",
                                        "api.port -2 is out of range; allowed: -1 (the API off)"),
                                Map.entry(
                                        "receivers:\n  - {name: mail, type: console}\n"
                                                + "route: {receiver: mail}\napi: {port: 65536}\n",
                                        "api.port 65536 is out of range")));
        refused.forEach(
                (yaml, message) ->
                        assertThatThrownBy(
                                        () ->
                                                load(
                                                        yaml,
                                                        Map.of(
                                                                "S",
                                                                "s",
                                                                "PLANTWATCH_SLACK_WEBHOOK_URL",
                                                                "https://hooks.slack.example/T0",
                                                                "PLANTWATCH_PAGERDUTY_ROUTING_KEY",
                                                                "k")))
                                .as(yaml)
                                .isInstanceOf(ConfigException.class)
                                .hasMessageStartingWith(dir.resolve("alerting.yaml").toString())
                                .hasMessageContaining(message)
                                .hasMessageNotContaining("\n"));
    }

    /** Zero has a meaning for these, so it is allowed. */
    @Test
    void zeroWhereItHasAMeaningIsAllowed() throws Exception {
        AlertingConfig c =
                load(
                        "receivers:\n  - {name: mail, url: 'http://h/x', secret-env: S,"
                                + " give-up-after: 0s}\n"
                                + "route: {receiver: mail, group-wait: 0s}\n"
                                + "api: {port: -1}\n",
                        Map.of("S", "s"));
        assertThat(c.route().groupWait()).isZero();
    }

    /**
     * Resolved alerts forgotten within a day would be told again when a job restored from an older
     * checkpoint replays their states: the store must still know the episode.
     */
    @Test
    void theStoreKeepsResolvedAlertsAtLeastADay() {
        assertThatThrownBy(
                        () ->
                                load(
                                        "receivers:\n  - {name: mail, url: 'http://h/x', secret-env:"
                                                + " S}\nroute: {receiver: mail}\n"
                                                + "store: {retention: 12h}\napi: {port: -1}\n",
                                        Map.of("S", "s")))
                .hasMessageContaining(
                        "store.retention 12h is out of range; allowed: 1d or more (a replayed"
                                + " alert state must find its episode)");
    }

    /**
     * A JAAS login Kafka cannot parse stops the start with one line naming the variable or file,
     * not a Kafka stack trace, and never shows the value: it holds the password.
     */
    @Test
    void aMalformedJaasLoginIsOneLineThatDoesNotShowIt() throws Exception {
        String consumer = "kafka: {consumer: {security.protocol: SASL_PLAINTEXT, %s}}\n" + CONSOLE;
        String login =
                "org.apache.kafka.common.security.plain.PlainLoginModule required"
                        + " username=\"alerting\" password=\"hunter2\"";
        assertThatThrownBy(
                        () ->
                                load(
                                        consumer.formatted("sasl.jaas.config-env: KAFKA_LOGIN"),
                                        Map.of("KAFKA_LOGIN", login)))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(
                        "kafka.consumer.sasl.jaas.config-env names KAFKA_LOGIN, whose value is not"
                                + " a JAAS login: JAAS config entry not terminated by semi-colon")
                .hasMessageNotContaining("hunter2")
                .hasNoCause();
        // Kafka's own message quotes the token it stumbled on, here the password.
        assertThatThrownBy(
                        () ->
                                load(
                                        consumer.formatted("sasl.jaas.config-env: KAFKA_LOGIN"),
                                        Map.of(
                                                "KAFKA_LOGIN",
                                                "org.apache.kafka.common.security.plain.PlainLoginModule"
                                                        + " required username=\"alerting\" hunter2;")))
                .hasMessageContaining("Value not specified for key '****'")
                .hasMessageNotContaining("hunter2");
        Path file = dir.resolve("kafka-login");
        Files.writeString(file, "hunter2\n");
        assertThatThrownBy(
                        () -> load(consumer.formatted("sasl.jaas.config-file: " + file), Map.of()))
                .hasMessageContaining(
                        "kafka.consumer.sasl.jaas.config-file " + file + " is not a JAAS login")
                .hasMessageNotContaining("hunter2");
        assertThat(
                        load(
                                        consumer.formatted("sasl.jaas.config-env: KAFKA_LOGIN"),
                                        Map.of("KAFKA_LOGIN", login + ";"))
                                .kafkaConsumer()
                                .values())
                .containsEntry("sasl.jaas.config", login + ";");
    }

    /**
     * An MQTT receiver's broker URL with a login in it is refused without repeating it: a password
     * must not be written in the file, and username with password-env or password-file is the one
     * way to log in.
     */
    @Test
    void anMqttBrokerUrlWithALoginIsRefusedWithoutShowingIt() {
        assertThatThrownBy(
                        () ->
                                load(
                                        "receivers:\n  - {name: andon, type: mqtt, broker:"
                                                + " 'ssl://andon:s3cret@broker:8883'}\n"
                                                + "route: {receiver: andon}\napi: {port: -1}\n",
                                        Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("broker carries a login")
                .hasMessageNotContaining("s3cret");
        assertThatThrownBy(
                        () ->
                                load(
                                        "receivers:\n  - {name: andon, type: mqtt, broker:"
                                                + " 'http://andon:s3cret@broker:8883'}\n"
                                                + "route: {receiver: andon}\napi: {port: -1}\n",
                                        Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("is not a tcp or ssl URL")
                .hasMessageNotContaining("s3cret");
    }

    private static final String ANDON =
            "receivers:\n  - {name: andon, type: mqtt, broker: 'ssl://127.0.0.1:8883'%s}\n"
                    + "route: {receiver: andon}\napi: {port: -1}\n";

    /**
     * An MQTT receiver's CA file and login are read at start, each mistake one line naming the key:
     * a wrong CA file would otherwise fail every notification for an hour.
     */
    @Test
    void anMqttReceiversCaFileAndLoginAreCheckedAtStart() throws Exception {
        try (io.plantwatch.infra.SelfSignedCertificate cert =
                io.plantwatch.infra.SelfSignedCertificate.generate()) {
            Path password = dir.resolve("mqtt-password");
            Files.writeString(password, "from-the-file\n");
            AlertingConfig c =
                    load(
                            ANDON.formatted(
                                    ", ca-file: '%s', username: andon, password-file: '%s'"
                                            .formatted(cert.caFile(), password)),
                            Map.of());
            assertThat(c.receivers().get("andon")).isInstanceOf(MqttReceiver.class);
            load(
                    ANDON.formatted(", username: andon"),
                    Map.of("PLANTWATCH_ALERTING_MQTT_PASSWORD", "pw"));
            load(
                    ANDON.formatted(", username: andon, password-env: ANDON_PW"),
                    Map.of("ANDON_PW", "pw"));
        }
        Path notPem = dir.resolve("not.pem");
        Files.writeString(notPem, "this is no certificate\n");
        assertThatThrownBy(() -> load(ANDON.formatted(", ca-file: '" + notPem + "'"), Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("receivers[0].ca-file " + notPem)
                .hasMessageContaining("holds no CA certificate in PEM");
        assertThatThrownBy(
                        () ->
                                load(
                                        ANDON.formatted(
                                                ", ca-file: '" + dir.resolve("missing.pem") + "'"),
                                        Map.of()))
                .hasMessageContaining("receivers[0].ca-file names a file that cannot be read");
        assertThatThrownBy(
                        () ->
                                load(
                                        ANDON.formatted(", ca-file: '" + notPem + "'")
                                                .replace("ssl://", "tcp://"),
                                        Map.of()))
                .hasMessageContaining("receivers[0].ca-file is for an ssl:// broker");
        assertThatThrownBy(
                        () ->
                                load(
                                        ANDON.formatted(", username: andon, password: hunter2"),
                                        Map.of()))
                .hasMessageContaining("receivers[0].password must not be written in the file")
                .hasMessageNotContaining("hunter2");
        assertThatThrownBy(() -> load(ANDON.formatted(", username: andon"), Map.of()))
                .hasMessageContaining(
                        "receivers[0] logs in as andon: set PLANTWATCH_ALERTING_MQTT_PASSWORD"
                                + " or password-file");
        assertThatThrownBy(
                        () ->
                                load(
                                        ANDON.formatted(
                                                ", password-file: '" + dir.resolve("pw") + "'"),
                                        Map.of()))
                .hasMessageContaining("receivers[0].password-file is set but username is not");
        Files.writeString(dir.resolve("empty"), "");
        assertThatThrownBy(
                        () ->
                                load(
                                        ANDON.formatted(
                                                ", username: andon, password-file: '"
                                                        + dir.resolve("empty")
                                                        + "'"),
                                        Map.of()))
                .hasMessageContaining("receivers[0].password-file")
                .hasMessageContaining("is empty");
    }
}
