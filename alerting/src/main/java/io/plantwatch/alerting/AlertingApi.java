package io.plantwatch.alerting;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.plantwatch.model.Durations;
import io.plantwatch.model.SensorGlob;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The operators' HTTP API (JSON; described in src/main/resources/openapi.yaml). Every path but
 * {@code /health} needs {@code Authorization: Bearer <token>}; without a valid token the answer is
 * 401 and nothing changes. The token is compared in constant time and never logged.
 *
 * <ul>
 *   <li>{@code GET /api/alerts?status=OPEN&line=line-1} open alerts with filters (status, site,
 *       area, line, machine, sensor, severity, kind)
 *   <li>{@code GET /api/alerts/{id}} one alert with its history
 *   <li>{@code POST /api/alerts/{id}/ack} acknowledge; {@code POST /api/alerts/{id}/shelve?for=2h}
 *   <li>{@code GET /api/silences}, {@code POST /api/silences}, {@code DELETE /api/silences/{id}}
 *   <li>{@code GET /health}
 * </ul>
 */
public final class AlertingApi implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(AlertingApi.class);

    private final AlertStore store;
    private final Map<String, Silence> silences;
    private final byte[] token;
    private final LongSupplier clock;
    private final ObjectMapper json = new ObjectMapper();
    private final HttpServer server;
    private final java.util.concurrent.ExecutorService threads = Executors.newFixedThreadPool(2);

    /**
     * @param silences the live map the dispatcher reads
     * @param token the bearer token; requests must carry it
     */
    public AlertingApi(
            AlertStore store,
            Map<String, Silence> silences,
            byte[] token,
            String host,
            int port,
            LongSupplier clock)
            throws IOException {
        this.store = store;
        this.silences = silences;
        this.token = token.clone();
        this.clock = clock;
        this.server = HttpServer.create(new InetSocketAddress(host, port), 0);
        server.setExecutor(threads);
        server.createContext(
                "/health", ex -> send(ex, 200, json.createObjectNode().put("status", "UP")));
        server.createContext("/api/", this::handle);
        server.start();
    }

    public int port() {
        return server.getAddress().getPort();
    }

    private void handle(HttpExchange ex) throws IOException {
        try {
            if (!authorized(ex)) {
                ex.getResponseHeaders().add("WWW-Authenticate", "Bearer");
                send(ex, 401, error("a valid bearer token is required"));
                return;
            }
            String method = ex.getRequestMethod();
            String[] path = ex.getRequestURI().getPath().substring("/api/".length()).split("/");
            Map<String, String> query = query(ex.getRequestURI().getRawQuery());
            if (path[0].equals("alerts")) {
                if (path.length == 1 && method.equals("GET")) {
                    send(ex, 200, alerts(query));
                } else if (path.length == 2 && method.equals("GET")) {
                    AlertStore.Entry e = find(path[1]);
                    send(
                            ex,
                            e == null ? 404 : 200,
                            e == null ? error("no alert " + path[1]) : entry(e));
                } else if (path.length == 3 && method.equals("POST")) {
                    statusChange(ex, path[1], path[2], query);
                } else {
                    send(ex, 405, error("not allowed"));
                }
            } else if (path[0].equals("silences")) {
                silencesRoute(ex, method, path);
            } else {
                send(ex, 404, error("no such resource"));
            }
        } catch (RuntimeException e) {
            LOG.warn("API request failed: {}", e.toString());
            send(ex, 400, error(e.getMessage() == null ? e.toString() : e.getMessage()));
        }
    }

    private boolean authorized(HttpExchange ex) {
        String h = ex.getRequestHeaders().getFirst("Authorization");
        if (h == null || !h.startsWith("Bearer ")) {
            return false;
        }
        return MessageDigest.isEqual(
                h.substring("Bearer ".length()).getBytes(StandardCharsets.UTF_8), token);
    }

    private ObjectNode alerts(Map<String, String> q) {
        ObjectNode out = json.createObjectNode();
        ArrayNode list = out.putArray("alerts");
        for (AlertStore.Entry e : store.all()) {
            if (q.containsKey("status") && !e.status().name().equals(q.get("status"))) {
                continue;
            }
            boolean match = true;
            for (String label : Route.LABELS) {
                if (q.containsKey(label) && !q.get(label).equals(Route.label(e.alert(), label))) {
                    match = false;
                }
            }
            if (match) {
                list.add(entry(e));
            }
        }
        out.put("count", list.size());
        return out;
    }

    private AlertStore.Entry find(String id) {
        return store.all().stream()
                .filter(e -> e.alert().alertId().equals(id))
                .findFirst()
                .orElse(null);
    }

    private ObjectNode entry(AlertStore.Entry e) {
        ObjectNode o = json.createObjectNode();
        o.put("alert_id", e.alert().alertId());
        o.put("status", e.status().name());
        o.put("sensor", e.alert().sensorId().id());
        o.put("rule", e.alert().rule()).put("kind", e.alert().kind().name());
        o.put("severity", e.alert().severity().name());
        o.put("episode_start", Instant.ofEpochMilli(e.alert().episodeStart()).toString());
        o.put("message", e.alert().message());
        o.put("notified", e.notified());
        ArrayNode h = o.putArray("history");
        e.history().forEach(h::add);
        return o;
    }

    private void statusChange(HttpExchange ex, String id, String action, Map<String, String> q)
            throws IOException {
        String by = q.getOrDefault("by", "api");
        AlertStore.Entry e = find(id);
        if (e == null) {
            send(ex, 404, error("no alert " + id));
            return;
        }
        switch (action) {
            case "ack" -> store.status(id, AlertStore.Status.ACKNOWLEDGED, by, clock.getAsLong());
            case "shelve" -> {
                Durations.parse(q.getOrDefault("for", "1h"));
                store.status(
                        id,
                        AlertStore.Status.SHELVED,
                        by + " for " + q.getOrDefault("for", "1h"),
                        clock.getAsLong());
            }
            default -> {
                send(ex, 404, error("no action " + action + "; use ack or shelve"));
                return;
            }
        }
        send(ex, 200, entry(find(id)));
    }

    private void silencesRoute(HttpExchange ex, String method, String[] path) throws IOException {
        if (path.length == 1 && method.equals("GET")) {
            ObjectNode out = json.createObjectNode();
            ArrayNode list = out.putArray("silences");
            silences.values().forEach(s -> list.add(silence(s)));
            send(ex, 200, out);
        } else if (path.length == 1 && method.equals("POST")) {
            JsonNode body = json.readTree(ex.getRequestBody());
            List<SensorGlob> sensors = new ArrayList<>();
            body.path("sensors").forEach(g -> sensors.add(new SensorGlob(g.asText())));
            Map<String, List<String>> labels = new LinkedHashMap<>();
            body.path("match")
                    .fields()
                    .forEachRemaining(
                            f -> {
                                if (!Route.LABELS.contains(f.getKey())) {
                                    throw new IllegalArgumentException(
                                            "match."
                                                    + f.getKey()
                                                    + " is not a label; use one of "
                                                    + Route.LABELS);
                                }
                                List<String> values = new ArrayList<>();
                                if (f.getValue().isArray()) {
                                    f.getValue().forEach(v -> values.add(v.asText()));
                                } else {
                                    values.add(f.getValue().asText());
                                }
                                labels.put(f.getKey(), values);
                            });
            Silence s =
                    new Silence(
                            UUID.randomUUID().toString(),
                            sensors,
                            labels,
                            Instant.parse(body.path("starts_at").asText()),
                            Instant.parse(body.path("ends_at").asText()),
                            null,
                            body.path("created_by").asText("api"),
                            body.path("comment").asText(""));
            silences.put(s.id(), s);
            send(ex, 201, silence(s));
        } else if (path.length == 2 && method.equals("DELETE")) {
            Silence removed = silences.remove(path[1]);
            send(
                    ex,
                    removed == null ? 404 : 200,
                    removed == null ? error("no silence " + path[1]) : silence(removed));
        } else {
            send(ex, 405, error("not allowed"));
        }
    }

    private ObjectNode silence(Silence s) {
        ObjectNode o = json.createObjectNode();
        o.put("id", s.id())
                .put("starts_at", s.startsAt().toString())
                .put("ends_at", s.endsAt().toString());
        o.put("created_by", s.createdBy()).put("comment", s.comment());
        o.set("match", json.valueToTree(s.labels()));
        ArrayNode g = o.putArray("sensors");
        s.sensors().forEach(x -> g.add(x.toString()));
        return o;
    }

    private ObjectNode error(String message) {
        return json.createObjectNode().put("error", message);
    }

    private static Map<String, String> query(String raw) {
        Map<String, String> q = new HashMap<>();
        if (raw == null) {
            return q;
        }
        for (String kv : raw.split("&")) {
            int eq = kv.indexOf('=');
            if (eq > 0) {
                q.put(
                        URLDecoder.decode(kv.substring(0, eq), StandardCharsets.UTF_8),
                        URLDecoder.decode(kv.substring(eq + 1), StandardCharsets.UTF_8));
            }
        }
        return q;
    }

    private void send(HttpExchange ex, int status, JsonNode body) throws IOException {
        byte[] bytes = json.writeValueAsBytes(body);
        ex.getResponseHeaders().add("Content-Type", "application/json");
        ex.sendResponseHeaders(status, bytes.length);
        ex.getResponseBody().write(bytes);
        ex.close();
    }

    @Override
    public void close() {
        server.stop(0);
        threads.shutdownNow();
    }
}
