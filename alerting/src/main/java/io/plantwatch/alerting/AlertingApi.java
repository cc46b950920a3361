package io.plantwatch.alerting;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.plantwatch.model.AlertKind;
import io.plantwatch.model.ConfigException;
import io.plantwatch.model.Durations;
import io.plantwatch.model.SensorId;
import io.plantwatch.model.Severity;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
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
 *       area, line, machine, sensor, severity, kind), a page at a time, newest first ({@code
 *       limit}, and {@code before} from the {@code next} link)
 *   <li>{@code GET /api/alerts/{id}} one alert with its history
 *   <li>{@code POST /api/alerts/{id}/ack} acknowledge; {@code POST /api/alerts/{id}/shelve?for=2h};
 *       {@code POST /api/alerts/{id}/close?by=maria&reason=...} resolve by hand
 *   <li>{@code GET /api/silences}, {@code POST /api/silences} (one-off or weekly), {@code DELETE
 *       /api/silences/{id}} (expires it; it stays listed)
 *   <li>{@code GET /metrics} Prometheus text format
 *   <li>{@code GET /health}
 * </ul>
 */
public final class AlertingApi implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(AlertingApi.class);

    private final AlertStore store;
    private final Dispatcher dispatcher;
    private final java.util.function.Supplier<String> metrics;
    private final byte[] token;
    private final LongSupplier clock;

    /** Where alerts from Prometheus go ({@code POST /api/v2/alerts}); null: not taken here. */
    private final PipelineAlerts pipeline;

    private final ObjectMapper json = new ObjectMapper();
    private final HttpServer server;
    private final java.util.concurrent.ExecutorService threads = Executors.newFixedThreadPool(2);

    /**
     * @param dispatcher takes the operators' changes (acknowledge, shelve, silences)
     * @param metrics renders the Prometheus text
     * @param token the bearer token; requests must carry it
     */
    public AlertingApi(
            AlertStore store,
            Dispatcher dispatcher,
            java.util.function.Supplier<String> metrics,
            byte[] token,
            String host,
            int port,
            LongSupplier clock)
            throws IOException {
        this(store, dispatcher, metrics, () -> Health.UP, token, host, port, clock, null);
    }

    /**
     * What {@code GET /health} says: 200 and status UP, or 503, status DOWN and the problems, so a
     * load balancer, systemd or Kubernetes can tell a service that runs but does nothing.
     */
    public record Health(boolean up, List<String> problems) {
        public static final Health UP = new Health(true, List.of());

        public Health {
            problems = List.copyOf(problems);
        }
    }

    /**
     * As above, with {@code health} answering {@code GET /health}, taking Prometheus' alerts
     * ({@code POST /api/v2/alerts}, Alertmanager's API) into {@code pipeline} as alerts about the
     * pipeline (null: not taken).
     */
    public AlertingApi(
            AlertStore store,
            Dispatcher dispatcher,
            java.util.function.Supplier<String> metrics,
            java.util.function.Supplier<Health> health,
            byte[] token,
            String host,
            int port,
            LongSupplier clock,
            PipelineAlerts pipeline)
            throws IOException {
        this.pipeline = pipeline;
        this.store = store;
        this.dispatcher = dispatcher;
        this.metrics = metrics;
        this.token = token.clone();
        this.clock = clock;
        try {
            this.server = HttpServer.create(new InetSocketAddress(host, port), 0);
        } catch (java.net.BindException e) {
            // Another program (or another alerting service) holds the port: a setting to change.
            throw new io.plantwatch.model.ConfigException(
                    "api.port "
                            + port
                            + " on "
                            + host
                            + " cannot be served ("
                            + e.getMessage()
                            + "); stop what holds it, or set api.port (-1: no API)",
                    e);
        }
        server.setExecutor(threads);
        server.createContext(
                "/health",
                ex -> {
                    Health h = health.get();
                    var body = json.createObjectNode().put("status", h.up() ? "UP" : "DOWN");
                    if (!h.problems().isEmpty()) {
                        h.problems().forEach(body.putArray("problems")::add);
                    }
                    send(ex, h.up() ? 200 : 503, body);
                });
        server.createContext("/api/", this::handle);
        server.createContext("/metrics", this::metrics);
        server.start();
    }

    public int port() {
        return server.getAddress().getPort();
    }

    private void handle(HttpExchange ex) throws IOException {
        String method = ex.getRequestMethod();
        try {
            if (!authorized(ex)) {
                ex.getResponseHeaders().add("WWW-Authenticate", "Bearer");
                send(ex, 401, error("a valid bearer token is required"));
                return;
            }
            String[] path = ex.getRequestURI().getPath().substring("/api/".length()).split("/");
            Map<String, String> query = query(ex.getRequestURI().getRawQuery());
            if (path[0].equals("alerts")) {
                if (path.length == 1 && method.equals("GET")) {
                    ObjectNode page = alerts(query);
                    if (page.has("next")) {
                        // RFC 8288, as GitHub pages: a client may follow it without reading JSON.
                        ex.getResponseHeaders()
                                .add("Link", "<" + page.path("next").asText() + ">; rel=\"next\"");
                    }
                    send(ex, 200, page);
                } else if (path.length == 2 && method.equals("GET")) {
                    known(query, List.of());
                    AlertStore.Entry e = store.entry(path[1]);
                    send(
                            ex,
                            e == null ? 404 : 200,
                            e == null ? error("no alert " + path[1]) : entry(e));
                } else if (path.length == 3 && method.equals("POST")) {
                    statusChange(ex, path[1], path[2], query);
                } else {
                    send(ex, 405, error("not allowed"));
                }
            } else if (path[0].equals("v2") && path.length == 2 && path[1].equals("alerts")) {
                known(query, List.of());
                if (!method.equals("POST")) {
                    send(ex, 405, error("not allowed"));
                } else if (pipeline == null) {
                    send(
                            ex,
                            404,
                            error(
                                    "alerts from Prometheus are not taken here: pipeline alerts"
                                            + " are switched off (pipeline-alerts.enabled: false)"));
                } else {
                    prometheusAlerts(ex);
                }
            } else if (path[0].equals("silences")) {
                known(query, List.of());
                silencesRoute(ex, method, path);
            } else {
                send(ex, 404, error("no such resource"));
            }
        } catch (Dispatcher.Conflict e) {
            send(ex, 409, error(e.getMessage()));
        } catch (BadRequest | IllegalArgumentException | ConfigException e) {
            // A client's mistake, answered in full; not a problem of this service to warn about.
            LOG.debug("API {} {}: 400 {}", method, ex.getRequestURI().getPath(), e.getMessage());
            send(ex, 400, error(e.getMessage()));
        } catch (RuntimeException | IOException e) {
            LOG.error("API {} {} failed", method, ex.getRequestURI().getPath(), e);
            try {
                send(ex, 500, error("internal error; the alerting service's log says more"));
            } catch (IOException gone) {
                ex.close(); // the client is gone or the answer already started
            }
        }
    }

    /**
     * Alertmanager's {@code POST /api/v2/alerts}, as Prometheus sends its firing and resolved
     * alerts: each is a pipeline alert on {@code plantwatch/pipeline/<instance>/<part>/<name>},
     * where the part is its {@code part} label (else its {@code job}, else {@code prometheus}) and
     * the name its {@code alertname}, with its {@code instance} and {@code severity} labels and,
     * when it has labels beyond those, a short hash of them (one rule's label sets are apart). It
     * stands until its {@code endsAt}, as Alertmanager has it; Prometheus sends it again before
     * then while it fires. As Alertmanager does, an alert that cannot be taken is skipped and
     * logged and the rest are taken: Prometheus does not send a refused batch again.
     */
    private void prometheusAlerts(HttpExchange ex) throws IOException {
        byte[] raw = ex.getRequestBody().readNBytes(MAX_PROMETHEUS_BODY + 1);
        if (raw.length > MAX_PROMETHEUS_BODY) {
            send(ex, 413, error("the body is larger than " + MAX_PROMETHEUS_BODY + " bytes"));
            return;
        }
        JsonNode body;
        try {
            body = json.readTree(raw);
        } catch (JsonProcessingException e) {
            throw new BadRequest("the body is not valid JSON; send a JSON array of alerts");
        }
        if (!(body instanceof ArrayNode alerts)) {
            throw new BadRequest("the body must be a JSON array of alerts, as Prometheus sends");
        }
        long now = clock.getAsLong();
        int skipped = 0;
        String firstSkipped = null;
        for (int i = 0; i < alerts.size(); i++) {
            String why = prometheusAlert(alerts.get(i), now);
            if (why != null) {
                skipped++;
                if (firstSkipped == null) {
                    firstSkipped = "alerts[" + i + "] " + why;
                }
            }
        }
        if (skipped > 0) {
            LOG.warn(
                    "Prometheus sent {} alerts that cannot be taken; the first: {}",
                    skipped,
                    firstSkipped);
        }
        send(ex, 200, json.createObjectNode().put("skipped", skipped));
    }

    /** The largest body Prometheus' alerts may come in (it sends at most 256 alerts in one). */
    static final int MAX_PROMETHEUS_BODY = 4 << 20;

    /** Takes one of Prometheus' alerts; why not, or null. */
    private String prometheusAlert(JsonNode a, long now) {
        JsonNode labels = a.path("labels");
        String alertname = labels.path("alertname").asText("");
        if (alertname.isBlank()) {
            return "has no labels.alertname";
        }
        long startsAt;
        long endsAt;
        try {
            startsAt = time(a, "startsAt", now);
            // Without an end, Alertmanager's resolve_timeout (5 min).
            endsAt = time(a, "endsAt", now + 5 * 60_000);
        } catch (java.time.DateTimeException | ArithmeticException e) {
            return "has a time that is not an RFC 3339 time of this era: "
                    + SensorId.visible(cut(a.path("startsAt").asText(""), 40))
                    + " / "
                    + SensorId.visible(cut(a.path("endsAt").asText(""), 40));
        }
        if (alertname.equals(WATCHDOG)) {
            if (endsAt <= now) {
                // Its rule taken away: nothing to expect any more.
                pipeline.report(PROMETHEUS_SILENT, null, now);
            } else {
                pipeline.expectAgainBy(
                        PROMETHEUS_SILENT,
                        "No word from Prometheus since "
                                + Instant.ofEpochMilli(now)
                                + ": its Watchdog stopped coming. It is down, its rules are not"
                                + " evaluated, or it cannot reach alerting; nothing it watches is"
                                + " told until it is back.",
                        endsAt);
            }
            return null;
        }
        java.util.TreeMap<String, String> others = new java.util.TreeMap<>();
        labels.fields()
                .forEachRemaining(
                        e -> {
                            if (!PROMETHEUS_NAMING_LABELS.contains(e.getKey())) {
                                others.put(e.getKey(), e.getValue().asText());
                            }
                        });
        String instance = labels.path("instance").asText("");
        // A rule's warning and critical tiers are two alerts, as in Alertmanager: the critical one
        // is told when it begins, whatever its routes.
        String severity = labels.path("severity").asText("").strip();
        String name =
                alertname
                        + (instance.isBlank() ? "" : "-" + instance)
                        + (severity.isEmpty() ? "" : "-" + severity);
        if (!others.isEmpty()) {
            String hash =
                    java.util
                            .UUID
                            .nameUUIDFromBytes(others.toString().getBytes(StandardCharsets.UTF_8))
                            .toString()
                            .substring(0, 6);
            name = cut(name, SensorId.MAX_LEVEL_LENGTH - 7) + "-" + hash;
        }
        String part = firstOf(labels, "part", "job").orElse("prometheus");
        String message =
                cut(
                        SensorId.visible(
                                firstOf(a.path("annotations"), "summary", "description")
                                        .orElse(alertname + " fires in Prometheus.")
                                        .replaceAll("\\s+", " ")),
                        1_000);
        PipelineAlerts.Check check =
                new PipelineAlerts.Check(
                        level(part),
                        level(name),
                        prometheusSeverity(labels.path("severity").asText("")),
                        "Prometheus no longer fires " + SensorId.visible(alertname) + ".",
                        // Its rule's `for` has waited already.
                        true);
        boolean taken =
                endsAt <= now
                        ? pipeline.report(check, null, now, now, now)
                        : pipeline.report(check, message, startsAt, endsAt, now);
        return taken
                ? null
                : "is beyond the "
                        + PipelineAlerts.MAX_REPORTED
                        + " checks taken (name a part or an alert anew less often)";
    }

    /**
     * Prometheus' always-firing alert, by Alertmanager setups' custom: not told itself; its absence
     * is ({@link #PROMETHEUS_SILENT}).
     */
    static final String WATCHDOG = "Watchdog";

    static final PipelineAlerts.Check PROMETHEUS_SILENT =
            new PipelineAlerts.Check(
                    "prometheus",
                    "watchdog",
                    Severity.CRITICAL,
                    "Prometheus' Watchdog comes again: what it watches is told again.",
                    // Its end, 4 minutes after the last, has waited already.
                    true);

    /** What names a pipeline alert from Prometheus; any other label sets it apart by a hash. */
    private static final java.util.Set<String> PROMETHEUS_NAMING_LABELS =
            java.util.Set.of("alertname", "part", "job", "instance", "severity");

    private static java.util.Optional<String> firstOf(JsonNode n, String... keys) {
        for (String k : keys) {
            String v = n.path(k).asText("");
            if (!v.isBlank()) {
                return java.util.Optional.of(v.strip());
            }
        }
        return java.util.Optional.empty();
    }

    /** {@code text} as one level of a sensor id: each character a level may not hold as '-'. */
    private static String level(String text) {
        StringBuilder b = new StringBuilder(text.length());
        text.codePoints()
                .forEach(
                        c ->
                                b.appendCodePoint(
                                        c == '/'
                                                        || c == '+'
                                                        || c == '#'
                                                        || Character.isWhitespace(c)
                                                        || SensorId.invisible(c)
                                                ? '-'
                                                : c));
        String l = cut(b.toString(), SensorId.MAX_LEVEL_LENGTH);
        return l.isEmpty() ? "-" : l;
    }

    /** The first {@code max} characters of {@code s}, not splitting a surrogate pair. */
    private static String cut(String s, int max) {
        if (s.length() <= max) {
            return s;
        }
        int end = Character.isHighSurrogate(s.charAt(max - 1)) ? max - 1 : max;
        return s.substring(0, end);
    }

    /** Prometheus' severity labels by custom: critical (or page), warning, info. */
    private static Severity prometheusSeverity(String label) {
        return switch (label.strip().toLowerCase(java.util.Locale.ROOT)) {
            case "critical", "page", "error" -> Severity.CRITICAL;
            case "info", "none" -> Severity.INFO;
            default -> Severity.WARNING;
        };
    }

    private static long time(JsonNode a, String key, long otherwise) {
        String text = a.path(key).asText("");
        // Go's zero time: Prometheus sends it for "not set".
        if (text.isBlank() || text.startsWith("0001-01-01")) {
            return otherwise;
        }
        return java.time.OffsetDateTime.parse(text).toInstant().toEpochMilli();
    }

    /** A request the client must change; the message says what, in one line. */
    static final class BadRequest extends RuntimeException {
        private static final long serialVersionUID = 1L;

        BadRequest(String message) {
            super(message);
        }
    }

    /** The request body as a JSON object; anything else is the client's mistake. */
    private ObjectNode readObject(HttpExchange ex) throws IOException {
        JsonNode body;
        try {
            body = json.readTree(ex.getRequestBody());
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            throw new BadRequest(
                    "the body is not valid JSON"
                            + (at == null
                                    ? ""
                                    : " (line "
                                            + at.getLineNr()
                                            + ", column "
                                            + at.getColumnNr()
                                            + ")")
                            + "; send a JSON object");
        }
        if (body instanceof ObjectNode o) {
            return o;
        }
        throw new BadRequest("the body must be a JSON object");
    }

    private void metrics(HttpExchange ex) throws IOException {
        if (!authorized(ex)) {
            ex.getResponseHeaders().add("WWW-Authenticate", "Bearer");
            send(ex, 401, error("a valid bearer token is required"));
            return;
        }
        byte[] body = metrics.get().getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().add("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
        ex.sendResponseHeaders(200, body.length);
        ex.getResponseBody().write(body);
        ex.close();
    }

    private boolean authorized(HttpExchange ex) {
        String h = ex.getRequestHeaders().getFirst("Authorization");
        if (h == null) {
            return false;
        }
        int space = h.indexOf(' ');
        // The scheme is case-insensitive (RFC 7235): clients send "bearer" too.
        if (space < 0 || !h.substring(0, space).equalsIgnoreCase("Bearer")) {
            return false;
        }
        return MessageDigest.isEqual(
                h.substring(space + 1).strip().getBytes(StandardCharsets.UTF_8), token);
    }

    /** Alerts on a page unless {@code limit} says otherwise. */
    static final int DEFAULT_LIMIT = 100;

    /** The most on one page: a page is built and sent in one piece. */
    static final int MAX_LIMIT = 1000;

    /**
     * A page of the alerts the filters take, newest episode first. {@code count} is every match, as
     * before there were pages; {@code next} is the path of the page after, while there is one.
     */
    private ObjectNode alerts(Map<String, String> q) {
        known(q, ALERT_PARAMETERS);
        String status =
                q.containsKey("status")
                        ? constant(AlertStore.Status.class, "status", q.get("status"))
                        : null;
        Map<String, String> labels = new HashMap<>();
        for (String label : Route.LABELS) {
            if (q.containsKey(label)) {
                String v = q.get(label);
                labels.put(
                        label,
                        switch (label) {
                            case "severity" -> constant(Severity.class, label, v);
                            case "kind" -> constant(AlertKind.class, label, v);
                            default -> v;
                        });
            }
        }
        int limit = limit(q.get("limit"));
        AlertStore.Position before = q.containsKey("before") ? cursor(q.get("before")) : null;
        AlertStore.Page page =
                store.newestFirst(
                        (alert, st) -> {
                            if (status != null && !st.name().equals(status)) {
                                return false;
                            }
                            for (Map.Entry<String, String> l : labels.entrySet()) {
                                // The API shows an alert's sensor as its whole id, so that is
                                // what a client filters by; the last level alone is the label as
                                // routes know it.
                                String has =
                                        l.getKey().equals("sensor") && l.getValue().contains("/")
                                                ? alert.sensorId().id()
                                                : Route.label(alert, l.getKey());
                                if (!l.getValue().equals(has)) {
                                    return false;
                                }
                            }
                            return true;
                        },
                        limit,
                        before);
        ObjectNode out = json.createObjectNode();
        out.put("count", page.total());
        ArrayNode list = out.putArray("alerts");
        page.entries().forEach(e -> list.add(entry(e)));
        if (page.more()) {
            AlertStore.Entry last = page.entries().get(page.entries().size() - 1);
            StringBuilder next = new StringBuilder("/api/alerts?");
            for (String p : ALERT_FILTERS) {
                if (q.containsKey(p)) {
                    next.append(p).append('=').append(encode(q.get(p))).append('&');
                }
            }
            next.append("limit=").append(limit);
            next.append("&before=").append(cursor(AlertStore.Position.of(last.alert())));
            out.put("next", next.toString());
        }
        return out;
    }

    private static String encode(String v) {
        return java.net.URLEncoder.encode(v, StandardCharsets.UTF_8);
    }

    private static int limit(String v) {
        if (v == null) {
            return DEFAULT_LIMIT;
        }
        try {
            int n = Integer.parseInt(v.trim());
            if (n >= 1 && n <= MAX_LIMIT) {
                return n;
            }
        } catch (NumberFormatException e) {
            // Said below, as for a number out of range.
        }
        throw new BadRequest(
                "limit=" + v + " is not a number from 1 to " + MAX_LIMIT + " (alerts on a page)");
    }

    /**
     * The cursor a {@code next} link carries: opaque to clients (base64url), so its form may
     * change; it holds the position of the page's last alert.
     */
    private static String cursor(AlertStore.Position p) {
        return Base64.getUrlEncoder()
                .withoutPadding()
                .encodeToString(
                        (p.episodeStart() + ":" + p.alertId()).getBytes(StandardCharsets.UTF_8));
    }

    private static AlertStore.Position cursor(String v) {
        try {
            String text = new String(Base64.getUrlDecoder().decode(v), StandardCharsets.UTF_8);
            int colon = text.indexOf(':');
            return new AlertStore.Position(
                    Long.parseLong(text.substring(0, colon)), text.substring(colon + 1));
        } catch (IllegalArgumentException | IndexOutOfBoundsException e) {
            throw new BadRequest(
                    "before="
                            + v
                            + " is not a cursor this API gave; follow the next link of the page"
                            + " before");
        }
    }

    private static final List<String> ALERT_FILTERS = filters();

    private static final List<String> ALERT_PARAMETERS = parameters();

    private static List<String> filters() {
        List<String> f = new ArrayList<>(List.of("status"));
        f.addAll(Route.LABELS);
        return List.copyOf(f);
    }

    private static List<String> parameters() {
        List<String> p = new ArrayList<>(ALERT_FILTERS);
        p.addAll(List.of("limit", "before"));
        return List.copyOf(p);
    }

    /** The longest shelving: an alert shelved for longer is forgotten, not shelved. */
    static final Duration MAX_SHELVING = Duration.ofDays(30);

    /** A misspelt parameter would otherwise be ignored and the answer look like a real one. */
    private static void known(Map<String, String> q, List<String> allowed) {
        for (String p : q.keySet()) {
            if (!allowed.contains(p)) {
                throw new BadRequest(
                        "unknown query parameter "
                                + p
                                + (allowed.isEmpty()
                                        ? "; this path takes none"
                                        : "; use " + allowed));
            }
        }
    }

    /** An enum's value in any case, as for silences and routes. */
    private static <E extends Enum<E>> String constant(Class<E> type, String param, String v) {
        for (E e : type.getEnumConstants()) {
            if (e.name().equalsIgnoreCase(v.trim())) {
                return e.name();
            }
        }
        throw new BadRequest(
                param + "=" + v + " is not one of " + Arrays.toString(type.getEnumConstants()));
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
        AlertDetail.put(o, e.alert());
        o.put("notified", e.notified());
        long until = store.shelvedUntil(e.alert().alertId());
        if (until >= 0 && until < Long.MAX_VALUE) {
            o.put("shelved_until", Instant.ofEpochMilli(until).toString());
        }
        ArrayNode h = o.putArray("history");
        e.history().forEach(h::add);
        return o;
    }

    private void statusChange(HttpExchange ex, String id, String action, Map<String, String> q)
            throws IOException {
        String by = q.getOrDefault("by", "api");
        AlertStore.Entry e = store.entry(id);
        if (e == null) {
            send(ex, 404, error("no alert " + id));
            return;
        }
        long now = clock.getAsLong();
        switch (action) {
            case "ack" -> {
                known(q, List.of("by"));
                dispatcher.acknowledge(id, by, now);
            }
            case "shelve" -> {
                known(q, List.of("for", "by"));
                String duration = q.getOrDefault("for", "1h");
                long until = now + shelving(duration).toMillis();
                dispatcher.shelve(id, by + " for " + duration, now, until);
            }
            case "close" -> {
                known(q, List.of("by", "reason"));
                String reason = q.getOrDefault("reason", "").trim();
                // Both go into every notification of it: a line break would forge a line of
                // Slack's or an e-mail's text.
                printable("by", by, 64);
                printable("reason", reason, 500);
                dispatcher.closeByHand(id, by.trim(), reason, now);
            }
            default -> {
                send(ex, 404, error("no action " + action + "; use ack, shelve or close"));
                return;
            }
        }
        send(ex, 200, entry(store.entry(id)));
    }

    private static void printable(String param, String v, int max) {
        if (param.equals("by") && v.isBlank()) {
            throw new BadRequest("by is empty; say who closes it");
        }
        if (v.length() > max) {
            throw new BadRequest(param + " has " + v.length() + " characters; at most " + max);
        }
        for (int i = 0; i < v.length(); i++) {
            if (io.plantwatch.model.SensorId.invisible(v.codePointAt(i))) {
                throw new BadRequest(param + " contains a control or format character");
            }
        }
    }

    private static Duration shelving(String text) {
        Duration d;
        try {
            d = Durations.parse(text);
        } catch (IllegalArgumentException e) {
            throw new BadRequest("for=" + text + " is not a duration; write e.g. 30m, 2h or 1d");
        }
        if (d.isZero() || d.isNegative() || d.compareTo(MAX_SHELVING) > 0) {
            throw new BadRequest(
                    "for="
                            + text
                            + " is out of range; shelve for more than 0 and at most "
                            + MAX_SHELVING.toDays()
                            + "d");
        }
        return d;
    }

    private void silencesRoute(HttpExchange ex, String method, String[] path) throws IOException {
        Instant now = Instant.ofEpochMilli(clock.getAsLong());
        if (path.length == 1 && method.equals("GET")) {
            ObjectNode out = json.createObjectNode();
            ArrayNode list = out.putArray("silences");
            store.silences()
                    .forEach(s -> list.add(s.toJson(json).put("active", now.isBefore(s.endsAt()))));
            send(ex, 200, out);
        } else if (path.length == 1 && method.equals("POST")) {
            ObjectNode body = readObject(ex);
            body.remove("id"); // ids are ours to give
            body.remove("active"); // as listed: a silence copied from the list is taken
            Silence s = Silence.fromJson(body, "request");
            dispatcher.silence(s);
            send(ex, 201, s.toJson(json));
        } else if (path.length == 2 && method.equals("DELETE")) {
            Silence found =
                    store.silences().stream()
                            .filter(s -> s.id().equals(path[1]))
                            .findFirst()
                            .orElse(null);
            if (found == null) {
                send(ex, 404, error("no silence " + path[1]));
                return;
            }
            Silence expired = found.expiredAt(now);
            dispatcher.silence(expired);
            send(ex, 200, expired.toJson(json).put("active", false));
        } else {
            send(ex, 405, error("not allowed"));
        }
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
            } else if (eq < 0 && !kv.isEmpty()) {
                // Kept, so that a parameter without a value is checked like any other.
                q.put(URLDecoder.decode(kv, StandardCharsets.UTF_8), "");
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
