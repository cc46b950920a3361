package io.plantwatch.job.series;

import com.influxdb.client.InfluxDBClient;
import com.influxdb.client.InfluxDBClientFactory;
import com.influxdb.client.InfluxDBClientOptions;
import com.influxdb.client.WriteApiBlocking;
import com.influxdb.client.domain.WritePrecision;
import com.influxdb.exceptions.InfluxException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingDeque;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Buffers points and writes them in batches with influxdb-client-java's blocking API, on a thread
 * of its own. The client's asynchronous WriteApi is not used: across a server restart it dropped
 * and failed whole batches without telling the caller (its DROP_OLDEST buffer among them).
 *
 * <ul>
 *   <li>Storage never holds detection back. The sink shares its task chain, and through
 *       backpressure its Kafka source, with the detectors: a writer that waited for an absent
 *       InfluxDB stopped alarming within seconds and made every sensor look silent. So batches go
 *       to a sender thread, and while the server does not take them, or takes them slower than they
 *       come, they wait in a spool on disk ({@link InfluxSpool}, {@code influx.spool-dir}). Only a
 *       full spool ({@code influx.spool-max-mb}) holds the job back, and says so.
 *   <li>Nothing is dropped: the sender retries a batch, with exponential backoff and jitter up to
 *       {@code maxRetryDelay}, until the server takes it. {@link #flush} (which Flink calls before
 *       each checkpoint) returns once every point before it is stored or in the spool, synced to
 *       disk: no checkpoint completes over points that are in neither. A point written twice (a
 *       spooled copy of a batch the server took meanwhile, a replay) overwrites itself.
 *   <li>A point the server rejects (400: bad line protocol, a type clash with an existing column)
 *       is found by halving the batch, logged and counted in {@code influxPointsRejected}; the rest
 *       of its batch is written.
 *   <li>A wrong token or a missing bucket (401, 403, 404) is logged once as one clear line and
 *       retried like an outage, so fixing it on the server resumes the writes.
 * </ul>
 */
public final class InfluxWriter implements SinkWriter<String> {
    private static final Logger LOG = LoggerFactory.getLogger(InfluxWriter.class);
    private static final long FIRST_RETRY_MILLIS = 100;
    private static final long REMINDER_NANOS = 30_000_000_000L;

    /** Batches waiting in memory for the sender before they go to the spool instead. */
    static final int QUEUED_BATCHES = 8;

    /**
     * How long a full queue may hold the job back before a batch goes to the spool: a healthy
     * server writes a batch in tens of milliseconds, and the disk costs more than the wait.
     */
    static final long QUEUE_WAIT_MILLIS = 200;

    private final InfluxSettings settings;
    private final InfluxDBClient client;
    private final WriteApiBlocking writes;
    private final InfluxSpool spool;
    private final Counter written;
    private final Counter rejected;
    private final Counter errors;
    private final Counter spooled;
    private final Counter damaged;
    private final Counter spoolErrors;

    /** The batch being filled, on the task thread. */
    private List<String> buffer;

    /** Batches for the sender, oldest first; the sender takes one out while it writes it. */
    private final BlockingDeque<List<String>> queue = new LinkedBlockingDeque<>(QUEUED_BATCHES);

    /** The in-memory batch the sender is writing; null when none. */
    private volatile List<String> sending;

    /** Set when {@link #sending} went to the spool: the sender stops retrying it there. */
    private volatile boolean sendingSpooled;

    /** Whether the last attempt to write failed; the sender's view of the server. */
    private volatile boolean failing;

    private volatile boolean closing;
    private final Thread sender;
    private final Object progress = new Object();
    private int lastLoggedStatus = -1;
    private boolean tooLargeLogged;
    private long lastSpoolErrorLog;
    private long lastDroppedLog;
    private long lastFullSpoolLog;

    public InfluxWriter(InfluxSettings settings, MetricGroup metrics) {
        this(settings, metrics, 0, 1);
    }

