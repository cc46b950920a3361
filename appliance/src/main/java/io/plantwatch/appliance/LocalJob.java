package io.plantwatch.appliance;

import io.plantwatch.job.AnomalyJob;
import io.plantwatch.job.JobSettings;
import io.plantwatch.job.rules.RuleBook;
import io.plantwatch.model.ConfigException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ExternalizedCheckpointRetention;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.RecoveryClaimMode;
import org.apache.flink.runtime.executiongraph.ErrorInfo;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterJobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The anomaly job on a local Flink MiniCluster, wired by the same code as {@code flink run}. */
final class LocalJob {
    private static final Logger LOG = LoggerFactory.getLogger(LocalJob.class);

    /**
     * Checkpoints kept, newest first: Flink's one left nothing to fall back on when a power cut
     * tore it. Each holds the whole state on the heap backend (about 1 KB per sensor).
     */
    static final int RETAINED_CHECKPOINTS = 3;

    private LocalJob() {}

    /** The job with empty state; it does not restart: its first failure ends it. */
    static JobClient start(JobSettings js) throws Exception {
        return submit(
                js,
                flinkConfiguration(
                        js,
                        new ApplianceSettings.RestartPolicy(
                                0,
                                Duration.ofSeconds(1),
                                Duration.ofSeconds(1),
                                Duration.ofHours(1))));
    }

    /**
     * The job, restored from the newest checkpoint under {@code checkpoints} when there is one: the
     * appliance keeps its detectors' state, open alerts and Kafka offsets across a restart, as a
     * job on a Flink cluster does. Checkpoints are kept when the job is cancelled at shutdown; a
     * restore claims the one it starts from, so Flink deletes it once a newer one is complete, and
     * the folders of older runs are deleted here.
     */
    static JobClient resume(
            JobSettings js,
            Path checkpoints,
            ApplianceSettings.RestartPolicy restarts,
            RuleBook book)
            throws Exception {
        Optional<Path> latest = restorableCheckpoint(checkpoints);
        requireSameStateBackend(
                checkpoints,
                js.stateBackend(),
                latest.isPresent() && !isCanonicalSavepoint(latest.get()));
        if (latest.isPresent()) {
            deleteOtherRuns(checkpoints, latest.get().getParent());
            LOG.info("Restoring the anomaly job from {}", latest.get());
        }
        return submit(js, restoring(js, restarts, latest.orElse(null)), book);
    }

    /**
     * The job again, from the savepoint {@link #stopWithSavepoint} took, with {@code book}: a
     * sensor's rules are not part of its state.
     */
    static JobClient resumeFromSavepoint(
            JobSettings js, Path savepoint, ApplianceSettings.RestartPolicy restarts, RuleBook book)
            throws Exception {
        return submit(js, restoring(js, restarts, savepoint), book);
    }

