package io.plantwatch.appliance;

import io.plantwatch.job.AnomalyJob;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies a changed rules file while the appliance runs, as Prometheus and Alertmanager reload
 * theirs: thresholds are tuned far more often than a plant can stop watching its sensors for a
 * restart of every part. The file is read every period; new content is checked first (the same
 * checks as at the start), and only valid rules reach the job ({@link Appliance#applyRules}). A
 * file with a mistake is refused with its reason on the console, once per content, and the job goes
 * on with the rules it has; a half-written file is refused, then applied when it is whole.
 */
final class RulesWatch {
    private static final Logger LOG = LoggerFactory.getLogger(RulesWatch.class);

    /** The gateway's {@code /metrics} names of the counts, as {@link Appliance} registers them. */
    static final String APPLIED_METRIC = "plantwatch_rules_changes_applied_total";

    static final String REFUSED_METRIC = "plantwatch_rules_changes_refused_total";

    /** After a change the job could not take, how long until it is tried again. */
    static final long RETRY_MILLIS = 30_000;

    private final Path file;
    private final Supplier<String> apply;
    private byte[] applied;
    private byte[] refused;
    private long retryAt;
    private final AtomicLong appliedCount = new AtomicLong();
    private final AtomicLong refusedCount = new AtomicLong();

    /**
     * @param file the rules file, whose content now is the one the job runs with
     * @param apply restarts the job with the file's rules; returns why it could not, or null
     */
    RulesWatch(Path file, Supplier<String> apply) {
        this.file = file;
        this.apply = apply;
        this.applied = digest(read());
    }

    long applied() {
        return appliedCount.get();
    }

    long refused() {
        return refusedCount.get();
    }

    /** Reads the file once: applies new valid content, refuses invalid content. */
    void check(long nowMillis) {
        byte[] content = read();
        if (content == null) {
            return;
        }
        byte[] digest = digest(content);
        if (Arrays.equals(digest, applied) || Arrays.equals(digest, refused)) {
            return;
        }
        if (nowMillis < retryAt) {
            return;
        }
        try {
            AnomalyJob.loadRules(file);
        } catch (RuntimeException e) {
            refused = digest;
            refusedCount.incrementAndGet();
            LOG.error(
                    "The changed rules file is not applied: {}. The anomaly job goes on with the"
                            + " rules it has",
                    e.getMessage());
            return;
        }
        LOG.warn("The rules file {} changed: the anomaly job restarts with it", file);
        String why = apply.get();
        if (why == null) {
            applied = digest;
            refused = null;
            retryAt = 0;
            appliedCount.incrementAndGet();
        } else {
            retryAt = nowMillis + RETRY_MILLIS;
            refusedCount.incrementAndGet();
            LOG.error(
                    "The changed rules file {} is not applied: {}; tried again in {} s",
                    file,
                    why,
                    RETRY_MILLIS / 1000);
        }
    }

    /** Checks every period until interrupted. */
    Thread watch(long periodMillis) {
        Thread t =
                new Thread(
                        () -> {
                            try {
                                while (!Thread.currentThread().isInterrupted()) {
                                    Thread.sleep(periodMillis);
                                    check(System.currentTimeMillis());
                                }
                            } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                            }
                        },
                        "rules-watch");
        t.setDaemon(true);
        t.start();
        return t;
    }

    /** The file's bytes; null while it cannot be read (an editor replacing it). */
    private byte[] read() {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            return null;
        }
    }

    private static byte[] digest(byte[] content) {
        if (content == null) {
            return null;
        }
        try {
            return MessageDigest.getInstance("SHA-256").digest(content);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