    /**
     * @param subtask this writer's subtask, whose spool folder it keeps
     * @param parallelism how many there are: the first also takes over the spools of subtasks a
     *     restore at a lower parallelism left behind
     */
    public InfluxWriter(
            InfluxSettings settings, MetricGroup metrics, int subtask, int parallelism) {
        this.settings = settings;
        InfluxDBClientOptions.Builder options =
                InfluxDBClientOptions.builder()
                        .url(settings.url())
                        .org(settings.org())
                        .bucket(settings.bucket());
        if (settings.token() != null && !settings.token().isEmpty()) {
            options.authenticateToken(settings.token().toCharArray());
        }
        this.client = InfluxDBClientFactory.create(options.build());
        if (settings.gzip()) {
            client.enableGzip();
        }
        this.writes = client.getWriteApiBlocking();
        this.spool = new InfluxSpool(settings.spool(), subtask, parallelism);
        this.buffer = new ArrayList<>(settings.batchSize());
        this.written = metrics.counter("influxPointsWritten");
        this.rejected = metrics.counter("influxPointsRejected");
        this.errors = metrics.counter("influxWriteErrors");
        this.spooled = metrics.counter("influxPointsSpooled");
        this.damaged = metrics.counter("influxSpoolSegmentsDamaged");
        this.spoolErrors = metrics.counter("influxSpoolWriteErrors");
        metrics.gauge("influxPointsBuffered", this::pointsInMemory);
        metrics.gauge("influxPointsInSpool", spool::points);
        metrics.gauge("influxSpoolBytes", spool::bytes);
        if (spool.points() > 0) {
            LOG.info(
                    "{} points wait in the InfluxDB spool {} from before; writing them first",
                    spool.points(),
                    spool.dir());
        }
        this.sender = new Thread(this::sendLoop, "influx-writer-" + subtask);
        sender.setDaemon(true);
        sender.start();
    }

    private int pointsInMemory() {
        int n = buffer.size();
        for (List<String> b : queue) {
            n += b.size();
        }
        List<String> s = sending;
        return s == null ? n : n + s.size();
    }

    @Override
    public void write(String point, Context context) throws IOException, InterruptedException {
        buffer.add(point);
        if (buffer.size() >= settings.batchSize()) {
            handOver();
        }
    }

    /** The filled batch to the sender, or to the spool when the sender is behind or failing. */
    private void handOver() throws IOException, InterruptedException {
        if (buffer.isEmpty()) {
            return;
        }
        List<String> batch = buffer;
        buffer = new ArrayList<>(settings.batchSize());
        if (!failing
                && !spool.hasWaiting()
                && queue.offer(batch, QUEUE_WAIT_MILLIS, TimeUnit.MILLISECONDS)) {
            signal();
            return;
        }
        // Behind the spool, a batch waits its turn there: oldest first keeps the catch-up in order.
        List<List<String>> drained = new ArrayList<>();
        queue.drainTo(drained);
        toSpool(null, drained, batch, false);
    }