    /**
     * Stops the job with a savepoint under {@code checkpoints}, where a start after a kill finds it
     * too ({@link #restorableCheckpoint}) until the next job's first checkpoint.
     */
    static Path stopWithSavepoint(JobClient job, Path checkpoints, Duration timeout)
            throws Exception {
        String taken =
                job.stopWithSavepoint(
                                false,
                                checkpoints.resolve(SAVEPOINTS).toAbsolutePath().toUri().toString(),
                                org.apache.flink.core.execution.SavepointFormatType.CANONICAL)
                        .get(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
        // Flink's path, unescaped ("file:/data dir/..."), which java.net.URI would refuse.
        java.net.URI uri = new org.apache.flink.core.fs.Path(taken).toUri();
        Path savepoint = uri.getScheme() == null ? Path.of(uri.getPath()) : Path.of(uri);
        // The stopped job ended FINISHED, and Flink deleted its checkpoints: until the next job's
        // first checkpoint this is the only snapshot, and Flink does not force its files. A power
        // cut then tore it, and the start after it found nothing to restore.
        forceToDisk(savepoint);
        return savepoint;
    }

    /**
     * Forces every file under {@code dir} to the disk, then every folder, then the two above it.
     */
    static void forceToDisk(Path dir) throws IOException {
        List<Path> all;
        try (Stream<Path> tree = Files.walk(dir)) {
            all = tree.toList();
        }
        for (Path p : all) {
            if (Files.isRegularFile(p)) {
                force(p);
            }
        }
        for (Path p : all) {
            if (Files.isDirectory(p)) {
                force(p);
            }
        }
        // And the entries naming it: the savepoint's own, and the savepoints folder's, made with
        // it.
        force(dir.getParent());
        force(dir.getParent().getParent());
    }

    private static void force(Path p) throws IOException {
        try (java.nio.channels.FileChannel c =
                java.nio.channels.FileChannel.open(p, java.nio.file.StandardOpenOption.READ)) {
            c.force(true);
        }
    }

    /** Where the appliance's savepoints go, beside the job runs' checkpoint folders. */
    static final String SAVEPOINTS = "savepoints";

    private static Configuration restoring(
            JobSettings js, ApplianceSettings.RestartPolicy restarts, Path snapshot) {
        Configuration conf = flinkConfiguration(js, restarts);
        conf.set(
                CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION,
                ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION);
        conf.set(CheckpointingOptions.MAX_RETAINED_CHECKPOINTS, RETAINED_CHECKPOINTS);
        if (snapshot != null) {
            conf.set(
                    StateRecoveryOptions.SAVEPOINT_PATH,
                    snapshot.toAbsolutePath().toUri().toString());
            conf.set(StateRecoveryOptions.RESTORE_MODE, RecoveryClaimMode.CLAIM);
            // A rules change that drops a pattern shape leaves that shape's state unclaimed; the
            // rest of the job's state still applies.
            conf.set(StateRecoveryOptions.SAVEPOINT_IGNORE_UNCLAIMED_STATE, true);
        }
        return conf;
    }

    /**
     * A checkpoint is restored only by the state backend that wrote it: after a switch, Flink's
     * restore fails over and over (EOFException, OutOfMemoryError) without saying why. So the
     * backend is recorded beside the checkpoints, and a switch is refused with what to do, unless
     * the snapshot restored is a savepoint ({@link #isCanonicalSavepoint}), as a stop leaves.
     */
    static void requireSameStateBackend(Path checkpoints, String backend, boolean restoring)
            throws IOException {
        if (restoring) {
            refuseAnotherStateBackend(checkpoints, backend);
        }
        Files.createDirectories(checkpoints);
        Files.writeString(
                checkpoints.resolve("state-backend"),
                backend.toLowerCase(java.util.Locale.ROOT) + "\n");
    }

    /**
     * The newest savepoint under {@code checkpoints} whose metadata was written at or after {@code
     * sinceMillis}, or null: one a stop took after it had stopped waiting for it.
     */
    static Path savepointTakenSince(Path checkpoints, long sinceMillis) throws IOException {
        for (Path p : completeCheckpoints(checkpoints)) {
            if (isCanonicalSavepoint(p)
                    && Files.getLastModifiedTime(p.resolve("_metadata")).toMillis()
                            >= sinceMillis - 1_000) {
                return p;
            }
        }
        return null;
    }

    /**
     * Whether {@code snapshot} is one of the appliance's savepoints (a stop's or a rules change's),
     * all in Flink's canonical format, which every state backend restores: a switch of
     * state.backend takes effect from one.
     */
    static boolean isCanonicalSavepoint(Path snapshot) {
        return snapshot.getFileName().toString().startsWith("savepoint-")
                && snapshot.getParent() != null
                && snapshot.getParent().getFileName().toString().equals(SAVEPOINTS);
    }

    /**
     * What {@code plantwatch check} says of a state.backend the next start would refuse: only when
     * there are checkpoints to restore and the newest is not a savepoint, as the start refuses it.
     */
    static void refuseAnotherStateBackendOfCheckpoints(Path checkpoints, String backend) {
        try {
            List<Path> complete = completeCheckpoints(checkpoints);
            // The one a start would restore: the newest it can read (else the newest, which the
            // start then refuses with its own words).
            Path restored =
                    complete.stream()
                            .filter(p -> unreadable(p) == null)
                            .findFirst()
                            .orElse(complete.isEmpty() ? null : complete.get(0));
            if (restored != null && !isCanonicalSavepoint(restored)) {
                refuseAnotherStateBackend(checkpoints, backend);
            }
        } catch (IOException unreadable) {
            // The start reads them again and says what is wrong with them.
        }
    }

    private static void refuseAnotherStateBackend(Path checkpoints, String backend)
            throws IOException {
        String now = backend.toLowerCase(java.util.Locale.ROOT);
        Path marker = checkpoints.resolve("state-backend");
        if (Files.isRegularFile(marker)) {
            String was = Files.readString(marker).strip();
            if (!was.equals(now)) {
                throw new ConfigException(
                        "the checkpoints in "
                                + checkpoints
                                + " hold "
                                + was
                                + " state, which state.backend "
                                + now
                                + " cannot restore: set state.backend back to "
                                + was
                                + " (a stop of plantwatch run then leaves a savepoint, which"
                                + " either backend restores), or move "
                                + checkpoints
                                + " away to start afresh (baselines learn again, open alerts are"
                                + " forgotten)");
            }
        }
    }

    private static Configuration flinkConfiguration(
            JobSettings js, ApplianceSettings.RestartPolicy restarts) {
        Configuration conf = AnomalyJob.flinkConfiguration(js);
        // Flink's default retries for ever: a job that fails at every start (a setting the
        // brokers refuse) would restart unseen while the appliance looks healthy. With the
        // shipped policy (job.restart in appliance.yaml), ten restarts in a row take about three
        // minutes, enough to ride out a broker restart; then the job fails and the appliance
        // stops with the cause.
        if (restarts.maxRestarts() == 0) {
            // Flink's exponential-delay needs at least one attempt: none is its own strategy.
            conf.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
        } else {
            conf.set(RestartStrategyOptions.RESTART_STRATEGY, "exponential-delay");
            conf.set(
                    RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_INITIAL_BACKOFF,
                    restarts.backoff());
            conf.set(
                    RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_MAX_BACKOFF,
                    restarts.maxBackoff());
            conf.set(
                    RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_BACKOFF_MULTIPLIER,
                    2.0);
            conf.set(
                    RestartStrategyOptions
                            .RESTART_STRATEGY_EXPONENTIAL_DELAY_RESET_BACKOFF_THRESHOLD,
                    restarts.resetAfter());
            conf.set(
                    RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_ATTEMPTS,
                    restarts.maxRestarts());
        }
        conf.setString(
                "metrics.reporter." + JobHealth.NAME + ".factory.class",
                JobHealth.Factory.class.getName());
        conf.setString(
                "metrics.reporter." + JobMetrics.NAME + ".factory.class",
                JobMetrics.Factory.class.getName());
        // The MiniCluster's web UI and REST API can cancel the job and take no login: loopback
        // only.
        conf.setString("rest.bind-address", "127.0.0.1");
        conf.setString("rest.address", "127.0.0.1");
        return conf;
    }

    private static JobClient submit(JobSettings js, Configuration conf) throws Exception {
        return submit(js, conf, AnomalyJob.loadRules(js.rulesFile()));
    }

    private static JobClient submit(JobSettings js, Configuration conf, RuleBook book)
            throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        AnomalyJob.wire(env, js, book);
        return env.executeAsync(js.jobName());
    }

