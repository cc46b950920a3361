package io.plantwatch.alerting;

import io.plantwatch.model.Alert;
import io.plantwatch.model.AvroAlertCodec;
import io.plantwatch.model.ConfigException;
import io.plantwatch.model.ConfigWatch;
import io.plantwatch.model.Parsed;
import io.plantwatch.model.RejectReason;
import io.plantwatch.model.Severity;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.NoOffsetForPartitionException;
import org.apache.kafka.clients.consumer.OffsetOutOfRangeException;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code java -jar alerting.jar --config config/alerting.yaml [--kafka-bootstrap host:port]}: reads
 * {@code alerts} (read_committed) from the positions its store has applied, and notifies. Kafka's
 * group offsets are not used: the store's journal is the one record of what was applied.
 */
@Command(
        name = "alerting",
        mixinStandardHelpOptions = true,
        description = "Plantwatch alerting: alert events in, notifications out.")
public final class AlertingService implements Callable<Integer>, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(AlertingService.class);

    @Option(names = "--config", description = "YAML settings (config/alerting.yaml)")
    Path config;

    @Option(names = "--kafka-bootstrap", description = "Kafka bootstrap servers host:port[,...]")
    String kafkaBootstrap;

    @Option(
            names = "--watch-config",
            negatable = true,
            defaultValue = "true",
            fallbackValue = "true",
            description =
                    "Apply a saved change to the --config file (and the secret and CA files it"
                            + " names) while running: restart from the journal with it (default:"
                            + " ${DEFAULT-VALUE})")
    boolean watchConfig = true;

    /** The service of the file as it is now, while the command watches it, and its settings. */
    private volatile AlertingService current;

    private volatile AlertingConfig currentConfig;

    /** A checked change, handed from the watch to the loop that restarts the service. */
    private final java.util.concurrent.atomic.AtomicReference<AlertingConfig> changed =
            new java.util.concurrent.atomic.AtomicReference<>();

    /** Counts the services started with a change, for the watch to wait on. */
    private final java.util.concurrent.atomic.AtomicInteger restarts =
            new java.util.concurrent.atomic.AtomicInteger();

    private final PrintWriter err;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final AtomicLong undecodable;
    private final AtomicLong lostRecords;
    private final AtomicLong deletedUnreadRecords;

    /** Failed tries to keep a record that is not an alert event in the DLQ. */
    private final AtomicLong deadLetterHolds;

    /** Pings the heartbeat's monitor took, and those that failed. */
    private final AtomicLong heartbeatsSent;

    private final AtomicLong heartbeatsFailed;

    private final Dispatcher.Metrics dispatcherMetrics;

    /** The watch of the command whose loop runs this service, or null. */
    private final ConfigWatch<AlertingConfig> watchOfCommand;

    /** What the pipeline's parts report of themselves, this service's Kafka reading included. */
    private final PipelineAlerts pipeline;

    /** Alerting's own check: whether it reads the alerts. */
    static final PipelineAlerts.Check READING_ALERTS =
            new PipelineAlerts.Check(
                    "alerting",
                    "reading-alerts",
                    Severity.CRITICAL,
                    "Alerting reads the alerts from Kafka again; what was detected meanwhile is"
                            + " told now.",
                    // /health's grace for Kafka has passed already.
                    true);

    public AlertingService(PrintWriter err) {
        this(err, new PipelineAlerts());
    }

    /**
     * A service that also tells the problems other parts report to {@code pipeline} (an appliance's
     * job, gateway and broker).
     */
    public AlertingService(PrintWriter err, PipelineAlerts pipeline) {
        this.err = err;
        this.pipeline = pipeline;
        this.undecodable = new AtomicLong();
        this.lostRecords = new AtomicLong();
        this.deletedUnreadRecords = new AtomicLong();
        this.deadLetterHolds = new AtomicLong();
        this.heartbeatsSent = new AtomicLong();
        this.heartbeatsFailed = new AtomicLong();
        this.dispatcherMetrics = new Dispatcher.Metrics();
        this.watchOfCommand = null;
    }

    /**
     * The service that takes over from {@code before}, stopped for a changed file: its counters go
     * on from {@code before}'s instead of starting from 0, as Alertmanager's go on across a reload.
     */
    public AlertingService(AlertingService before) {
        this(before, null);
    }

    /**
     * A service of the command's watch loop: its counters are the command's, so a restart for a
     * changed file does not start them from 0, and its {@code /metrics} count the file's changes.
     */
    private AlertingService(AlertingService command, ConfigWatch<AlertingConfig> watch) {
        this.err = command.err;
        this.undecodable = command.undecodable;
        this.lostRecords = command.lostRecords;
        this.deletedUnreadRecords = command.deletedUnreadRecords;
        this.deadLetterHolds = command.deadLetterHolds;
        this.heartbeatsSent = command.heartbeatsSent;
        this.heartbeatsFailed = command.heartbeatsFailed;
        this.dispatcherMetrics = command.dispatcherMetrics;
        this.watchOfCommand = watch;
        this.pipeline = command.pipeline;
    }

    /** Where the pipeline's parts report their problems, for this service to tell. */
    public PipelineAlerts pipelineAlerts() {
        return pipeline;
    }

    public static void main(String[] args) {
        int code =
                mainWithExitCode(
                        new PrintWriter(System.out, true), new PrintWriter(System.err, true), args);
        if (code != 0) {
            System.exit(code);
        }
    }

    public static int mainWithExitCode(PrintWriter out, PrintWriter err, String... args) {
        CommandLine cli = new CommandLine(new AlertingService(err));
        cli.setOut(out);
        cli.setErr(err);
        return cli.execute(args);
    }

    @Override
    public Integer call() throws Exception {
        // Its files' contents taken before they are read to start, so a change between is seen.
        ConfigWatch<AlertingConfig> watch =
                watchConfig && config != null
                        ? new ConfigWatch<>(
                                "alerting file",
                                "alerting",
                                config,
                                AlertingConfig::files,
                                file ->
                                        AlertingConfig.load(file, kafkaBootstrap, System::getenv)
                                                .checkedAsChangeOf(currentConfig, file),
                                this::restartWith)
                        : null;
        AlertingConfig c;
        try {
            c = AlertingConfig.load(config, kafkaBootstrap, System::getenv);
        } catch (ConfigException e) {
            err.println("alerting: " + e.getMessage());
            return 2;
        }
        try {
            serve(c, watch);
        } catch (ConfigException e) {
            // A port taken, a Kafka that does not answer: one line, not a stack trace.
            err.println("alerting: " + e.getMessage());
            err.flush();
            return 2;
        }
        return 0;
    }

    private void serve(AlertingConfig c, ConfigWatch<AlertingConfig> watch) throws Exception {
        Runtime.getRuntime()
                .addShutdownHook(
                        new Thread(
                                () -> {
                                    close();
                                    try {
                                        stopped.await();
                                    } catch (InterruptedException e) {
                                        Thread.currentThread().interrupt();
                                    }
                                },
                                "alerting-shutdown"));
        if (watch != null) {
            runWatching(c, watch);
        } else {
            run(c);
        }
    }

    /** How often the file is looked at. */
    private static final long CONFIG_CHECK_MILLIS = 2_000;

    /**
     * Runs a service with {@code first}, and each time alerting's file changes into a valid one,
     * stops it (deliveries under way get {@link #STOP_GRACE_SECONDS}) and runs the next with the
     * change, from the same journal, until {@link #close()}: as the appliance does with its
     * alerting, and as Alertmanager reloads.
     */
    private void runWatching(AlertingConfig first, ConfigWatch<AlertingConfig> watch)
            throws InterruptedException, java.io.IOException {
        currentConfig = first;
        Thread watching = watch.watch(CONFIG_CHECK_MILLIS);
        try {
            AlertingConfig c = first;
            boolean restarted = false;
            while (running.get()) {
                AlertingService service = new AlertingService(this, watch);
                current = service;
                currentConfig = c;
                if (!running.get()) {
                    break; // closed while this one was made: close() may have missed it
                }
                try {
                    service.run(c);
                } catch (java.io.IOException | RuntimeException e) {
                    if (!restarted) {
                        throw e; // as at any start: one line, exit 2
                    }
                    // Kafka away for a moment, the port taken meanwhile: the service had run,
                    // and a restart for a change must not end it for good.
                    LOG.error(
                            "Alerting stopped: {}. It starts again in {} s with {} as it is then",
                            e.getMessage(),
                            RETRY_SECONDS,
                            config);
                    c = reloadWhenItCan(c);
                    if (c == null) {
                        break;
                    }
                    continue;
                }
                AlertingConfig next = changed.getAndSet(null);
                if (next == null) {
                    break; // closed, not restarted
                }
                c = next;
                restarted = true;
                restarts.incrementAndGet();
                LOG.warn("Alerting runs with the changed {}", config);
            }
        } finally {
            running.set(false);
            watch.stop();
            watching.join(10_000);
            stopped.countDown();
        }
    }

    /** How long a service that stopped after a restart waits before it starts again. */
    private static final long RETRY_SECONDS = 10;

    /**
     * The file as it is, checked as a change of {@code before}, once it can be read; a change the
     * watch handed over meanwhile is taken instead. Null once closed. The settings that stopped
     * cannot run again as they are: their receivers were closed with their service.
     */
    private AlertingConfig reloadWhenItCan(AlertingConfig before) throws InterruptedException {
        while (running.get()) {
            long until =
                    System.nanoTime()
                            + java.util.concurrent.TimeUnit.SECONDS.toNanos(RETRY_SECONDS);
            while (running.get() && System.nanoTime() < until) {
                Thread.sleep(100);
            }
            if (!running.get()) {
                return null;
            }
            AlertingConfig next = changed.getAndSet(null);
            if (next != null) {
                restarts.incrementAndGet();
                return next;
            }
            try {
                return AlertingConfig.load(config, kafkaBootstrap, System::getenv)
                        .checkedAsChangeOf(before, config);
            } catch (ConfigException e) {
                LOG.error(
                        "Alerting cannot start again with {}: {}; tried again in {} s",
                        config,
                        e.getMessage(),
                        RETRY_SECONDS);
            }
        }
        return null;
    }

    /**
     * Hands a checked change to the loop and waits until the loop takes it: the old service has
     * ended by then, so two never run on one journal. Not bounded by a time: a change reported as
     * refused while the loop would still take it was tried again and applied twice.
     */
    private String restartWith(AlertingConfig next) {
        AlertingService service = current;
        int before = restarts.get();
        changed.set(next);
        if (service != null) {
            service.close();
        }
        while (restarts.get() == before) {
            if (!running.get()) {
                return "alerting is stopping";
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return "interrupted";
            }
        }
        return null;
    }

    private PrometheusMetrics metrics(Dispatcher dispatcher, AlertStore store, boolean heartbeat) {
        PrometheusMetrics m =
                new PrometheusMetrics(
                        dispatcher,
                        store,
                        undecodable::get,
                        lostRecords::get,
                        deletedUnreadRecords::get,
                        deadLetterHolds::get,
                        System::currentTimeMillis);
        if (heartbeat) {
            m.withHeartbeats(heartbeatsSent::get, heartbeatsFailed::get);
        }
        return watchOfCommand == null
                ? m
                : m.withConfigChanges(watchOfCommand::applied, watchOfCommand::refused);
    }

    /**
     * What the loop last saw, for {@code /health}: when it last came round, when its consumer last
     * had an answer (a fetch response) from Kafka, and whether it serves yet (it reads where each
     * partition resumes first). Kafka's consumer waits without a word while the brokers are away,
     * so without these the API answered UP while nothing could reach a person.
     */
    private volatile long loopAt;

    private volatile long kafkaAt;
    private volatile boolean serving;
    private volatile boolean noPartitions;

    /**
     * Since when a partition waits at a record the DLQ cannot take (paused; the longest held), 0
     * while none does, and which.
     */
    private volatile long heldSince;

    private volatile String held;

    /** A loop that has not come round for this long is stuck (a poll waits 200 ms). */
    private static final long LOOP_STUCK_MILLIS = 60_000;

    AlertingApi.Health health(AlertingConfig c) {
        if (!serving) {
            return new AlertingApi.Health(
                    false, List.of("starting: reading where each partition of the alerts resumes"));
        }
        long now = System.currentTimeMillis();
        List<String> problems = new ArrayList<>();
        if (now - loopAt > LOOP_STUCK_MILLIS) {
            problems.add(
                    "the service's loop has not come round for " + (now - loopAt) / 1000 + " s");
        }
        // From the loop's last round: a loop that is slow is the check above, not Kafka.
        long silent = loopAt - kafkaAt;
        if (silent > c.healthKafkaGrace().toMillis()) {
            problems.add(
                    "no answer from Kafka for "
                            + silent / 1000
                            + " s, longer than api.health-kafka-grace: alerts are not read");
        }
        if (noPartitions) {
            problems.add("the alerts topic " + c.alertsTopic() + " has no partitions to read");
        }
        String which = held;
        long since = heldSince;
        if (which != null && since != 0 && loopAt - since > c.healthKafkaGrace().toMillis()) {
            problems.add(
                    which
                            + " has waited "
                            + (loopAt - since) / 1000
                            + " s at a record the DLQ cannot take: the alerts behind it are not"
                            + " read (the log names the DLQ's error)");
        }
        return new AlertingApi.Health(problems.isEmpty(), problems);
    }

    /**
     * The consumer's count of fetch responses so far, or null where the client keeps none by that
     * name. A response is Kafka answering; the count of connections is not, as it includes each
     * attempt to reconnect.
     */
    private static org.apache.kafka.common.Metric fetches(KafkaConsumer<?, ?> consumer) {
        return consumer.metrics().entrySet().stream()
                .filter(
                        e ->
                                e.getKey().group().equals("consumer-fetch-manager-metrics")
                                        && e.getKey().name().equals("fetch-total"))
                .map(Map.Entry::getValue)
                .findFirst()
                .orElse(null);
    }

    /** Consumes and notifies until {@link #close()}; the loop of the service. */
    public void run(AlertingConfig c) throws InterruptedException, java.io.IOException {
        serving = false;
        kafkaAt = System.currentTimeMillis();
        try (AlertStore store =
                        new AlertStore(
                                c.storeDir(), c.storeRetention(), System.currentTimeMillis());
                Dispatcher dispatcher = Dispatcher.of(c, store, dispatcherMetrics);
                AlertingApi api =
                        c.apiPort() < 0
                                ? null
                                : new AlertingApi(
                                        store,
                                        dispatcher,
                                        metrics(dispatcher, store, c.heartbeat() != null)::render,
                                        () -> health(c),
                                        c.apiToken(),
                                        c.apiHost(),
                                        c.apiPort(),
                                        System::currentTimeMillis,
                                        // Switched off, Prometheus' alerts would reach nobody:
                                        // refused, so Prometheus counts its failed sends.
                                        c.pipelineAlerts().enabled() ? pipeline : null);
                KafkaConsumer<byte[], byte[]> consumer = consumer(c);
                AlertDeadLetters dlq =
                        new AlertDeadLetters(c, consumer, store, undecodable, deadLetterHolds);
                Heartbeat heartbeat =
                        c.heartbeat() == null
                                ? null
                                : new Heartbeat(
                                                c.heartbeat(),
                                                () -> serving ? loopAt : 0,
                                                heartbeatsSent,
                                                heartbeatsFailed)
                                        .start()) {
            List<TopicPartition> partitions = new ArrayList<>();
            List<PartitionInfo> found;
            try {
                found = consumer.partitionsFor(c.alertsTopic(), Duration.ofSeconds(30));
            } catch (org.apache.kafka.common.errors.TimeoutException e) {
                throw new ConfigException(
                        "kafka.bootstrap "
                                + c.kafkaBootstrap()
                                + " did not tell within 30 s where topic "
                                + c.alertsTopic()
                                + " is; start Kafka there, create the topic, or correct"
                                + " kafka.bootstrap");
            }
            for (PartitionInfo p : found) {
                partitions.add(new TopicPartition(p.topic(), p.partition()));
            }
            consumer.assign(partitions);
            KafkaPositions positions =
                    new KafkaPositions(
                            consumer, store, KAFKA_TIMEOUT, lostRecords, deletedUnreadRecords);
            positions.seek(partitions);
            dispatcher.restore(System.currentTimeMillis());
            PipelineAlerts.Run pipelineRun =
                    pipeline.start(c.pipelineAlerts(), store, System.currentTimeMillis());
            LOG.info(
                    "alerting started: Kafka {} ({}, {} partitions, read_committed) -> receivers {};"
                            + " store {}; API {}",
                    c.kafkaBootstrap(),
                    c.alertsTopic(),
                    partitions.size(),
                    c.receivers().keySet(),
                    c.storeDir(),
                    api == null ? "off" : "http://" + c.apiHost() + ":" + api.port());
            AvroAlertCodec codec = new AvroAlertCodec();
            long expiryChecked = System.currentTimeMillis();
            long partitionsChecked = expiryChecked;
            long pipelineChecked = 0;
            Map<TopicPartition, Long> pausedSince = new java.util.HashMap<>();
            org.apache.kafka.common.Metric fetches = fetches(consumer);
            double fetched = -1;
            loopAt = expiryChecked;
            kafkaAt = expiryChecked; // the start's lookups took their time; Kafka answered them
            serving = true;
            while (running.get()) {
                long at = System.currentTimeMillis();
                loopAt = at;
                double f = fetches == null ? 0 : ((Number) fetches.metricValue()).doubleValue();
                int assigned = consumer.assignment().size();
                java.util.Set<TopicPartition> paused = consumer.paused();
                boolean allHeld = assigned > 0 && paused.size() == assigned;
                noPartitions = assigned == 0;
                pausedSince.keySet().retainAll(paused);
                paused.forEach(tp -> pausedSince.putIfAbsent(tp, at));
                var longest = pausedSince.entrySet().stream().min(Map.Entry.comparingByValue());
                // The name first: a reader of heldSince then finds the partition it belongs to.
                held = longest.map(e -> e.getKey().toString()).orElse(null);
                heldSince = longest.map(Map.Entry::getValue).orElse(0L);
                // Nothing to fetch (every partition held, or none) is not Kafka's silence: those
                // are problems of their own.
                if (fetches == null || f != fetched || allHeld || assigned == 0) {
                    fetched = f;
                    kafkaAt = at;
                }
                ConsumerRecords<byte[], byte[]> records;
                try {
                    records = consumer.poll(Duration.ofMillis(200));
                } catch (OffsetOutOfRangeException e) {
                    placeOrRetry(() -> positions.outOfRange(e));
                    continue;
                } catch (NoOffsetForPartitionException e) {
                    placeOrRetry(() -> positions.seek(e.partitions()));
                    continue;
                }
                // One force of the journal for the poll's records, before anything is sent.
                store.beginBatch();
                Throwable failed = null;
                try {
                    for (ConsumerRecord<byte[], byte[]> r : records) {
                        if (dlq.holds(r)) {
                            continue; // read again once the DLQ takes the record before it
                        }
                        Parsed<Alert> parsed = decode(codec, r);
                        if (!parsed.isOk()) {
                            dlq.hold(r, (Parsed.Rejected<?>) parsed);
                            continue;
                        }
                        Alert a = parsed.value();
                        dispatcher.onEvent(
                                a,
                                r.partition(),
                                r.offset(),
                                r.leaderEpoch(),
                                System.currentTimeMillis());
                    }
                } catch (RuntimeException | Error e) {
                    failed = e;
                    throw e;
                } finally {
                    try {
                        store.endBatch();
                    } catch (RuntimeException e) {
                        if (failed == null) {
                            throw e;
                        }
                        failed.addSuppressed(e); // the write that failed first says why
                    }
                }
                long now = System.currentTimeMillis();
                dlq.settle(now);
                // Assigned partitions are fixed, so ones added to the topic would never be read.
                if (now - partitionsChecked >= PARTITIONS_CHECK_MILLIS) {
                    partitionsChecked = now;
                    addNewPartitions(consumer, c.alertsTopic(), partitions, positions);
                }
                if (now - pipelineChecked >= PIPELINE_CHECK_MILLIS) {
                    pipelineChecked = now;
                    pipeline.report(READING_ALERTS, readingProblem(c), now);
                    pipelineRun.apply(dispatcher, now);
                }
                dispatcher.dispatchDue(now);
                // A store that runs for months would otherwise hold every alert it ever saw.
                if (now - expiryChecked >= 60_000) {
                    expiryChecked = now;
                    store.expire(now);
                }
            }
            dispatcher.drain(STOP_GRACE_SECONDS);
        } finally {
            stopped.countDown();
        }
    }

    private static Parsed<Alert> decode(AvroAlertCodec codec, ConsumerRecord<byte[], byte[]> r) {
        if (r.value() == null) {
            return Parsed.rejected(RejectReason.CORRUPT_RECORD, "no value");
        }
        try {
            return codec.decode(r.value());
        } catch (RuntimeException e) {
            // The codec returns its rejections; anything it throws is a fault of the bytes too.
            return Parsed.rejected(RejectReason.CORRUPT_RECORD, String.valueOf(e.getMessage()));
        }
    }

    /** How often the pipeline's reports are turned into alerts. */
    private static final long PIPELINE_CHECK_MILLIS = 1_000;

    /** Why the alerts are not read (/health's problems), or null while they are. */
    private String readingProblem(AlertingConfig c) {
        AlertingApi.Health h = health(c);
        return h.up()
                ? null
                : "Alerting cannot read the alerts: "
                        + String.join("; ", h.problems())
                        + ". What the job detects meanwhile is told once they are read; alerts"
                        + " about the pipeline itself, like this one, are told now.";
    }

    /** How long the service waits for Kafka's answer about its partitions and their offsets. */
    private static final Duration KAFKA_TIMEOUT = Duration.ofSeconds(30);

    /**
     * How often the consumer's metadata is asked for partitions added to the topic. The metadata
     * itself is refreshed every {@code metadata.max.age.ms} (5 minutes by default).
     */
    private static final long PARTITIONS_CHECK_MILLIS = 1_000;

    private static void addNewPartitions(
            KafkaConsumer<byte[], byte[]> consumer,
            String topic,
            List<TopicPartition> partitions,
            KafkaPositions positions) {
        List<TopicPartition> added = new ArrayList<>();
        try {
            // From the consumer's metadata, refreshed in the background: the loop must not wait
            // on Kafka here, or notifications wait with it.
            for (PartitionInfo p : consumer.partitionsFor(topic, Duration.ofMillis(100))) {
                TopicPartition tp = new TopicPartition(p.topic(), p.partition());
                if (!partitions.contains(tp)) {
                    added.add(tp);
                }
            }
        } catch (KafkaException e) {
            LOG.debug("Could not look for new partitions of {}: {}", topic, e.toString());
            return;
        }
        if (added.isEmpty()) {
            return;
        }
        partitions.addAll(added);
        consumer.assign(partitions);
        positions.seek(added);
        LOG.info("{} has new partitions {}; reading them from their start", topic, added);
    }

    /**
     * A position Kafka does not have stays unplaced when Kafka does not answer in time, so the next
     * poll raises it again; the service must not stop over it.
     */
    private static void placeOrRetry(Runnable place) {
        try {
            place.run();
        } catch (org.apache.kafka.common.errors.TimeoutException e) {
            LOG.warn(
                    "Kafka did not tell within {} s where its log starts and ends; asking again: {}",
                    KAFKA_TIMEOUT.toSeconds(),
                    e.getMessage());
        }
    }

    private static KafkaConsumer<byte[], byte[]> consumer(AlertingConfig c) {
        Properties p = new Properties();
        p.putAll(c.kafkaConsumer().values());
        p.put("bootstrap.servers", c.kafkaBootstrap());
        p.put("group.id", c.groupId());
        p.put("enable.auto.commit", "false");
        p.put("isolation.level", "read_committed");
        // Kafka's own reset would move a position it no longer has to wherever its end is by
        // then, skipping records without a word; KafkaPositions decides and says so instead.
        p.put("auto.offset.reset", "none");
        p.put("client.id", "plantwatch-alerting");
        return new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    /**
     * How long queued deliveries may take at a stop. Nothing is lost after it: what is not yet told
     * is sent at the next start. It was 30 s, which a failing receiver always used up.
     */
    public static final long STOP_GRACE_SECONDS = 10;

    /**
     * How long a restart waits for the old service to end: its loop may be waiting on Kafka (30 s
     * for the partitions, 30 s for the positions) before it sees the stop, then gives deliveries
     * under way their grace.
     */
    public static final Duration RESTART_TIMEOUT = Duration.ofSeconds(70 + STOP_GRACE_SECONDS);

    /** Stops the loop; queued deliveries get up to {@link #STOP_GRACE_SECONDS} to finish. */
    @Override
    public void close() {
        running.set(false);
        AlertingService service = current;
        if (service != null) {
            service.close();
        }
    }

    /** Waits until the loop has ended. */
    public void awaitStopped() throws InterruptedException {
        stopped.await();
    }
}
