package io.plantwatch.alerting;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.plantwatch.model.Alert;
import io.plantwatch.model.AlertState;
import io.plantwatch.model.ConfigException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
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
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every alert's current state and history, in an append-only journal file (JSON lines, forced to
 * disk on each write) that is replayed on start. Chosen over a compacted Kafka topic because the
 * service must also remember its own decisions (which alert states were notified, who acknowledged
 * what, the Kafka position it has applied) atomically with the events, and a local file does that
 * with one write; the alert events themselves stay in Kafka as the source of truth.
 *
 * <p>What a restart keeps: the Kafka offsets applied (the consumer seeks past them, so nothing is
 * applied twice or skipped) and the alert states already notified (so nothing is re-sent, and what
 * was pending is notified). Only the bytes after the last newline can be a write torn by a crash,
 * and are cut; a complete line that cannot be applied is set aside in {@link #BAD}, and the lines
 * after it are applied.
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

    /** History lines kept per alert when the journal is compacted. */
    static final int MAX_HISTORY = 1000;

    private final ObjectMapper json = new ObjectMapper();
    private FileChannel journal;
    private final Path dir;
    private final Path file;
    private final Duration retention;
    private final Map<String, Alert> alerts = new LinkedHashMap<>();
    private final Map<String, Status> statuses = new HashMap<>();
    private final Map<String, List<String>> history = new HashMap<>();
    private final Map<Integer, Long> offsets = new HashMap<>();
    private final Map<Integer, Integer> epochs = new HashMap<>();
    private final Set<String> notified = new HashSet<>();
    private final Map<String, Long> shelvedUntil = new HashMap<>();
    private final Map<String, Silence> silences = new LinkedHashMap<>();
    private long records;
    private long badLines;

    public AlertStore(Path dir) {
        this(dir, Duration.ofDays(30), System.currentTimeMillis());
    }

    /**
     * Opens the journal in {@code dir}, replaying it. A journal that has grown to several times
     * what it describes is rewritten to just the current state first, dropping resolved alerts and
     * silences that ended more than {@code retention} before {@code now}.
     */
    public AlertStore(Path dir, Duration retention, long now) {
        this.dir = dir;
        this.file = dir.resolve(JOURNAL);
        this.retention = retention;
        try {
            Files.createDirectories(dir);
            // Left by a crash during a compaction, before it replaced the journal: not the journal.
            Files.deleteIfExists(dir.resolve(COMPACTING));
            long complete = 0;
            List<BadLine> bad = List.of();
            if (Files.exists(file)) {
                Replayed r = replay();
                complete = r.complete();
                bad = r.bad();
            }
            openJournal(complete);
            if (!bad.isEmpty()) {
                setAside(bad, now);
            }
            // Rewritten without its bad lines, so they are set aside once, not at every start.
            if (grown() || !bad.isEmpty()) {
                journal.close();
                compact(dir, file, now - retention.toMillis());
                openJournal(Files.size(file));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open the alert journal in " + dir, e);
        }
    }

    private static final String JOURNAL = "alerts.journal";
    private static final String COMPACTING = "alerts.journal.compacting";

    /** Where lines of the journal that cannot be read are kept for a person to look at. */
    static final String BAD = "alerts.journal.bad";

    private boolean grown() {
        return records > 4L * (alerts.size() + silences.size()) + 1000;
    }

    /** Opens the journal for appending after its first {@code complete} bytes. */
    private void openJournal(long complete) throws IOException {
        journal = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        // A crash can leave half a line at the end; cut it so the next record starts clean.
        if (journal.size() > complete) {
            journal.truncate(complete);
        }
        journal.position(complete);
    }

    /**
     * Compacts the journal, as at start, when it has grown to several times what it describes: a
     * service that runs for months would otherwise keep every resolved alert, on disk and in
     * memory, until its next start.
     *
     * @return whether it compacted
     */
    public synchronized boolean compactIfGrown(long now) {
        if (!grown()) {
            return false;
        }
        try {
            journal.close();
            compact(dir, file, now - retention.toMillis());
            openJournal(Files.size(file));
            return true;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot compact the alert journal in " + dir, e);
        }
    }

    /**
     * Rewrites the journal as the state it describes: written beside it, forced to disk, then moved
     * over it in one step, so a crash leaves the old journal or the new one, never half.
     */
    private void compact(Path dir, Path file, long keepAfter) throws IOException {
        long before = Files.size(file);
        long recordsBefore = records;
        alerts.values()
                .removeIf(
                        a ->
                                statuses.get(a.alertId()) == Status.RESOLVED
                                        && Math.max(a.eventTime(), a.detectedAt()) < keepAfter);
        silences.values().removeIf(x -> x.endsAt().toEpochMilli() < keepAfter);
        List<ObjectNode> out = new ArrayList<>();
        ObjectNode o = json.createObjectNode().put("t", "offsets");
        ObjectNode next = o.putObject("next");
        nextOffsets().forEach((p, n) -> next.put(Integer.toString(p), n));
        if (!epochs.isEmpty()) {
            ObjectNode ep = o.putObject("epochs");
            epochs.forEach((p, e) -> ep.put(Integer.toString(p), e));
        }
        out.add(o);
        for (Alert a : alerts.values()) {
            ObjectNode e = json.createObjectNode().put("t", "event");
            e.set("alert", json.valueToTree(a));
            out.add(e);
            Status st = statuses.get(a.alertId());
            if (st == Status.ACKNOWLEDGED || st == Status.SHELVED || st == Status.LATCHED) {
                ObjectNode r =
                        json.createObjectNode()
                                .put("t", "status")
                                .put("alertId", a.alertId())
                                .put("status", st.name());
                if (st == Status.SHELVED) {
                    r.put("until", shelvedUntil.getOrDefault(a.alertId(), Long.MAX_VALUE));
                }
                out.add(r);
            }
            ObjectNode h = json.createObjectNode().put("t", "history").put("alertId", a.alertId());
            List<String> lines = history.getOrDefault(a.alertId(), List.of());
            // A chattering alert's history is kept to its latest part.
            lines.subList(Math.max(0, lines.size() - MAX_HISTORY), lines.size())
                    .forEach(h.putArray("lines")::add);
            out.add(h);
            if (notified.contains(key(a))) {
                ObjectNode n = json.createObjectNode().put("t", "notified");
                n.putArray("keys").add(key(a));
                out.add(n);
            }
        }
        for (Silence x : silences.values()) {
            ObjectNode r = json.createObjectNode().put("t", "silence");
            r.set("silence", x.toJson(json));
            out.add(r);
        }
        Path tmp = dir.resolve(COMPACTING);
        try (FileChannel c =
                FileChannel.open(
                        tmp,
                        StandardOpenOption.CREATE,
                        StandardOpenOption.WRITE,
                        StandardOpenOption.TRUNCATE_EXISTING)) {
            for (ObjectNode r : out) {
                ByteBuffer buf =
                        ByteBuffer.wrap(
                                (json.writeValueAsString(r) + "\n")
                                        .getBytes(StandardCharsets.UTF_8));
                while (buf.hasRemaining()) {
                    c.write(buf);
                }
            }
            c.force(true);
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException e) {
            // Not every file system lets a directory be forced; the move is still atomic.
        }
        // Replay what was written, so memory and journal agree exactly.
        alerts.clear();
        statuses.clear();
        history.clear();
        offsets.clear();
        epochs.clear();
        notified.clear();
        shelvedUntil.clear();
        silences.clear();
        records = 0;
        replay();
        LOG.info(
                "Alert journal compacted: {} records ({} bytes) -> {} records ({} bytes)",
                recordsBefore,
                before,
                records,
                Files.size(file));
    }

    /** A line of the journal that could not be applied: its number, its bytes and why. */
    private record BadLine(long number, byte[] bytes, String reason) {}

    /** What a replay found: the length of the journal's complete lines, and the bad ones. */
    private record Replayed(long complete, List<BadLine> bad) {}

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
     */
    private Replayed replay() throws IOException {
        List<BadLine> bad = new ArrayList<>();
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
                        complete += line.size() + 1;
                        replayLine(line.bytes(), line.size(), number, bad);
                        line.reset();
                        from = i + 1;
                    }
                }
                line.write(chunk, from, n - from);
            }
        }
        if (line.size() > 0) {
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
        return new Replayed(complete, bad);
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
     * Keeps bad lines as they were, each after a line naming where it was and why, in {@link #BAD},
     * forced to disk before the journal is rewritten without them.
     */
    private void setAside(List<BadLine> bad, long now) throws IOException {
        Path to = dir.resolve(BAD);
        try (FileChannel c =
                FileChannel.open(to, StandardOpenOption.CREATE, StandardOpenOption.APPEND)) {
            for (BadLine b : bad) {
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

    private void apply(JsonNode n) throws IOException {
        switch (n.path("t").asText()) {
            case "event" -> {
                Alert a = json.treeToValue(n.get("alert"), Alert.class);
                if (n.has("partition")) {
                    int p = n.path("partition").asInt();
                    offsets.put(p, n.path("offset").asLong());
                    if (n.has("epoch")) {
                        epochs.put(p, n.path("epoch").asInt());
                    } else {
                        epochs.remove(p);
                    }
                }
                alerts.put(a.alertId(), a);
                Status before = statuses.getOrDefault(a.alertId(), Status.OPEN);
                Status now =
                        a.state() == AlertState.RESOLVED
                                ? Status.RESOLVED
                                : before == Status.RESOLVED || before == Status.LATCHED
                                        ? Status.OPEN
                                        : before;
                statuses.put(a.alertId(), now);
                if (now != Status.SHELVED) {
                    shelvedUntil.remove(a.alertId());
                }
                if (n.has("at")) {
                    history(a.alertId(), n.path("at").asLong(), a.state().name());
                }
            }
            case "notified" -> n.path("keys").forEach(k -> notified.add(k.asText()));
            case "status" -> {
                String id = n.path("alertId").asText();
                Status status = Status.valueOf(n.path("status").asText());
                statuses.put(id, status);
                if (status == Status.SHELVED) {
                    shelvedUntil.put(id, n.path("until").asLong(Long.MAX_VALUE));
                } else {
                    shelvedUntil.remove(id);
                }
                if (n.has("by")) {
                    history(
                            id,
                            n.path("at").asLong(),
                            n.path("status").asText() + " by " + n.path("by").asText());
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
                n.path("next")
                        .fields()
                        .forEachRemaining(
                                f -> {
                                    int p = Integer.parseInt(f.getKey());
                                    offsets.put(p, f.getValue().asLong() - 1);
                                    epochs.remove(p);
                                });
                n.path("epochs")
                        .fields()
                        .forEachRemaining(
                                f ->
                                        epochs.put(
                                                Integer.parseInt(f.getKey()),
                                                f.getValue().asInt()));
            }
            case "history" -> {
                List<String> lines = new ArrayList<>();
                n.path("lines").forEach(l -> lines.add(isoTime(l.asText())));
                history.put(n.path("alertId").asText(), lines);
            }
            default ->
                    throw new IllegalArgumentException(
                            "not a record this version writes: t=" + n.path("t"));
        }
    }

    private void history(String id, long at, String what) {
        history.computeIfAbsent(id, k -> new ArrayList<>())
                .add(Instant.ofEpochMilli(at) + " " + what);
    }

    private static final Pattern EPOCH_LINE = Pattern.compile("(\\d{1,19}) (.*)", Pattern.DOTALL);

    /** A journal compacted before history lines carried ISO-8601 times holds epoch milliseconds. */
    private static String isoTime(String line) {
        Matcher m = EPOCH_LINE.matcher(line);
        return m.matches()
                ? Instant.ofEpochMilli(Long.parseLong(m.group(1))) + " " + m.group(2)
                : line;
    }

    private void append(ObjectNode record) {
        try {
            apply(record);
            records++;
            byte[] line = (json.writeValueAsString(record) + "\n").getBytes(StandardCharsets.UTF_8);
            ByteBuffer buf = ByteBuffer.wrap(line);
            while (buf.hasRemaining()) {
                journal.write(buf);
            }
            journal.force(false);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the alert journal", e);
        }
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

    /** Records that these alert states reached a receiver (or were deliberately held back). */
    public synchronized void notified(Collection<Alert> told) {
        ObjectNode r = json.createObjectNode();
        r.put("t", "notified");
        var keys = r.putArray("keys");
        told.forEach(a -> keys.add(key(a)));
        append(r);
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
        return statuses.get(alertId);
    }

    /** The alert's latest state as the detector sent it, or null. */
    public synchronized Alert alert(String alertId) {
        return alerts.get(alertId);
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
        ObjectNode r = json.createObjectNode().put("t", "offsets");
        r.putObject("next").put(Integer.toString(partition), next);
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
                .filter(a -> !notified.contains(key(a)))
                .filter(
                        a -> {
                            Status st = statuses.get(a.alertId());
                            return st != Status.SHELVED && st != Status.LATCHED;
                        })
                .toList();
    }

    public synchronized boolean wasNotified(Alert a) {
        return notified.contains(key(a));
    }

    public synchronized List<Entry> all() {
        return alerts.values().stream()
                .map(
                        a ->
                                new Entry(
                                        a,
                                        statuses.get(a.alertId()),
                                        List.copyOf(history.getOrDefault(a.alertId(), List.of())),
                                        notified.contains(key(a))))
                .toList();
    }

    private static String key(Alert a) {
        return a.alertId() + ":" + a.state();
    }

    @Override
    public synchronized void close() {
        try {
            journal.close();
        } catch (IOException e) {
            LOG.warn("closing the alert journal: {}", e.toString());
        }
    }
}