    /**
     * Why {@code job} last failed, restarts included, in a few words (the innermost cause), or
     * {@link #CAUSE_IN_LOG} when it has not or this cannot be told. Flink gives a restart's cause
     * only to its log and its REST API, whose port a MiniCluster picks at random; the cluster's
     * execution graph keeps it, and the job's client holds the cluster in a field of its own, read
     * here. A Flink whose client no longer has it gives {@link #CAUSE_IN_LOG}, as the console said
     * before (the appliance's tests assert the cause, so an upgrade that loses it shows).
     */
    static String lastFailure(JobClient job) {
        if (!(job instanceof MiniClusterJobClient)) {
            return CAUSE_IN_LOG;
        }
        try {
            java.lang.reflect.Field field =
                    MiniClusterJobClient.class.getDeclaredField("miniCluster");
            field.setAccessible(true);
            MiniCluster cluster = (MiniCluster) field.get(job);
            ErrorInfo failure =
                    cluster.getExecutionGraph(job.getJobID())
                            .get(5, java.util.concurrent.TimeUnit.SECONDS)
                            .getFailureInfo();
            return failure == null ? CAUSE_IN_LOG : OneLineThrowable.of(failure.getException());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return CAUSE_IN_LOG;
        } catch (Exception | LinkageError e) {
            LOG.debug("The job's last failure cannot be read: {}", e.toString());
            return CAUSE_IN_LOG;
        }
    }

