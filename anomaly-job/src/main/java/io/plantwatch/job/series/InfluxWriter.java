package io.plantwatch.job.series;

import com.influxdb.client.InfluxDBClient;
import com.influxdb.client.InfluxDBClientFactory;
import com.influxdb.client.InfluxDBClientOptions;
import com.influxdb.client.WriteApiBlocking;
import com.influxdb.client.domain.WritePrecision;
import com.influxdb.exceptions.InfluxException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Buffers points and writes them in batches with influxdb-client-java's blocking API and its own
 * retries. The client's asynchronous WriteApi is not used: across a server restart it dropped and
 * failed whole batches without telling the caller (its DROP_OLDEST buffer among them).
 *
 * <ul>
 *   <li>Nothing is dropped on a slow or absent server: a batch is retried, with exponential backoff
 *       and jitter up to {@code maxRetryDelay}, until the server takes it. Meanwhile the writer
 *       takes no new points, so backpressure reaches the Kafka source, and {@link #flush} (which
 *       Flink calls before each checkpoint) does not return: no checkpoint completes over points
 *       that are not stored.
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

    private final InfluxSettings settings;
    private final InfluxDBClient client;
    private final WriteApiBlocking writes;
    private final List<String> buffer;
    private final Counter written;
    private final Counter rejected;
    private final Counter errors;
    private int lastLoggedStatus = -1;

    public InfluxWriter(InfluxSettings settings, MetricGroup metrics) {
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
        this.buffer = new ArrayList<>(settings.batchSize());
        this.written = metrics.counter("influxPointsWritten");
        this.rejected = metrics.counter("influxPointsRejected");
        this.errors = metrics.counter("influxWriteErrors");
        metrics.gauge("influxPointsBuffered", buffer::size);
    }

    @Override
    public void write(String point, Context context) throws InterruptedException {
        buffer.add(point);
        if (buffer.size() >= settings.batchSize()) {
            writeBuffer();
        }
    }

    @Override
    public void flush(boolean endOfInput) throws InterruptedException {
        writeBuffer();
    }

    private void writeBuffer() throws InterruptedException {
        if (buffer.isEmpty()) {
            return;
        }
        write(buffer);
        buffer.clear();
    }

    /** Writes the batch, retrying until the server has stored every point it accepts. */
    private void write(List<String> batch) throws InterruptedException {
        long delay = FIRST_RETRY_MILLIS;
        long failingSince = 0;
        long lastReminder = 0;
        while (true) {
            try {
                writes.writeRecords(WritePrecision.NS, batch);
                written.inc(batch.size());
                if (lastLoggedStatus != -1) {
                    LOG.info("InfluxDB at {} takes writes again", settings.url());
                    lastLoggedStatus = -1;
                }
                return;
            } catch (InfluxException e) {
                if (e.status() == 400 || e.status() == 422) {
                    rejectedIn(batch, e);
                    return;
                }
                errors.inc();
                logOnce(e.status(), e.getMessage());
            } catch (RuntimeException e) {
                // Not an HTTP answer at all: a reset connection, a timeout.
                errors.inc();
                logOnce(0, e.toString());
            }
            long now = System.nanoTime();
            if (failingSince == 0) {
                failingSince = now;
                lastReminder = now;
            } else if (now - lastReminder > REMINDER_NANOS) {
                lastReminder = now;
                LOG.warn(
                        "Still cannot write to InfluxDB at {} after {} s; {} points wait",
                        settings.url(),
                        (now - failingSince) / 1_000_000_000L,
                        batch.size() + buffer.size());
            }
            long max = settings.maxRetryDelay().toMillis();
            Thread.sleep(ThreadLocalRandom.current().nextLong(delay / 2, delay + 1));
            delay = Math.min(max, delay * 2);
        }
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
        write(batch.subList(0, half));
        write(batch.subList(half, batch.size()));
    }

    private void logOnce(int status, String message) {
        if (status == lastLoggedStatus) {
            return;
        }
        lastLoggedStatus = status;
        String why =
                switch (status) {
                    case 401, 403 ->
                            "the token was refused: check influx.token or influx.token-file and"
                                    + " its write permission on bucket "
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
                "Cannot write to InfluxDB at {}: {}. Retrying; nothing is dropped.",
                settings.url(),
                why);
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    @Override
    public void close() {
        client.close();
    }
}
