package io.plantwatch.appliance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.plantwatch.infra.EmbeddedKafka;
import io.plantwatch.infra.MosquittoExtension;
import io.plantwatch.model.Alert;
import io.plantwatch.model.AlertKind;
import io.plantwatch.model.AlertState;
import io.plantwatch.model.AvroAlertCodec;
import io.plantwatch.model.ConfigWatch;
import io.plantwatch.model.Topics;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;

/**
 * {@code plantwatch run} against Debian's mosquitto as the plant's broker, with the embedded Kafka:
 * readings published with {@code mosquitto_pub} reach Kafka through the gateway, and an excursion
 * among them is alerted by the job.
 */
class RunWithMosquittoTest {
    @RegisterExtension static final MosquittoExtension mosquitto = new MosquittoExtension();

    private static final String SENSOR = "dresden/press-shop/line-1/press-1/oil-temp";

    @TempDir Path dir;

    @Test
    void readingsPublishedWithMosquittoPubAreProcessedAndAnExcursionIsAlerted() throws Exception {
        // Idle Kafka partitions stop holding the watermark back after 1 s instead of 30 s. The
        // late readings' topic is renamed: the appliance creates the topics its configs name.
        Path job = dir.resolve("job.yaml");
        Files.writeString(job, "watermark: {idleness: 1s}\nkafka: {late-topic: line-7-late}\n");
        Path settings = settings(job, Path.of("../config/alerting-demo.yaml"));
        StringWriter out = new StringWriter();
        Running running = Running.start(settings, out);
        try {
            Matcher m = Pattern.compile("Kafka (\\S+),").matcher(out.toString());
            assertThat(m.find()).isTrue();
            String bootstrap = m.group(1);

            publishExcursion();

            List<String> readings = new CopyOnWriteArrayList<>();
            List<Alert> alerts = new CopyOnWriteArrayList<>();
            try (KafkaConsumer<byte[], byte[]> consumer = consumer(bootstrap)) {
                consumer.subscribe(List.of(Topics.SENSOR_READINGS, Topics.ALERTS));
                AvroAlertCodec codec = new AvroAlertCodec();
                await().atMost(Duration.ofSeconds(60))
                        .until(
                                () -> {
                                    for (ConsumerRecord<byte[], byte[]> r :
                                            consumer.poll(Duration.ofMillis(200))) {
                                        if (r.topic().equals(Topics.ALERTS)) {
                                            alerts.add(codec.decode(r.value()).value());
                                        } else {
                                            readings.add(
                                                    new String(r.key(), StandardCharsets.UTF_8));
                                        }
                                    }
                                    return readings.size() >= 20
                                            && alerts.stream()
                                                    .anyMatch(
                                                            a ->
                                                                    a.kind()
                                                                            == AlertKind
                                                                                    .OUT_OF_RANGE);
                                });
            }
            assertThat(readings).hasSize(20).containsOnly(SENSOR);
            try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
                assertThat(admin.listTopics().names().get())
                        .contains("line-7-late", Topics.SENSOR_READINGS_DLQ)
                        .doesNotContain(Topics.SENSOR_READINGS_LATE);
                // kafka.sync-writes, on by default: a power cut keeps what the gateway acked.
                var broker =
                        new org.apache.kafka.common.config.ConfigResource(
                                org.apache.kafka.common.config.ConfigResource.Type.BROKER,
                                admin.describeCluster().nodes().get().iterator().next().idString());
                assertThat(
                                admin.describeConfigs(List.of(broker))
                                        .all()
                                        .get()
                                        .get(broker)
                                        .get("log.flush.interval.messages")
                                        .value())
                        .isEqualTo("1");
            }
            assertThat(alerts)
                    .filteredOn(a -> a.kind() == AlertKind.OUT_OF_RANGE)
                    .allSatisfy(a -> assertThat(a.sensorId().id()).isEqualTo(SENSOR));
        } finally {
            running.command().stop();
        }
        assertThat(running.exit().get()).isZero();
        assertThat(out.toString()).contains("Plantwatch stopped.");
    }

    /**
     * {@code plantwatch run} against the plant's own Kafka, which asks for a login (SASL/PLAIN) and
     * allows only what its ACLs say, with its topics created by the plant: the gateway's, the job's
     * and alerting's Kafka settings log each in, the appliance's own admin client uses the
     * gateway's login, and readings become alerts as with the embedded Kafka.
     */
    @Test
    void runsAgainstTheRightsOfASecuredKafka() throws Exception {
        String user = "plantwatch";
        try (EmbeddedKafka plant = securedPlant(user, UUID.randomUUID().toString())) {
            // The login in a file of its own, as a mounted secret; the config files name it.
            String login = (String) plant.clientProperties(user).get("sasl.jaas.config");
            Path loginFile = Files.writeString(dir.resolve("kafka-login"), login);
            Path settings = securedSettings(plant, loginFile, loginFile);
            StringWriter out = new StringWriter();
            Running running = Running.start(settings, out);
            try {
                publishExcursion();
                List<Alert> alerts =
                        awaitAlerts(
                                consumer(plant.clientProperties(EmbeddedKafka.ADMIN)),
                                a -> a.kind() == AlertKind.OUT_OF_RANGE);
                // Alerting read it too, with its own login: its journal holds the alert.
                String id =
                        alerts.stream()
                                .filter(a -> a.kind() == AlertKind.OUT_OF_RANGE)
                                .findFirst()
                                .orElseThrow()
                                .alertId();
                Path journal = dir.resolve("data").resolve("alerting");
                await().atMost(Duration.ofSeconds(30))
                        .ignoreExceptions()
                        .until(() -> journalMentions(journal, id));
            } finally {
                running.command().stop();
            }
            assertThat(running.exit().get()).isZero();
            assertThat(out.toString()).doesNotContain(login);
        }
    }

    /**
     * A plant's Kafka with SASL/PLAIN, its topics made, and {@code user} allowed what the appliance
     * needs and no more.
     */
    private static EmbeddedKafka securedPlant(String user, String password) throws Exception {
        EmbeddedKafka plant =
                EmbeddedKafka.builder().saslPlain(Map.of(user, password)).build().start();
        plant.createTopics(
                4,
                Topics.SENSOR_READINGS,
                Topics.SENSOR_READINGS_DLQ,
                Topics.SENSOR_READINGS_LATE,
                Topics.SENSOR_COMPLETENESS,
                Topics.ALERTS,
                Topics.ALERTS_DLQ);
        plant.allow(
                user,
                Topics.SENSOR_READINGS,
                AclOperation.READ,
                AclOperation.WRITE,
                AclOperation.DESCRIBE);
        plant.allow(
                user, Topics.ALERTS, AclOperation.READ, AclOperation.WRITE, AclOperation.DESCRIBE);
        for (String t :
                List.of(
                        Topics.SENSOR_READINGS_DLQ,
                        Topics.SENSOR_READINGS_LATE,
                        Topics.SENSOR_COMPLETENESS,
                        Topics.ALERTS_DLQ)) {
            plant.allow(user, t, AclOperation.WRITE, AclOperation.DESCRIBE);
        }
        plant.allowGroup(user, "plantwatch-anomaly-job", AclOperation.READ);
        return plant;
    }

    /**
     * The appliance's settings against {@code plant}, each part logging in with the login in {@code
     * loginFile}, the job with the one in {@code jobLoginFile}.
     */
    private Path securedSettings(EmbeddedKafka plant, Path loginFile, Path jobLoginFile)
            throws Exception {
        String security =
                "{security.protocol: SASL_PLAINTEXT, sasl.mechanism: PLAIN,"
                        + " sasl.jaas.config-file: '%s'}";
        Path gateway =
                Files.writeString(
                        dir.resolve("gateway.yaml"),
                        "kafka: {producer: %s}\n".formatted(security.formatted(loginFile)));
        String jobSecurity = security.formatted(jobLoginFile);
        Path job =
                Files.writeString(
                        dir.resolve("job.yaml"),
                        "watermark: {idleness: 1s}\nkafka: {consumer: %s, producer: %s}\n"
                                .formatted(jobSecurity, jobSecurity));
        Path alerting =
                Files.writeString(
                        dir.resolve("alerting.yaml"),
                        Files.readString(Path.of("../config/alerting-demo.yaml"))
                                + """
                                kafka:
                                  consumer:
                                    security.protocol: SASL_PLAINTEXT
                                    sasl.mechanism: PLAIN
                                    sasl.jaas.config-file: %s
                                """
                                        .formatted(loginFile));
        return settings(plant.bootstrapServers(), job, alerting, gateway);
    }

    /**
     * A change the job fails with soon after it resumed is rolled back: a wrong password in the
     * job's login file, which the broker refuses only once the job runs. Without the rollback the
     * job restarted ten times over three minutes and then stopped the appliance; now it runs again
     * with the login it had, and goes on alerting.
     */
    @Test
    void aChangeTheJobFailsWithSoonAfterItResumedIsRolledBack() throws Exception {
        String user = "plantwatch";
        String password = UUID.randomUUID().toString();
        try (EmbeddedKafka plant = securedPlant(user, password)) {
            String login = (String) plant.clientProperties(user).get("sasl.jaas.config");
            Path loginFile = Files.writeString(dir.resolve("kafka-login"), login);
            // The job's login in a file of its own: the mistake is the job's alone.
            Path jobLoginFile = Files.writeString(dir.resolve("job-kafka-login"), login);
            Path settings = securedSettings(plant, loginFile, jobLoginFile);
            ListAppender<ILoggingEvent> log = configChangesLog();
            StringWriter out = new StringWriter();
            Running running = Running.start(settings, out);
            try {
                Files.writeString(jobLoginFile, login.replace(password, "not-" + password));
                await().atMost(Duration.ofSeconds(60))
                        .until(() -> said(log, Level.WARN, "runs with the changed settings"));
                await().atMost(Duration.ofSeconds(60))
                        .until(() -> said(log, Level.ERROR, "runs again with the settings it had"));
                // The line says why, not only where the trace is.
                assertThat(said(log, Level.ERROR, "(SaslAuthenticationException: ")).isTrue();
                assertThat(running.exit()).isNotDone();

                // Readings sent after the rollback are detected on, with the login it had.
                publishExcursion();
                awaitAlerts(
                        consumer(plant.clientProperties(EmbeddedKafka.ADMIN)),
                        a ->
                                a.kind() == AlertKind.OUT_OF_RANGE
                                        && a.sensorId().id().equals(SENSOR));
                assertThat(running.exit()).isNotDone();
            } finally {
                stopLogging(log);
                running.command().stop();
            }
            assertThat(running.exit().get()).isZero();
        }
    }

    /**
     * A restarted {@code plantwatch run} goes on from where the job stopped: an excursion open when
     * the appliance stopped resolves once the sensor reads normal again after the restart. Started
     * afresh, the job would have forgotten the open episode and resumed from the offsets committed
     * at its last checkpoint, past the excursion, and the alert would stay open for good. The stop
     * leaves a savepoint in Flink's canonical format, so the restart may switch state.backend
     * (refused from a checkpoint, which only its own backend restores) and keep the state.
     */
    @Test
    void aRestartGoesOnFromTheStopsSavepointSoAnOpenAlertResolvesEvenOnAnotherStateBackend()
            throws Exception {
        Path job = dir.resolve("job.yaml");
        Files.writeString(job, "watermark: {idleness: 1s}\ncheckpoint: {interval: 1s}\n");
        // A gateway and a sensor of their own: the gateway's MQTT session on the shared mosquitto
        // outlives each test, and readings an earlier test's gateway had not acknowledged would
        // come again here, with their own timestamps, in the middle of this test's.
        Path gateway = dir.resolve("gateway.yaml");
        Files.writeString(gateway, "gateway: {id: gateway-restarted}\n");
        Path settings = settings(job, Path.of("../config/alerting-demo.yaml"), gateway);
        String sensor = "dresden/press-shop/line-1/press-2/oil-temp";
        long start = System.currentTimeMillis() - 30_000;
        String openId;

        StringWriter out = new StringWriter();
        Running first = Running.start(settings, out);
        try {
            // Normal, then above the range until the appliance stops.
            publish(sensor, start, 0, 20, 5);
            // Out of range cannot resolve before the stop: every reading after it is above.
            List<Alert> alerts =
                    awaitAlerts(
                            bootstrap(out),
                            a ->
                                    a.state() == AlertState.OPEN
                                            && a.kind() == AlertKind.OUT_OF_RANGE
                                            && a.sensorId().id().equals(sensor));
            openId = alerts.get(0).alertId();
            // The job's position committed past every reading: that happens when a checkpoint
            // holding them completes, and a job started afresh would begin after the excursion.
            try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap(out)))) {
                await().atMost(Duration.ofSeconds(60))
                        .until(() -> committedToEnd(admin, "plantwatch-anomaly-job"));
            }
        } finally {
            first.command().stop();
        }
        assertThat(first.exit().get()).isZero();
        Path savepoints = dir.resolve("data").resolve("checkpoints").resolve("savepoints");
        try (var taken = Files.list(savepoints)) {
            assertThat(taken.filter(p -> Files.isRegularFile(p.resolve("_metadata"))))
                    .as("the stop's savepoint")
                    .hasSize(1);
        }

        Files.writeString(
                job,
                "watermark: {idleness: 1s}\ncheckpoint: {interval: 1s}\nstate: {backend:"
                        + " rocksdb}\n");
        StringWriter again = new StringWriter();
        Running second = Running.start(settings, again);
        try {
            publish(sensor, start, 20, 60, Integer.MAX_VALUE);
            List<Alert> resolved =
                    awaitAlerts(
                            bootstrap(again),
                            a -> a.state() == AlertState.RESOLVED && a.alertId().equals(openId));
            assertThat(resolved).isNotEmpty();
        } finally {
            second.command().stop();
        }
        assertThat(second.exit().get()).isZero();
        assertThat(dir.resolve("data").resolve("checkpoints").resolve("state-backend"))
                .hasContent("rocksdb");
    }

    /**
     * A changed rules file is applied while the appliance runs: the job stops with a savepoint and
     * resumes from it with the new rules, its open alerts kept. An alert of a rule the new file
     * took away resolves at the sensor's next reading, a new rule alerts, and a file with a mistake
     * is refused with its reason while the job goes on with the rules it has. The changes are made
     * in the file the rules file includes.
     */
    @Test
    void aChangedRulesFileIsAppliedWhileTheApplianceRuns() throws Exception {
        Path job = dir.resolve("job.yaml");
        Files.writeString(job, "watermark: {idleness: 1s}\ncheckpoint: {interval: 1s}\n");
        Path gateway = dir.resolve("gateway.yaml");
        Files.writeString(gateway, "gateway: {id: gateway-rules-changed}\n");
        String sensor = "dresden/press-shop/line-1/press-3/oil-temp";
        // The rules are changed in the file the rules file includes, which is watched with it.
        Path rules = Files.writeString(dir.resolve("rules.yaml"), "include: site-rules.yaml\n");
        Path siteRules = dir.resolve("site-rules.yaml");
        Files.writeString(
                siteRules,
                "sensors: [{match: '**/press-3/oil-temp', out-of-range: {high: 100, name: too-hot}}]\n");
        Path settings =
                settings("embedded", job, Path.of("../config/alerting-demo.yaml"), gateway, rules);
        ListAppender<ILoggingEvent> log = configChangesLog();
        long start = System.currentTimeMillis() - 60_000;
        StringWriter out = new StringWriter();
        Running running = Running.start(settings, out);
        try {
            publish(sensor, start, 0, 10, 5);
            String tooHot =
                    awaitAlerts(
                                    bootstrap(out),
                                    a -> a.state() == AlertState.OPEN && a.rule().equals("too-hot"))
                            .get(0)
                            .alertId();

            Files.writeString(
                    siteRules,
                    "sensors: [{match: '**/press-3/oil-temp', out-of-range: {high: lots}}]\n");
            await().atMost(Duration.ofSeconds(30))
                    .until(() -> said(log, Level.ERROR, "is not applied"));
            assertThat(said(log, Level.ERROR, "'high' (lots) is not a number")).isTrue();

            Files.writeString(
                    siteRules,
                    "sensors: [{match: '**/press-3/oil-temp', out-of-range: {low: 200, name:"
                            + " too-cold}}]\n");
            await().atMost(Duration.ofSeconds(60))
                    .until(() -> said(log, Level.WARN, "runs with the changed rules"));
            assertThat(running.exit()).isNotDone();

            publish(sensor, start, 10, 20, 10);
            // Both at the sensor's first reading after the change, in either order.
            Map<String, Alert> told = new java.util.concurrent.ConcurrentHashMap<>();
            awaitAlerts(
                    bootstrap(out),
                    a -> {
                        if (a.state() == AlertState.RESOLVED && a.alertId().equals(tooHot)) {
                            told.put("resolved", a);
                        } else if (a.state() == AlertState.OPEN && a.rule().equals("too-cold")) {
                            told.put("opened", a);
                        }
                        return told.size() == 2;
                    });
            assertThat(told.get("resolved").message()).contains("no longer has rule too-hot");
            assertThat(told.get("opened").message()).contains("below its low limit 200");
        } finally {
            stopLogging(log);
            running.command().stop();
        }
        assertThat(running.exit().get()).isZero();
    }

    /**
     * A changed job file is applied while the appliance runs, as a rules change is: the job stops
     * with a savepoint and resumes with the new settings. Readings stamped 3 minutes ahead are set
     * aside while {@code limits.max-future-skew} is 1 minute and detected once it is 10; a change
     * the savepoint cannot take (a topic) is refused with its reason.
     */
    @Test
    void aChangedJobFileIsAppliedWhileTheApplianceRuns() throws Exception {
        Path job = dir.resolve("job.yaml");
        String settingsBefore =
                "watermark: {idleness: 1s}\ncheckpoint: {interval: 1s}\n"
                        + "limits: {max-future-skew: 1m}\n";
        Files.writeString(job, settingsBefore);
        Path gateway = dir.resolve("gateway.yaml");
        Files.writeString(gateway, "gateway: {id: gateway-job-changed}\n");
        String sensor = "dresden/press-shop/line-1/press-5/oil-temp";
        Path rules =
                Files.writeString(
                        dir.resolve("rules.yaml"),
                        "sensors: [{match: '**/press-5/oil-temp', out-of-range: {high: 100, name:"
                                + " too-hot}}]\n");
        Path settings =
                settings("embedded", job, Path.of("../config/alerting-demo.yaml"), gateway, rules);
        ListAppender<ILoggingEvent> log = configChangesLog();
        StringWriter out = new StringWriter();
        Running running = Running.start(settings, out);
        try {
            long ahead = System.currentTimeMillis() + 180_000;
            publish(sensor, ahead, 0, 5, 0);

            Files.writeString(job, settingsBefore + "kafka: {alerts-topic: other-alerts}\n");
            await().atMost(Duration.ofSeconds(30))
                    .until(() -> said(log, Level.ERROR, "is not applied"));
            assertThat(
                            said(
                                    log,
                                    Level.ERROR,
                                    "kafka.alerts-topic (alerts -> other-alerts) changed"))
                    .isTrue();

            Files.writeString(job, settingsBefore.replace("1m", "10m"));
            awaitAlertsAheadOnceApplied(log, "runs with the changed settings", sensor, ahead, out);
            assertThat(running.exit()).isNotDone();
        } finally {
            stopLogging(log);
            running.command().stop();
        }
        assertThat(running.exit().get()).isZero();
    }

    /**
     * A changed gateway file is applied while the appliance runs: the bridge reconnects under its
     * session with the new settings while the job and alerting go on. Readings stamped 3 min ahead
     * go to the DLQ while the gateway's {@code limits.max-future-skew} is 1 min, and are alerted on
     * once it is 10 min; a change of the gateway's id (its MQTT session) is refused first.
     */
    @Test
    void aChangedGatewayFileIsAppliedWhileTheApplianceRuns() throws Exception {
        Path job =
                Files.writeString(
                        dir.resolve("job.yaml"),
                        "watermark: {idleness: 1s}\nlimits: {max-future-skew: 10m}\n");
        String before = "gateway: {id: gateway-changed}\nlimits: {max-future-skew: 1m}\n";
        Path gateway = Files.writeString(dir.resolve("gateway.yaml"), before);
        String sensor = "dresden/press-shop/line-1/press-6/oil-temp";
        Path rules =
                Files.writeString(
                        dir.resolve("rules.yaml"),
                        "sensors: [{match: '**/press-6/oil-temp', out-of-range: {high: 100, name:"
                                + " too-hot}}]\n");
        Path settings =
                settings("embedded", job, Path.of("../config/alerting-demo.yaml"), gateway, rules);
        ListAppender<ILoggingEvent> log = configChangesLog();
        StringWriter out = new StringWriter();
        Running running = Running.start(settings, out);
        try {
            long ahead = System.currentTimeMillis() + 180_000;
            publish(sensor, ahead, 0, 5, 0);
            try (KafkaConsumer<byte[], byte[]> dlq = consumer(bootstrap(out))) {
                dlq.subscribe(List.of(Topics.SENSOR_READINGS_DLQ));
                List<ConsumerRecord<byte[], byte[]>> rejected = new CopyOnWriteArrayList<>();
                await().atMost(Duration.ofSeconds(30))
                        .until(
                                () -> {
                                    dlq.poll(Duration.ofMillis(200)).forEach(rejected::add);
                                    return rejected.size() >= 5;
                                });
            }

            Files.writeString(gateway, before.replace("gateway-changed", "gateway-other"));
            await().atMost(Duration.ofSeconds(30))
                    .until(() -> said(log, Level.ERROR, "is not applied"));
            assertThat(said(log, Level.ERROR, "gateway.id (gateway-changed -> gateway-other)"))
                    .isTrue();

            Files.writeString(gateway, before.replace("1m", "10m"));
            awaitAlertsAheadOnceApplied(
                    log, "gateway runs with the changed settings", sensor, ahead, out);
            assertThat(running.exit()).isNotDone();
        } finally {
            stopLogging(log);
            running.command().stop();
        }
        assertThat(running.exit().get()).isZero();
    }

    /**
     * A changed appliance file is applied while the appliance runs where it can be: the embedded
     * Kafka's topics take a new {@code kafka.retention}, the disk watch's next check a new {@code
     * disk.warn-free-mb}, the job, resumed from a savepoint, a new {@code job.restart}. A change of
     * what a part took at its start is refused with its old and new value, and nothing of it is
     * taken; a stop margin above the space free waits. Before, the file was read at the start only.
     */
    @Test
    void aChangedApplianceFileIsAppliedWhereItCanBe() throws Exception {
        Path settings =
                settings(Path.of("../config/job.yaml"), Path.of("../config/alerting-demo.yaml"));
        String before =
                Files.readString(settings) + "disk: {reclaim-history: false, warn-free-mb: 2048}\n";
        Files.writeString(settings, before);
        ListAppender<ILoggingEvent> log = configChangesLog();
        Logger diskLog = (Logger) LoggerFactory.getLogger(DiskWatch.class);
        diskLog.addAppender(log);
        StringWriter out = new StringWriter();
        Running running = Running.start(settings, out);
        try {
            String muchRoom = "warn-free-mb: 100000000";
            Files.writeString(
                    settings,
                    before.replace("reclaim-history: false", "reclaim-history: true")
                            .replace("warn-free-mb: 2048", muchRoom));
            await().atMost(Duration.ofSeconds(30))
                    .until(() -> said(log, Level.ERROR, "is not applied"));
            assertThat(said(log, Level.ERROR, "disk.reclaim-history (false -> true) changed"))
                    .isTrue();

            // A stop margin above the space free now would stop the appliance at once.
            Files.writeString(
                    settings,
                    before.replace("warn-free-mb: 2048", muchRoom + ", stop-free-mb: 100000000"));
            await().atMost(Duration.ofSeconds(30))
                    .until(
                            () ->
                                    said(
                                            log,
                                            Level.ERROR,
                                            "disk.stop-free-mb 100000000 is more than the"));
            // Neither refused change's warn margin was taken.
            assertThat(said(log, Level.WARN, "The data folder's disk is filling")).isFalse();

            Files.writeString(
                    settings,
                    before.replace("warn-free-mb: 2048", muchRoom)
                            .replace(
                                    "bootstrap: 'embedded'", "bootstrap: 'embedded', retention: 2d")
                            .replace("rules.yaml}", "rules.yaml, restart: {max-restarts: 20}}"));
            // A savepoint taken before the job's tasks all ran is tried again 30 s later.
            await().atMost(Duration.ofSeconds(90))
                    .until(() -> said(log, Level.WARN, "The appliance runs with the changed"));
            // The job resumed from a savepoint with the restart policy, as for its own file.
            assertThat(
                            said(
                                    log,
                                    Level.WARN,
                                    "The anomaly job runs with the changed job.restart settings of "
                                            + settings))
                    .isTrue();
            assertThat(
                            said(
                                    log,
                                    Level.WARN,
                                    "kafka.retention 7d -> 2d, job.restart.max-restarts 10 -> 20,"
                                            + " disk.warn-free-mb 2048 -> 100000000"))
                    .isTrue();
            Properties p = new Properties();
            p.put("bootstrap.servers", bootstrap(out));
            try (Admin admin = Admin.create(p)) {
                org.apache.kafka.common.config.ConfigResource readings =
                        new org.apache.kafka.common.config.ConfigResource(
                                org.apache.kafka.common.config.ConfigResource.Type.TOPIC,
                                Topics.SENSOR_READINGS);
                assertThat(
                                admin.describeConfigs(List.of(readings))
                                        .all()
                                        .get(10, TimeUnit.SECONDS)
                                        .get(readings)
                                        .get("retention.ms")
                                        .value())
                        .isEqualTo(Long.toString(Duration.ofDays(2).toMillis()));
            }
            // Checked every 5 s.
            await().atMost(Duration.ofSeconds(15))
                    .until(() -> said(log, Level.WARN, "The data folder's disk is filling"));
            assertThat(running.exit()).isNotDone();
        } finally {
            diskLog.detachAppender(log);
            stopLogging(log);
            running.command().stop();
        }
        assertThat(running.exit().get()).isZero();
    }

    /**
     * A changed alerting file is applied while the appliance runs: alerting restarts with it from
     * its journal, and the next notification goes to the receiver the new routes name, while the
     * job keeps running; a change to what alerting reads from Kafka is refused.
     */
    @Test
    void aChangedAlertingFileIsAppliedWhileTheApplianceRuns() throws Exception {
        List<String> toFirst = new CopyOnWriteArrayList<>();
        List<String> toSecond = new CopyOnWriteArrayList<>();
        com.sun.net.httpserver.HttpServer first = webhook(toFirst);
        com.sun.net.httpserver.HttpServer second = webhook(toSecond);
        ListAppender<ILoggingEvent> log = configChangesLog();
        try {
            Path job = dir.resolve("job.yaml");
            Files.writeString(job, "watermark: {idleness: 1s}\ncheckpoint: {interval: 1s}\n");
            Path gateway = dir.resolve("gateway.yaml");
            Files.writeString(gateway, "gateway: {id: gateway-alerting-changed}\n");
            Path alerting = dir.resolve("alerting.yaml");
            Files.writeString(alerting, alertingTo("first", first));
            String sensor = "dresden/press-shop/line-1/press-4/oil-temp";
            long start = System.currentTimeMillis() - 60_000;
            StringWriter out = new StringWriter();
            Running running = Running.start(settings(job, alerting, gateway), out);
            try {
                publish(sensor, start, 0, 10, 5);
                await().atMost(Duration.ofSeconds(90))
                        .until(() -> toFirst.stream().anyMatch(b -> b.contains("\"OPEN\"")));

                Files.writeString(
                        alerting,
                        alertingTo("first", first) + "kafka: {alerts-topic: other-alerts}\n");
                await().atMost(Duration.ofSeconds(30))
                        .until(() -> said(log, Level.ERROR, "applied only at a start"));

                Files.writeString(alerting, alertingTo("second", second));
                await().atMost(Duration.ofSeconds(60))
                        .until(() -> said(log, Level.WARN, "Alerting runs with the changed"));
                publish(sensor, start, 10, 30, Integer.MAX_VALUE);
                await().atMost(Duration.ofSeconds(90))
                        .until(() -> toSecond.stream().anyMatch(b -> b.contains("\"RESOLVED\"")));
                assertThat(running.exit()).isNotDone();
            } finally {
                running.command().stop();
            }
            assertThat(running.exit().get()).isZero();
        } finally {
            stopLogging(log);
            first.stop(0);
            second.stop(0);
        }
    }

    /**
     * The plant's broker goes away: the gateway forwards nothing, and once that has lasted {@code
     * pipeline-alerts.after} the receivers are told by an alert about the pipeline itself; the
     * broker back, it resolves. Before, it was a WARN on a console nobody reads under systemd.
     */
    @Test
    void aBrokerOutageIsToldToTheReceiversAsAPipelineAlertAndSoIsItsEnd() throws Exception {
        String forwarding = "\"sensor\":\"plantwatch/pipeline/line-7/gateway/forwarding\"";
        Running running =
                withPipelineAlerts(
                        "watermark: {idleness: 1s}\n",
                        "{instance: line-7, after: 5s}",
                        appliance -> appliance,
                        told -> {
                            try {
                                mosquitto.broker().stop();
                                await().atMost(Duration.ofSeconds(60))
                                        .until(() -> toldIn(told, forwarding, AlertState.OPEN));
                                assertThat(told)
                                        .filteredOn(b -> b.contains(forwarding))
                                        .first()
                                        .asString()
                                        .contains("\"severity\":\"CRITICAL\"")
                                        .contains(
                                                "is not connected to the MQTT broker "
                                                        + mosquitto.uri());
                                mosquitto.broker().start();
                                await().atMost(Duration.ofSeconds(90))
                                        .until(() -> toldIn(told, forwarding, AlertState.RESOLVED));
                                assertThat(told)
                                        .filteredOn(b -> b.contains(forwarding))
                                        .as("one episode, told opening and ending")
                                        .hasSize(2);
                            } finally {
                                if (!mosquitto.broker().isRunning()) {
                                    mosquitto.broker().start();
                                }
                            }
                        });
        assertThat(running.exit().get()).isZero();
    }

    /**
     * The job's checkpoints cannot be written (their folder replaced by a file, as a disk gone
     * read-only leaves it): the job fails over and over, and the receivers are told both, the job
     * failing over and over and its checkpoints failing, as the appliance wires its checks.
     */
    @Test
    void aJobFailingOverAndOverIsToldToTheReceiversAsPipelineAlerts() throws Exception {
        withPipelineAlerts(
                "checkpoint: {interval: 200ms}\n",
                "{after: 5s}",
                appliance -> appliance,
                told -> {
                    Path checkpoints = dir.resolve("data").resolve("checkpoints");
                    Path jobFolder =
                            await().atMost(Duration.ofSeconds(90))
                                    .until(
                                            () ->
                                                    JobFailureTest.completedCheckpointFolder(
                                                            checkpoints),
                                            f -> f != null);
                    Files.move(jobFolder, dir.resolve("moved-away"));
                    Files.writeString(jobFolder, "not a folder");
                    String prefix = "\"sensor\":\"plantwatch/pipeline/appliance/anomaly-job/";
                    await().atMost(Duration.ofSeconds(90))
                            .until(
                                    () ->
                                            toldIn(told, prefix + "running\"", AlertState.OPEN)
                                                    && toldIn(
                                                            told,
                                                            prefix + "checkpoints\"",
                                                            AlertState.OPEN));
                    assertThat(told)
                            .filteredOn(b -> b.contains(prefix + "running\""))
                            .first()
                            .asString()
                            .contains("\"severity\":\"CRITICAL\"")
                            .contains("The anomaly job ");
                });
    }

    /**
     * The data folder's disk short of room (here: a warning margin of 100 TB, nothing to reclaim,
     * no stop) is told to the receivers as {@code disk/free-space}, as the appliance wires its disk
     * check; before, the console's WARN was all.
     */
    @Test
    void aDiskShortOfRoomIsToldToTheReceiversAsAPipelineAlert() throws Exception {
        Running running =
                withPipelineAlerts(
                        "watermark: {idleness: 1s}\n",
                        "{after: 5s}",
                        appliance ->
                                appliance
                                        + "disk: {warn-free-mb: 100000000, stop-free-mb: 0,"
                                        + " reclaim-history: false}\n",
                        told -> {
                            String disk =
                                    "\"sensor\":\"plantwatch/pipeline/appliance/disk/free-space\"";
                            await().atMost(Duration.ofSeconds(60))
                                    .until(() -> toldIn(told, disk, AlertState.OPEN));
                            assertThat(told)
                                    .filteredOn(b -> b.contains(disk))
                                    .first()
                                    .asString()
                                    .contains("\"severity\":\"WARNING\"");
                        });
        assertThat(running.exit().get()).isZero();
    }

    /**
     * The appliance stopping on its own (here its job failing with no restart left) tells the
     * receivers before it goes, as {@code appliance/stopped}: before, only the heartbeat's silence
     * did, if one was set.
     */
    @Test
    void theApplianceStoppingOnItsOwnTellsTheReceiversFirst() throws Exception {
        String stopped = "\"sensor\":\"plantwatch/pipeline/appliance/appliance/stopped\"";
        Running running =
                withPipelineAlerts(
                        "checkpoint: {interval: 200ms}\n",
                        "{after: 5s}",
                        appliance ->
                                appliance.replace("job: {", "job: {restart: {max-restarts: 0}, "),
                        told -> {
                            Path jobFolder =
                                    await().atMost(Duration.ofSeconds(90))
                                            .until(
                                                    () ->
                                                            JobFailureTest
                                                                    .completedCheckpointFolder(
                                                                            dir.resolve("data")
                                                                                    .resolve(
                                                                                            "checkpoints")),
                                                    f -> f != null);
                            Files.move(jobFolder, dir.resolve("moved-away"));
                            Files.writeString(jobFolder, "not a folder");
                            await().atMost(Duration.ofSeconds(90))
                                    .until(() -> toldIn(told, stopped, AlertState.OPEN));
                            assertThat(told)
                                    .filteredOn(b -> b.contains(stopped))
                                    .first()
                                    .asString()
                                    .contains("\"severity\":\"CRITICAL\"")
                                    .contains("Plantwatch stopped on its own: ");
                        });
        assertThat(running.exit().get()).isEqualTo(1);
    }

    /** What a test does while the appliance runs, with what the webhook was told so far. */
    private interface WhileRunning {
        void run(List<String> told) throws Exception;
    }

    /**
     * Runs the appliance with {@code jobYaml} as the job's file, one webhook receiver with {@code
     * pipelineAlerts} as alerting's {@code pipeline-alerts}, and the appliance's file as {@code
     * appliance} makes it; does {@code test} while it runs, then stops it.
     *
     * @return the stopped appliance, for its exit
     */
    private Running withPipelineAlerts(
            String jobYaml,
            String pipelineAlerts,
            java.util.function.UnaryOperator<String> appliance,
            WhileRunning test)
            throws Exception {
        List<String> told = new CopyOnWriteArrayList<>();
        com.sun.net.httpserver.HttpServer hook = webhook(told);
        try {
            Path job = dir.resolve("job.yaml");
            Files.writeString(job, jobYaml);
            Path alerting = dir.resolve("alerting.yaml");
            Files.writeString(alerting, alertingTo("ops", hook, pipelineAlerts));
            Path settings = settings(job, alerting);
            Files.writeString(settings, appliance.apply(Files.readString(settings)));
            Running running = Running.start(settings, new StringWriter());
            try {
                test.run(told);
            } finally {
                running.command().stop();
            }
            return running;
        } finally {
            hook.stop(0);
        }
    }

    /** Whether a notification in {@code bodies} told {@code sensor}'s alert in {@code state}. */
    private static boolean toldIn(List<String> bodies, String sensor, AlertState state) {
        return bodies.stream()
                .anyMatch(b -> b.contains(sensor) && b.contains("\"state\":\"" + state + "\""));
    }

    /**
     * Alerting's settings with one webhook receiver, {@code name}, at {@code server}, without
     * pipeline alerts (a CI host's disk below disk.warn-free-mb would tell one).
     */
    private String alertingTo(String name, com.sun.net.httpserver.HttpServer server)
            throws Exception {
        return alertingTo(name, server, "{enabled: false}");
    }

    /** The same with {@code pipelineAlerts} as the {@code pipeline-alerts} section. */
    private String alertingTo(
            String name, com.sun.net.httpserver.HttpServer server, String pipelineAlerts)
            throws Exception {
        Path secret = dir.resolve("webhook-secret");
        Files.writeString(secret, UUID.randomUUID().toString());
        return """
                receivers:
                  - name: %s
                    type: webhook
                    url: http://127.0.0.1:%d/hook
                    secret-file: %s
                route:
                  receiver: %s
                  group-wait: 0s
                  group-interval: 1s
                api:
                  port: -1
                pipeline-alerts: %s
                """
                .formatted(name, server.getAddress().getPort(), secret, name, pipelineAlerts);
    }

    /** A webhook receiver on loopback that keeps each body it is sent. */
    private static com.sun.net.httpserver.HttpServer webhook(List<String> bodies) throws Exception {
        com.sun.net.httpserver.HttpServer server =
                com.sun.net.httpserver.HttpServer.create(
                        new java.net.InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext(
                "/hook",
                ex -> {
                    bodies.add(
                            new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
                    ex.sendResponseHeaders(204, -1);
                    ex.close();
                });
        server.start();
        return server;
    }

    /**
     * Once the log says {@code applied} (a change of a limit on readings stamped ahead), readings
     * of {@code sensor} 5 to 10 s after {@code ahead}, above its range, open a {@code too-hot}
     * alert: only they, those sent before the change having been set aside.
     */
    private static void awaitAlertsAheadOnceApplied(
            ListAppender<ILoggingEvent> log,
            String applied,
            String sensor,
            long ahead,
            StringWriter out)
            throws Exception {
        await().atMost(Duration.ofSeconds(60)).until(() -> said(log, Level.WARN, applied));
        publish(sensor, ahead, 5, 10, 5);
        List<Alert> tooHot =
                awaitAlerts(
                        bootstrap(out),
                        a -> a.state() == AlertState.OPEN && a.rule().equals("too-hot"));
        assertThat(tooHot)
                .allSatisfy(
                        a -> assertThat(a.episodeStart()).isGreaterThanOrEqualTo(ahead + 5_000));
    }

    /** What the config watch and the appliance log about changes, until {@link #stopLogging}. */
    private static ListAppender<ILoggingEvent> configChangesLog() {
        ListAppender<ILoggingEvent> log = new ListAppender<>();
        log.start();
        CONFIG_CHANGE_LOGGERS.forEach(l -> l.addAppender(log));
        return log;
    }

    private static void stopLogging(ListAppender<ILoggingEvent> log) {
        CONFIG_CHANGE_LOGGERS.forEach(l -> l.detachAppender(log));
    }

    private static final List<Logger> CONFIG_CHANGE_LOGGERS =
            List.of(
                    (Logger) LoggerFactory.getLogger(ConfigWatch.class),
                    (Logger) LoggerFactory.getLogger(Appliance.class),
                    (Logger) LoggerFactory.getLogger(io.plantwatch.gateway.Gateway.class));

    private static boolean said(ListAppender<ILoggingEvent> log, Level level, String text) {
        // Under the appender's lock: the appliance's threads append while a test polls.
        synchronized (log) {
            return log.list.stream()
                    .anyMatch(e -> e.getLevel() == level && e.getFormattedMessage().contains(text));
        }
    }

    /**
     * A part that stops on its own stops the appliance with exit 1 and says which, rather than
     * leaving the rest running without it: here alerting, whose API port is taken.
     */
    @Test
    void aPartThatStopsOnItsOwnStopsTheRunWithExit1() throws Exception {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0)) {
            Path token = dir.resolve("api-token");
            Files.writeString(token, UUID.randomUUID().toString());
            Path alerting = dir.resolve("alerting.yaml");
            Files.writeString(
                    alerting,
                    Files.readString(Path.of("../config/alerting-demo.yaml"))
                            .replace(
                                    "port: -1",
                                    "port: %d\n  token-file: %s"
                                            .formatted(taken.getLocalPort(), token)));
            Path settings = settings(Path.of("../config/job.yaml"), alerting);
            CommandLine cli = new CommandLine(new Plantwatch());
            StringWriter err = new StringWriter();
            cli.setOut(new PrintWriter(new StringWriter(), true));
            cli.setErr(new PrintWriter(err, true));
            int exit =
                    CompletableFuture.supplyAsync(
                                    () -> cli.execute("run", "--config", settings.toString()))
                            .get(120, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(exit).as(err.toString()).isEqualTo(1);
            assertThat(err.toString()).contains("plantwatch run: alerting stopped");
        }
    }

    /**
     * The appliance's settings: mosquitto as the plant's broker, the embedded Kafka, data under
     * this test's folder, the shipped rules (and gateway settings).
     */
    private Path settings(Path jobConfig, Path alertingConfig) throws Exception {
        return settings(jobConfig, alertingConfig, Path.of("../config/gateway.yaml"));
    }

    private Path settings(Path jobConfig, Path alertingConfig, Path gatewayConfig)
            throws Exception {
        return settings("embedded", jobConfig, alertingConfig, gatewayConfig);
    }

    /** The same against {@code kafka}: {@code embedded} or a plant's bootstrap servers. */
    private Path settings(String kafka, Path jobConfig, Path alertingConfig, Path gatewayConfig)
            throws Exception {
        return settings(
                kafka, jobConfig, alertingConfig, gatewayConfig, Path.of("../config/rules.yaml"));
    }

    private Path settings(
            String kafka, Path jobConfig, Path alertingConfig, Path gatewayConfig, Path rules)
            throws Exception {
        Path settings = dir.resolve("appliance.yaml");
        Files.writeString(
                settings,
                """
                mqtt: {broker: %s}
                kafka: {bootstrap: '%s'}
                data-dir: %s
                job: {config: %s, rules: %s}
                gateway: {config: %s}
                alerting: {config: %s}
                """
                        .formatted(
                                mosquitto.uri(),
                                kafka,
                                dir.resolve("data"),
                                jobConfig,
                                rules,
                                gatewayConfig,
                                alertingConfig));
        return settings;
    }

    private static String bootstrap(StringWriter out) {
        Matcher m = Pattern.compile("Kafka (\\S+),").matcher(out.toString());
        assertThat(m.find()).isTrue();
        return m.group(1);
    }

    /** The alerts on Kafka, once one of them matches. */
    private static List<Alert> awaitAlerts(String bootstrap, Predicate<Alert> wanted) {
        return awaitAlerts(consumer(bootstrap), wanted);
    }

    /**
     * The alerts {@code consumer} reads, once one of them matches; it is closed afterwards. When
     * none does, the failure also counts the readings on Kafka per sensor, to tell a gateway that
     * held readings back from a job that did not alert on them.
     */
    private static List<Alert> awaitAlerts(
            KafkaConsumer<byte[], byte[]> alertsConsumer, Predicate<Alert> wanted) {
        List<Alert> alerts = new CopyOnWriteArrayList<>();
        Map<String, Integer> readings = new java.util.concurrent.ConcurrentHashMap<>();
        try (KafkaConsumer<byte[], byte[]> consumer = alertsConsumer) {
            consumer.subscribe(List.of(Topics.ALERTS, Topics.SENSOR_READINGS));
            AvroAlertCodec codec = new AvroAlertCodec();
            try {
                await().atMost(Duration.ofSeconds(90))
                        .until(
                                () -> {
                                    for (ConsumerRecord<byte[], byte[]> r :
                                            consumer.poll(Duration.ofMillis(200))) {
                                        if (r.topic().equals(Topics.ALERTS)) {
                                            alerts.add(codec.decode(r.value()).value());
                                        } else {
                                            readings.merge(
                                                    new String(r.key(), StandardCharsets.UTF_8),
                                                    1,
                                                    Integer::sum);
                                        }
                                    }
                                    return alerts.stream().anyMatch(wanted);
                                });
            } catch (org.awaitility.core.ConditionTimeoutException e) {
                throw new AssertionError(
                        "not among the alerts: " + alerts + "; readings on Kafka: " + readings, e);
            }
        }
        return alerts.stream().filter(wanted).toList();
    }

    /** Whether {@code group} has committed the end of every partition of the readings' topic. */
    private static boolean committedToEnd(Admin admin, String group) throws Exception {
        Map<TopicPartition, OffsetAndMetadata> committed =
                admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
        Map<TopicPartition, OffsetSpec> latest = new java.util.HashMap<>();
        for (TopicPartition p :
                admin
                        .describeTopics(List.of(Topics.SENSOR_READINGS))
                        .allTopicNames()
                        .get()
                        .get(Topics.SENSOR_READINGS)
                        .partitions()
                        .stream()
                        .map(i -> new TopicPartition(Topics.SENSOR_READINGS, i.partition()))
                        .toList()) {
            latest.put(p, OffsetSpec.latest());
        }
        for (var end : admin.listOffsets(latest).all().get().entrySet()) {
            OffsetAndMetadata c = committed.get(end.getKey());
            long at = c == null ? 0 : c.offset();
            if (at < end.getValue().offset()) {
                return false;
            }
        }
        return true;
    }

    /**
     * Readings {@code from} to {@code to} (exclusive), a second apart from {@code start}, those
     * from {@code highFrom} on above the range, of {@code sensor}.
     */
    private static void publish(String sensor, long start, int from, int to, int highFrom)
            throws Exception {
        for (int i = from; i < to; i++) {
            publish(
                    sensor,
                    "{\"ts\": %d, \"value\": %s, \"unit\": \"degC\", \"seq\": %d}"
                            .formatted(start + i * 1000L, i >= highFrom ? 150.0 : 55.0, i));
        }
    }

    /** {@code plantwatch run} in this JVM, its output to {@code out}, once it says it runs. */
    private record Running(CompletableFuture<Integer> exit, RunCommand command) {
        static Running start(Path settings, StringWriter out) {
            CommandLine cli = new CommandLine(new Plantwatch());
            cli.setOut(new PrintWriter(out, true));
            cli.setErr(new PrintWriter(System.err, true));
            CompletableFuture<Integer> exit =
                    CompletableFuture.supplyAsync(
                            () -> cli.execute("run", "--config", settings.toString()));
            await().atMost(Duration.ofSeconds(90))
                    .until(() -> out.toString().contains("Plantwatch running") || exit.isDone());
            assertThat(exit).as(out.toString()).isNotDone();
            return new Running(exit, cli.getSubcommands().get("run").getCommand());
        }
    }

    /** Twenty readings of {@link #SENSOR} a second apart, the sixth to the tenth above 80. */
    private static void publishExcursion() throws Exception {
        long start = System.currentTimeMillis() - 30_000;
        for (int i = 0; i < 20; i++) {
            double value = i >= 5 && i < 10 ? 150.0 : 55.0;
            publish(
                    SENSOR,
                    "{\"ts\": %d, \"value\": %s, \"unit\": \"degC\", \"seq\": %d}"
                            .formatted(start + i * 1000L, value, i));
        }
    }

    private static boolean journalMentions(Path dir, String text) throws Exception {
        try (var files = Files.walk(dir)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                if (Files.readString(f).contains(text)) {
                    return true;
                }
            }
        }
        return false;
    }

    private static void publish(String sensor, String payload) throws Exception {
        Process p =
                new ProcessBuilder(
                                "mosquitto_pub",
                                "-h",
                                mosquitto.host(),
                                "-p",
                                Integer.toString(mosquitto.port()),
                                "-q",
                                "1",
                                "-t",
                                "plant/" + sensor,
                                "-m",
                                payload)
                        .redirectErrorStream(true)
                        .start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(output).isZero();
    }

    private static KafkaConsumer<byte[], byte[]> consumer(String bootstrap) {
        return consumer(Map.of("bootstrap.servers", bootstrap));
    }

    private static KafkaConsumer<byte[], byte[]> consumer(Map<String, Object> client) {
        Properties p = new Properties();
        p.putAll(client);
        p.put("group.id", "run-test");
        p.put("auto.offset.reset", "earliest");
        p.put("isolation.level", "read_committed");
        return new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }
}