    static final String CAUSE_IN_LOG = "the cause is in the log file";

    /**
     * The newest complete checkpoint under {@code dir} ({@code <job id>/chk-<n>/_metadata}); one
     * being written when the process was killed has no metadata yet.
     */
    static Optional<Path> latestCheckpoint(Path dir) throws IOException {
        return completeCheckpoints(dir).stream().findFirst();
    }

    /**
     * The newest checkpoint under {@code dir} whose metadata Flink can read. A power cut can tear
     * the newest one (a truncated or empty {@code _metadata}): Flink then refused the job at every
     * start with an EOFException, and the appliance could not start until a person moved the
     * checkpoints away. Now an older one is restored, with a warning, as the job keeps {@link
     * #RETAINED_CHECKPOINTS}.
     *
     * @throws Appliance.CannotStart when there are checkpoints but none can be read: starting
     *     afresh would silently forget every sensor's state and open alert, so a person decides
     */
    static Optional<Path> restorableCheckpoint(Path dir) throws IOException, Appliance.CannotStart {
        List<String> torn = new java.util.ArrayList<>();
        for (Path chk : completeCheckpoints(dir)) {
            String why = unreadable(chk);
            if (why == null) {
                if (!torn.isEmpty()) {
                    LOG.warn(
                            "Restoring the anomaly job from an older checkpoint, {}: the newer"
                                    + " cannot be read ({}); what they held since is read again"
                                    + " from Kafka",
                            chk,
                            String.join("; ", torn));
                }
                return Optional.of(chk);
            }
            torn.add(chk + ": " + why);
        }
        if (!torn.isEmpty()) {
            throw new Appliance.CannotStart(
                    "no checkpoint of the anomaly job in "
                            + dir
                            + " can be read ("
                            + String.join("; ", torn)
                            + "), as after a power cut. Move "
                            + dir
                            + " away to start the job afresh: baselines learn again and open"
                            + " alerts are forgotten");
        }
        return Optional.empty();
    }

    /** Why Flink could not read the checkpoint's metadata, or null when it can. */
    static String unreadable(Path chk) {
        Path metadata = chk.resolve("_metadata");
        try (java.io.DataInputStream in =
                new java.io.DataInputStream(
                        new java.io.BufferedInputStream(Files.newInputStream(metadata)))) {
            org.apache.flink.runtime.checkpoint.Checkpoints.loadCheckpointMetadata(
                    in, LocalJob.class.getClassLoader(), chk.toUri().toString());
            return null;
        } catch (IOException | RuntimeException e) {
            return (Files.isRegularFile(metadata) ? sizeOf(metadata) + " B of metadata, " : "")
                    + e.getClass().getSimpleName()
                    + (e.getMessage() != null ? " " + e.getMessage() : "");
        }
    }

    private static long sizeOf(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            return -1;
        }
    }

    /**
     * Every checkpoint with metadata under {@code dir}, newest first, and the savepoints a rules
     * change took ({@code savepoints/savepoint-*}).
     */
    private static List<Path> completeCheckpoints(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> files =
                Files.find(dir, 3, (p, a) -> isMetadata(p) && a.isRegularFile())) {
            return files.sorted(Comparator.comparing(LocalJob::modified).reversed())
                    .map(Path::getParent)
                    .toList();
        }
    }

    private static boolean isMetadata(Path p) {
        String folder = p.getParent().getFileName().toString();
        return p.getFileName().toString().equals("_metadata")
                && (folder.startsWith("chk-") || folder.startsWith("savepoint-"));
    }

    private static FileTime modified(Path p) {
        try {
            return Files.getLastModifiedTime(p);
        } catch (IOException e) {
            return FileTime.fromMillis(0);
        }
    }

    private static void deleteOtherRuns(Path dir, Path keep) throws IOException {
        List<Path> runs;
        try (Stream<Path> list = Files.list(dir)) {
            runs = list.filter(p -> !p.equals(keep) && Files.isDirectory(p)).toList();
        }
        for (Path run : runs) {
            DemoCommand.deleteTree(run);
        }
    }
}