    /**
     * Writes a segment of: a copy of {@code inFlight} (the batch the sender is writing, which it
     * stops retrying once that is spooled), the {@code drained} queue and the {@code fresh} batch;
     * with {@code sync}, on disk with every segment before it.
     *
     * @return whether they are in the spool; false when it could not be written, the drained
     *     batches are back at the head of the sender's queue and the fresh one behind them
     */
    private boolean toSpool(
            List<String> inFlight, List<List<String>> drained, List<String> fresh, boolean sync)
            throws IOException, InterruptedException {
        List<List<String>> batches = new ArrayList<>();
        if (inFlight != null) {
            batches.add(new ArrayList<>(inFlight));
        }
        batches.addAll(drained);
        if (fresh != null) {
            batches.add(fresh);
        }
        batches.removeIf(List::isEmpty);
        if (batches.isEmpty()) {
            if (sync) {
                spool.sync();
            }
            return true;
        }
        while (spool.bytes() >= settings.spoolMaxBytes() && !closing) {
            long now = System.nanoTime();
            if (now - lastFullSpoolLog > REMINDER_NANOS || lastFullSpoolLog == 0) {
                lastFullSpoolLog = now;
                LOG.error(
                        "The InfluxDB spool {} is full ({} MB, influx.spool-max-mb): the job waits"
                                + " for InfluxDB at {} now, and detection with it",
                        spool.dir(),
                        spool.bytes() >> 20,
                        settings.url());
            }
            synchronized (progress) {
                progress.wait(100);
            }
        }
        boolean whole = true;
        while (true) {
            try {
                spool.append(batches, false);
                break;
            } catch (IOException e) {
                // A full disk, a folder taken away: failing the task would only replay into the
                // same error, in a loop of restarts without detection until the restarts ran out.
                // The batches stay in memory for the sender, as far as its queue has room; the
                // rest hold the job, as a full spool does, until the server or the spool takes
                // them.
                if (closing) {
                    throw e;
                }
                spoolWriteFailed(e);
                whole = false;
                for (int i = drained.size() - 1; i >= 0; i--) {
                    // Taken from the queue by this thread, the only one that adds: there is room.
                    queue.offerFirst(drained.get(i));
                }
                drained = List.of();
                // The sender still has it: a copy would only be sent twice.
                inFlight = null;
                if (fresh == null || queue.offer(fresh)) {
                    signal();
                    return false;
                }
                signal();
                // At most once a second: each attempt writes a whole segment.
                Thread.sleep(1_000);
                batches = List.of(fresh);
            }
        }
        if (sync) {
            // Outside the retry: after a failed fsync, a second one can succeed with the pages
            // never written, and a checkpoint must not count on them. The task fails instead,
            // and its restore writes them again.
            spool.sync();
        }
        if (inFlight != null) {
            synchronized (progress) {
                if (sending == inFlight) {
                    // Should the attempt under way succeed after all, the server gets it twice.
                    sendingSpooled = true;
                }
            }
        }
        if (lastSpoolErrorLog != 0) {
            lastSpoolErrorLog = 0;
            LOG.info("The InfluxDB spool {} takes points again", spool.dir());
        }
        spooled.inc(batches.stream().mapToInt(List::size).sum());
        signal();
        return whole;
    }

    private void spoolWriteFailed(IOException e) {
        spoolErrors.inc();
        long now = System.nanoTime();
        if (now - lastSpoolErrorLog > REMINDER_NANOS || lastSpoolErrorLog == 0) {
            lastSpoolErrorLog = now;
            LOG.error(
                    "Cannot write to the InfluxDB spool {} ({}): points wait in memory for InfluxDB"
                            + " at {} instead, and once that is full the job waits, and detection"
                            + " with it, until the server or the spool takes them",
                    spool.dir(),
                    e.toString(),
                    settings.url());
        }
    }

    @Override
    public void flush(boolean endOfInput) throws IOException, InterruptedException {
        handOver();
        if (endOfInput) {
            // A bounded input ends: everything to the server before the job finishes.
            awaitIdle(Long.MAX_VALUE, true);
            return;
        }
        // Before a checkpoint: stored, or synced in the spool. A healthy server gets a moment for
        // what is in memory; what waits in the spool is on disk already, and waiting for it too
        // held the detectors' chain for the whole moment at every checkpoint while the server
        // caught up.
        while (!awaitIdle(System.nanoTime() + 2_000_000_000L, false)) {
            List<String> inFlight;
            List<List<String>> drained = new ArrayList<>();
            // With the sender's lock: a batch it takes from the queue is then the one it sends.
            synchronized (progress) {
                inFlight = sending != null && !sendingSpooled ? sending : null;
                queue.drainTo(drained);
            }
            if (toSpool(inFlight, drained, null, true)) {
                return;
            }
            // The spool not writable, the server not taking them: held until one of them does,
            // the spool tried again each second.
            Thread.sleep(1_000);
        }
        spool.sync();
    }

