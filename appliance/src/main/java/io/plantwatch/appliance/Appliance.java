package io.plantwatch.appliance;

import io.plantwatch.alerting.AlertingConfig;
import io.plantwatch.alerting.AlertingService;
import io.plantwatch.gateway.Gateway;
import io.plantwatch.gateway.GatewayConfig;
import io.plantwatch.infra.EmbeddedKafka;
import io.plantwatch.infra.EmbeddedMqttBroker;
import io.plantwatch.infra.KafkaTopics;
import io.plantwatch.job.AnomalyJob;
import io.plantwatch.job.JobSettings;
import io.plantwatch.model.ConfigException;
import io.plantwatch.model.ConfigWatch;
import io.plantwatch.model.FreePorts;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.flink.core.execution.JobClient;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The whole appliance in this process: MQTT broker and Kafka (embedded, or the plant's own), the
 * anomaly job on a local Flink MiniCluster, the edge gateway and the alerting service, each built
 * by its module's own code from its own config file. Started in dependency order, closed in
 * reverse.
 */
final class Appliance implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Appliance.class);

    /**
     * The embedded broker's drops are looked at every second, so the warning comes while the outage
     * is on; an episode ends after 10 s without one.
     */
    private static final long DROP_CHECK_MILLIS = 1_000;

    private static final int DROP_QUIET_CHECKS = 10;

    /** The topics the demo's job, gateway and alerting service use, as their configs name them. */
    private List<String> topics = List.of();

    /**
     * Replaced by a change of the appliance's file (what {@link ApplianceSettings#LIVE} allows).
     */
    private volatile ApplianceSettings settings;

    /** The appliance's file and the {@code --set} flags over it; null file: not watched. */
    private final Path settingsFile;

    private final Map<String, String> settingsFlags;

    private final ConfigWatch<ApplianceSettings> settingsWatch;

    /** Held while a change of the appliance's file is applied. */
    private final Object settingsLock = new Object();

    /** The disk watch's margins, which a change of the appliance's file moves. */
    private volatile DiskWatch disk;

    private EmbeddedMqttBroker mqtt;
    private EmbeddedKafka kafka;
    private LineProtocolFiles files;
    private volatile JobClient job;

    /** Held while the job is replaced by a rules change, and by {@link #close} for the job. */
    private final Object jobLock = new Object();

    // Replaced by a change of the job's file, under jobLock; read by the watches' checks too.
    private volatile JobSettings jobSettings;
    private final List<ConfigWatch<?>> configWatches = new ArrayList<>();

    /**
     * How the job restarts after a failure, as it was submitted with: appliance.yaml's {@code
     * job.restart}, replaced when a change of it resumes the job.
     */
    private volatile ApplianceSettings.RestartPolicy jobRestarts;

    /** The rules the job runs with: what a failed change falls back to. */
    private volatile io.plantwatch.job.rules.RuleBook rulesInForce;

    /** The job a rules change is stopping: its end is not a failure. */
    private volatile JobClient beingReplaced;

    /** The job a change of its files started, while that change may still be rolled back. */
    private volatile Probation probation;

    /** Changes the job failed with soon after it resumed with them, and that were rolled back. */
    private final java.util.concurrent.atomic.AtomicLong rolledBack =
            new java.util.concurrent.atomic.AtomicLong();

    /**
     * A job resumed with changed files, and what it ran with before: if it fails within {@code
     * window} ({@code job.restart.reset-after} as it was then) of its start, the change is taken to
     * be what broke it.
     */
    private record Probation(
            JobClient job,
            JobSettings formerSettings,
            io.plantwatch.job.rules.RuleBook formerRules,
            String what,
            String files,
            long startNanos,
            Duration window) {

        /** The same probation, for {@code next}, which runs with what its job ran with. */
        Probation carriedTo(JobClient next) {
            return new Probation(
                    next, formerSettings, formerRules, what, files, startNanos, window);
        }
    }

    private PrintWriter err;

    /** Held while alerting restarts with a changed file, and by {@link #close} for alerting. */
    private final Object alertingLock = new Object();

    private volatile AlertingConfig alertingConfig;
    private Gateway gateway;
    private volatile AlertingService alerting;
    private volatile CompletableFuture<Void> alertingLoop;
    private String mqttUri;
    private String bootstrap;
    private String seriesTarget;
    private final CompletableFuture<String> failure = new CompletableFuture<>();
    private volatile boolean closing;

    /** When {@link #close} must be done by ({@link System#nanoTime}); 0 until it is called. */
    private volatile long closeDeadlineNanos;

    private volatile boolean savepointOnStop = true;
    private Thread diskWatch;
    private DiskReclaim reclaim;
    private Thread dropWatch;

    private BrokerDropWatch drops;

    /** What the appliance's parts report of themselves, told by alerting as pipeline alerts. */
    private final io.plantwatch.alerting.PipelineAlerts pipeline =
            new io.plantwatch.alerting.PipelineAlerts();

    private Thread pipelineWatch;

    /** Why the job does not detect, or null while it does; from the job's health watch. */
    private volatile String jobProblem;

    /** Why the job's checkpoints fail, or null while they succeed; from its health watch. */
    private volatile String checkpointsProblem;

    /** Whether the job's checkpoints fail, carried to a job that replaces it. */
    private volatile boolean checkpointsFailing;

    /** The job's restarts in the last ten minutes, across jobs that replace each other. */
    private final PipelineWatch.RestartWindow recentRestarts = new PipelineWatch.RestartWindow();

    private Appliance(ApplianceSettings settings, Path file, Map<String, String> flags) {
        this.settings = settings;
        this.jobRestarts = settings.jobRestarts();
        this.settingsFile = file;
        this.settingsFlags = Map.copyOf(flags);
        // Its content taken now, just after the command read the file, not once the brokers
        // are up: a change saved during the start is applied, not missed.
        this.settingsWatch =
                file == null || !settings.watchConfig()
                        ? null
                        : new ConfigWatch<>(
                                "appliance file",
                                "the appliance",
                                file,
                                f ->
                                        ApplianceSettings.load(f, settingsFlags)
                                                .checkedAsChangeOf(this.settings, f),
                                this::applySettings);
    }

    /** The appliance cannot start for a reason outside its settings (a full disk). */
    static final class CannotStart extends Exception {
        CannotStart(String message) {
            super(message);
        }
    }

    /**
     * Starts everything; on any failure what was started is closed again.
     *
     * @throws ConfigException for a bad setting in any of the config files
     * @throws CannotStart when the data folder's disk is already below {@code disk.stop-free-mb}
     */
    static Appliance start(ApplianceSettings s, PrintWriter err) throws Exception {
        return start(s, null, Map.of(), err);
    }

    /**
     * {@link #start(ApplianceSettings, PrintWriter)} with the file and the {@code --set} flags
     * {@code s} was read from: with {@code watch-config}, a change of the file while the appliance
     * runs is applied where {@link ApplianceSettings#LIVE} allows, and refused otherwise.
     */
    static Appliance start(
            ApplianceSettings s, Path file, Map<String, String> flags, PrintWriter err)
            throws Exception {
        Appliance a = new Appliance(s, file, flags);
        try {
            a.startAll(err);
            return a;
        } catch (Exception | Error e) {
            a.close();
            throw e;
        }
    }

    private void startAll(PrintWriter err) throws Exception {
        // Every module's file is read before anything starts, with stand-in addresses: a
        // mistake in one is reported at once, not after the brokers' start-up (the rules' too).
        for (FileCheck c : checkFiles(settings)) {
            if (c.problem() != null) {
                throw new ConfigException(c.problem());
            }
        }
        Files.createDirectories(settings.dataDir());
        if (settings.influxUrl() == null) {
            files =
                    new LineProtocolFiles(
                            settings.dataDir().resolve("series"), settings.seriesFilesKeepDays());
            seriesTarget = "line-protocol files in " + files.dir();
        } else {
            seriesTarget =
                    "InfluxDB " + settings.influxUrl() + " bucket " + settings.influxBucket();
        }
        DiskWatch atStart =
                new DiskWatch(
                        settings.dataDir(), settings.diskWarnFreeMb(), settings.diskStopFreeMb());
        String full = atStart.check();
        if (full != null && files != null && settings.diskReclaimHistory()) {
            // A stop on a full disk leaves the hour it was writing; gzipped, it takes a twelfth.
            files.awaitClosed();
            full = atStart.check();
            long stop = settings.diskStopFreeMb() << 20;
            // Then past hours may go, up to the stop margin only, and only when that is enough:
            // the embedded Kafka's history can go only through Kafka, once it runs, and history
            // deleted for a start refused anyway helps nobody.
            if (full != null && atStart.free() + files.closedBytes() >= stop + stop / 10) {
                try (DiskReclaim seriesOnly =
                        DiskReclaim.seriesOnly(files, settings.embeddedKafka())) {
                    full =
                            new DiskWatch(
                                            settings.dataDir(),
                                            0,
                                            settings.diskStopFreeMb(),
                                            seriesOnly)
                                    .check();
                }
            }
        }
        if (full != null) {
            throw new CannotStart(full);
        }
        if (settings.embeddedMqtt()) {
            FreePorts.requireFree(
                    settings.mqttBind(),
                    settings.mqttPort(),
                    "mqtt.port",
                    "another broker runs here? Point mqtt.broker at it, stop it, or set mqtt.port"
                            + " (0: any free port)");
            // Held before it starts, so that a failed start still has its folders removed.
            // On disk, so that the gateway's session outlives a restart or a kill: in memory, what
            // sensors sent before the gateway subscribed again (17 s after a kill -9, with
            // Kafka's recovery and the job's restore first) was acknowledged and dropped.
            mqtt =
                    EmbeddedMqttBroker.builder()
                            .port(settings.mqttPort())
                            .bindAddress(settings.mqttBind())
                            .maxQueueSize(settings.mqttMaxQueueSize())
                            .dataDirectory(settings.dataDir().resolve("mqtt"))
                            .build();
            mqtt.start();
            mqttUri = mqtt.uri();
            // Watched from here on: after a restart the gateway subscribes only once Kafka has
            // recovered and the job has restored, and meanwhile its session's queue fills.
            drops =
                    new BrokerDropWatch(
                            mqtt::droppedMessages,
                            settings.mqttMaxQueueSize(),
                            DROP_CHECK_MILLIS,
                            DROP_QUIET_CHECKS);
            dropWatch = drops.watch();
        } else {
            mqttUri = settings.mqttBroker();
        }
        if (settings.embeddedKafka()) {
            // Kafka halts the process when its log folder fails (a full disk): say why first,
            // since nothing else will.
            Path kafkaDir = settings.dataDir().resolve("kafka");
            org.apache.kafka.common.utils.Exit.setHaltProcedure(
                    (code, message) -> {
                        LOG.error(
                                "The embedded Kafka halts the appliance: its log folder {} failed"
                                        + " ({} free on its disk){}; the cause is in {}",
                                kafkaDir,
                                freeSpace(settings.dataDir()),
                                message == null ? "" : ": " + message,
                                settings.dataDir().resolve("plantwatch.log"));
                        Runtime.getRuntime().halt(code);
                    });
            kafka =
                    EmbeddedKafka.builder()
                            .defaultPartitions(4)
                            .dataDirectory(settings.dataDir().resolve("kafka"))
                            // One node has no replica to keep what it acknowledged: without a
                            // sync, a power cut lost the last ~30 s of readings (the page cache's
                            // writeback delay) that the gateway had already acknowledged to the
                            // MQTT broker, and the job, its offsets past the log's end, read the
                            // whole topic again.
                            .brokerProperty(
                                    "log.flush.interval.messages",
                                    settings.kafkaSyncWrites()
                                            ? "1"
                                            : Long.toString(Long.MAX_VALUE))
                            // Segments the disk watch gives up go at the next check, and their
                            // files a moment later: with Kafka's 5 minutes and 60 s, a flood of
                            // rejected readings outran what the watch gave up on a small disk.
                            .brokerProperty("log.retention.check.interval.ms", "10000")
                            .brokerProperty("log.segment.delete.delay.ms", "5000")
                            .build()
                            .start();
            bootstrap = kafka.bootstrapServers();
        } else {
            bootstrap = settings.kafkaBootstrap();
        }
        this.err = err;
        // Their contents taken before the parts read the files, so a change between is not missed.
        List<ConfigWatch<?>> watches = new ArrayList<>();
        if (settings.watchConfig()) {
            watches.add(
                    new ConfigWatch<>(
                            "rules file",
                            "the anomaly job",
                            settings.rules(),
                            io.plantwatch.job.rules.RuleBook::files,
                            AnomalyJob::loadRules,
                            this::applyRules));
            watches.add(
                    new ConfigWatch<>(
                            "alerting file",
                            "alerting",
                            settings.alertingConfig(),
                            AlertingConfig::files,
                            file -> checkAlerting(alertingConfig),
                            this::applyAlerting));
            if (settings.jobConfig() != null) {
                String seriesUrl = files == null ? null : files.url();
                watches.add(
                        new ConfigWatch<>(
                                "job file",
                                "the anomaly job",
                                settings.jobConfig(),
                                this::jobFiles,
                                file -> checkJobSettings(seriesUrl),
                                this::applyJobSettings));
            }
            watches.add(
                    new ConfigWatch<>(
                            "gateway file",
                            "the gateway",
                            settings.gatewayConfig(),
                            GatewayConfig::files,
                            file -> checkGateway(),
                            this::applyGateway));
            if (settingsWatch != null) {
                watches.add(settingsWatch);
            }
        }
        ModuleConfigs configs =
                moduleConfigs(bootstrap, mqttUri, files == null ? null : files.url());
        JobSettings jobSettings = configs.job();
        GatewayConfig gatewayConfig = configs.gateway();
        AlertingConfig loaded = configs.alerting();
        // Every topic the configs name, renamed ones included: the embedded broker creates none
        // on first use, as a plant's brokers should not.
        topics =
                java.util.stream.Stream.of(
                                gatewayConfig.readingsTopic(),
                                gatewayConfig.dlqTopic(),
                                jobSettings.readingsTopic(),
                                jobSettings.lateTopic(),
                                jobSettings.completenessTopic(),
                                jobSettings.dlqTopic(),
                                jobSettings.alertsTopic(),
                                loaded.alertsTopic(),
                                loaded.dlqTopic())
                        .distinct()
                        .toList();
        createTopics(kafkaLogin(gatewayConfig.producerOverrides()), jobSettings);

        this.jobSettings = jobSettings;
        rulesInForce = AnomalyJob.loadRules(jobSettings.rulesFile());
        watch(LocalJob.resume(jobSettings, checkpoints(), jobRestarts, rulesInForce));
        gateway = Gateway.start(gatewayConfig);
        if (mqtt != null) {
            gateway.metrics()
                    .registerCounter(
                            BrokerDropWatch.METRIC,
                            "Messages the embedded MQTT broker dropped, most often because a"
                                    + " subscriber's queue was full (mqtt.max-queue-size); HiveMQ's "
                                    + EmbeddedMqttBroker.DROPPED_MESSAGES_METRIC,
                            mqtt::droppedMessages);
        }
        startAlerting(loaded, null);
        synchronized (settingsLock) {
            // Before the watches start, and with the settings read once: a change of the
            // appliance's file finds the disk watch and its margins.
            startDiskWatch(settings, gatewayConfig, jobSettings);
        }
        PipelineWatch parts =
                new PipelineWatch(pipeline)
                        .check(PipelineWatch.JOB_RUNNING, () -> jobProblem)
                        .check(PipelineWatch.JOB_CHECKPOINTS, () -> checkpointsProblem)
                        .check(PipelineWatch.GATEWAY, gateway::problem)
                        .check(
                                PipelineWatch.DISK,
                                () -> {
                                    DiskWatch d = disk;
                                    return d == null ? null : d.problem();
                                });
        if (drops != null) {
            parts.check(PipelineWatch.BROKER_DROPS, drops::problem);
        }
        // Started: an appliance/stopped alert from the last stop resolves, saying so, once the
        // start has lasted pipeline-alerts.after.
        pipeline.report(PipelineWatch.STOPPED, null, System.currentTimeMillis());
        pipelineWatch = parts.watch(PIPELINE_CHECK_MILLIS);
        for (ConfigWatch<?> w : watches) {
            String prefix =
                    switch (w.what()) {
                        case "rules file" -> "rules";
                        case "alerting file" -> "alerting_config";
                        case "job file" -> "job_config";
                        case "appliance file" -> "appliance_config";
                        default -> "gateway_config";
                    };
            String file = "the " + w.what();
            gateway.metrics()
                    .registerCounter(
                            ConfigWatch.appliedMetric(prefix),
                            "Changes to " + file + " applied while the appliance runs",
                            w::applied);
            gateway.metrics()
                    .registerCounter(
                            ConfigWatch.refusedMetric(prefix),
                            "Changes to "
                                    + file
                                    + " not applied: a mistake in the file, or its part could not"
                                    + " take it",
                            w::refused);
            w.watch(CONFIG_CHECK_MILLIS);
            configWatches.add(w);
        }
        gateway.metrics().registerCollector(JobMetrics.collector());
        gateway.metrics()
                .registerCounter(
                        "plantwatch_job_changes_rolled_back_total",
                        "Changes to the rules or the job's file that the job failed with soon after"
                                + " it resumed with them, rolled back to what it ran with before",
                        rolledBack::get);
    }

    private void startDiskWatch(
            ApplianceSettings now, GatewayConfig gatewayConfig, JobSettings jobSettings) {
        DiskWatch disk = new DiskWatch(now.dataDir(), now.diskWarnFreeMb(), now.diskStopFreeMb());
        // With the plant's Kafka and an InfluxDB there is no history here to give up.
        if (now.diskReclaimHistory() && (kafka != null || files != null)) {
            Properties login = kafkaLogin(gatewayConfig.producerOverrides());
            login.put("bootstrap.servers", bootstrap);
            reclaim =
                    new DiskReclaim(
                            kafka == null ? null : now.dataDir().resolve("kafka"),
                            login,
                            jobSettings.readingsTopic(),
                            jobSettings.groupId(),
                            // Beyond the checkpoints kept, one of which a start may restore.
                            jobSettings
                                    .checkpointInterval()
                                    .multipliedBy(LocalJob.RETAINED_CHECKPOINTS + 1)
                                    .plusSeconds(30),
                            java.util.stream.Stream.of(
                                            gatewayConfig.dlqTopic(),
                                            jobSettings.dlqTopic(),
                                            jobSettings.lateTopic())
                                    .distinct()
                                    .toList(),
                            files,
                            System::currentTimeMillis);
            disk =
                    new DiskWatch(
                            now.dataDir(), now.diskWarnFreeMb(), now.diskStopFreeMb(), reclaim);
            DiskWatch watched = disk;
            gateway.metrics()
                    .registerCounter(
                            DiskWatch.RECLAIMED_METRIC,
                            "Bytes of the oldest history (checkpointed readings, rejected and"
                                    + " late readings in the embedded Kafka, series files of past"
                                    + " hours) given up for room on the data folder's disk",
                            watched::reclaimed);
        }
        this.disk = disk;
        diskWatch =
                disk.watch(
                        5_000,
                        why -> {
                            if (!closing) {
                                stopOnItsOwn(why);
                            }
                        });
    }

    /**
     * Alerting from its file's settings, its journal under the data folder; its end, unless
     * replaced by a change of the file, stops the appliance. Its counters go on from those of
     * {@code before}, the service it replaces, if any.
     */
    private void startAlerting(AlertingConfig loaded, AlertingService before) {
        AlertingConfig ac =
                new AlertingConfig(
                        loaded.kafkaBootstrap(),
                        loaded.alertsTopic(),
                        loaded.dlqTopic(),
                        loaded.groupId(),
                        settings.dataDir().resolve("alerting"),
                        loaded.storeRetention(),
                        loaded.floodLimit(),
                        loaded.floodWindow(),
                        loaded.flapMaxChanges(),
                        loaded.flapWindow(),
                        loaded.receivers(),
                        loaded.route(),
                        loaded.latching(),
                        loaded.inhibitions(),
                        loaded.apiHost(),
                        loaded.apiPort(),
                        loaded.apiToken(),
                        loaded.kafkaConsumer(),
                        loaded.healthKafkaGrace(),
                        loaded.grafanaUrl(),
                        loaded.pipelineAlerts(),
                        loaded.heartbeat());
        AlertingService service =
                before == null ? new AlertingService(err, pipeline) : new AlertingService(before);
        CompletableFuture<Void> loop =
                CompletableFuture.runAsync(
                        () -> {
                            try {
                                service.run(ac);
                            } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                            } catch (java.io.IOException e) {
                                throw new java.io.UncheckedIOException(e);
                            }
                        });
        alerting = service;
        alertingLoop = loop;
        alertingConfig = loaded;
        loop.whenComplete(
                (r, e) -> {
                    if (alerting == service) {
                        stoppedOnItsOwn("alerting", e);
                    }
                });
    }

    /**
     * Alerting's file as it is now, checked as at the start: its receivers, routes and limits may
     * change while the appliance runs; what it reads from Kafka may not.
     *
     * @param running the settings alerting runs with
     */
    private AlertingConfig checkAlerting(AlertingConfig running) {
        return AlertingConfig.load(settings.alertingConfig(), bootstrap, System::getenv)
                .checkedAsChangeOf(running, settings.alertingConfig());
    }

    /**
     * Alerting's file changed and is valid: alerting stops (deliveries under way get {@link
     * AlertingService#STOP_GRACE_SECONDS}) and starts again with it, from its journal, so what was
     * not yet told is sent, to the receivers the new routes name.
     *
     * @return why it was not applied, or null when it was
     */
    String applyAlerting(AlertingConfig changed) {
        synchronized (alertingLock) {
            if (closing) {
                return "the appliance is stopping";
            }
            long startNanos = System.nanoTime();
            AlertingService old = alerting;
            CompletableFuture<Void> oldLoop = alertingLoop;
            alerting = null;
            old.close();
            try {
                oldLoop.get(AlertingService.RESTART_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                // Two services on one journal would corrupt it: none is started.
                stoppedOnItsOwn(
                        "alerting (restarting with its changed file)",
                        new IllegalStateException(
                                "it did not stop within "
                                        + AlertingService.RESTART_TIMEOUT.toSeconds()
                                        + " s"));
                return "alerting did not stop for its restart";
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return "interrupted";
            } catch (ExecutionException e) {
                // It ended, with a failure of its own: the new one starts all the same.
                LOG.warn("Alerting stopped for its restart with: {}", rootCause(e));
            }
            if (closing) {
                return "the appliance is stopping";
            }
            startAlerting(changed, old);
            LOG.warn(
                    "Alerting runs with the changed {}, restarted in {}",
                    settings.alertingConfig(),
                    since(startNanos).toMillis() + " ms");
            return null;
        }
    }

    /**
     * A part stopped while the appliance was not closing: the job cancelled from its web UI or
     * failed for good, alerting unable to serve. The rest would run on without it, looking healthy,
     * so the appliance reports it and its command stops.
     */
    private void stoppedOnItsOwn(String part, Throwable e) {
        if (closing) {
            return;
        }
        String why = part + (e == null ? " ended" : " stopped: " + rootCause(e));
        // The trace, at INFO, in the log file only; the console has stopOnItsOwn's line.
        LOG.info("What stopped {}", part, e);
        stopOnItsOwn(why);
    }

    /**
     * Ends the appliance's command for {@code why}: one line on the console, and an alert to the
     * receivers, which {@link #close} gives a moment to go out. Before, a plant learnt that its
     * appliance stopped itself only from the heartbeat's silence, if one was set.
     */
    private void stopOnItsOwn(String why) {
        LOG.error("{}; the appliance stops", why);
        // One line, bounded: a root cause's message may run over lines.
        String cause = why.replaceAll("\\s+", " ").strip();
        pipeline.report(
                PipelineWatch.STOPPED,
                "Plantwatch stopped on its own: "
                        + (cause.length() > 500 ? cause.substring(0, 500) + "..." : cause)
                        + ". Nothing is watched until it is started again.",
                System.currentTimeMillis());
        failure.complete(why);
    }

    /** How long a stop on its own waits for its alert to be told. */
    static final Duration LAST_WORD = Duration.ofSeconds(15);

    /**
     * Waits, up to {@link #LAST_WORD}, until the receivers were told that the appliance stops; not
     * once alerting's loop has ended (alerting itself may be what stopped).
     */
    private void awaitLastWord() {
        long deadline = System.nanoTime() + LAST_WORD.toNanos();
        try {
            while (!pipeline.told(PipelineWatch.STOPPED)) {
                CompletableFuture<Void> loop = alertingLoop;
                if (loop == null || loop.isDone()) {
                    LOG.warn(
                            "Alerting has stopped, so the receivers are not told that the appliance stops");
                    return;
                }
                if (System.nanoTime() > deadline) {
                    LOG.warn(
                            "The receivers were not told within {} that the appliance stops",
                            LAST_WORD);
                    return;
                }
                Thread.sleep(100);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Makes {@code started} the job: its end, unless it is being replaced, stops the appliance, or
     * rolls back the change it runs on probation with.
     */
    private void watch(JobClient started) {
        job = started;
        started.getJobExecutionResult()
                .whenComplete(
                        (r, e) -> {
                            if (job != started || beingReplaced == started) {
                                return;
                            }
                            Probation p = probation;
                            // Cancelled from Flink's web UI: a person's doing, not the change's.
                            if (e != null && onProbation(p, started) && !cancelled(e)) {
                                // Not on Flink's thread that completes the result: the rollback
                                // waits for a new job.
                                Thread t =
                                        new Thread(
                                                () ->
                                                        rollBack(
                                                                p,
                                                                "failed",
                                                                OneLineThrowable.of(e),
                                                                System.nanoTime()),
                                                "job-change-rollback");
                                t.setDaemon(true);
                                t.start();
                            } else {
                                stoppedOnItsOwn("the anomaly job", e);
                            }
                        });
        Thread health = new Thread(() -> watchJobHealth(started), "job-health-watch");
        health.setDaemon(true);
        health.start();
    }

    /**
     * The rules file changed and {@code book}, its rules as {@link ConfigWatch} read and checked
     * them, is valid: the job stops with a savepoint and resumes from it with them. Its state, open
     * alerts and Kafka positions are kept, and readings sent meanwhile wait in Kafka; rules taken
     * away resolve their open alerts at each sensor's next reading (a silent sensor's when its
     * state.ttl runs out). Detection pauses for a few seconds. If the job does not start with the
     * new rules, it resumes with those it had.
     *
     * @return why it was not applied, or null when it was
     */
    String applyRules(io.plantwatch.job.rules.RuleBook book) {
        return replaceJob(null, book, null, "rules");
    }

    /** The job file and the files it and the appliance's settings name for the job. */
    private List<Path> jobFiles(Path jobFile) {
        List<Path> named = new ArrayList<>(io.plantwatch.model.YamlFiles.namedFiles(jobFile));
        if (settings.influxTokenFile() != null) {
            named.add(settings.influxTokenFile());
        }
        return named;
    }

    /**
     * The job's file as it is now, checked as at the start: its watermarks, limits, state TTL,
     * Kafka client and InfluxDB batching settings may change while the appliance runs; what the
     * savepoint's state or the appliance's start depend on ({@link
     * JobSettings#freshStartOnlyChanges}) may not. Null when nothing the job runs with changed.
     */
    private JobSettings checkJobSettings(String seriesUrl) {
        return jobSettings(bootstrap, seriesUrl)
                .checkedAsChangeOf(jobSettings, settings.jobConfig());
    }

    /**
     * The job's file changed and {@code changed}, its settings as {@link ConfigWatch} read and
     * checked them, is valid: the job stops with a savepoint and resumes from it with them, as for
     * a rules change.
     */
    String applyJobSettings(JobSettings changed) {
        return replaceJob(changed, null, null, "settings");
    }

    /**
     * The job stops with a savepoint and resumes from it with {@code changedSettings} and {@code
     * changedRules}. If it does not start with them, it resumes from the same savepoint with those
     * it had.
     *
     * @param changedSettings null: those in force, read under the lock, so that a change of the
     *     other file applied meanwhile is kept
     * @param changedRules null: those in force
     * @param changedRestarts null: the restart policy in force. A change of it alone is not put on
     *     probation: it cannot break the job; a probation under way goes on with the new job
     * @param what what changed, for the log: "rules", "settings", "restart policy"
     * @return why it was not applied, or null when it was
     */
    private String replaceJob(
            JobSettings changedSettings,
            io.plantwatch.job.rules.RuleBook changedRules,
            ApplianceSettings.RestartPolicy changedRestarts,
            String what) {
        synchronized (jobLock) {
            if (closing) {
                return "the appliance is stopping";
            }
            JobSettings js = changedSettings != null ? changedSettings : jobSettings;
            io.plantwatch.job.rules.RuleBook book =
                    changedRules != null ? changedRules : rulesInForce;
            ApplianceSettings.RestartPolicy restarts =
                    changedRestarts != null ? changedRestarts : jobRestarts;
            long startNanos = System.nanoTime();
            JobClient old = job;
            Path savepoint;
            beingReplaced = old;
            try {
                savepoint = LocalJob.stopWithSavepoint(old, checkpoints(), SAVEPOINT_TIMEOUT);
            } catch (Exception e) {
                beingReplaced = null;
                if (e instanceof InterruptedException) {
                    Thread.currentThread().interrupt();
                }
                Probation p = probation;
                if (old.getJobExecutionResult().isDone() && onProbation(p, old)) {
                    // It failed with the change before, and the rollback waits for this lock.
                    Throwable failed = old.getJobExecutionResult().handle((r, x) -> x).getNow(null);
                    rollBack(
                            p,
                            "failed",
                            failed == null ? LocalJob.CAUSE_IN_LOG : OneLineThrowable.of(failed),
                            System.nanoTime());
                    return "the job had failed with the changed "
                            + p.what()
                            + " before, which were rolled back; this change is tried again";
                }
                if (old.getJobExecutionResult().isDone()) {
                    // Flink ended it all the same: the appliance stops, and its next start
                    // restores the newest snapshot.
                    stoppedOnItsOwn("the anomaly job (stopping for changed " + what + ")", e);
                    return "the job ended while taking a savepoint: " + rootCause(e);
                }
                return "the job could not take a savepoint ("
                        + rootCause(e)
                        + "); it goes on with the "
                        + what
                        + " it has";
            }
            if (closing) {
                // The next start restores the savepoint, with the files as they are then.
                return "the appliance is stopping";
            }
            String refused = null;
            Probation before = probation;
            // Unproven yet, it goes on with whichever job runs with what its job ran with.
            boolean underWay = onProbation(before, old);
            try {
                JobClient resumed = LocalJob.resumeFromSavepoint(js, savepoint, restarts, book);
                String files = "the " + changedFiles(what);
                if (changedRestarts != null) {
                    // A restart policy cannot break the job: no probation of its own.
                    probation = underWay ? before.carriedTo(resumed) : null;
                } else if (underWay) {
                    // The change before has not proven itself yet: a failure now may be either's,
                    // and what ran before both is what is known to work.
                    probation =
                            new Probation(
                                    resumed,
                                    before.formerSettings(),
                                    before.formerRules(),
                                    before.what().equals(what)
                                            ? what
                                            : before.what() + " and " + what,
                                    before.files() + " and " + files,
                                    System.nanoTime(),
                                    jobRestarts.resetAfter());
                } else {
                    probation =
                            new Probation(
                                    resumed,
                                    jobSettings,
                                    rulesInForce,
                                    what,
                                    files,
                                    System.nanoTime(),
                                    jobRestarts.resetAfter());
                }
                watch(resumed);
                jobSettings = js;
                rulesInForce = book;
                jobRestarts = restarts;
            } catch (Exception e) {
                probation = null;
                refused =
                        "the job did not start with them ("
                                + rootCause(e)
                                + "); it runs on with the "
                                + what
                                + " it had";
                try {
                    JobClient fallback =
                            LocalJob.resumeFromSavepoint(
                                    jobSettings, savepoint, jobRestarts, rulesInForce);
                    probation = underWay ? before.carriedTo(fallback) : null;
                    watch(fallback);
                } catch (Exception again) {
                    stoppedOnItsOwn(
                            "the anomaly job (restarting with the " + what + " it had)", again);
                    return "the job did not start again: " + rootCause(again);
                }
            }
            LOG.warn(
                    "The anomaly job runs with {} {}, resumed in {} from {}",
                    refused == null ? "the changed" : "the former",
                    changedFiles(what),
                    since(startNanos).toMillis() + " ms",
                    savepoint);
            return refused;
        }
    }

    /** What {@link #replaceJob} changed, with its file: "rules of config/rules.yaml". */
    private String changedFiles(String what) {
        return switch (what) {
            case "rules" -> "rules of " + settings.rules();
            case "settings" -> "settings of " + settings.jobConfig();
            default -> "job.restart settings of " + settingsFile;
        };
    }

    /**
     * Whether {@code started} runs with a change that is rolled back if it fails: one of its files
     * changed less than {@code job.restart.reset-after} ago. A failure that soon is taken to be the
     * change's (a Kafka login the broker refuses, a rule that breaks a detector): without the
     * rollback, the job restarted over and over and then stopped the appliance, and detection with
     * it. A failure later restarts and, after its restarts, stops the appliance, as without a
     * change: by then the change has worked, and the appliance does not undo a file on its own.
     */
    private boolean onProbation(Probation p, JobClient started) {
        return p != null && p.job() == started && since(p.startNanos()).compareTo(p.window()) < 0;
    }

    /**
     * The job on probation failed ({@code how}, for {@code cause} in a few words, seen at {@code
     * failedAtNanos}): it is cancelled, and the job resumes with the settings and rules it had,
     * from the newest snapshot. That is the changed job's last checkpoint when it completed one:
     * its alert lifecycle knows the episodes the change opened, and the rules in force, told again
     * at each sensor's next reading, resolve those of rules the rollback takes away; from the
     * change's savepoint they would stay open for good. The files stay as they are; the change is
     * applied once they change again.
     */
    private void rollBack(Probation p, String how, String cause, long failedAtNanos) {
        synchronized (jobLock) {
            if (closing || failure.isDone() || probation != p || job != p.job()) {
                return;
            }
            probation = null;
            long failedAfter = Duration.ofNanos(failedAtNanos - p.startNanos()).toSeconds();
            long startNanos = System.nanoTime();
            beingReplaced = p.job();
            try {
                if (!p.job().getJobExecutionResult().isDone()) {
                    p.job().cancel().get(60, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (Exception e) {
                // Ended meanwhile, or its cancellation failed: whether it stopped is told below.
                LOG.debug("Cancelling the failing job: {}", e.toString());
            }
            try {
                p.job().getJobExecutionResult().handle((r, e) -> r).get(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (Exception e) {
                LOG.debug("Waiting for the failing job to end: {}", e.toString());
            }
            if (!p.job().getJobExecutionResult().isDone()) {
                // A second job beside it would read the same group and delete its checkpoints.
                stoppedOnItsOwn(
                        "the anomaly job (failing with the changed " + p.what() + ")",
                        new IllegalStateException("it did not stop to be rolled back"));
                return;
            }
            if (closing || failure.isDone()) {
                return;
            }
            try {
                watch(
                        LocalJob.resume(
                                p.formerSettings(), checkpoints(), jobRestarts, p.formerRules()));
            } catch (Exception e) {
                stoppedOnItsOwn("the anomaly job (resuming with the " + p.what() + " it had)", e);
                return;
            }
            jobSettings = p.formerSettings();
            rulesInForce = p.formerRules();
            rolledBack.incrementAndGet();
            LOG.error(
                    "The anomaly job {} {} after it resumed with {} ({}): it runs again with the"
                            + " {} it had, resumed in {} from its last snapshot (the trace is in"
                            + " {}). The files are left as they are; the job takes them when they"
                            + " change again",
                    how,
                    failedAfter + " s",
                    p.files(),
                    cause,
                    p.what(),
                    since(startNanos).toMillis() + " ms",
                    settings.dataDir().resolve("plantwatch.log"));
        }
    }

    /**
     * The appliance's file changed, and {@code changed} is what it says, checked: only what {@link
     * ApplianceSettings#LIVE} allows differs. A changed {@code job.restart} resumes the job from a
     * savepoint with it, as a change of the job's file does (Flink fixes a job's restart strategy
     * when it is submitted). The embedded Kafka's topics take the new retention (their older
     * records go at its next retention check), series files of days no longer kept go at once, and
     * the disk watch's next check uses the new margins.
     *
     * @return why it was not applied (tried again later: the embedded Kafka did not answer, a
     *     {@code disk.stop-free-mb} raised above the space free now), or null when it was
     */
    String applySettings(ApplianceSettings changed) {
        synchronized (settingsLock) {
            if (closing) {
                return "the appliance is stopping";
            }
            ApplianceSettings before = settings;
            DiskWatch watching = disk;
            if (watching != null && changed.diskStopFreeMb() > before.diskStopFreeMb()) {
                long free;
                try {
                    free = watching.free();
                } catch (java.io.UncheckedIOException e) {
                    return "the data folder's free space cannot be read: " + rootCause(e);
                }
                if (free < changed.diskStopFreeMb() << 20) {
                    // A slip of the keyboard would stop the appliance within seconds; a margin
                    // meant is taken once there is room.
                    return "disk.stop-free-mb "
                            + changed.diskStopFreeMb()
                            + " is more than the "
                            + DiskWatch.size(free)
                            + " free now: the appliance would stop at its next check. It is"
                            + " taken once there is room";
                }
            }
            if (kafka != null && !changed.kafkaRetention().equals(before.kafkaRetention())) {
                Properties p = new Properties();
                p.put("bootstrap.servers", bootstrap);
                p.put("request.timeout.ms", "10000");
                p.put("default.api.timeout.ms", "15000");
                try (Admin admin = Admin.create(p)) {
                    applyRetention(
                            admin,
                            topics,
                            changed.kafkaRetention(),
                            segmentBytes(Files.getFileStore(settings.dataDir()).getTotalSpace()));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return "interrupted";
                } catch (Exception e) {
                    return "the embedded Kafka did not take kafka.retention: " + rootCause(e);
                }
            }
            if (files != null && changed.seriesFilesKeepDays() != before.seriesFilesKeepDays()) {
                try {
                    files.keepDays(changed.seriesFilesKeepDays());
                } catch (IOException e) {
                    // Taken all the same: the files go when the next day begins.
                    LOG.warn(
                            "Could not delete series files of days no longer kept: {}",
                            e.toString());
                }
            }
            if (watching != null) {
                watching.margins(changed.diskWarnFreeMb(), changed.diskStopFreeMb());
            }
            // Last: a savepoint can take minutes on a full disk, and must not hold up the steps
            // that make room. On its failure the rest stays taken, and the settings say what is in
            // force, so a retry resumes the job only, and a file put back is seen as a change.
            if (!changed.jobRestarts().equals(jobRestarts)) {
                String notResumed = replaceJob(null, null, changed.jobRestarts(), "restart policy");
                if (notResumed != null) {
                    settings = changed.withJobRestarts(jobRestarts);
                    return notResumed;
                }
            }
            settings = changed;
            Map<String, String> now = changed.byKey();
            Map<String, String> was = before.byKey();
            LOG.warn(
                    "The appliance runs with the changed {}: {}",
                    settingsFile,
                    String.join(
                            ", ",
                            now.keySet().stream()
                                    .filter(k -> !now.get(k).equals(was.get(k)))
                                    .map(
                                            k ->
                                                    k
                                                            + " "
                                                            + was.get(k)
                                                            + " -> "
                                                            + now.get(k)
                                                            + unused(k))
                                    .toList()));
            return null;
        }
    }

    /** Why a setting of the appliance's file has no use in this appliance, or "". */
    private String unused(String key) {
        if (key.equals("kafka.retention") && kafka == null) {
            return " (not used: the plant's Kafka keeps what its admins set)";
        }
        if (key.equals("influx.files-keep-days") && files == null) {
            return " (not used: the series go to InfluxDB)";
        }
        return "";
    }

    /** Whether {@code e} says the job was cancelled, as from Flink's web UI. */
    private static boolean cancelled(Throwable e) {
        for (Throwable c = e; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof org.apache.flink.runtime.client.JobCancellationException) {
                return true;
            }
        }
        return false;
    }

    /**
     * The gateway's file as it is now, checked as at the start and as a change of the running
     * gateway's ({@link GatewayConfig#checkedAsChangeOf}); null when nothing it runs with changed.
     */
    private GatewayConfig checkGateway() {
        return gatewayConfig(settings, bootstrap, mqttUri)
                .checkedAsChangeOf(gateway.config(), settings.gatewayConfig());
    }

    /**
     * The gateway's file changed and {@code changed} is valid: the gateway's bridge drains and
     * reconnects with it, under the same MQTT session, so what sensors send meanwhile waits in the
     * broker; its metrics and endpoint go on.
     */
    String applyGateway(GatewayConfig changed) {
        if (closing) {
            return "the appliance is stopping";
        }
        try {
            return gateway.apply(changed, settings.gatewayConfig());
        } catch (ConfigException e) {
            throw e; // not taken; the bridge runs with the settings it had
        } catch (RuntimeException e) {
            // Not even with the settings it had: no reading reaches Kafka any more.
            stoppedOnItsOwn("the gateway (reconnecting with the settings it had)", e);
            return "the gateway did not start again: " + rootCause(e);
        }
    }

    /** The innermost cause's message, or its type when it has none. */
    static String rootCause(Throwable e) {
        Throwable cause = e;
        while (cause.getCause() != null && cause.getCause() != cause) {
            cause = cause.getCause();
        }
        return cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
    }

    /** How often the rules file and alerting's file are looked at. */
    private static final long CONFIG_CHECK_MILLIS = 2_000;

    /** How long a rules change waits for the job's savepoint. */
    private static final Duration SAVEPOINT_TIMEOUT = Duration.ofMinutes(11);

    /**
     * The longest a stop waits for the job's savepoint before it cancels the job, if {@link
     * #CLOSE_BUDGET} leaves that much: a stop is not held up long (a service manager kills what
     * does not stop), and the checkpoints are still there.
     */
    private static final Duration STOP_SAVEPOINT_TIMEOUT = Duration.ofSeconds(60);

    /**
     * How long a stop may take in all: below {@code plantwatch run}'s wait for it in its shutdown
     * hook (and systemd's default TimeoutStopSec, 90 s), so the brokers and files close cleanly.
     */
    private static final Duration CLOSE_BUDGET = Duration.ofSeconds(80);

    /** Status asks in a row that may go unanswered before the job's health watch gives up. */
    private static final int STATUS_TRIES = 10;

    /** How often the parts' own problems are reported to alerting. */
    private static final long PIPELINE_CHECK_MILLIS = 1_000;

    /**
     * What a stop still needs after the job's savepoint: a cancel, Kafka's and the files' close.
     */
    private static final Duration AFTER_SAVEPOINT = Duration.ofSeconds(20);

    /**
     * Says on the console each time the job fails and restarts, and when its checkpoints begin to
     * fail and succeed again: Flink logs the causes in the log file only. While the job restarts no
     * reading is detected on; while checkpoints fail, a restart goes back further (to the last good
     * one) and the Kafka offsets the job has read are not committed.
     */
    private void watchJobHealth(JobClient job) {
        org.apache.flink.api.common.JobID id = job.getJobID();
        long told = 0;
        // A job replacing another (a changed file) goes on from its trend: failing checkpoints
        // stay told until one of the new job's succeeds.
        CheckpointTrend checkpointsSeen =
                new CheckpointTrend(
                        JobHealth.failedCheckpoints(id),
                        JobHealth.completedCheckpoints(id),
                        checkpointsFailing);
        Path log = settings.dataDir().resolve("plantwatch.log");
        int unanswered = 0;
        try {
            while (!closing) {
                org.apache.flink.api.common.JobStatus status;
                try {
                    status = job.getJobStatus().get(30, TimeUnit.SECONDS);
                    unanswered = 0;
                } catch (java.util.concurrent.TimeoutException
                        | java.util.concurrent.ExecutionException e) {
                    // A busy MiniCluster times its own asks out (10 s); the job has not gone
                    // unless it keeps not answering, or Flink no longer knows it.
                    if (++unanswered >= STATUS_TRIES
                            || org.apache.flink.util.ExceptionUtils.findThrowable(
                                            e,
                                            org.apache.flink.runtime.messages
                                                    .FlinkJobNotFoundException.class)
                                    .isPresent()) {
                        throw e;
                    }
                    LOG.debug("The job's status is unknown this time: {}", e.toString());
                    Thread.sleep(1_000);
                    continue;
                }
                if (status.isGloballyTerminalState()) {
                    break;
                }
                long restarts = JobHealth.restarts(id);
                // Not a job being replaced: its successor's watch tells.
                if (job == this.job) {
                    String problem =
                            PipelineWatch.jobProblem(
                                    status,
                                    recentRestarts.count(id, restarts, System.currentTimeMillis()),
                                    () ->
                                            LocalJob.lastFailure(job)
                                                    + " (the trace is in "
                                                    + log
                                                    + ")");
                    if (job == this.job) {
                        jobProblem = problem;
                    }
                }
                Probation p = probation;
                if (restarts > told && onProbation(p, job)) {
                    rollBack(
                            p,
                            "failed and restarted",
                            LocalJob.lastFailure(job),
                            System.nanoTime());
                    return;
                }
                if (restarts > told) {
                    told = restarts;
                    LOG.warn(
                            "The anomaly job failed and restarts: {}. Nothing is detected until it"
                                    + " runs again (restart {} since the start; {}; a failure"
                                    + " after {} restarts in a row stops it, and the appliance"
                                    + " with it)",
                            LocalJob.lastFailure(job),
                            restarts,
                            "the trace is in " + log,
                            jobRestarts.maxRestarts());
                }
                CheckpointTrend.Change change =
                        checkpointsSeen.next(
                                JobHealth.failedCheckpoints(id),
                                JobHealth.completedCheckpoints(id));
                if (job == this.job) {
                    if (change != CheckpointTrend.Change.SAME) {
                        checkpointsFailing = change == CheckpointTrend.Change.FAILING;
                    }
                    checkpointsProblem =
                            checkpointsFailing
                                    ? "The anomaly job's checkpoints fail ("
                                            + freeSpace(checkpoints())
                                            + " free in "
                                            + checkpoints()
                                            + "; the cause is in "
                                            + log
                                            + "): a restart goes back to the last good one, and"
                                            + " the readings it has read are read again."
                                    : null;
                }
                switch (change) {
                    case FAILING ->
                            LOG.warn(
                                    "The anomaly job's checkpoints fail ({} free in {}; the cause"
                                            + " is in {}): a restart now goes back to the last"
                                            + " good one",
                                    freeSpace(checkpoints()),
                                    checkpoints(),
                                    log);
                    case RECOVERED -> LOG.warn("The anomaly job's checkpoints succeed again");
                    case SAME -> {}
                }
                Thread.sleep(1_000);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            // The job has gone (closing, or failed for good): the result handler reports that.
            LOG.debug("Job health watch ends: {}", e.toString());
        }
    }

    private Path checkpoints() {
        return settings.dataDir().resolve("checkpoints");
    }

    /** The usable space on {@code dir}'s disk, for people: "12.3 GB". */
    static String freeSpace(Path dir) {
        try {
            return DiskWatch.size(Files.getFileStore(dir).getUsableSpace());
        } catch (IOException e) {
            return "unknown space";
        }
    }

    /**
     * Completes, with what happened, when a part of the appliance stops on its own; the command
     * running it then stops too.
     */
    CompletableFuture<String> failure() {
        return failure;
    }

    /** The modules' settings, each from its own file. */
    private record ModuleConfigs(JobSettings job, GatewayConfig gateway, AlertingConfig alerting) {}

    /**
     * Each module's settings from its own file, with the addresses of this appliance's parts.
     *
     * @param seriesUrl the local line-protocol endpoint; null when the settings name an InfluxDB
     */
    private ModuleConfigs moduleConfigs(String bootstrap, String mqttUri, String seriesUrl) {
        return new ModuleConfigs(
                jobSettings(settings, bootstrap, seriesUrl),
                gatewayConfig(settings, bootstrap, mqttUri),
                AlertingConfig.load(settings.alertingConfig(), bootstrap, System::getenv));
    }

    private JobSettings jobSettings(String bootstrap, String seriesUrl) {
        return jobSettings(settings, bootstrap, seriesUrl);
    }

    private static GatewayConfig gatewayConfig(
            ApplianceSettings settings, String bootstrap, String mqttUri) {
        Map<String, String> gatewayFlags = new HashMap<>();
        gatewayFlags.put("mqtt.broker", mqttUri);
        gatewayFlags.put("kafka.bootstrap", bootstrap);
        return GatewayConfig.load(settings.gatewayConfig(), System.getenv(), gatewayFlags);
    }

    /** One config file the appliance runs with, as {@code plantwatch check} reports it. */
    record FileCheck(String part, Path file, String problem) {}

    /**
     * Every module's file {@code settings} name, each read and checked as a start reads it, with
     * stand-in addresses for the parts a start would start: nothing starts, no port is taken, so a
     * running appliance's files can be checked beside it before a change is saved.
     */
    static List<FileCheck> checkFiles(ApplianceSettings settings) {
        String bootstrap = settings.embeddedKafka() ? "127.0.0.1:9092" : settings.kafkaBootstrap();
        String mqttUri = settings.embeddedMqtt() ? "tcp://127.0.0.1:1883" : settings.mqttBroker();
        String seriesUrl = settings.influxUrl() == null ? "http://127.0.0.1:8086" : null;
        List<FileCheck> checks = new ArrayList<>();
        checks.add(check("rules", settings.rules(), () -> AnomalyJob.loadRules(settings.rules())));
        checks.add(
                check(
                        "job",
                        settings.jobConfig(),
                        () -> {
                            JobSettings js = jobSettings(settings, bootstrap, seriesUrl);
                            LocalJob.refuseAnotherStateBackendOfCheckpoints(
                                    settings.dataDir().resolve("checkpoints"), js.stateBackend());
                            return js;
                        }));
        checks.add(
                check(
                        "gateway",
                        settings.gatewayConfig(),
                        () -> gatewayConfig(settings, bootstrap, mqttUri)));
        checks.add(
                check(
                        "alerting",
                        settings.alertingConfig(),
                        () ->
                                AlertingConfig.load(
                                        settings.alertingConfig(), bootstrap, System::getenv)));
        return checks;
    }

    private static FileCheck check(String part, Path file, java.util.function.Supplier<?> load) {
        try {
            load.get();
            return new FileCheck(part, file, null);
        } catch (ConfigException e) {
            return new FileCheck(part, file, e.getMessage());
        }
    }

    /** The job's settings from its file, with the addresses and folders of this appliance. */
    private static JobSettings jobSettings(
            ApplianceSettings settings, String bootstrap, String seriesUrl) {
        Map<String, String> jobFlags = new HashMap<>();
        jobFlags.put("kafka.bootstrap", bootstrap);
        jobFlags.put("rules.file", settings.rules().toString());
        // Path.toUri ends in a slash only once the folder exists: the same either way, so a
        // changed job file read after the start does not seem to move the checkpoints.
        jobFlags.put(
                "checkpoint.dir",
                settings.dataDir()
                        .resolve("checkpoints")
                        .toAbsolutePath()
                        .toUri()
                        .toString()
                        .replaceFirst("/$", ""));
        // Series wait here while InfluxDB is away, beside the checkpoints that count on them.
        jobFlags.put(
                "influx.spool-dir",
                settings.dataDir().resolve("influx-spool").toAbsolutePath().toString());
        if (seriesUrl != null) {
            jobFlags.put("influx.url", seriesUrl);
            jobFlags.put("influx.token", "local-files");
        } else {
            jobFlags.put("influx.url", settings.influxUrl());
            jobFlags.put("influx.org", settings.influxOrg());
            jobFlags.put("influx.bucket", settings.influxBucket());
            if (settings.influxTokenFile() != null) {
                // The job reads the file itself and checks it; its own token settings give way.
                jobFlags.put("influx.token-file", settings.influxTokenFile().toString());
                jobFlags.put("influx.token", "");
            } else {
                String token = System.getenv(settings.influxTokenEnv());
                if (token == null || token.isBlank()) {
                    throw new ConfigException(
                            "influx.url is set: put InfluxDB's token in "
                                    + settings.influxTokenEnv()
                                    + " (influx.token-env names another variable), or name a"
                                    + " file holding it in influx.token-file");
                }
                jobFlags.put("influx.token", token);
                jobFlags.put("influx.token-file", "");
            }
        }
        return JobSettings.load(settings.jobConfig(), System.getenv(), jobFlags);
    }

    /**
     * The gateway's Kafka login (security protocol, SASL and SSL settings) for the appliance's own
     * admin client: one appliance, one Kafka user, and the gateway is the first to write.
     */
    static Properties kafkaLogin(Properties producer) {
        return io.plantwatch.model.KafkaClientSettings.login(producer);
    }

    private void createTopics(Properties login, JobSettings job) throws Exception {
        Properties p = new Properties();
        p.putAll(login);
        p.put("bootstrap.servers", bootstrap);
        p.put("request.timeout.ms", "10000");
        p.put("default.api.timeout.ms", "15000");
        Admin client;
        try {
            client = Admin.create(p);
        } catch (KafkaException e) {
            throw new ConfigException(
                    "kafka.bootstrap "
                            + bootstrap
                            + ": "
                            + (e.getCause() != null ? e.getCause().getMessage() : e.getMessage()));
        }
        try (Admin admin = client) {
            Set<String> existing;
            try {
                existing = admin.listTopics().names().get(20, TimeUnit.SECONDS);
            } catch (java.util.concurrent.TimeoutException | ExecutionException e) {
                if (e instanceof ExecutionException x
                        && !(x.getCause()
                                instanceof org.apache.kafka.common.errors.TimeoutException)) {
                    throw e;
                }
                throw new ConfigException(
                        "kafka.bootstrap "
                                + bootstrap
                                + " does not answer; start Kafka there or set kafka.bootstrap:"
                                + " embedded");
            }
            List<NewTopic> missing = new ArrayList<>();
            for (String t : topics) {
                if (!existing.contains(t)) {
                    // The cluster's own replication factor: a plant's brokers set theirs.
                    missing.add(new NewTopic(t, Optional.of(4), Optional.empty()));
                }
            }
            for (var created : admin.createTopics(missing).values().entrySet()) {
                try {
                    created.getValue().get(20, TimeUnit.SECONDS);
                } catch (java.util.concurrent.ExecutionException e) {
                    if (e.getCause() instanceof TopicExistsException) {
                        // Listed as missing only because this user may not describe it.
                        continue;
                    }
                    if (e.getCause() instanceof AuthorizationException) {
                        throw new ConfigException(
                                "Kafka "
                                        + bootstrap
                                        + " does not let this appliance's user create topic "
                                        + created.getKey()
                                        + ": create it beforehand, or allow CREATE ("
                                        + e.getCause().getMessage()
                                        + ")");
                    }
                    throw e;
                }
            }
            if (settings.embeddedKafka()) {
                applyRetention(
                        admin,
                        topics,
                        settings.kafkaRetention(),
                        segmentBytes(Files.getFileStore(settings.dataDir()).getTotalSpace()));
            }
            // The gateway and the simulator write as soon as they start.
            KafkaTopics.awaitWritable(admin, topics, Duration.ofSeconds(20));
            if (job.exactlyOnce()) {
                requireTransactionTimeoutWithin(admin, job.transactionTimeout());
            }
        }
    }

    /**
     * The embedded Kafka keeps {@code kafka.retention} of every topic, new or from an earlier run,
     * deleted in segments of {@code segmentBytes} (see {@link #segmentBytes}). A plant's own
     * brokers keep what their admins set.
     */
    static void applyRetention(
            Admin admin, List<String> topics, Duration retention, long segmentBytes)
            throws Exception {
        Map<ConfigResource, java.util.Collection<org.apache.kafka.clients.admin.AlterConfigOp>>
                changes = new HashMap<>();
        for (String t : topics) {
            changes.put(
                    new ConfigResource(ConfigResource.Type.TOPIC, t),
                    List.of(
                            set("retention.ms", retention.toMillis()),
                            set("segment.bytes", segmentBytes)));
        }
        admin.incrementalAlterConfigs(changes).all().get(20, TimeUnit.SECONDS);
    }

    /**
     * The embedded Kafka's segment size for a disk of {@code diskBytes}: a 256th of it, from 16 to
     * 128 MiB (Kafka's 1 GiB would be a sixteenth of a 16 GB card per partition). Kafka deletes,
     * and the disk watch gives up, whole segments only, and each topic's partitions keep their last
     * one whatever their age: 7 topics of 4 partitions hold up to 28 of them.
     */
    static long segmentBytes(long diskBytes) {
        long mib = 1L << 20;
        return Math.max(16 * mib, Math.min(128 * mib, diskBytes / 256 / mib * mib));
    }

    private static org.apache.kafka.clients.admin.AlterConfigOp set(String key, long value) {
        return new org.apache.kafka.clients.admin.AlterConfigOp(
                new org.apache.kafka.clients.admin.ConfigEntry(key, Long.toString(value)),
                org.apache.kafka.clients.admin.AlterConfigOp.OpType.SET);
    }

    /**
     * A transaction timeout above the brokers' limit fails every transactional producer inside the
     * running job, which then restarts for minutes before anything says why: asked here instead.
     */
    private void requireTransactionTimeoutWithin(Admin admin, Duration timeout) throws Exception {
        org.apache.kafka.common.Node broker =
                admin.describeCluster().nodes().get(20, TimeUnit.SECONDS).iterator().next();
        ConfigResource resource =
                new ConfigResource(ConfigResource.Type.BROKER, Integer.toString(broker.id()));
        org.apache.kafka.clients.admin.ConfigEntry max;
        try {
            max =
                    admin.describeConfigs(List.of(resource))
                            .all()
                            .get(20, TimeUnit.SECONDS)
                            .get(resource)
                            .get("transaction.max.timeout.ms");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof AuthorizationException) {
                LOG.info(
                        "Cannot read the brokers' transaction.max.timeout.ms (no DESCRIBE_CONFIGS);"
                                + " kafka.transaction-timeout is not checked against it");
                return;
            }
            throw e;
        }
        if (max != null
                && max.value() != null
                && timeout.toMillis() > Long.parseLong(max.value())) {
            throw new ConfigException(
                    "kafka.transaction-timeout "
                            + timeout
                            + " is above the brokers' transaction.max.timeout.ms ("
                            + Duration.ofMillis(Long.parseLong(max.value()))
                            + "), so every exactly-once write would fail: lower it in "
                            + settings.jobConfig());
        }
    }

    /** The Kafka topics the appliance uses; each exists and takes records once started. */
    List<String> topics() {
        return topics;
    }

    String mqttUri() {
        return mqttUri;
    }

    String bootstrap() {
        return bootstrap;
    }

    String seriesTarget() {
        return seriesTarget;
    }

    LineProtocolFiles files() {
        return files;
    }

    Gateway gateway() {
        return gateway;
    }

    /**
     * What the embedded MQTT broker dropped so far; 0 with the plant's broker, whose drops this
     * process cannot see.
     */
    long mqttDropped() {
        return mqtt == null ? 0 : mqtt.droppedMessages();
    }

    /** Stops the edge first, so what is in flight drains through to Kafka and the job. */
    @Override
    public void close() {
        closeDeadlineNanos = System.nanoTime() + CLOSE_BUDGET.toNanos();
        // First, so that nothing changes meanwhile (a changed file applied, a second part's stop).
        closing = true;
        if (failure.isDone()) {
            // Before anything stops: alerting tells the receivers with the rest still up.
            awaitLastWord();
        }
        if (diskWatch != null) {
            diskWatch.interrupt();
        }
        if (pipelineWatch != null) {
            pipelineWatch.interrupt();
        }
        if (dropWatch != null) {
            dropWatch.interrupt();
        }
        // Not interrupted: a change being applied finishes first (close waits for it below).
        configWatches.forEach(ConfigWatch::stop);
        synchronized (settingsLock) {
            // A change of the appliance's file being applied has finished: Kafka and the series
            // files close after it.
        }
        if (gateway != null) {
            quietly("gateway", gateway::close);
        }
        synchronized (alertingLock) {
            AlertingService last = alerting;
            if (last != null) {
                quietly(
                        "alerting",
                        () -> {
                            last.close();
                            alertingLoop.get(
                                    AlertingService.STOP_GRACE_SECONDS + 10, TimeUnit.SECONDS);
                        });
            }
        }
        synchronized (jobLock) {
            JobClient last = job;
            if (last != null && !last.getJobExecutionResult().isDone()) {
                quietly("anomaly job", () -> stopJob(last));
            }
        }
        if (reclaim != null) {
            quietly("disk reclaim", reclaim::close);
        }
        if (files != null) {
            quietly("series files", files::close);
        }
        if (kafka != null) {
            quietly("Kafka", kafka::close);
            org.apache.kafka.common.utils.Exit.resetHaltProcedure();
        }
        if (mqtt != null) {
            quietly("MQTT broker", mqtt::close);
        }
    }

    /**
     * The job stops with a savepoint in Flink's canonical format, which the next start restores: a
     * Flink upgrade restores only such a snapshot (a checkpoint is in the state backend's own
     * format, of its version), and so does another state backend. It also holds the very last
     * positions, so less is read again. If none is taken in time, the job is cancelled with its
     * checkpoints kept, and the next start restores the newest, as before.
     */
    private void stopJob(JobClient last) throws Exception {
        long startNanos = System.nanoTime();
        long startMillis = System.currentTimeMillis();
        // What is left of the stop's budget, less what the cancel and the rest of the stop take.
        long budget =
                Math.min(
                        STOP_SAVEPOINT_TIMEOUT.toMillis(),
                        closeDeadlineNanos == 0
                                ? Long.MAX_VALUE
                                : (closeDeadlineNanos - startNanos) / 1_000_000
                                        - AFTER_SAVEPOINT.toMillis());
        if (!savepointOnStop || budget < 5_000) {
            last.cancel().get(10, TimeUnit.SECONDS);
            if (savepointOnStop) {
                LOG.warn(
                        "The stop left no time for the anomaly job's savepoint; cancelled, its"
                                + " checkpoints kept: the next start restores the newest");
            }
            return;
        }
        try {
            Path savepoint =
                    LocalJob.stopWithSavepoint(last, checkpoints(), Duration.ofMillis(budget));
            LOG.info(
                    "Anomaly job stopped with a savepoint in {} ms, which the next start restores:"
                            + " {}",
                    since(startNanos).toMillis(),
                    savepoint);
        } catch (Exception e) {
            boolean interrupted = e instanceof InterruptedException;
            try {
                if (!last.getJobExecutionResult().isDone()) {
                    last.cancel().get(interrupted ? 1 : 10, TimeUnit.SECONDS);
                }
            } catch (Exception | LinkageError stillGoing) {
                // It may have finished meanwhile, with the savepoint; looked for below.
            }
            // A savepoint that completed after the wait ended: the job finished, Flink deleted
            // its checkpoints, and that savepoint is the only snapshot; on the disk it must be.
            Path late = LocalJob.savepointTakenSince(checkpoints(), startMillis);
            if (late != null) {
                LocalJob.forceToDisk(late);
                LOG.info(
                        "Anomaly job stopped with a savepoint after {} ms, which the next start"
                                + " restores: {}",
                        since(startNanos).toMillis(),
                        late);
            } else {
                LOG.warn(
                        "The anomaly job took no savepoint as it stopped ({}); cancelled, its"
                                + " checkpoints kept: the next start restores the newest",
                        rootCause(e));
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * The demo starts afresh each time: a savepoint at its end would only slow its stop. The job is
     * cancelled instead.
     */
    void cancelJobOnStop() {
        savepointOnStop = false;
    }

    private interface Step {
        void run() throws Exception;
    }

    private static void quietly(String what, Step step) {
        try {
            step.run();
        } catch (Exception e) {
            LOG.warn("Stopping the {}: {}", what, e.toString());
        }
    }

    static Duration since(long startNanos) {
        return Duration.ofNanos(System.nanoTime() - startNanos);
    }
}
