package io.plantwatch.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies a changed config file while the appliance runs, as Prometheus and Alertmanager reload
 * theirs: thresholds and receivers change far more often than a plant can stop watching its sensors
 * for a restart of every part. The file is read every period; new content is checked first (the
 * same checks as at the start), and only a valid file reaches its part, which takes it (the
 * appliance's job and alerting restart with it, the gateway reconnects, the appliance's own file
 * moves its margins). A file with a mistake is refused with its reason on the console, once per
 * content, and the part goes on with what it has; a half-written file is refused, then applied when
 * it is whole.
 *
 * <p>The files the config names are watched with it (a rules file's {@code include}, alerting's
 * secret and CA files): a secret rotated in its file, or a threshold changed in the shared rules a
 * site includes, is a change of the config as much as an edit of the file itself.
 */
public final class ConfigWatch<T> {
    private static final Logger LOG = LoggerFactory.getLogger(ConfigWatch.class);

    /** After a change its part could not take, how long until the same content is tried again. */
    public static final long RETRY_MILLIS = 30_000;

    private final String what;
    private final String part;
    private final Path file;
    private final Function<Path, List<Path>> filesOf;
    private final Function<Path, T> check;
    private final Function<T, String> apply;

    /** Each file's SHA-256, the config first, as its part runs with them. */
    private Map<Path, String> applied;

    private Map<Path, String> refused;
    private Map<Path, String> failed;
    private long retryAt;
    private final AtomicLong appliedCount = new AtomicLong();
    private final AtomicLong refusedCount = new AtomicLong();
    private final Object wake = new Object();
    private boolean stopped;

    /** A watch of {@code file} alone. */
    public ConfigWatch(
            String what,
            String part,
            Path file,
            Function<Path, T> check,
            Function<T, String> apply) {
        this(what, part, file, List::of, check, apply);
    }

    /**
     * @param what the file, for people: "rules file"
     * @param part what runs with it, for people: "the anomaly job"
     * @param file the file, whose content now is the one its part runs with
     * @param filesOf the config's file and the files it names, as the config is now; it need not
     *     check the config ({@code check} does), and is asked again at every read, so a file named
     *     from now on is watched from now on
     * @param check reads and checks the file as at the start, and returns what its part is to run
     *     with, or null when that is what it runs with already; throws, with a message naming the
     *     file, the key and the fix, when it is not valid
     * @param apply gives the part what {@code check} returned; returns why it could not this time
     *     (tried again after {@link #RETRY_MILLIS}), or null; throws {@link ConfigException} when
     *     the part cannot run with this content at all and went on as it was
     */
    public ConfigWatch(
            String what,
            String part,
            Path file,
            Function<Path, List<Path>> filesOf,
            Function<Path, T> check,
            Function<T, String> apply) {
        this.what = what;
        this.part = part;
        this.file = file;
        this.filesOf = filesOf;
        this.check = check;
        this.apply = apply;
        this.applied = read();
    }

    /** The file, for people: "rules file". */
    public String what() {
        return what;
    }

    /** The gateway's {@code /metrics} name of the count of changes applied: {@code prefix}. */
    public static String appliedMetric(String prefix) {
        return "plantwatch_" + prefix + "_changes_applied_total";
    }

    public static String refusedMetric(String prefix) {
        return "plantwatch_" + prefix + "_changes_refused_total";
    }

    public long applied() {
        return appliedCount.get();
    }

    public long refused() {
        return refusedCount.get();
    }

    /** Reads the files once: applies new valid content, refuses invalid content. */
    public void check(long nowMillis) {
        Map<Path, String> content = read();
        if (content == null) {
            return;
        }
        // The content applied before, put back while a change waits to be tried again: checked
        // once more, as the part may have taken some of that change (the appliance's file).
        if (content.equals(applied) && failed == null || content.equals(refused)) {
            return;
        }
        if (content.equals(failed) && nowMillis < retryAt) {
            return;
        }
        T checked;
        try {
            // What the part gets is what was checked: the file is not read again after its part
            // stopped, when a second save or an editor's half-written file could stop it for good.
            checked = check.apply(file);
        } catch (RuntimeException e) {
            refuse(content, e, "is");
            return;
        }
        if (checked == null) {
            // Changed in nothing its part runs with (a comment): no restart for it.
            LOG.info("The {} changed ({}), in nothing {} runs with", what, changed(content), part);
            applied = content;
            refused = null;
            failed = null;
            return;
        }
        LOG.warn("The {} changed ({}): {} takes it", what, changed(content), part);
        String why;
        try {
            why = apply.apply(checked);
        } catch (ConfigException e) {
            // Its part tried and could not run with it (a broker refused a changed login): the
            // same content would fail again, so it waits for the next change, as a mistake does.
            refuse(content, e, "was");
            return;
        }
        if (why == null) {
            applied = content;
            refused = null;
            failed = null;
            appliedCount.incrementAndGet();
        } else {
            failed = content;
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

    /** {@code content} is not applied, for {@code why}; it is tried again once it changes. */
    private void refuse(Map<Path, String> content, RuntimeException why, String partIsOrWas) {
        refused = content;
        refusedCount.incrementAndGet();
        LOG.error(
                "The changed {} is not applied: {}. {} goes on as it {}",
                what,
                why.getMessage(),
                capitalized(part),
                partIsOrWas);
    }

    /** The files whose content is not what their part runs with, for the log. */
    private String changed(Map<Path, String> content) {
        List<String> names = new ArrayList<>();
        content.forEach(
                (f, digest) -> {
                    if (!Objects.equals(digest, applied == null ? null : applied.get(f))) {
                        names.add(f.toString());
                    }
                });
        if (applied != null) {
            applied.keySet().stream()
                    .filter(f -> !content.containsKey(f))
                    .forEach(f -> names.add(f + " no longer named"));
        }
        return names.isEmpty() ? file.toString() : String.join(", ", names);
    }

    /**
     * Checks every period until {@link #stop}. Not by interrupts: one during an apply would leave
     * its part half restarted.
     */
    public Thread watch(long periodMillis) {
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
    public void stop() {
        synchronized (wake) {
            stopped = true;
            wake.notifyAll();
        }
    }

    private static String capitalized(String s) {
        return s.isEmpty() ? s : Character.toUpperCase(s.charAt(0)) + s.substring(1);
    }

    /**
     * Each file's SHA-256, the config's first; null while the config itself cannot be read (an
     * editor replacing it). A named file that cannot be read counts as content of its own, which
     * the check then refuses with its reason.
     */
    private Map<Path, String> read() {
        byte[] config = bytes(file);
        if (config == null) {
            return null;
        }
        Map<Path, String> digests = new LinkedHashMap<>();
        digests.put(file.toAbsolutePath().normalize(), digest(config));
        List<Path> named;
        try {
            named = filesOf.apply(file);
        } catch (RuntimeException e) {
            // A config that does not parse names nothing yet; the check says what is wrong.
            named = List.of();
        }
        for (Path f : named) {
            digests.computeIfAbsent(f.toAbsolutePath().normalize(), n -> digest(bytes(n)));
        }
        return digests;
    }

    private static byte[] bytes(Path f) {
        try {
            return Files.readAllBytes(f);
        } catch (IOException e) {
            return null;
        }
    }

    private static String digest(byte[] content) {
        if (content == null) {
            return "unreadable";
        }
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
