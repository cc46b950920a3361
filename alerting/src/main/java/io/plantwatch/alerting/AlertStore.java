package io.plantwatch.alerting;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.plantwatch.model.Alert;
import io.plantwatch.model.AlertState;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
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
 * was pending is notified). A line torn by a crash is the last one and is ignored.
 */
public final class AlertStore implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(AlertStore.class);

    /** Where the service's operators moved an alert; Kafka's OPEN/RESOLVED are the detector's. */
    public enum Status {
        OPEN,
        ACKNOWLEDGED,
        SHELVED,
        RESOLVED
    }

    /** One alert as the API shows it. */
    public record Entry(Alert alert, Status status, List<String> history, boolean notified) {}

    private final ObjectMapper json = new ObjectMapper();
    private final FileChannel journal;
    private final Map<String, Alert> alerts = new LinkedHashMap<>();
    private final Map<String, Status> statuses = new HashMap<>();
    private final Map<String, List<String>> history = new HashMap<>();
    private final Map<Integer, Long> offsets = new HashMap<>();
    private final Set<String> notified = new HashSet<>();

    public AlertStore(Path dir) {
        try {
            Files.createDirectories(dir);
            Path file = dir.resolve("alerts.journal");
            if (Files.exists(file)) {
                replay(file);
            }
            journal = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            // A crash can leave half a line at the end; cut it so the next record starts clean.
            journal.truncate(completeLength(file));
            journal.position(journal.size());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open the alert journal in " + dir, e);
        }
    }

    /** The length of the file up to and including its last newline. */
    private static long completeLength(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        int end = bytes.length;
        while (end > 0 && bytes[end - 1] != '\n') {
            end--;
        }
        return end;
    }

    private void replay(Path file) throws IOException {
        int lines = 0;
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            for (String line; (line = in.readLine()) != null; ) {
                JsonNode n;
                try {
                    n = json.readTree(line);
                } catch (IOException torn) {
                    LOG.warn("Alert journal: ignoring a torn last line ({} bytes)", line.length());
                    continue;
                }
                apply(n);
                lines++;
            }
        }
        LOG.info(
                "Alert journal replayed: {} records, {} alerts, offsets {}",
                lines,
                alerts.size(),
                offsets);
    }

    private void apply(JsonNode n) throws IOException {
        switch (n.path("t").asText()) {
            case "event" -> {
                Alert a = json.treeToValue(n.get("alert"), Alert.class);
                offsets.put(n.path("partition").asInt(), n.path("offset").asLong());
                alerts.put(a.alertId(), a);
                Status now =
                        a.state() == AlertState.RESOLVED
                                ? Status.RESOLVED
                                : statuses.getOrDefault(a.alertId(), Status.OPEN) == Status.RESOLVED
                                        ? Status.OPEN
                                        : statuses.getOrDefault(a.alertId(), Status.OPEN);
                statuses.put(a.alertId(), now);
                history(a.alertId(), n.path("at").asLong(), a.state().name());
            }
            case "notified" -> n.path("keys").forEach(k -> notified.add(k.asText()));
            case "status" -> {
                String id = n.path("alertId").asText();
                statuses.put(id, Status.valueOf(n.path("status").asText()));
                history(
                        id,
                        n.path("at").asLong(),
                        n.path("status").asText() + " by " + n.path("by").asText());
            }
            default -> LOG.warn("Alert journal: unknown record {}", n.path("t").asText());
        }
    }

    private void history(String id, long at, String what) {
        history.computeIfAbsent(id, k -> new ArrayList<>()).add(at + " " + what);
    }

    private void append(ObjectNode record) {
        try {
            apply(record);
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
        ObjectNode r = json.createObjectNode();
        r.put("t", "event").put("partition", partition).put("offset", offset).put("at", now);
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

    /** An operator's acknowledgement or shelving. */
    public synchronized void status(String alertId, Status status, String by, long now) {
        if (!alerts.containsKey(alertId)) {
            throw new IllegalArgumentException("no alert " + alertId);
        }
        ObjectNode r = json.createObjectNode();
        r.put("t", "status")
                .put("alertId", alertId)
                .put("status", status.name())
                .put("by", by)
                .put("at", now);
        append(r);
    }

    /** The offset to read next per partition: one past the last applied. */
    public synchronized Map<Integer, Long> nextOffsets() {
        Map<Integer, Long> next = new HashMap<>();
        offsets.forEach((p, o) -> next.put(p, o + 1));
        return next;
    }

    /** Alerts whose latest state no receiver has been told yet: to notify after a restart. */
    public synchronized List<Alert> unnotified() {
        return alerts.values().stream().filter(a -> !notified.contains(key(a))).toList();
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
