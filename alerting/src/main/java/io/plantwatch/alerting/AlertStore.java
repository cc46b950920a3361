package io.plantwatch.alerting;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.plantwatch.model.Alert;
import io.plantwatch.model.AlertState;
import io.plantwatch.model.ConfigException;
import io.plantwatch.model.SensorId;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.BiPredicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every alert's current state and history, in an append-only journal file (JSON lines, forced to
 * disk on each write, or once for a batch of them) that is replayed on start. Chosen over a
 * compacted Kafka topic because the service must also remember its own decisions (which alert
 * states were notified, who acknowledged what, the Kafka position it has applied) atomically with
 * the events, and a local file does that with one write; the alert events themselves stay in Kafka
 * as the source of truth.
 *
 * <p>What a restart keeps: the Kafka offsets applied (the consumer seeks past them, so nothing is
 * applied twice or skipped) and the alert states already notified (so nothing is re-sent, and what
 * was pending is notified). Only the bytes after the last newline can be a write torn by a crash,
 * and are cut; a complete line that cannot be applied is set aside in {@link #BAD}, and the lines
 * after it are applied.
 *
 * <p>What it forgets: resolved alerts whose resolution was told more than the retention ago ({@link
 * #expire}), at start and once a minute, so memory and journal hold about the retention's worth of
 * alerts, not everything since the service was installed.
 */
public final class AlertStore implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(AlertStore.class);

    /** Where the service's operators moved an alert; Kafka's OPEN/RESOLVED are the detector's. */
    public enum Status {
        OPEN,
        ACKNOWLEDGED,
        /** Kept from notification until a time an operator chose (ISA-18.2 shelving). */
        SHELVED,
        /** Its condition cleared, but its rule latches: open until someone acknowledges it. */
        LATCHED,
        RESOLVED
    }

    /** One alert as the API shows it. */
    public record Entry(Alert alert, Status status, List<String> history, boolean notified) {}

    /** History lines kept per alert: a chattering alert keeps its latest ones. */
    static final int MAX_HISTORY = 1000;

    /**
     * Reads a journal line of a later version (an alert field added since) rather than setting it
     * aside: its fields are what this version knows plus some. The journal of the version before
     * alerts had a unit and limits still sets aside every line written since, so that one cannot go
     * back to it without its journal (alerting/README.md, Upgrades).
     */
    private final ObjectMapper json =
            new ObjectMapper()
                    .configure(
                            com.fasterxml.jackson.databind.DeserializationFeature
                                    .FAIL_ON_UNKNOWN_PROPERTIES,
                            false);

    private FileChannel journal;
    private final Path dir;
    private final Path file;
    private final Duration retention;

    /**
     * Every alert's state in one object, in the order first seen. A 30-day store holds hundreds of
     * thousands; a map per aspect (status, history, notified keys) cost about 1.4 KB an alert.
     */
    private final Map<String, Held> alerts = new LinkedHashMap<>();

    private final Map<Integer, Long> offsets = new HashMap<>();
    private final Map<Integer, Integer> epochs = new HashMap<>();
    private final Map<String, Long> shelvedUntil = new HashMap<>();
    private final Map<String, Silence> silences = new LinkedHashMap<>();

    /**
     * One instance per sensor and per rule name: alerts of a plant come from a few thousand
     * sensors, and each event read would otherwise keep its own copy of their strings.
     */
    private final Map<SensorId, SensorId> sensorIds = new HashMap<>();

    private final Map<String, String> rules = new HashMap<>();
    private long records;
    private long badLines;
    private long expired;

    /**
     * The running store's compaction, on a thread of its own: the dispatcher, the Kafka loop and
     * the API wait on this store's lock, and rewriting a 30-day journal held it 1.33-2.43 s on
     * tmpfs (AlertStoreFootprint, 460,000 alerts). Null when none runs.
     */
    private Thread compactor;

    /** Lines appended while {@link #compactor} writes the state it took; they follow it. */
    private List<byte[]> appendedSince;

    private boolean closing;

    /**
     * The thread whose appends are written but forced only at {@link #endBatch}: the Kafka loop,
     * over one poll's records. A force per record held an alert storm to about 5,300 records a
     * second on this machine's disk. Nothing those records decide leaves the service before the
     * force: the loop sends notifications after it, and another thread's force covers them too.
     */
    private Thread batching;

    /** Whether the journal holds lines not yet forced. */
    private boolean unforced;

    /** Whether the running batch has written its {@link #BATCH_MARKER}. */
    private boolean batchMarked;

    /**
     * Whether a marker is on the disk in this journal file. The first batch's marker is forced
     * before its records: otherwise it shares a page with them, and a power cut losing that page
     * would leave the hole after no marker, taken for old damage.
     */
    private boolean markerForced;

    /**
     * The line a batch's first append writes before its records: on replay, a hole in the lines
     * after the last one is a power cut's, not old damage.
     */
    private static final byte[] BATCH_MARKER =
            "{\"t\":\"batch\"}\n".getBytes(StandardCharsets.UTF_8);

    /** The journal's appends forced to disk so far, for tests. */
    private long forces;

    private static final long[] NO_TIMES = {};
    private static final String[] NO_LINES = {};

    /** One alert: its latest event, its status, what was told and its history. */
    private static final class Held {
        Alert alert;
        Status status = Status.OPEN;

        /** A bit per {@link AlertState} a receiver was told (or deliberately not). */
        byte told;

        /**
         * Of {@link #told}, the states held back on purpose (a silence, flapping, a close nobody
         * heard): nobody heard them. An OPEN held back is told once the silence ends, a restart
         * between included; a resolution is told only where the OPEN was heard.
         */
        byte muted;

        /**
         * Resolved by a person ({@link #closed}): the detector's later events for it (its own
         * resolution, a replay) only move the Kafka position; who closed it and why stay.
         */
        boolean closedByHand;

        /**
         * The receivers that have the latest state while others still wait for it; null once it is
         * told, or while none has it. Most alerts have one receiver and never need it.
         */
        String[] takenBy;

        /** The history as times and texts, formatted when asked: most alerts are never shown. */
        long[] times = NO_TIMES;

        String[] lines = NO_LINES;
        int size;

        /** When it last changed: its latest history line, or its latest event's times. */
        long changedAt() {
            return size > 0 ? times[size - 1] : Math.max(alert.eventTime(), alert.detectedAt());
        }

        boolean told(AlertState s) {
            return (told & (1 << s.ordinal())) != 0;
        }

        boolean heard(AlertState s) {
            return told(s) && (muted & (1 << s.ordinal())) == 0;
        }

        void history(long at, String what) {
            if (size == times.length) {
                if (size == MAX_HISTORY) {
                    System.arraycopy(times, 1, times, 0, size - 1);
                    System.arraycopy(lines, 1, lines, 0, size - 1);
                    size--;
                } else {
                    // Most alerts open and resolve: two lines, then room for an acknowledgement.
                    int grown = Math.min(MAX_HISTORY, Math.max(2, size * 2));
                    times = Arrays.copyOf(times, grown);
                    lines = Arrays.copyOf(lines, grown);
                }
            }
            times[size] = at;
            lines[size] = what;
            size++;
        }

        List<String> history() {
            return AlertStore.history(times, lines, size);
        }
    }

    private static List<String> history(long[] times, String[] lines, int size) {
        String[] out = new String[size];
        for (int i = 0; i < size; i++) {
            out[i] = Instant.ofEpochMilli(times[i]) + " " + lines[i];
        }
        return List.of(out);
    }

    public AlertStore(Path dir) {
        this(dir, Duration.ofDays(30), System.currentTimeMillis());
    }

    /**
     * Opens the journal in {@code dir}, replaying it, and forgets what {@link #expire} would at
     * {@code now}: resolved alerts told more than {@code retention} before. A journal mostly made
     * of records nothing needs any more is rewritten as the state it describes, without the
     * silences that ended before the retention.
     */
    public AlertStore(Path dir, Duration retention, long now) {
        this.dir = dir;
        this.file = dir.resolve(JOURNAL);
        this.retention = retention;
        try {
            Files.createDirectories(dir);
            lock = lock(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open the alert journal in " + dir, e);
        }
        try {
            open(now);
        } catch (RuntimeException | Error e) {
            if (journal != null) {
                closeJournal();
            }
            unlock();
            throw e;
        }
    }

    /**
     * Holds {@link #LOCK} in {@code dir} while this store is open. Two services on one journal (a
     * second start by mistake, an old container still running beside its replacement) would each
     * truncate and append to it, corrupting it, and both would notify every alert.
     */
    private static FileChannel lock(Path dir) throws IOException {
        Path at = dir.resolve(LOCK);
        // Checked before a channel is opened: closing any channel of this JVM on the file would
        // release the lock another store here holds (POSIX locks are the process's).
        Path key = at.toAbsolutePath().normalize();
        if (!LOCKED_HERE.add(key)) {
            throw inUse(dir, at);
        }
        FileChannel channel;
        java.nio.channels.FileLock held;
        try {
            channel = FileChannel.open(at, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        } catch (IOException | RuntimeException e) {
            LOCKED_HERE.remove(key);
            throw e;
        }
        try {
            held = channel.tryLock();
        } catch (IOException e) {
            // A file system without locks (some NFS and FUSE mounts): run as before, and say so.
            LOG.warn(
                    "Cannot lock {} ({}): nothing stops a second alerting service on this alert"
                            + " store, which would corrupt its journal; run only one",
                    at,
                    e.toString());
            return channel;
        } catch (RuntimeException e) {
            channel.close();
            LOCKED_HERE.remove(key);
            throw e;
        }
        if (held == null) {
            channel.close();
            LOCKED_HERE.remove(key);
            throw inUse(dir, at);
        }
        return channel;
    }

    /** The lock files the stores of this JVM hold. */
    private static final java.util.Set<Path> LOCKED_HERE =
            java.util.concurrent.ConcurrentHashMap.newKeySet();

    /** A ConfigException: at start, one line and exit 2, as for a port another holds. */
    private static ConfigException inUse(Path dir, Path at) {
        return new ConfigException(
                "Another alerting service is using the alert store "
                        + dir.toAbsolutePath()
                        + " (it holds "
                        + at.getFileName()
                        + "): two on one journal would corrupt it and send every notification"
                        + " twice. Stop the other one, or give this one a store.dir of its own.");
    }

    private boolean unlocked;

    /** Once: a second close must not free the entry of a store opened on the folder since. */
    private synchronized void unlock() {
        if (unlocked) {
            return;
        }
        unlocked = true;
        LOCKED_HERE.remove(dir.resolve(LOCK).toAbsolutePath().normalize());
        try {
            lock.close(); // releases the lock
        } catch (IOException e) {
            LOG.warn("releasing the alert store's lock in {}: {}", dir, e.toString());
        }
    }

    private void open(long now) {
        try {
            // Left by a crash during a compaction, before it replaced the journal: not the journal.
            Files.deleteIfExists(dir.resolve(COMPACTING));
            long complete = 0;
            List<BadLine> bad = List.of();
            List<BadLine> unwritten = List.of();
            if (Files.exists(file)) {
                Replayed r = replay();
                complete = r.complete();
                bad = r.bad();
                unwritten = r.unwritten();
            }
            if (!unwritten.isEmpty()) {
                // Kept before the journal is cut back to what was applied.
                keep(unwritten, now);
                LOG.warn(
                        "Alert journal: from line {} on, a part of what was written after the last"
                                + " force never reached the disk (the machine stopped, a power"
                                + " cut); those {} lines are cut off and kept in {}, and the alert"
                                + " events in them are read again from Kafka",
                        unwritten.get(0).number(),
                        unwritten.size(),
                        dir.resolve(BAD));
            }
            openJournal(complete);
            if (!bad.isEmpty()) {
                setAside(bad, now);
            }
            // Rewritten without its bad lines, so they are set aside once, not at every start.
            expire(now, !bad.isEmpty(), false);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open the alert journal in " + dir, e);
        }
    }

    private static final String JOURNAL = "alerts.journal";
    static final String LOCK = "alerts.lock";

    /** The open channel of {@link #LOCK}, whose lock this store holds until closed. */
    private final FileChannel lock;

    private static final String COMPACTING = "alerts.journal.compacting";

    /** Where lines of the journal that cannot be read are kept for a person to look at. */
    static final String BAD = "alerts.journal.bad";

    /** Opens the journal for appending after its first {@code complete} bytes. */
    private void openJournal(long complete) throws IOException {
        journal = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        markerForced = false;
        // A crash can leave half a line at the end; cut it so the next record starts clean.
        if (journal.size() > complete) {
            journal.truncate(complete);
        }
        journal.position(complete);
    }

    /**
     * Records the journal may hold that compaction would not write (lines of alerts forgotten,
     * states replaced) before it is compacted, at least: a small journal is not rewritten for a
     * handful.
     */
    static final long MIN_DEAD_RECORDS = 1000;

    /** Ids in one record that forgets alerts, so a sweep of many writes lines of a sane length. */
    private static final int FORGET_PER_RECORD = 1000;

    /**
     * Forgets every alert that is over and was told more than the retention ago: its status is
     * RESOLVED and its resolution reached a receiver (or was deliberately held back), and its last
     * change is older than {@code now - retention}. Nothing else goes, however old: an open,
     * acknowledged, shelved or latched alert waits for its operator or detector, and a state not
     * yet told waits for its receiver. Silences that ended before the retention go at the
     * compaction.
     *
     * <p>The journal is compacted once the records nothing needs any more are at least as many as
     * those compaction writes (and {@link #MIN_DEAD_RECORDS}), so it stays within about twice the
     * size of the state it describes; until then a record names the forgotten alerts, so a restart
     * does not bring them back. The service calls this once a minute.
     *
     * @return how many alerts it forgot
     */
    public synchronized int expire(long now) {
        try {
            return expire(now, false, true);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the alert journal in " + dir, e);
        }
    }

    private int expire(long now, boolean compactAnyway, boolean inBackground) throws IOException {
        long keepAfter = now - retention.toMillis();
        List<String> over = new ArrayList<>();
        for (Held h : alerts.values()) {
            if (h.status == Status.RESOLVED
                    && h.alert.state() == AlertState.RESOLVED
                    && h.told(AlertState.RESOLVED)
                    && h.changedAt() < keepAfter) {
                over.add(h.alert.alertId());
            }
        }
        // Not keySet().removeAll(list): with the list as long as the map it calls List.contains
        // per key, 82 s for 100,000 alerts.
        over.forEach(alerts::remove);
        expired += over.size();
        if (!over.isEmpty()) {
            LOG.debug(
                    "Forgot {} resolved alerts told more than {} ago; {} held",
                    over.size(),
                    retention,
                    alerts.size());
        }
        long live = liveRecords();
        if (compactor == null
                && (compactAnyway || records - live >= Math.max(live, MIN_DEAD_RECORDS))) {
            Snapshot snapshot = new Snapshot(keepAfter);
            if (!inBackground) {
                // At start nothing else waits on the store yet.
                try {
                    finish(
                            snapshot.write(dir.resolve(COMPACTING), () -> false),
                            List.of(),
                            snapshot.droppedSilences);
                    return over.size();
                } catch (IOException e) {
                    compactionFailed(e);
                }
            } else {
                // Named now, in the journal as it is: whatever becomes of the copy, a restart
                // does not bring them back, and an alert a replay brings back after this stays.
                forget(over, now);
                appendedSince = new ArrayList<>();
                compactor = new Thread(() -> compactInBackground(snapshot), COMPACTOR);
                compactor.setDaemon(true);
                compactor.start();
                return over.size();
            }
        }
        forget(over, now);
        return over.size();
    }

    private static final String COMPACTOR = "alert-journal-compaction";

    /** Records that name forgotten alerts, so a restart does not bring them back. */
    private void forget(List<String> over, long now) {
        List<ObjectNode> batch = new ArrayList<>();
        for (int i = 0; i < over.size(); i += FORGET_PER_RECORD) {
            ObjectNode r = json.createObjectNode().put("t", "forget").put("at", now);
            ArrayNode ids = r.putArray("alertIds");
            over.subList(i, Math.min(over.size(), i + FORGET_PER_RECORD)).forEach(ids::add);
            batch.add(r);
        }
        if (!batch.isEmpty()) {
            append(batch);
        }
    }

    /**
     * Writes the snapshot beside the journal without holding the store, then, holding it, adds the
     * lines appended meanwhile and moves the copy over the journal. A stop or a failure meanwhile
     * abandons it: the copy goes, and the journal stays as it is, which already names the alerts
     * the sweep forgot.
     */
    private void compactInBackground(Snapshot snapshot) {
        Path tmp = dir.resolve(COMPACTING);
        long written = -1;
        Throwable failure = null;
        try {
            written = snapshot.write(tmp, () -> stopping());
            Runnable pause = afterCopy;
            if (pause != null) {
                pause.run();
            }
        } catch (Throwable e) {
            // An Error too: this thread must end in the block below, or no compaction runs again.
            failure = e;
        }
        synchronized (this) {
            boolean replaced = false;
            try {
                if (failure != null) {
                    LOG.error(
                            "Cannot compact the alert journal in {}: {}", dir, failure.toString());
                } else if (!closing && written >= 0) {
                    finish(written, appendedSince, snapshot.droppedSilences);
                    replaced = true;
                }
            } catch (Throwable e) {
                LOG.error("Cannot compact the alert journal in {}: {}", dir, e.toString());
            } finally {
                appendedSince = null;
                compactor = null;
                notifyAll();
                if (!replaced) {
                    try {
                        Files.deleteIfExists(tmp);
                    } catch (IOException e) {
                        LOG.error("Cannot delete {}: {}", tmp, e.toString());
                    }
                }
            }
        }
    }

    private synchronized boolean stopping() {
        return closing;
    }

    /**
     * A disk with room for appends but not for a second copy: the journal keeps growing until there
     * is room, nothing is lost meanwhile.
     */
    private void compactionFailed(Exception e) throws IOException {
        LOG.error("Cannot compact the alert journal in {}: {}", dir, e.toString());
        Files.deleteIfExists(dir.resolve(COMPACTING));
    }

    /** Tests: what a compaction in the background runs once its copy is written. */
    private volatile Runnable afterCopy;

    void afterCopyWritten(Runnable r) {
        afterCopy = r;
    }

    /** Whether a compaction runs in the background now. */
    synchronized boolean compacting() {
        return compactor != null;
    }

    /** Waits until no compaction runs, a minute at most: for tests and measurements. */
    synchronized void awaitCompaction() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
        while (compactor != null) {
            long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            if (left <= 0) {
                throw new IllegalStateException("a compaction still runs after a minute");
            }
            wait(left);
        }
    }

    /** The records compaction would write now. */
    private long liveRecords() {
        long live = 1 + silences.size();
        for (Held h : alerts.values()) {
            // Compaction writes heard and muted states in a record each.
            live +=
                    2
                            + ((h.told & ~h.muted) != 0 ? 1 : 0)
                            + (h.muted != 0 ? 1 : 0)
                            + (h.takenBy != null ? h.takenBy.length : 0);
            if (h.status == Status.ACKNOWLEDGED
                    || h.status == Status.SHELVED
                    || h.status == Status.LATCHED) {
                live++;
            }
        }
        return live;
    }

    /** Resolved alerts forgotten since the start, their resolution told, after the retention. */
    public synchronized long expired() {
        return expired;
    }

    /**
     * The state compaction writes, taken while the store is held so that it and the lines appended
     * after it make up the whole: alerts are immutable, their history arrays are copied.
     */
    private final class Snapshot {
        final Map<Integer, Long> next = nextOffsets();
        final Map<Integer, Integer> epochsNow = new HashMap<>(epochs);
        final List<Kept> kept = new ArrayList<>(alerts.size());
        final List<Silence> silencesNow;

        /** One alert as compaction writes it. */
        private record Kept(
                Alert alert,
                Status status,
                long until,
                long[] times,
                String[] lines,
                byte told,
                byte muted,
                boolean closedByHand,
                String[] takenBy) {}

        /** Silences that ended before the retention: left out, and dropped once the copy is in. */
        final List<Silence> droppedSilences = new ArrayList<>();

        Snapshot(long keepAfter) {
            silencesNow = new ArrayList<>();
            for (Silence x : silences.values()) {
                (x.endsAt().toEpochMilli() < keepAfter ? droppedSilences : silencesNow).add(x);
            }
            for (Held h : alerts.values()) {
                String id = h.alert.alertId();
                kept.add(
                        new Kept(
                                h.alert,
                                h.status,
                                h.status == Status.SHELVED
                                        ? shelvedUntil.getOrDefault(id, Long.MAX_VALUE)
                                        : -1,
                                Arrays.copyOf(h.times, h.size),
                                Arrays.copyOf(h.lines, h.size),
                                h.told,
                                h.muted,
                                h.closedByHand,
                                h.takenBy));
            }
        }

        /**
         * Writes the state to {@code tmp}, forced to disk; returns the records written, or -1 when
         * {@code abandon} said to stop.
         */
        long write(Path tmp, java.util.function.BooleanSupplier abandon) throws IOException {
            long written = 0;
            try (FileChannel c =
                            FileChannel.open(
                                    tmp,
                                    StandardOpenOption.CREATE,
                                    StandardOpenOption.WRITE,
                                    StandardOpenOption.TRUNCATE_EXISTING);
                    OutputStream out =
                            new BufferedOutputStream(Channels.newOutputStream(c), 1 << 16)) {
                ObjectNode o = json.createObjectNode().put("t", "offsets");
                ObjectNode nextNode = o.putObject("next");
                next.forEach((p, n) -> nextNode.put(Integer.toString(p), n));
                if (!epochsNow.isEmpty()) {
                    ObjectNode ep = o.putObject("epochs");
                    epochsNow.forEach((p, e) -> ep.put(Integer.toString(p), e));
                }
                line(out, o);
                written++;
                int n = 0;
                for (Kept k : kept) {
                    if (++n % 10_000 == 0 && abandon.getAsBoolean()) {
                        return -1;
                    }
                    written += write(out, k);
                }
                for (Silence x : silencesNow) {
                    ObjectNode r = json.createObjectNode().put("t", "silence");
                    r.set("silence", x.toJson(json));
                    line(out, r);
                    written++;
                }
                out.flush();
                c.force(true);
            }
            return written;
        }

        private int write(OutputStream out, Kept k) throws IOException {
            String id = k.alert().alertId();
            ObjectNode e = json.createObjectNode().put("t", "event");
            if (k.closedByHand()) {
                e.put("by_hand", true);
            }
            e.set("alert", json.valueToTree(k.alert()));
            line(out, e);
            int written = 1;
            if (k.status() == Status.ACKNOWLEDGED
                    || k.status() == Status.SHELVED
                    || k.status() == Status.LATCHED) {
                ObjectNode r =
                        json.createObjectNode()
                                .put("t", "status")
                                .put("alertId", id)
                                .put("status", k.status().name());
                if (k.status() == Status.SHELVED) {
                    r.put("until", k.until());
                }
                line(out, r);
                written++;
            }
            ObjectNode history = json.createObjectNode().put("t", "history").put("alertId", id);
            ArrayNode lines = history.putArray("lines");
            history(k.times(), k.lines(), k.times().length).forEach(lines::add);
            line(out, history);
            written++;
            if (k.told() != 0) {
                // Every state told, not only the latest: a repeat of an older one that arrives
                // after a restart is still known as told.
                ObjectNode n = json.createObjectNode().put("t", "notified");
                ArrayNode keys = n.putArray("keys");
                ObjectNode m = json.createObjectNode().put("t", "notified").put("muted", true);
                ArrayNode mutedKeys = m.putArray("keys");
                for (AlertState s : AlertState.values()) {
                    int bit = 1 << s.ordinal();
                    if ((k.told() & bit) != 0) {
                        ((k.muted() & bit) != 0 ? mutedKeys : keys).add(id + ":" + s);
                    }
                }
                if (!keys.isEmpty()) {
                    line(out, n);
                    written++;
                }
                if (!mutedKeys.isEmpty()) {
                    line(out, m);
                    written++;
                }
            }
            if (k.takenBy() != null) {
                String key = id + ":" + k.alert().state();
                for (String receiver : k.takenBy()) {
                    ObjectNode t = json.createObjectNode().put("t", "taken");
                    t.put("receiver", receiver).putArray("keys").add(key);
                    line(out, t);
                    written++;
                }
            }
            return written;
        }
    }

    /**
     * Rewrites the journal as the state it describes: the snapshot written beside it and the lines
     * appended since, forced to disk, then moved over it in one step and the directory forced, so a
     * crash leaves the old journal or the new one, never half. The state is written as memory holds
     * it, record by record, so memory and journal agree without reading it back, and a large store
     * is not built twice as JSON trees.
     *
     * @param written the snapshot's records in the copy
     */
    private void finish(long written, List<byte[]> since, List<Silence> droppedSilences)
            throws IOException {
        Path tmp = dir.resolve(COMPACTING);
        long before = Files.size(file);
        long recordsBefore = records;
        if (!since.isEmpty()) {
            try (FileChannel c = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                c.position(c.size());
                for (byte[] l : since) {
                    ByteBuffer buf = ByteBuffer.wrap(l);
                    while (buf.hasRemaining()) {
                        c.write(buf);
                    }
                }
                c.force(true);
            }
        }
        journal.close();
        try {
            Files.move(
                    tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            // The new journal, or the old one if the move failed: either is whole.
            openJournal(Files.size(file));
        }
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException e) {
            // Not every file system lets a directory be forced; the move is still atomic.
        }
        records = written + since.size();
        // Not one that came back since: it is in the lines written meanwhile.
        droppedSilences.forEach(x -> silences.remove(x.id(), x));
        // The interned names of sensors and rules no alert has any more go too.
        sensorIds.clear();
        rules.clear();
        alerts.values().forEach(h -> h.alert = canonical(h.alert, h.alert.alertId()));
        LOG.info(
                "Alert journal compacted: {} records ({} bytes) -> {} records ({} bytes), {}"
                        + " alerts",
                recordsBefore,
                before,
                records,
                Files.size(file),
                alerts.size());
    }

    private void line(OutputStream out, ObjectNode record) throws IOException {
        out.write(json.writeValueAsBytes(record));
        out.write('\n');
    }

    /**
     * The alert as held: one string for its id (the map's key), and the store's one instance of its
     * sensor and rule.
     */
    private Alert canonical(Alert a, String id) {
        return new Alert(
                id,
                sensorIds.computeIfAbsent(a.sensorId(), k -> k),
                rules.computeIfAbsent(a.rule(), k -> k),
                a.kind(),
                a.severity(),
                a.state(),
                a.episodeStart(),
                a.eventTime(),
                a.detectedAt(),
                a.values(),
                a.message(),
                a.unit(),
                a.limits());
    }

    /** A line of the journal that could not be applied: its number, its bytes and why. */
    private record BadLine(long number, byte[] bytes, String reason) {}

    /**
     * What a replay found: the bytes applied, the lines that could not be, and the lines from the
     * first one holding a NUL byte on, which are not applied (see {@link #replay}).
     */
    private record Replayed(long complete, List<BadLine> bad, List<BadLine> unwritten) {}

    /** A line's bytes, read without copying them once more. */
    private static final class LineBuffer extends ByteArrayOutputStream {
        byte[] bytes() {
            return buf;
        }
    }

    /**
     * Applies every line of the journal. Only the bytes after the last newline are a torn write (a
     * crash in the middle of an append); a complete line that cannot be applied is damage (a disk
     * block, a hand edit) or a record this version does not know, and is returned with its number
     * rather than taken for a torn tail. The lines after it are applied.
     *
     * <p>A line holding NUL bytes after the last {@link #BATCH_MARKER} is neither: JSON lines hold
     * none, and file systems read a block they were never given as zeros. (The first batch after a
     * start or a compaction forces its marker first, so a hole always has a marker before it.) A
     * batch's lines are forced once, at its end, so a power cut can keep one of its pages from the
     * disk while later ones got there. None of those lines was promised to anyone, and applying the
     * ones after the hole would move a partition's position past the events lost in it: from that
     * line on, nothing is applied ({@code unwritten}), and Kafka gives the events again. A marker
     * after such a line shows that what followed it was forced: then it was old damage, set aside
     * like any bad line, and the lines held back are applied.
     */
    private Replayed replay() throws IOException {
        List<BadLine> bad = new ArrayList<>();
        List<BadLine> unwritten = new ArrayList<>();
        boolean batches = false;
        long held = 0;
        long number = 0;
        long complete = 0;
        LineBuffer line = new LineBuffer();
        byte[] chunk = new byte[1 << 16];
        try (InputStream in = Files.newInputStream(file)) {
            for (int n; (n = in.read(chunk)) > 0; ) {
                int from = 0;
                for (int i = 0; i < n; i++) {
                    if (chunk[i] == '\n') {
                        line.write(chunk, from, i - from);
                        number++;
                        byte[] bytes = line.bytes();
                        int length = line.size();
                        boolean marker = isBatchMarker(bytes, length);
                        if (!unwritten.isEmpty() && marker) {
                            complete += held;
                            for (BadLine h : unwritten) {
                                replayLine(h.bytes(), h.bytes().length, h.number(), bad);
                            }
                            unwritten.clear();
                            held = 0;
                        }
                        if (!unwritten.isEmpty() || (batches && holdsNul(bytes, length))) {
                            unwritten.add(
                                    new BadLine(
                                            number,
                                            Arrays.copyOf(bytes, length),
                                            "written after the journal's last force; part of it"
                                                    + " never reached the disk"));
                            held += length + 1;
                        } else {
                            batches |= marker;
                            complete += length + 1;
                            replayLine(bytes, length, number, bad);
                        }
                        line.reset();
                        from = i + 1;
                    }
                }
                line.write(chunk, from, n - from);
            }
        }
        if (!unwritten.isEmpty()) {
            if (line.size() > 0) {
                unwritten.add(
                        new BadLine(
                                number + 1,
                                Arrays.copyOf(line.bytes(), line.size()),
                                "a torn last line"));
            }
        } else if (line.size() > 0) {
            LOG.warn(
                    "Alert journal: cutting a torn last line ({} bytes after line {}), the write a"
                            + " crash interrupted",
                    line.size(),
                    number);
        }
        LOG.info(
                "Alert journal replayed: {} records, {} alerts, offsets {}",
                records,
                alerts.size(),
                offsets);
        return new Replayed(complete, bad, unwritten);
    }

    private static boolean isBatchMarker(byte[] bytes, int length) {
        return length == BATCH_MARKER.length - 1
                && Arrays.equals(bytes, 0, length, BATCH_MARKER, 0, length);
    }

    private static boolean holdsNul(byte[] bytes, int length) {
        for (int i = 0; i < length; i++) {
            if (bytes[i] == 0) {
                return true;
            }
        }
        return false;
    }

    private void replayLine(byte[] bytes, int length, long number, List<BadLine> bad) {
        try {
            apply(json.readTree(bytes, 0, length));
            records++;
        } catch (IOException | RuntimeException e) {
            String why =
                    e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.toString();
            bad.add(new BadLine(number, Arrays.copyOf(bytes, length), why));
        }
    }

    /** Bad lines named in the log one by one up to this many; the rest only counted. */
    private static final int BAD_LINES_LOGGED = 10;

    /**
     * Keeps {@code lines} as they were, each after a line naming where it was and why, in {@link
     * #BAD}, forced to disk before the journal is rewritten without them; returns that file.
     */
    private Path keep(List<BadLine> lines, long now) throws IOException {
        Path to = dir.resolve(BAD);
        try (FileChannel c =
                FileChannel.open(to, StandardOpenOption.CREATE, StandardOpenOption.APPEND)) {
            for (BadLine b : lines) {
                String header =
                        "# "
                                + JOURNAL
                                + " line "
                                + b.number()
                                + " set aside at "
                                + Instant.ofEpochMilli(now)
                                + ": "
                                + b.reason().replace('\n', ' ')
                                + "\n";
                write(c, header.getBytes(StandardCharsets.UTF_8));
                write(c, b.bytes());
                write(c, new byte[] {'\n'});
            }
            c.force(true);
        }
        return to;
    }

    /** Keeps bad lines ({@link #keep}), counts them and names them in the log. */
    private void setAside(List<BadLine> bad, long now) throws IOException {
        Path to = keep(bad, now);
        badLines += bad.size();
        for (BadLine b : bad.subList(0, Math.min(bad.size(), BAD_LINES_LOGGED))) {
            LOG.warn(
                    "Alert journal line {} cannot be applied ({}); it is kept in {} and the"
                            + " lines after it are applied",
                    b.number(),
                    b.reason().replace('\n', ' '),
                    to);
        }
        if (bad.size() > BAD_LINES_LOGGED) {
            LOG.warn(
                    "Alert journal: {} lines in all cannot be applied, all kept in {}",
                    bad.size(),
                    to);
        }
    }

    private static void write(FileChannel c, byte[] bytes) throws IOException {
        ByteBuffer buf = ByteBuffer.wrap(bytes);
        while (buf.hasRemaining()) {
            c.write(buf);
        }
    }

    /** Journal lines set aside at this start because they could not be applied. */
    public synchronized long badLines() {
        return badLines;
    }

    /**
     * Applies one record. Everything is read from it before anything changes, so a record that is
     * not what it should be throws and changes nothing.
     */
    private void apply(JsonNode n) throws IOException {
        switch (n.path("t").asText()) {
            case "batch" -> {
                // Where a batch's unforced lines begin; see replay().
            }
            case "event" -> {
                Alert a = json.treeToValue(n.get("alert"), Alert.class);
                if (a == null) {
                    throw new IllegalArgumentException("an event without its alert");
                }
                if (n.has("partition")) {
                    int p = n.path("partition").asInt();
                    offsets.put(p, n.path("offset").asLong());
                    if (n.has("epoch")) {
                        epochs.put(p, n.path("epoch").asInt());
                    } else {
                        epochs.remove(p);
                    }
                }
                Held h = alerts.get(a.alertId());
                if (replaysAnEnded(h, a) || h != null && h.closedByHand) {
                    return;
                }
                if (h == null) {
                    h = new Held();
                    h.alert = canonical(a, a.alertId());
                    alerts.put(h.alert.alertId(), h);
                } else {
                    if (h.alert.state() != a.state()) {
                        h.takenBy = null;
                    }
                    // An episode's unit and limits are its OPEN's: a resolution that does not say
                    // them (its rule gone by then, a job of schema v1) keeps them.
                    Alert said =
                            a.unit().isEmpty() && a.limits().isEmpty()
                                    ? a.withDetail(h.alert.unit(), h.alert.limits())
                                    : a;
                    h.alert = canonical(said, h.alert.alertId());
                }
                h.closedByHand = n.path("by_hand").asBoolean(false);
                h.status =
                        a.state() == AlertState.RESOLVED
                                ? Status.RESOLVED
                                : h.status == Status.RESOLVED || h.status == Status.LATCHED
                                        ? Status.OPEN
                                        : h.status;
                if (h.status != Status.SHELVED) {
                    shelvedUntil.remove(a.alertId());
                }
                if (n.has("at")) {
                    h.history(n.path("at").asLong(), a.state().name());
                }
            }
            case "forget" -> {
                List<String> ids = new ArrayList<>();
                n.path("alertIds").forEach(id -> ids.add(id.asText()));
                alerts.keySet().removeAll(ids);
            }
            case "notified" -> {
                List<String> ids = new ArrayList<>();
                List<AlertState> states = new ArrayList<>();
                for (JsonNode k : n.path("keys")) {
                    String key = k.asText();
                    int colon = key.lastIndexOf(':');
                    ids.add(key.substring(0, Math.max(colon, 0)));
                    states.add(AlertState.valueOf(key.substring(colon + 1)));
                }
                boolean muted = n.path("muted").asBoolean(false);
                for (int i = 0; i < ids.size(); i++) {
                    Held h = alerts.get(ids.get(i));
                    // An alert no longer held was told before it was dropped.
                    if (h != null) {
                        byte bit = (byte) (1 << states.get(i).ordinal());
                        if (!muted) {
                            h.muted &= (byte) ~bit;
                            if (states.get(i) == h.alert.state()) {
                                h.takenBy = null;
                            }
                        } else if (!h.told(states.get(i))) {
                            // A state told before stays told: a silence begun since does not
                            // unsay it. The receivers that took it keep it.
                            h.muted |= bit;
                        }
                        h.told |= bit;
                    }
                }
            }
            case "taken" -> {
                String receiver = n.path("receiver").asText();
                if (receiver.isEmpty()) {
                    throw new IllegalArgumentException("a taken record without its receiver");
                }
                for (JsonNode k : n.path("keys")) {
                    String key = k.asText();
                    int colon = key.lastIndexOf(':');
                    Held h = alerts.get(key.substring(0, Math.max(colon, 0)));
                    AlertState s = AlertState.valueOf(key.substring(colon + 1));
                    // Only the latest state, not yet heard, waits for its other receivers.
                    if (h != null && h.alert.state() == s && !h.heard(s)) {
                        h.takenBy = withReceiver(h.takenBy, receiver);
                    }
                }
            }
            case "status" -> {
                String id = n.path("alertId").asText();
                Status status = Status.valueOf(n.path("status").asText());
                Held h = held(id);
                h.status = status;
                if (status == Status.SHELVED) {
                    shelvedUntil.put(id, n.path("until").asLong(Long.MAX_VALUE));
                } else {
                    shelvedUntil.remove(id);
                }
                if (n.has("by")) {
                    h.history(
                            n.path("at").asLong(), status.name() + " by " + n.path("by").asText());
                }
            }
            case "silence" -> {
                try {
                    Silence silence = Silence.fromJson(n.get("silence"), "alert journal");
                    silences.put(silence.id(), silence);
                } catch (IllegalArgumentException | ConfigException e) {
                    // Written before the API refused it (a value no alert has, a weekly window
                    // over a week): refusing to start over it would stop all alerting.
                    LOG.warn(
                            "Alert journal: dropping a silence that is not valid: {}",
                            e.getMessage());
                }
            }
            case "offsets" -> {
                Map<Integer, Long> next = new HashMap<>();
                n.path("next")
                        .fields()
                        .forEachRemaining(
                                f -> next.put(Integer.parseInt(f.getKey()), f.getValue().asLong()));
                Map<Integer, Integer> epochsThen = new HashMap<>();
                n.path("epochs")
                        .fields()
                        .forEachRemaining(
                                f ->
                                        epochsThen.put(
                                                Integer.parseInt(f.getKey()),
                                                f.getValue().asInt()));
                next.forEach(
                        (p, o) -> {
                            offsets.put(p, o - 1);
                            epochs.remove(p);
                        });
                epochs.putAll(epochsThen);
            }
            case "history" -> {
                Held h = held(n.path("alertId").asText());
                List<Long> times = new ArrayList<>();
                List<String> lines = new ArrayList<>();
                for (JsonNode l : n.path("lines")) {
                    Matcher m = HISTORY_LINE.matcher(l.asText());
                    if (!m.matches()) {
                        throw new IllegalArgumentException("a history line without its time");
                    }
                    times.add(
                            EPOCH_MILLIS.matcher(m.group(1)).matches()
                                    ? Long.parseLong(m.group(1))
                                    : Instant.parse(m.group(1)).toEpochMilli());
                    // The common ones shared, not one copy per alert.
                    lines.add(
                            switch (m.group(2)) {
                                case "OPEN" -> AlertState.OPEN.name();
                                case "RESOLVED" -> AlertState.RESOLVED.name();
                                default -> m.group(2);
                            });
                }
                h.times = NO_TIMES;
                h.lines = NO_LINES;
                h.size = 0;
                for (int i = 0; i < times.size(); i++) {
                    h.history(times.get(i), lines.get(i));
                }
            }
            default ->
                    throw new IllegalArgumentException(
                            "not a record this version writes: t=" + n.path("t"));
        }
    }

    /** The alert a record names, which an earlier record must have brought. */
    private Held held(String id) {
        Held h = alerts.get(id);
        if (h == null) {
            throw new IllegalArgumentException("alert " + id + " has no event before this record");
        }
        return h;
    }

    /**
     * A history line as written: its time, a space, what happened. The time is ISO-8601, or epoch
     * milliseconds in a journal compacted before history lines carried ISO times.
     */
    private static final Pattern HISTORY_LINE = Pattern.compile("(\\S+) (.*)", Pattern.DOTALL);

    private static final Pattern EPOCH_MILLIS = Pattern.compile("\\d{1,19}");

    private void append(ObjectNode record) {
        append(List.of(record));
    }

    /** Applies and writes {@code batch}, forced to disk once. */
    private void append(List<ObjectNode> batch) {
        long end = -1;
        boolean marked = false;
        try {
            List<byte[]> lines = new ArrayList<>(batch.size() + 1);
            for (ObjectNode record : batch) {
                apply(record);
                records++;
                lines.add(
                        (json.writeValueAsString(record) + "\n").getBytes(StandardCharsets.UTF_8));
            }
            boolean inBatch = batching == Thread.currentThread();
            end = journal.position();
            if (inBatch && !batchMarked) {
                if (markerForced) {
                    lines.add(0, BATCH_MARKER);
                } else {
                    write(journal, BATCH_MARKER);
                    journal.force(false);
                    forces++;
                    markerForced = true;
                    end = journal.position();
                    if (appendedSince != null) {
                        appendedSince.add(BATCH_MARKER);
                    }
                }
                records++;
                batchMarked = marked = true;
            }
            for (byte[] line : lines) {
                ByteBuffer buf = ByteBuffer.wrap(line);
                while (buf.hasRemaining()) {
                    journal.write(buf);
                }
            }
            if (inBatch) {
                unforced = true;
            } else {
                journal.force(false);
                forces++;
                unforced = false;
            }
            if (appendedSince != null) {
                appendedSince.addAll(lines);
            }
        } catch (IOException e) {
            // Half a line written to a full disk would have the next record glued to it, and a
            // start would set both aside as one bad line: cut back to where this one began.
            if (end >= 0) {
                try {
                    journal.truncate(end);
                    journal.position(end);
                } catch (IOException again) {
                    e.addSuppressed(again);
                }
            }
            if (marked) {
                batchMarked = false; // cut with the rest
            }
            throw new UncheckedIOException("cannot write the alert journal", e);
        }
    }

    /**
     * The calling thread's appends are forced together, by {@link #endBatch}, instead of one by
     * one.
     */
    public synchronized void beginBatch() {
        batching = Thread.currentThread();
    }

    /** Forces what was appended since {@link #beginBatch}, and ends the batch. */
    public synchronized void endBatch() {
        batching = null;
        batchMarked = false;
        if (unforced) {
            try {
                journal.force(false);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write the alert journal", e);
            }
            forces++;
            unforced = false;
        }
    }

    /** How often appends were forced to disk. */
    synchronized long forces() {
        return forces;
    }

    /** Records one alert event read from Kafka at (partition, offset). */
    public synchronized void event(Alert a, int partition, long offset, long now) {
        event(a, partition, offset, Optional.empty(), now);
    }

    /**
     * Records one alert event read from Kafka at (partition, offset), written in the partition
     * leader's {@code epoch}: with it the consumer can ask Kafka after a restart whether its log
     * still holds what was applied, or lost its tail and was written again.
     */
    public synchronized void event(
            Alert a, int partition, long offset, Optional<Integer> epoch, long now) {
        ObjectNode r = json.createObjectNode();
        r.put("t", "event").put("partition", partition).put("offset", offset).put("at", now);
        epoch.ifPresent(e -> r.put("epoch", e));
        r.set("alert", json.valueToTree(a));
        append(r);
    }

    /**
     * Records one alert event from no Kafka position: an alert about the pipeline itself ({@link
     * PipelineAlerts}).
     */
    public synchronized void event(Alert a, long now) {
        ObjectNode r = json.createObjectNode();
        r.put("t", "event").put("at", now);
        r.set("alert", json.valueToTree(a));
        append(r);
    }

    /**
     * Records the resolution a person gave an alert ({@code closed}, its state RESOLVED): its
     * latest event, from no Kafka position, and the status with who closed it.
     */
    public synchronized void closed(Alert closed, String by, long now) {
        ObjectNode r = json.createObjectNode();
        r.put("t", "event").put("by_hand", true);
        r.set("alert", json.valueToTree(closed));
        ObjectNode s = json.createObjectNode();
        s.put("t", "status")
                .put("alertId", closed.alertId())
                .put("status", Status.RESOLVED.name())
                .put("by", by)
                .put("at", now);
        // One write: a crash between two would lose who closed it.
        append(List.of(r, s));
    }

    /** Whether a person closed the alert: the detector's later events for it tell nobody. */
    public synchronized boolean closedByHand(String alertId) {
        Held h = alerts.get(alertId);
        return h != null && h.closedByHand;
    }

    /** Records that these alert states reached a receiver (or were deliberately held back). */
    public synchronized void notified(Collection<Alert> told) {
        ObjectNode r = json.createObjectNode();
        r.put("t", "notified");
        var keys = r.putArray("keys");
        told.forEach(a -> keys.add(key(a)));
        append(r);
    }

    /**
     * Records states held back on purpose (a silence, flapping, a close nobody heard): not to be
     * sent again by a restart, as {@link #notified}, but nobody heard them ({@link #heard}, {@link
     * #mutedOpen}).
     */
    public synchronized void muted(Collection<Alert> held) {
        ObjectNode r = json.createObjectNode();
        r.put("t", "notified").put("muted", true);
        var keys = r.putArray("keys");
        held.forEach(a -> keys.add(key(a)));
        append(r);
    }

    /**
     * Whether the alert's state {@code s} was held back on purpose (a silence, an inhibition) and
     * no receiver has had it: then nobody waits for what follows it.
     */
    public synchronized boolean mutedUnheard(String alertId, AlertState s) {
        Held h = alerts.get(alertId);
        return h != null && h.told(s) && !h.heard(s);
    }

    /** Whether the alert's receivers were told of its state {@code s}: told, and not muted. */
    public synchronized boolean heard(String alertId, AlertState s) {
        Held h = alerts.get(alertId);
        return h != null && h.heard(s);
    }

    /**
     * The alerts whose condition holds: latest state OPEN, not closed by hand (acknowledged,
     * shelved or silenced ones included, as they hold back others all the same).
     */
    public synchronized List<Alert> firing() {
        return alerts.values().stream()
                .filter(h -> h.status != Status.RESOLVED && h.alert.state() == AlertState.OPEN)
                .map(h -> h.alert)
                .toList();
    }

    /** The open alerts (status OPEN) whose latest state was held back on purpose, unheard. */
    public synchronized List<Alert> mutedOpen() {
        return alerts.values().stream()
                .filter(h -> h.status == Status.OPEN && h.alert.state() != AlertState.RESOLVED)
                .filter(h -> h.told(h.alert.state()) && !h.heard(h.alert.state()))
                .map(h -> h.alert)
                .toList();
    }

    /**
     * Records that {@code receiver} has these alert states while other receivers still wait for
     * them, so a restart sends them only to those that wait.
     */
    public synchronized void taken(String receiver, Collection<Alert> states) {
        ObjectNode r = json.createObjectNode();
        r.put("t", "taken").put("receiver", receiver);
        var keys = r.putArray("keys");
        states.forEach(a -> keys.add(key(a)));
        append(r);
    }

    /** The receivers that have {@code a}'s state, while it is not yet told to all. */
    public synchronized Set<String> takenBy(Alert a) {
        Held h = alerts.get(a.alertId());
        if (h == null || h.takenBy == null || h.alert.state() != a.state()) {
            return Set.of();
        }
        return Set.of(h.takenBy);
    }

    private static String[] withReceiver(String[] takenBy, String receiver) {
        if (takenBy == null) {
            return new String[] {receiver};
        }
        for (String r : takenBy) {
            if (r.equals(receiver)) {
                return takenBy;
            }
        }
        String[] more = Arrays.copyOf(takenBy, takenBy.length + 1);
        more[takenBy.length] = receiver;
        return more;
    }

    /** An operator's acknowledgement, or the service's own move (latching, shelving's end). */
    public synchronized void status(String alertId, Status status, String by, long now) {
        status(alertId, status, by, now, -1);
    }

    /** Shelves an alert until {@code until} (epoch ms). */
    public synchronized void shelve(String alertId, String by, long now, long until) {
        status(alertId, Status.SHELVED, by, now, until);
    }

    private void status(String alertId, Status status, String by, long now, long until) {
        if (!alerts.containsKey(alertId)) {
            throw new IllegalArgumentException("no alert " + alertId);
        }
        ObjectNode r = json.createObjectNode();
        r.put("t", "status")
                .put("alertId", alertId)
                .put("status", status.name())
                .put("by", by)
                .put("at", now);
        if (until >= 0) {
            r.put("until", until);
        }
        append(r);
    }

    /** Until when the alert is shelved (epoch ms), -1 when it is not. */
    public synchronized long shelvedUntil(String alertId) {
        return shelvedUntil.getOrDefault(alertId, -1L);
    }

    public synchronized Status statusOf(String alertId) {
        Held h = alerts.get(alertId);
        return h == null ? null : h.status;
    }

    /** The alert's latest state as the detector sent it, or null. */
    public synchronized Alert alert(String alertId) {
        Held h = alerts.get(alertId);
        return h == null ? null : h.alert;
    }

    /** One alert as the API shows it, or null. */
    public synchronized Entry entry(String alertId) {
        Held h = alerts.get(alertId);
        return h == null ? null : entry(h);
    }

    private static Entry entry(Held h) {
        return new Entry(h.alert, h.status, h.history(), h.told(h.alert.state()));
    }

    /** How many alerts the store holds in each status, every status listed. */
    public synchronized Map<Status, Integer> countByStatus() {
        Map<Status, Integer> counts = new EnumMap<>(Status.class);
        for (Status s : Status.values()) {
            counts.put(s, 0);
        }
        alerts.values().forEach(h -> counts.merge(h.status, 1, Integer::sum));
        return counts;
    }

    /** Shelved alerts whose time is up at {@code now}. */
    public synchronized List<String> shelvingOver(long now) {
        return shelvedUntil.entrySet().stream()
                .filter(e -> e.getValue() <= now)
                .map(Map.Entry::getKey)
                .toList();
    }

    /** Adds a silence, or replaces the one with its id (an expiry is a replacement). */
    public synchronized void silence(Silence s) {
        ObjectNode r = json.createObjectNode();
        r.put("t", "silence");
        r.set("silence", s.toJson(json));
        append(r);
    }

    public synchronized List<Silence> silences() {
        return List.copyOf(silences.values());
    }

    /**
     * Moves a partition's position to {@code next} without applying anything: Kafka no longer has
     * the records between (lost or deleted), and a restart must not seek back past records written
     * since. The position's leader epoch is unknown, so it is forgotten.
     */
    public synchronized void resume(int partition, long next) {
        resume(partition, next, java.util.Optional.empty());
    }

    /**
     * Moves a partition's position past a record not applied (one kept in the DLQ), at {@code
     * epoch}, the leader epoch of that record, if Kafka gave one.
     */
    public synchronized void resume(int partition, long next, java.util.Optional<Integer> epoch) {
        ObjectNode r = json.createObjectNode().put("t", "offsets");
        r.putObject("next").put(Integer.toString(partition), next);
        epoch.ifPresent(e -> r.putObject("epochs").put(Integer.toString(partition), e));
        append(r);
    }

    /** The leader epoch of each partition's last applied record, where Kafka gave one. */
    public synchronized Map<Integer, Integer> epochs() {
        return Map.copyOf(epochs);
    }

    /** The offset to read next per partition: one past the last applied. */
    public synchronized Map<Integer, Long> nextOffsets() {
        Map<Integer, Long> next = new HashMap<>();
        offsets.forEach((p, o) -> next.put(p, o + 1));
        return next;
    }

    /**
     * Alerts whose latest state no receiver has been told yet: to notify after a restart. Shelved
     * and latched ones wait for their operator, not for a restart.
     */
    public synchronized List<Alert> unnotified() {
        return alerts.values().stream()
                .filter(h -> !h.told(h.alert.state()))
                .filter(h -> h.status != Status.SHELVED && h.status != Status.LATCHED)
                .map(h -> h.alert)
                .toList();
    }

    /**
     * Whether {@code a} opens an episode this store already has resolved. An episode never opens
     * again (its id is its sensor, rule and start), so that is a replay: the job restored from a
     * checkpoint before the resolution sends the OPEN again, at least once. Applied, it turned a
     * resolved alert open again, for good should the replay not reach the resolution, and told
     * nobody why.
     */
    public synchronized boolean endedBefore(Alert a) {
        return replaysAnEnded(alerts.get(a.alertId()), a);
    }

    private static boolean replaysAnEnded(Held h, Alert a) {
        return h != null
                && h.alert.state() == AlertState.RESOLVED
                && a.state() != AlertState.RESOLVED;
    }

    public synchronized boolean wasNotified(Alert a) {
        Held h = alerts.get(a.alertId());
        return h != null && h.told(a.state());
    }

    /**
     * Where an alert stands in the list newest first: by episode start, then by id. Neither ever
     * changes for an alert (its id is made of its episode's start), so a page that starts after a
     * position neither repeats nor skips an alert when others arrive or leave meanwhile.
     */
    public record Position(long episodeStart, String alertId) {
        /** Whether {@code a} comes after this position, newest first. */
        boolean before(Alert a) {
            return a.episodeStart() != episodeStart
                    ? a.episodeStart() < episodeStart
                    : a.alertId().compareTo(alertId) < 0;
        }

        static Position of(Alert a) {
            return new Position(a.episodeStart(), a.alertId());
        }
    }

    /**
     * One page of alerts, newest first.
     *
     * @param total how many alerts match, on every page
     * @param more whether alerts that match come after this page
     */
    public record Page(List<Entry> entries, int total, boolean more) {}

    private static final Comparator<Held> NEWEST_FIRST =
            Comparator.<Held>comparingLong(h -> h.alert.episodeStart())
                    .thenComparing(h -> h.alert.alertId())
                    .reversed();

    /**
     * The alerts {@code filter} takes, newest episode first, at most {@code limit} of those that
     * come after {@code after} (null: from the newest). One pass that keeps the page in a heap of
     * {@code limit}, so no list of every alert is made or sorted.
     */
    public synchronized Page newestFirst(
            BiPredicate<Alert, Status> filter, int limit, Position after) {
        PriorityQueue<Held> page = new PriorityQueue<>(limit + 1, NEWEST_FIRST.reversed());
        int total = 0;
        int following = 0;
        for (Held h : alerts.values()) {
            if (!filter.test(h.alert, h.status)) {
                continue;
            }
            total++;
            if (after != null && !after.before(h.alert)) {
                continue;
            }
            following++;
            page.add(h);
            if (page.size() > limit) {
                page.poll();
            }
        }
        List<Held> sorted = new ArrayList<>(page);
        sorted.sort(NEWEST_FIRST);
        return new Page(sorted.stream().map(AlertStore::entry).toList(), total, following > limit);
    }

    /** Every alert, in the order first seen; for a page of them, {@link #newestFirst}. */
    public synchronized List<Entry> all() {
        return alerts.values().stream().map(AlertStore::entry).toList();
    }

    private static String key(Alert a) {
        return a.alertId() + ":" + a.state();
    }

    @Override
    public void close() {
        Thread running;
        synchronized (this) {
            closing = true;
            running = compactor;
        }
        if (running != null) {
            // Abandoned at its next check; it must not write beside the next store's journal.
            boolean interrupted = false;
            while (running.isAlive()) {
                try {
                    running.join();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
        synchronized (this) {
            closeJournal();
            unlock();
        }
    }

    private void closeJournal() {
        try {
            journal.close();
        } catch (IOException e) {
            LOG.warn("closing the alert journal: {}", e.toString());
        }
    }
}