    /**
     * Waits until nothing waits in memory, nor with {@code spoolToo} in the spool; false at the
     * deadline or on failure.
     */
    private boolean awaitIdle(long deadline, boolean spoolToo) throws InterruptedException {
        synchronized (progress) {
            while (!queue.isEmpty() || sending != null || (spoolToo && spool.hasWaiting())) {
                if (deadline != Long.MAX_VALUE && (failing || System.nanoTime() >= deadline)) {
                    return false;
                }
                progress.wait(50);
            }
        }
        return true;
    }

    private void signal() {
        synchronized (progress) {
            progress.notifyAll();
        }
    }

    /**
     * The sender: the spool's oldest points first, then the queue, each until stored. It outlives
     * anything that goes wrong with one segment: a sender that stopped left segments piling up
     * until the full spool stopped detection.
     */
    private void sendLoop() {
        long delay = FIRST_RETRY_MILLIS;
        while (!closing) {
            String what = "the points in memory";
            try {
                InfluxSpool.Segment segment = spool.oldest();
                if (segment != null) {
                    what = segment.file.toString();
                    sendSegment(segment);
                } else if (!sendQueued()) {
                    return;
                }
                delay = FIRST_RETRY_MILLIS;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (InfluxSpool.SetApart e) {
                // The newer segments go on at once; it says so again at its next try.
                LOG.error("The InfluxDB writer could not send {}: {}", what, e.getMessage());
            } catch (IOException | RuntimeException e) {
                LOG.error(
                        "The InfluxDB writer could not send {}: {}. Trying again in {} ms; newer"
                                + " points wait in the spool {} meanwhile.",
                        what,
                        e.toString(),
                        delay,
                        spool.dir());
                try {
                    Thread.sleep(ThreadLocalRandom.current().nextLong(delay / 2, delay + 1));
                } catch (InterruptedException stop) {
                    Thread.currentThread().interrupt();
                    return;
                }
                delay = Math.min(settings.maxRetryDelay().toMillis(), delay * 2);
            }
        }
    }

    private void sendSegment(InfluxSpool.Segment segment) throws IOException, InterruptedException {
        InfluxSpool.Contents contents = segment.read();
        if (contents.damage() != null) {
            damaged.inc();
            LOG.warn(
                    "InfluxDB spool segment {} is damaged, a torn file after a crash perhaps: {}."
                            + " Sending the {} whole lines of the {} points its name counts; {}",
                    segment.file,
                    contents.damage(),
                    contents.lines().size(),
                    segment.points,
                    contents.aside() == null
                            ? "nothing else in it to keep."
                            : "the rest is kept in " + contents.aside() + ".");
        }
        List<String> lines = contents.lines();
        for (int i = 0; i < lines.size() && !closing; i += settings.batchSize()) {
            write(lines.subList(i, Math.min(lines.size(), i + settings.batchSize())), false);
        }
        if (!closing) {
            segment.delete();
            signal();
        }
    }

    /** Sends the queue's oldest batch, or waits a moment for one; false when closing. */
    private boolean sendQueued() throws InterruptedException {
        List<String> batch;
        synchronized (progress) {
            if (sending != null && !sendingSpooled) {
                // An attempt that ended in an exception: its batch is still this one's to send.
                batch = sending;
            } else {
                batch = queue.poll();
                sending = batch;
                sendingSpooled = false;
                if (batch == null) {
                    progress.wait(50);
                    return true;
                }
            }
        }
        write(batch, true);
        if (closing) {
            // Perhaps not written: close() spools what is still sending.
            return false;
        }
        synchronized (progress) {
            sending = null;
            progress.notifyAll();
        }
        return true;
    }

    /**
     * Writes the batch, retrying until the server has stored every point it accepts; for the {@link
     * #sending} batch ({@code inMemory}), until it went to the spool instead.
     */
    private void write(List<String> batch, boolean inMemory) throws InterruptedException {
        long delay = FIRST_RETRY_MILLIS;
        long failingSince = 0;
        long lastReminder = 0;
        while (!closing && !(inMemory && sendingSpooled)) {
            try {
                writes.writeRecords(WritePrecision.NS, batch);
                written.inc(batch.size());
                failing = false;
                if (lastLoggedStatus != -1) {
                    LOG.info(
                            "InfluxDB at {} takes writes again; {} points wait in the spool",
                            settings.url(),
                            spool.points());
                    lastLoggedStatus = -1;
                }
                return;
            } catch (InfluxException e) {
                if (e.status() == 422 && partlyWritten(batch, e)) {
                    return;
                }
                if (e.status() == 400 || e.status() == 422) {
                    rejectedIn(batch, e);
                    return;
                }
                if (e.status() == 413) {
                    // Sent again as it was, it would be refused for good, and every newer point
                    // would wait behind it until the full spool held detection back.
                    tooLarge(batch, e);
                    return;
                }
                errors.inc();
                failing = true;
                logOnce(e.status(), e.getMessage());
            } catch (RuntimeException e) {
                // Not an HTTP answer at all: a reset connection, a timeout.
                errors.inc();
                failing = true;
                logOnce(0, e.toString());
            }
            signal();
            long now = System.nanoTime();
            if (failingSince == 0) {
                failingSince = now;
                lastReminder = now;
            } else if (now - lastReminder > REMINDER_NANOS) {
                lastReminder = now;
                LOG.warn(
                        "Still cannot write to InfluxDB at {} after {} s; {} points wait, {} of"
                                + " them in the spool {}",
                        settings.url(),
                        (now - failingSince) / 1_000_000_000L,
                        pointsInMemory() + spool.points(),
                        spool.points(),
                        spool.dir());
            }
            long max = settings.maxRetryDelay().toMillis();
            Thread.sleep(ThreadLocalRandom.current().nextLong(delay / 2, delay + 1));
            delay = Math.min(max, delay * 2);
        }
    }

    /**
     * InfluxDB 2 stores the points of a 422 it does not reject, and says how many it dropped
     * ({@code partial write: points beyond retention policy dropped=N}, or since 2.7 {@code partial
     * write: field type conflict: ... dropped=N}): those are counted, and the batch is not written
     * again in parts (about two requests a point, each writing its good points again). False when
     * the answer does not say.
     */
    private boolean partlyWritten(List<String> batch, InfluxException e) {
        java.util.regex.Matcher m = DROPPED.matcher(String.valueOf(e.getMessage()));
        if (!m.find()) {
            return false;
        }
        long dropped = Math.min(batch.size(), Long.parseLong(m.group(1)));
        rejected.inc(dropped);
        written.inc(batch.size() - dropped);
        long now = System.nanoTime();
        // Once a minute: a spool replayed after a long outage sends many such batches.
        if (lastDroppedLog == 0 || now - lastDroppedLog > TimeUnit.MINUTES.toNanos(1)) {
            lastDroppedLog = now;
            String message = firstLine(e.getMessage());
            if (message.contains("beyond retention")) {
                LOG.error(
                        "InfluxDB dropped {} of {} points as older than bucket {}'s retention: {}."
                                + " Counted in influxPointsRejected; lengthen the bucket's"
                                + " retention to keep such points",
                        dropped,
                        batch.size(),
                        settings.bucket(),
                        message);
            } else {
                // A field type conflict, since InfluxDB 2.7 a 422 of its own: the message names
                // the field and the measurement.
                LOG.error(
                        "InfluxDB rejected {} of {} points and stored the rest: {}. Counted in"
                                + " influxPointsRejected",
                        dropped,
                        batch.size(),
                        message);
            }
        }
        return true;
    }

    private static final java.util.regex.Pattern DROPPED =
            java.util.regex.Pattern.compile("partial write:.*dropped=(\\d{1,18})");

    /**
     * A batch larger than the server (or a proxy before it) takes, 413: written in halves, each
     * halved again as long as it is refused; a single point refused so is rejected.
     */
    private void tooLarge(List<String> batch, InfluxException e) throws InterruptedException {
        if (batch.size() > 1 && !tooLargeLogged) {
            tooLargeLogged = true;
            LOG.warn(
                    "InfluxDB at {} refused a batch of {} points as too large (413): writing it"
                            + " in smaller parts. Lower influx.batch-size below {} to spare the"
                            + " refused requests.",
                    settings.url(),
                    batch.size(),
                    batch.size());
        }
        rejectedIn(batch, e);
    }

    /** Halves a rejected batch until the points the server refuses are alone. */
    private void rejectedIn(List<String> batch, InfluxException e) throws InterruptedException {
        if (batch.size() == 1) {
            rejected.inc();
            LOG.error(
                    "InfluxDB rejected a point ({}): {} - {}",
                    e.status(),
                    firstLine(e.getMessage()),
                    batch.get(0));
            return;
        }
        int half = batch.size() / 2;
        write(batch.subList(0, half), false);
        write(batch.subList(half, batch.size()), false);
    }

    private void logOnce(int status, String message) {
        if (status == lastLoggedStatus) {
            return;
        }
        lastLoggedStatus = status;
        String why =
                switch (status) {
                    case 401, 403 ->
                            "the token was refused: check the token (the job's influx.token or"
                                    + " influx.token-file; under plantwatch run, appliance.yaml's"
                                    + " influx.token-env or influx.token-file) and its write"
                                    + " permission on bucket "
                                    + settings.bucket();
                    case 404 ->
                            "organisation "
                                    + settings.org()
                                    + " or bucket "
                                    + settings.bucket()
                                    + " does not exist";
                    case 0 -> "cannot reach it: " + firstLine(message);
                    default -> "it answered " + status + ": " + firstLine(message);
                };
        LOG.error(
                "Cannot write to InfluxDB at {}: {}. Retrying; nothing is dropped, points wait in"
                        + " the spool {} and detection goes on.",
                settings.url(),
                why,
                spool.dir());
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    /**
     * Stops the sender. What is still in memory goes to the spool, for the next run to write: a
     * cancelled job replays from its checkpoint anyway, so at worst a point is written twice.
     */
    @Override
    public void close() throws IOException, InterruptedException {
        closing = true;
        sender.interrupt();
        sender.join(10_000);
        List<List<String>> out = new ArrayList<>();
        List<String> inFlight = sending;
        if (inFlight != null && !sendingSpooled) {
            out.add(inFlight);
        }
        queue.drainTo(out);
        out.add(buffer);
        buffer = new ArrayList<>();
        out.removeIf(List::isEmpty);
        try {
            if (!out.isEmpty()) {
                spool.append(out, true);
            }
            List<InfluxSpool.Segment> unread = spool.setApart();
            if (!unread.isEmpty()) {
                LOG.warn(
                        "{} InfluxDB spool segments that could not be read stay in {} for the next"
                                + " run, {} points: {}",
                        unread.size(),
                        spool.dir(),
                        unread.stream().mapToLong(seg -> seg.points).sum(),
                        unread.stream().map(seg -> seg.file.getFileName().toString()).toList());
            }
            spool.removeIfEmpty(settings.spoolDir() == null || settings.spoolDir().isBlank());
        } catch (IOException e) {
            // Points since the last checkpoint only: the job's replay from it writes them again.
            LOG.error(
                    "Could not keep {} points in the InfluxDB spool {} at the writer's close ({});"
                            + " a restore from the last checkpoint writes them again",
                    out.stream().mapToInt(List::size).sum(),
                    spool.dir(),
                    e.toString());
        } finally {
            client.close();
        }
    }
}
