package io.plantwatch.appliance;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies a changed config file while the appliance runs, as Prometheus and Alertmanager reload
 * theirs: thresholds and receivers change far more often than a plant can stop watching its sensors
 * for a restart of every part. The file is read every period; new content is checked first (the
 * same checks as at the start), and only a valid file reaches its part, which restarts with it
 * ({@link Appliance#applyRules}, {@link Appliance#applyAlerting}). A file with a mistake is refused
 * with its reason on the console, once per content, and the part goes on with what it has; a
 * half-written file is refused, then applied when it is whole.
 */
final class ConfigWatch<T> {
    private static final Logger LOG = LoggerFactory.getLogger(ConfigWatch.class);

    /** After a change its part could not take, how long until the same content is tried again. */
    static final long RETRY_MILLIS = 30_000;

    private final String what;
    private final String part;
    private final Path file;
    private final Function<Path, T> check;
    private final Function<T, String> apply;
    private byte[] applied;
    private byte[] refused;
    private byte[] failed;
    private long retryAt;
    private final AtomicLong appliedCount = new AtomicLong();
    private final AtomicLong refusedCount = new AtomicLong();
    private final Object wake = new Object();
    private boolean stopped;

    /**
     * @param what the file, for people: "rules file"
     * @param part what runs with it, for people: "the anomaly job"
     * @param file the file, whose content now is the one its part runs with
     * @param check reads and checks the file as at the start, and returns what its part is to run
     *     with; throws, with a message naming the file, the key and the fix, when it is not valid
     * @param apply restarts the part with what {@code check} returned; returns why it could not, or
     *     null
     */
    ConfigWatch(
            String what,
            String part,
            Path file,
            Function<Path, T> check,
            Function<T, String> apply) {
        this.what = what;
        this.part = part;
        this.file = file;
        this.check = check;
        this.apply = apply;
        this.applied = digest(read());
    }

    /** The gateway's {@code /metrics} name of the count of changes applied: {@code prefix}. */
    static String appliedMetric(String prefix) {
        return "plantwatch_" + prefix + "_changes_applied_total";
    }

    static String refusedMetric(String prefix) {
        return "plantwatch_" + prefix + "_changes_refused_total";
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
        if (Arrays.equals(digest, failed) && nowMillis < retryAt) {
            return;
        }
        T checked;
        try {
            // What the part gets is what was checked: the file is not read again after its part
            // stopped, when a second save or an editor's half-written file could stop it for good.
            checked = check.apply(file);
        } catch (RuntimeException e) {
            refused = digest;
            refusedCount.incrementAndGet();
            LOG.error(
                    "The changed {} is not applied: {}. {} goes on as it is",
                    what,
                    e.getMessage(),
                    capitalized(part));
            return;
        }
        LOG.warn("The {} {} changed: {} restarts with it", what, file, part);
        String why = apply.apply(checked);
        if (why == null) {
            applied = digest;
            refused = null;
            failed = null;
            appliedCount.incrementAndGet();
        } else {
            failed = digest;
            retryAt = nowMillis + RETRY_MILLIS;
            refusedCount.incrementAndGet();
            LOG.error(
                    "The changed {} {} is not applied: {}; tried again in {} s",
                    what,
                    file,
                    why,
                    RETRY_MILLIS / 1000);
        }
    }

    /**
     * Checks every period until {@link #stop}. Not by interrupts: one during an apply would leave
     * its part half restarted.
     */
    Thread watch(long periodMillis) {
        Thread t =
                new Thread(
                        () -> {
                            while (true) {
                                synchronized (wake) {
                                    if (!stopped) {
                                        try {
                                            wake.wait(periodMillis);
                                        } catch (InterruptedException e) {
                                            return;
                                        }
                                    }
                                    if (stopped) {
                                        return;
                                    }
                                }
                                try {
                                    check(System.currentTimeMillis());
                                } catch (RuntimeException e) {
                                    LOG.error("Watching the {} {}: {}", what, file, e.toString());
                                }
                            }
                        },
                        "config-watch");
        t.setDaemon(true);
        t.start();
        return t;
    }

    /** Ends {@link #watch} after the check under way, if any. */
    void stop() {
        synchronized (wake) {
            stopped = true;
            wake.notifyAll();
        }
    }

    private static String capitalized(String s) {
        return s.isEmpty() ? s : Character.toUpperCase(s.charAt(0)) + s.substring(1);
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
