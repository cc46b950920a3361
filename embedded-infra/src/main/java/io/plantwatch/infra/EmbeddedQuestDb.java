package io.plantwatch.infra;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.questdb.ServerMain;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real time-series server in this JVM that speaks InfluxDB's v2 write API ({@code POST
 * /api/v2/write}, line protocol), which influxdb-client-java uses: QuestDB, from its Maven Central
 * jar. Debian's InfluxDB 1.6 lacks that API and there is no Docker here; QuestDB has it.
 *
 * <p>Only its HTTP server runs (write API, SQL over {@code /exec}), on 127.0.0.1 and a port chosen
 * at the first {@link #start()} and kept, so {@link #stop()} then {@link #start()} is a server
 * restart with its data, as an outage test needs. QuestDB does not de-duplicate by itself as
 * InfluxDB does (same measurement, tags and time overwrite); {@link #createDedupTable} creates a
 * table that does.
 */
public final class EmbeddedQuestDb implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedQuestDb.class);

    private final Path root;
    private final boolean ownsRoot;
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final ObjectMapper json = new ObjectMapper();
    private ServerMain server;
    private int port;
    private boolean closed;

    public EmbeddedQuestDb() {
        this(null);
    }

    /**
     * @param root the data directory, kept on close; null for a temporary one, removed
     */
    public EmbeddedQuestDb(Path root) {
        this.ownsRoot = root == null;
        this.root = ownsRoot ? TempDirs.create("embedded-questdb-") : root;
    }

    /** Starts the server unless it runs; ready for writes when this returns. */
    public synchronized EmbeddedQuestDb start() {
        if (closed) {
            throw new IllegalStateException("closed");
        }
        if (server != null) {
            return this;
        }
        long startNanos = System.nanoTime();
        if (port == 0) {
            port = Loopback.freePorts(1)[0];
        }
        try {
            Files.createDirectories(root);
        } catch (IOException e) {
            throw new IllegalStateException("Cannot create QuestDB's directory " + root, e);
        }
        Map<String, String> env = new HashMap<>();
        env.put("QDB_HTTP_BIND_TO", Loopback.HOST + ":" + port);
        env.put("QDB_HTTP_MIN_ENABLED", "false");
        env.put("QDB_PG_ENABLED", "false");
        env.put("QDB_LINE_TCP_ENABLED", "false");
        env.put("QDB_LINE_UDP_ENABLED", "false");
        env.put("QDB_TELEMETRY_ENABLED", "false");
        env.put("QDB_TELEMETRY_DISABLE_COMPLETELY", "true");
        env.put("QDB_SHARED_WORKER_COUNT", "2");
        ServerMain s = ServerMain.create(root.toString(), env);
        s.start();
        server = s;
        LOG.info("QuestDB ready at {} in {}", url(), Loopback.seconds(startNanos));
        return this;
    }

    /** Stops the server, keeping its port and data for a later {@link #start()}. */
    public synchronized void stop() {
        if (server != null) {
            server.close();
            server = null;
        }
    }

    public synchronized boolean isRunning() {
        return server != null;
    }

    /** The base URL, e.g. {@code http://127.0.0.1:40123}: an InfluxDB client's URL. */
    public synchronized String url() {
        if (port == 0) {
            throw new IllegalStateException("not started yet");
        }
        return "http://" + Loopback.HOST + ":" + port;
    }

    /** Runs one SQL statement through {@code /exec}; the answer as QuestDB's JSON. */
    public JsonNode sql(String query) throws IOException, InterruptedException {
        HttpResponse<String> response =
                http.send(
                        HttpRequest.newBuilder(
                                        URI.create(
                                                url()
                                                        + "/exec?query="
                                                        + URLEncoder.encode(
                                                                query, StandardCharsets.UTF_8)))
                                .timeout(Duration.ofSeconds(30))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        JsonNode answer = json.readTree(response.body());
        if (response.statusCode() != 200 || answer.has("error")) {
            throw new IOException("QuestDB: " + query + " -> " + response.body());
        }
        return answer;
    }

    /** The rows of a query as QuestDB's {@code dataset} (an array of arrays). */
    public JsonNode rows(String query) throws IOException, InterruptedException {
        return sql(query).path("dataset");
    }

    /**
     * Waits until every committed write to {@code table} is applied and visible to queries (WAL
     * tables apply asynchronously).
     */
    public void awaitTable(String table) {
        ServerMain s;
        synchronized (this) {
            s = server;
        }
        if (s == null) {
            throw new IllegalStateException("not running");
        }
        s.awaitTable(table);
    }

    /**
     * Creates a WAL table that keeps one row per (timestamp, tags), the last written, as InfluxDB
     * keeps one point per series and time: a replay overwrites instead of doubling.
     *
     * @param columns column definitions after the designated timestamp, e.g. {@code "site SYMBOL,
     *     value DOUBLE"}
     * @param upsertKeys the tag columns that, with the timestamp, identify a point
     */
    public void createDedupTable(String table, String columns, String... upsertKeys)
            throws IOException, InterruptedException {
        sql(
                "CREATE TABLE IF NOT EXISTS "
                        + table
                        + " (timestamp TIMESTAMP, "
                        + columns
                        + ") TIMESTAMP(timestamp) PARTITION BY DAY WAL DEDUP UPSERT KEYS(timestamp, "
                        + String.join(", ", upsertKeys)
                        + ")");
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        stop();
        closed = true;
        if (ownsRoot) {
            TempDirs.deleteQuietly(root);
        }
    }
}
