package io.plantwatch.alerting;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.plantwatch.model.Alert;
import io.plantwatch.model.AlertKind;
import io.plantwatch.model.AlertState;
import io.plantwatch.model.SensorId;
import io.plantwatch.model.Severity;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The operators' API over real HTTP: token required, filters, acknowledge, silences. */
class AlertingApiTest {
    private static final String TOKEN = "op3rator-t0ken";
    @TempDir Path dir;
    private AlertStore store;
    private AlertingApi api;
    private Dispatcher dispatcher;
    private final HttpClient http = HttpClient.newHttpClient();
    private final ObjectMapper json = new ObjectMapper();

    private static Alert alert(String id, String line) {
        return alert(id, line, AlertState.OPEN);
    }

    private static Alert alert(String id, String line, AlertState state) {
        return alert(id, line, state, 1_000);
    }

    private static Alert alert(String id, String line, AlertState state, long episodeStart) {
        return new Alert(
                id,
                SensorId.parse("dresden/press-shop/" + line + "/press-1/oil-temp"),
                "spike",
                AlertKind.SPIKE,
                Severity.CRITICAL,
                state,
                episodeStart,
                episodeStart,
                episodeStart + 1_000,
                List.of(1.0),
                "oil-temp spiked");
    }

    @BeforeEach
    void start() throws Exception {
        store = new AlertStore(dir);
        store.event(alert("a", "line-1"), 0, 0, 10);
        store.event(alert("b", "line-2"), 0, 1, 11);
        Route root = ShippedRoutes.to("log");
        dispatcher =
                new Dispatcher(
                        store,
                        root,
                        Map.of(),
                        new FloodGate(20, 600_000),
                        new FlapDetector(6, 1_800_000),
                        List.of());
        api =
                new AlertingApi(
                        store,
                        dispatcher,
                        new PrometheusMetrics(dispatcher, store, () -> 3, () -> 99)::render,
                        TOKEN.getBytes(StandardCharsets.UTF_8),
                        "127.0.0.1",
                        0,
                        () -> 99);
    }

    @AfterEach
    void stop() {
        api.close();
        dispatcher.close();
        store.close();
    }

    private HttpResponse<String> call(String method, String path, String token, String body)
            throws Exception {
        HttpRequest.Builder b =
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + api.port() + path))
                        .method(
                                method,
                                body == null
                                        ? HttpRequest.BodyPublishers.noBody()
                                        : HttpRequest.BodyPublishers.ofString(body));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /**
     * Replaces the API with one taking Prometheus' alerts into {@code pipeline}, at {@code now}.
     */
    private void takingPrometheusAlerts(
            java.util.concurrent.atomic.AtomicLong now, PipelineAlerts pipeline) throws Exception {
        api.close();
        api =
                new AlertingApi(
                        store,
                        dispatcher,
                        () -> "",
                        () -> AlertingApi.Health.UP,
                        TOKEN.getBytes(StandardCharsets.UTF_8),
                        "127.0.0.1",
                        0,
                        now::get,
                        pipeline);
    }

    /** One alert as Prometheus posts it while it fires: its end 4 minutes after this send. */
    private static String firing(String labels, String summary, String startsAt, long sentAt) {
        return "{\"labels\": "
                + labels
                + ", \"annotations\": {\"summary\": "
                + new ObjectMapper().valueToTree(summary)
                + "}, \"startsAt\": \""
                + startsAt
                + "\", \"endsAt\": \""
                + Instant.ofEpochMilli(sentAt + 4 * 60_000)
                + "\", \"generatorURL\": \"http://prometheus:9090/graph\"}";
    }

    /**
     * Prometheus posts its alerts as to an Alertmanager: each is a pipeline alert until its end,
     * named by its part (or job), alertname, instance and other labels.
     */
    @Test
    void prometheusAlertsAreToldAsPipelineAlertsUntilTheirEnd() throws Exception {
        long t0 = Instant.parse("2026-12-07T10:00:00Z").toEpochMilli();
        java.util.concurrent.atomic.AtomicLong now = new java.util.concurrent.atomic.AtomicLong(t0);
        PipelineAlerts pipeline = new PipelineAlerts();
        takingPrometheusAlerts(now, pipeline);
        String jobNotRunning =
                firing(
                        "{\"alertname\": \"JobNotRunning\", \"severity\": \"critical\","
                                + " \"part\": \"anomaly-job\"}",
                        "No anomaly job runs on the Flink cluster.\nRestart the jobmanager.",
                        "2026-12-07T09:58:00Z",
                        t0);
        String targetDown =
                firing(
                        "{\"alertname\": \"TargetDown\", \"severity\": \"critical\","
                                + " \"job\": \"flink\", \"instance\": \"taskmanager:9249\"}",
                        "Prometheus cannot reach taskmanager:9249 (flink)\u202e.",
                        "2026-12-07T09:59:00Z",
                        t0);
        String lagTopicA =
                firing(
                        "{\"alertname\": \"Lag\", \"topic\": \"a/b\"}",
                        "Lag on a.",
                        "2026-12-07T09:59:00Z",
                        t0);
        String lagTopicB =
                firing(
                        "{\"alertname\": \"Lag\", \"topic\": \"c\"}",
                        "Lag on c.",
                        "2026-12-07T09:59:00Z",
                        t0);
        assertThat(call("POST", "/api/v2/alerts", null, "[" + jobNotRunning + "]").statusCode())
                .isEqualTo(401);
        assertThat(call("GET", "/api/v2/alerts", TOKEN, null).statusCode()).isEqualTo(405);
        assertThat(call("POST", "/api/v2/alerts", TOKEN, "{}").body())
                .contains("the body must be a JSON array of alerts");
        // As Alertmanager: what cannot be taken is skipped, the rest taken (Prometheus does not
        // send a refused batch again).
        HttpResponse<String> partly =
                call(
                        "POST",
                        "/api/v2/alerts",
                        TOKEN,
                        "["
                                + String.join(
                                        ", ",
                                        jobNotRunning,
                                        targetDown,
                                        lagTopicA,
                                        lagTopicB,
                                        "{\"labels\": {}}",
                                        "{\"labels\": {\"alertname\": \"A\"}, \"endsAt\":"
                                                + " \"soon\"}")
                                + "]");
        assertThat(partly.statusCode()).isEqualTo(200);
        assertThat(json.readTree(partly.body()).path("skipped").asInt()).isEqualTo(2);

        PipelineAlerts.Run run = pipeline.start(PipelineAlerts.Settings.DEFAULT, store, t0);
        run.apply(dispatcher, t0);
        assertThat(store.firing())
                .filteredOn(a -> a.rule().equals(PipelineAlerts.RULE))
                .extracting(a -> a.sensorId().id(), Alert::severity, Alert::message)
                .containsExactlyInAnyOrder(
                        org.assertj.core.groups.Tuple.tuple(
                                "plantwatch/pipeline/appliance/anomaly-job/JobNotRunning-critical",
                                Severity.CRITICAL,
                                "No anomaly job runs on the Flink cluster. Restart the"
                                        + " jobmanager."),
                        org.assertj.core.groups.Tuple.tuple(
                                "plantwatch/pipeline/appliance/flink/TargetDown-taskmanager:9249-critical",
                                Severity.CRITICAL,
                                "Prometheus cannot reach taskmanager:9249 (flink)?."),
                        org.assertj.core.groups.Tuple.tuple(
                                "plantwatch/pipeline/appliance/prometheus/Lag-"
                                        + java.util
                                                .UUID
                                                .nameUUIDFromBytes(
                                                        "{topic=a/b}"
                                                                .getBytes(StandardCharsets.UTF_8))
                                                .toString()
                                                .substring(0, 6),
                                Severity.WARNING,
                                "Lag on a."),
                        org.assertj.core.groups.Tuple.tuple(
                                "plantwatch/pipeline/appliance/prometheus/Lag-"
                                        + java.util
                                                .UUID
                                                .nameUUIDFromBytes(
                                                        "{topic=c}"
                                                                .getBytes(StandardCharsets.UTF_8))
                                                .toString()
                                                .substring(0, 6),
                                Severity.WARNING,
                                "Lag on c."));
        String jobId =
                Alert.idFor(
                        SensorId.parse(
                                "plantwatch/pipeline/appliance/anomaly-job/JobNotRunning-critical"),
                        PipelineAlerts.RULE,
                        t0 - 120_000);
        assertThat(store.statusOf(jobId)).as("its episode from its startsAt").isNotNull();

        // A minute later: sent again while it fires (the same episode), and one resolved.
        now.set(t0 + 60_000);
        String lagAResolved =
                lagTopicA.replaceAll(
                        "\"endsAt\": \"[^\"]+\"", "\"endsAt\": \"2026-12-07T10:00:30Z\"");
        assertThat(
                        call(
                                        "POST",
                                        "/api/v2/alerts",
                                        TOKEN,
                                        "["
                                                + firing(
                                                        "{\"alertname\": \"JobNotRunning\","
                                                                + " \"severity\": \"critical\","
                                                                + " \"part\": \"anomaly-job\"}",
                                                        "No anomaly job runs.",
                                                        "2026-12-07T09:58:00Z",
                                                        t0 + 60_000)
                                                + ", "
                                                + targetDown
                                                + ", "
                                                + lagAResolved
                                                + "]")
                                .statusCode())
                .isEqualTo(200);
        run.apply(dispatcher, t0 + 60_000);
        run.apply(dispatcher, t0 + 90_000);
        assertThat(store.alert(jobId).state()).isEqualTo(AlertState.OPEN);
        assertThat(store.firing())
                .filteredOn(a -> a.rule().equals(PipelineAlerts.RULE))
                .extracting(Alert::message)
                .doesNotContain("Lag on a.")
                .contains("Lag on c.");
        assertThat(store.all())
                .extracting(e -> e.alert().message())
                .contains("Prometheus no longer fires Lag.");

        // Not sent again before their end (Prometheus down, or the alert resolved unsent).
        run.apply(dispatcher, t0 + 5 * 60_000);
        run.apply(dispatcher, t0 + 5 * 60_000 + 30_000);
        assertThat(store.alert(jobId).state()).isEqualTo(AlertState.RESOLVED);
        assertThat(store.alert(jobId).message())
                .startsWith("No word on this since 2026-12-07T10:05:00Z")
                .contains("Prometheus");
    }

    /**
     * Prometheus' Watchdog, always firing, is not told; once it stops coming (its last end passed),
     * a pipeline alert says Prometheus is silent, and its return resolves it.
     */
    @Test
    void prometheusFallingSilentIsToldByItsWatchdogNotComing() throws Exception {
        long t0 = Instant.parse("2026-12-07T10:00:00Z").toEpochMilli();
        java.util.concurrent.atomic.AtomicLong now = new java.util.concurrent.atomic.AtomicLong(t0);
        PipelineAlerts pipeline = new PipelineAlerts();
        takingPrometheusAlerts(now, pipeline);
        java.util.function.LongFunction<String> watchdog =
                sentAt ->
                        "["
                                + firing(
                                        "{\"alertname\": \"Watchdog\", \"severity\": \"none\"}",
                                        "Always firing.",
                                        "2026-12-07T09:00:00Z",
                                        sentAt)
                                + "]";
        assertThat(call("POST", "/api/v2/alerts", TOKEN, watchdog.apply(t0)).statusCode())
                .isEqualTo(200);
        PipelineAlerts.Run run = pipeline.start(PipelineAlerts.Settings.DEFAULT, store, t0);
        run.apply(dispatcher, t0);
        run.apply(dispatcher, t0 + 4 * 60_000 - 1);
        assertThat(store.firing())
                .as("the Watchdog itself is told to nobody")
                .noneMatch(a -> a.rule().equals(PipelineAlerts.RULE));

        run.apply(dispatcher, t0 + 4 * 60_000);
        assertThat(store.firing())
                .filteredOn(a -> a.rule().equals(PipelineAlerts.RULE))
                .singleElement()
                .satisfies(
                        a -> {
                            assertThat(a.sensorId().id())
                                    .isEqualTo("plantwatch/pipeline/appliance/prometheus/watchdog");
                            assertThat(a.severity()).isEqualTo(Severity.CRITICAL);
                            assertThat(a.message())
                                    .startsWith(
                                            "No word from Prometheus since 2026-12-07T10:00:00Z");
                        });

        now.set(t0 + 6 * 60_000);
        call("POST", "/api/v2/alerts", TOKEN, watchdog.apply(t0 + 6 * 60_000));
        run.apply(dispatcher, t0 + 6 * 60_000);
        run.apply(dispatcher, t0 + 6 * 60_000 + 30_000);
        assertThat(store.firing()).noneMatch(a -> a.rule().equals(PipelineAlerts.RULE));
        assertThat(store.all())
                .extracting(e -> e.alert().message())
                .contains("Prometheus' Watchdog comes again: what it watches is told again.");
    }

    @Test
    void withoutAValidTokenEveryRequestIs401AndChangesNothing() throws Exception {
        assertThat(call("GET", "/api/alerts", null, null).statusCode()).isEqualTo(401);
        assertThat(call("POST", "/api/alerts/a/ack", "guess", null).statusCode()).isEqualTo(401);
        assertThat(
                        call("POST", "/api/silences", null, "{\"match\":{\"line\":\"line-1\"}}")
                                .statusCode())
                .isEqualTo(401);
        assertThat(store.all()).allMatch(e -> e.status() == AlertStore.Status.OPEN);
        assertThat(call("GET", "/metrics", null, null).statusCode()).isEqualTo(401);
        assertThat(store.silences()).isEmpty();
        assertThat(call("GET", "/health", null, null).statusCode()).isEqualTo(200);
    }

    @Test
    void theAuthorizationSchemeIsCaseInsensitive() throws Exception {
        for (String scheme : List.of("bearer", "BEARER", "Bearer")) {
            HttpRequest request =
                    HttpRequest.newBuilder(
                                    URI.create("http://127.0.0.1:" + api.port() + "/api/alerts"))
                            .header("Authorization", scheme + " " + TOKEN)
                            .build();
            assertThat(http.send(request, HttpResponse.BodyHandlers.ofString()).statusCode())
                    .as(scheme)
                    .isEqualTo(200);
        }
        HttpRequest basic =
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + api.port() + "/metrics"))
                        .header("Authorization", "Basic " + TOKEN)
                        .build();
        assertThat(http.send(basic, HttpResponse.BodyHandlers.ofString()).statusCode())
                .isEqualTo(401);
    }

    /**
     * A person closes an alert the detector will not resolve: RESOLVED, who and why in its history
     * and message; closed again, or with a misspelt parameter, it is refused and nothing changes.
     */
    @Test
    void anAlertIsClosedByHandOnce() throws Exception {
        HttpResponse<String> closed =
                call(
                        "POST",
                        "/api/alerts/a/close?by=maria&reason=sensor%20taken%20out%20of%20service",
                        TOKEN,
                        null);
        assertThat(closed.statusCode()).isEqualTo(200);
        JsonNode after = json.readTree(closed.body());
        assertThat(after.path("status").asText()).isEqualTo("RESOLVED");
        assertThat(after.path("message").asText())
                .isEqualTo("closed by maria: sensor taken out of service");
        assertThat(store.entry("a").history())
                .contains(
                        "1970-01-01T00:00:00.099Z RESOLVED by maria, closed: sensor taken out of"
                                + " service");
        assertThat(call("POST", "/api/alerts/a/close?by=maria", TOKEN, null).statusCode())
                .isEqualTo(409);
        assertThat(call("POST", "/api/alerts/b/close?who=maria", TOKEN, null).statusCode())
                .isEqualTo(400);
        assertThat(store.statusOf("b")).isEqualTo(AlertStore.Status.OPEN);
        assertThat(call("POST", "/api/alerts/zzz/close", TOKEN, null).statusCode()).isEqualTo(404);
        // Who and why go into notifications: no line break to forge a line, no empty name.
        assertThat(
                        call(
                                        "POST",
                                        "/api/alerts/b/close?by=maria&reason=a%0A%E2%80%A2%20CRITICAL",
                                        TOKEN,
                                        null)
                                .statusCode())
                .isEqualTo(400);
        assertThat(call("POST", "/api/alerts/b/close?by=%20", TOKEN, null).statusCode())
                .isEqualTo(400);
        assertThat(store.statusOf("b")).isEqualTo(AlertStore.Status.OPEN);
    }

    /** The API says an alert's readings, unit and limits, and a close by hand keeps them. */
    @Test
    void anAlertsValuesUnitAndLimitsAreListedAndKeptWhenClosedByHand() throws Exception {
        store.event(alert("d", "line-4").withDetail("degC", Map.of("rise", 8.0)), 0, 2, 12);
        JsonNode listed =
                json.readTree(call("GET", "/api/alerts?line=line-4", TOKEN, null).body())
                        .path("alerts")
                        .get(0);
        assertThat(listed.path("values").toString()).isEqualTo("[1.0]");
        assertThat(listed.path("unit").asText()).isEqualTo("degC");
        assertThat(listed.path("limits").toString()).isEqualTo("{\"rise\":8.0}");

        HttpResponse<String> closed = call("POST", "/api/alerts/d/close?by=maria", TOKEN, null);
        assertThat(closed.statusCode()).isEqualTo(200);
        assertThat(json.readTree(closed.body()).path("limits").toString())
                .isEqualTo("{\"rise\":8.0}");
        assertThat(store.alert("d").state()).isEqualTo(AlertState.RESOLVED);
        assertThat(store.alert("d").unit()).isEqualTo("degC");
        // One without them says so with an empty object, not a missing field.
        JsonNode plain =
                json.readTree(call("GET", "/api/alerts?line=line-1", TOKEN, null).body())
                        .path("alerts")
                        .get(0);
        assertThat(plain.path("limits").isObject()).isTrue();
        assertThat(plain.path("limits").size()).isZero();
        assertThat(plain.has("unit")).isFalse();
    }

    @Test
    void listsWithFiltersAcknowledgesAndManagesSilences() throws Exception {
        JsonNode line1 = json.readTree(call("GET", "/api/alerts?line=line-1", TOKEN, null).body());
        assertThat(line1.path("count").asInt()).isEqualTo(1);
        assertThat(line1.path("alerts").get(0).path("alert_id").asText()).isEqualTo("a");

        HttpResponse<String> ack = call("POST", "/api/alerts/a/ack?by=maria", TOKEN, null);
        assertThat(ack.statusCode()).isEqualTo(200);
        assertThat(json.readTree(ack.body()).path("status").asText()).isEqualTo("ACKNOWLEDGED");
        assertThat(store.all().get(0).history())
                .contains("1970-01-01T00:00:00.099Z ACKNOWLEDGED by maria");
        assertThat(call("POST", "/api/alerts/zzz/ack", TOKEN, null).statusCode()).isEqualTo(404);

        HttpResponse<String> created =
                call(
                        "POST",
                        "/api/silences",
                        TOKEN,
                        "{\"match\":{\"line\":\"line-1\"},\"starts_at\":\"2026-11-25T08:00:00Z\","
                                + "\"ends_at\":\"2026-11-25T10:00:00Z\",\"created_by\":\"maria\"}");
        assertThat(created.statusCode()).isEqualTo(201);
        String id = json.readTree(created.body()).path("id").asText();
        assertThat(store.silences()).extracting(Silence::id).containsExactly(id);
        assertThat(
                        call("POST", "/api/silences", TOKEN, "{\"match\":{\"colour\":\"red\"}}")
                                .statusCode())
                .isEqualTo(400);
        assertThat(call("DELETE", "/api/silences/" + id, TOKEN, null).statusCode()).isEqualTo(200);
        // Expired, not forgotten: listed as inactive.
        JsonNode listed = json.readTree(call("GET", "/api/silences", TOKEN, null).body());
        assertThat(listed.path("silences").get(0).path("active").asBoolean()).isFalse();
    }

    @Test
    void createsARecurringMaintenanceWindowThatOutlivesARestart() throws Exception {
        HttpResponse<String> created =
                call(
                        "POST",
                        "/api/silences",
                        TOKEN,
                        "{\"match\":{\"line\":[\"line-1\"]},\"weekly\":{\"days\":[\"SUNDAY\"],"
                                + "\"start\":\"06:00\",\"duration\":\"8h\","
                                + "\"zone\":\"Europe/Berlin\"},\"comment\":\"planned shutdown\"}");
        assertThat(created.statusCode()).isEqualTo(201);
        JsonNode body = json.readTree(created.body());
        assertThat(body.path("weekly").path("days").get(0).asText()).isEqualTo("SUNDAY");

        api.close();
        dispatcher.close();
        store.close();
        store = new AlertStore(dir);
        Silence s = store.silences().get(0);
        Alert line1 = alert("x", "line-1");
        // Sunday 2026-11-29 07:00 in Berlin is inside; Monday is not.
        assertThat(s.mutes(line1, Instant.parse("2026-11-29T06:00:00Z"))).isTrue();
        assertThat(s.mutes(line1, Instant.parse("2026-11-30T06:00:00Z"))).isFalse();
        assertThat(s.mutes(alert("y", "line-2"), Instant.parse("2026-11-29T06:00:00Z"))).isFalse();
        store.close();
        start(); // for stop()
    }

    @Test
    void shelvingReturnsItsEndAndMetricsCountWhatHappened() throws Exception {
        HttpResponse<String> shelved =
                call("POST", "/api/alerts/b/shelve?for=2h&by=jan", TOKEN, null);
        assertThat(shelved.statusCode()).isEqualTo(200);
        JsonNode b = json.readTree(shelved.body());
        assertThat(b.path("status").asText()).isEqualTo("SHELVED");
        assertThat(b.path("shelved_until").asText())
                .isEqualTo(Instant.ofEpochMilli(99 + 7_200_000).toString());

        HttpResponse<String> metrics = call("GET", "/metrics", TOKEN, null);
        assertThat(metrics.statusCode()).isEqualTo(200);
        assertThat(metrics.headers().firstValue("Content-Type").orElse(""))
                .startsWith("text/plain");
        assertThat(metrics.body())
                .contains("plantwatch_alerting_alerts{status=\"SHELVED\"} 1")
                .contains("plantwatch_alerting_alerts{status=\"OPEN\"} 1")
                .contains("plantwatch_alerting_undecodable_records_total 3")
                .contains("plantwatch_alerting_journal_bad_lines_total 0")
                .contains("# TYPE plantwatch_alerting_events_total counter");
    }

    @Test
    void aResolvedAlertCannotBeAcknowledgedOrShelvedButALatchedOneIsResolvedByItsAck()
            throws Exception {
        store.event(alert("a", "line-1", AlertState.RESOLVED), 0, 2, 12);
        List<String> history = store.all().get(0).history();
        for (String action : List.of("shelve?for=2h", "ack")) {
            HttpResponse<String> refused = call("POST", "/api/alerts/a/" + action, TOKEN, null);
            assertThat(refused.statusCode()).as(action).isEqualTo(409);
            assertThat(json.readTree(refused.body()).path("error").asText())
                    .isEqualTo(
                            "alert a is RESOLVED; only an active alert can be "
                                    + (action.equals("ack") ? "acknowledged" : "shelved"));
        }
        assertThat(store.statusOf("a")).isEqualTo(AlertStore.Status.RESOLVED);
        assertThat(store.shelvedUntil("a")).isEqualTo(-1);
        assertThat(store.all().get(0).history()).isEqualTo(history);
        assertThat(call("GET", "/metrics", TOKEN, null).body())
                .contains("plantwatch_alerting_alerts{status=\"ACKNOWLEDGED\"} 0")
                .contains("plantwatch_alerting_alerts{status=\"SHELVED\"} 0")
                .contains("plantwatch_alerting_alerts{status=\"RESOLVED\"} 1");

        store.event(alert("b", "line-2", AlertState.RESOLVED), 0, 3, 13);
        store.status("b", AlertStore.Status.LATCHED, "latching rule", 13);
        // Shelved, a latched alert would end RESOLVED unacknowledged when the shelving ran out.
        HttpResponse<String> shelveLatched =
                call("POST", "/api/alerts/b/shelve?for=2h", TOKEN, null);
        assertThat(shelveLatched.statusCode()).isEqualTo(409);
        assertThat(json.readTree(shelveLatched.body()).path("error").asText())
                .contains("LATCHED", "acknowledgement");
        assertThat(store.statusOf("b")).isEqualTo(AlertStore.Status.LATCHED);
        HttpResponse<String> ack = call("POST", "/api/alerts/b/ack?by=maria", TOKEN, null);
        assertThat(ack.statusCode()).isEqualTo(200);
        assertThat(json.readTree(ack.body()).path("status").asText()).isEqualTo("RESOLVED");
    }

    @Test
    void aBodyThatIsNotAJsonObjectIsA400SayingSo() throws Exception {
        Map<String, String> bodies =
                Map.of(
                        "{\"sensors\": [\"a\"",
                        "the body is not valid JSON (line 1, column 17); send a JSON object",
                        "hello",
                        "the body is not valid JSON (line 1, column 6); send a JSON object",
                        "[\"a\"]",
                        "the body must be a JSON object",
                        "",
                        "the body must be a JSON object");
        for (Map.Entry<String, String> b : bodies.entrySet()) {
            HttpResponse<String> r = call("POST", "/api/silences", TOKEN, b.getKey());
            assertThat(r.statusCode()).as(b.getKey()).isEqualTo(400);
            assertThat(json.readTree(r.body()).path("error").asText())
                    .as(b.getKey())
                    .isEqualTo(b.getValue());
        }
        assertThat(store.silences()).isEmpty();
    }

    @Test
    void aSilenceThatCouldNotMatchOrIsMisspeltIsRefusedWithOneLineNamingTheField()
            throws Exception {
        String range =
                "\"starts_at\":\"2026-11-25T08:00:00Z\",\"ends_at\":\"2026-11-25T10:00:00Z\"";
        String weekly =
                "\"weekly\":{\"days\":[\"SUNDAY\"],\"start\":\"06:00\",\"duration\":\"8h\"}";
        Map<String, String> refused = new java.util.LinkedHashMap<>();
        refused.put(
                "{\"match\":{\"severity\":\"CRIT\"}," + range + "}",
                "request: silence.match.severity 'CRIT' is not a severity; use one of [INFO,"
                        + " WARNING, CRITICAL]");
        refused.put(
                "{\"match\":{\"kind\":[\"SPIKES\"]}," + range + "}",
                "request: silence.match.kind 'SPIKES' is not an alert kind; use one of [SPIKE,"
                        + " OUT_OF_RANGE, RATE_OF_CHANGE, FLATLINE, MISSING_DATA, DRIFT,"
                        + " SENSOR_FAULT, OTHER]");
        refused.put(
                "{\"match\":{\"machine\":\"line-1/press-1\"}," + range + "}",
                "request: silence.match.machine 'line-1/press-1' can match no alert (machine"
                        + " 'line-1/press-1' contains a forbidden character); a label is one level"
                        + " of the sensor id, use sensors: [...] for a whole id");
        refused.put(
                "{\"sensor\":[\"dresden/**\"]," + range + "}",
                "request: silence has unknown field sensor; use [sensors, match, starts_at,"
                        + " ends_at, weekly, created_by, comment]");
        refused.put(
                "{\"match\":{\"line\":\"line-1\"},\"weekly\":{\"days\":[\"SUNDAY\"],\"duration\":\"9d\"}}",
                "request: silence.weekly.duration 9d is not between 1s and 7d; a weekly window"
                        + " lasts at most a week");
        refused.put(
                "{\"match\":{\"line\":\"line-1\"},\"weekly\":{\"days\":[\"SUNDY\"]}}",
                "request: silence.weekly.days 'SUNDY' is not a day; use [MONDAY, TUESDAY,"
                        + " WEDNESDAY, THURSDAY, FRIDAY, SATURDAY, SUNDAY] or MON..SUN");
        refused.put(
                "{\"match\":{\"line\":\"line-1\"},\"weekly\":{\"days\":[\"SUN\"],\"hours\":8}}",
                "request: silence has unknown field weekly.hours; use [days, start, duration,"
                        + " zone]");
        refused.put(
                "{\"match\":{\"line\":\"line-1\"}," + weekly.replace("06:00", "6am") + "}",
                "request: silence.weekly.start '6am' is not a local time; write HH:mm, e.g."
                        + " 06:00");
        refused.put(
                "{\"match\":{\"line\":\"line-1\"},"
                        + weekly.replace("}", ",\"zone\":\"Berlin\"}")
                        + "}",
                "request: silence.weekly.zone 'Berlin' is not a time zone; write e.g."
                        + " Europe/Berlin or UTC");
        refused.put(
                "{\"match\":{\"line\":\"line-1\"},\"starts_at\":\"yesterday\","
                        + "\"ends_at\":\"2026-11-25T10:00:00Z\"}",
                "request: silence.starts_at 'yesterday' is not a time; write ISO-8601 in UTC,"
                        + " e.g. 2026-11-25T08:00:00Z");
        ch.qos.logback.classic.Logger log =
                (ch.qos.logback.classic.Logger)
                        org.slf4j.LoggerFactory.getLogger(AlertingApi.class);
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> logged =
                new ch.qos.logback.core.read.ListAppender<>();
        logged.start();
        log.addAppender(logged);
        try {
            for (Map.Entry<String, String> r : refused.entrySet()) {
                HttpResponse<String> answer = call("POST", "/api/silences", TOKEN, r.getKey());
                assertThat(answer.statusCode()).as(r.getKey()).isEqualTo(400);
                assertThat(json.readTree(answer.body()).path("error").asText())
                        .as(r.getKey())
                        .isEqualTo(r.getValue());
            }
        } finally {
            log.detachAppender(logged);
        }
        assertThat(store.silences()).isEmpty();
        // A client's mistake is no warning about this service.
        assertThat(logged.list)
                .noneMatch(e -> e.getLevel().isGreaterOrEqual(ch.qos.logback.classic.Level.WARN));

        // Severity in lower case means what it says, and mutes alert a (CRITICAL).
        HttpResponse<String> created =
                call(
                        "POST",
                        "/api/silences",
                        TOKEN,
                        "{\"match\":{\"severity\":\"critical\"},\"starts_at\":\"1970-01-01T00:00:00Z\","
                                + "\"ends_at\":\"2026-11-25T10:00:00Z\"}");
        assertThat(created.statusCode()).isEqualTo(201);
        assertThat(json.readTree(created.body()).path("match").path("severity").get(0).asText())
                .isEqualTo("CRITICAL");
        assertThat(store.silences().get(0).mutes(alert("a", "line-1"), Instant.ofEpochMilli(99)))
                .isTrue();
    }

    /**
     * Hundreds of thousands of alerts come a page at a time, newest episode first: 100 by default,
     * {@code limit} up to 1,000, and while more follow, a {@code next} path (and a Link header)
     * with a cursor. Alerts that arrive while a client pages neither shift nor repeat what it sees;
     * the filters hold on every page; {@code count} is every match, as before pages.
     */
    @Test
    void alertsComeInPagesNewestFirstWithANextLink() throws Exception {
        for (int i = 0; i < 250; i++) {
            store.event(alert("p" + i, "line-3", AlertState.OPEN, 10_000 + i), 0, 2 + i, 20 + i);
        }
        HttpResponse<String> first = call("GET", "/api/alerts?line=line-3", TOKEN, null);
        JsonNode page = json.readTree(first.body());
        assertThat(page.path("count").asInt()).isEqualTo(250);
        assertThat(ids(page)).hasSize(100).startsWith("p249", "p248").endsWith("p150");
        String next = page.path("next").asText();
        assertThat(next).startsWith("/api/alerts?line=line-3&limit=100&before=");
        assertThat(first.headers().firstValue("Link")).contains("<" + next + ">; rel=\"next\"");

        // Arrives between two pages: newer than the cursor, so on none of the following ones.
        store.event(alert("p250", "line-3", AlertState.OPEN, 10_250), 0, 300, 300);
        List<String> seen = new java.util.ArrayList<>(ids(page));
        int pages = 1;
        while (page.has("next")) {
            HttpResponse<String> r = call("GET", page.path("next").asText(), TOKEN, null);
            assertThat(r.statusCode()).isEqualTo(200);
            page = json.readTree(r.body());
            seen.addAll(ids(page));
            pages++;
            if (!page.has("next")) {
                assertThat(r.headers().firstValue("Link")).isEmpty();
            }
        }
        assertThat(pages).isEqualTo(3);
        assertThat(seen)
                .isEqualTo(
                        java.util.stream.IntStream.range(0, 250)
                                .mapToObj(i -> "p" + (249 - i))
                                .toList());

        JsonNode three = json.readTree(call("GET", "/api/alerts?limit=3", TOKEN, null).body());
        assertThat(ids(three)).containsExactly("p250", "p249", "p248");
        assertThat(three.path("count").asInt()).isEqualTo(253);
        JsonNode upToP1 = get("/api/alerts?limit=250");
        assertThat(ids(upToP1)).last().isEqualTo("p1");
        String cursor = upToP1.path("next").asText().replaceAll(".*before=", "");
        JsonNode tail = get("/api/alerts?status=open&limit=2&before=" + cursor);
        // Same episode start: the id decides, so a and b keep one order on every page.
        assertThat(ids(tail)).containsExactly("p0", "b");
        assertThat(tail.path("next").asText()).startsWith("/api/alerts?status=open&limit=2&");
        JsonNode end = get(tail.path("next").asText());
        assertThat(ids(end)).containsExactly("a");
        assertThat(end.has("next")).isFalse();
    }

    private JsonNode get(String path) throws Exception {
        HttpResponse<String> r = call("GET", path, TOKEN, null);
        assertThat(r.statusCode()).as(path).isEqualTo(200);
        return json.readTree(r.body());
    }

    private static List<String> ids(JsonNode page) {
        List<String> ids = new java.util.ArrayList<>();
        page.path("alerts").forEach(a -> ids.add(a.path("alert_id").asText()));
        return ids;
    }

    @Test
    void filtersTakeTheSensorAsShownAndRefuseWhatCouldNotMatchAndShelvingIsBounded()
            throws Exception {
        String full = "dresden/press-shop/line-1/press-1/oil-temp";
        JsonNode byId =
                json.readTree(call("GET", "/api/alerts?sensor=" + full, TOKEN, null).body());
        assertThat(byId.path("count").asInt()).isEqualTo(1);
        assertThat(byId.path("alerts").get(0).path("sensor").asText()).isEqualTo(full);
        assertThat(
                        json.readTree(
                                        call("GET", "/api/alerts?sensor=oil-temp", TOKEN, null)
                                                .body())
                                .path("count")
                                .asInt())
                .isEqualTo(2);
        assertThat(
                        json.readTree(
                                        call(
                                                        "GET",
                                                        "/api/alerts?severity=critical&status=open",
                                                        TOKEN,
                                                        null)
                                                .body())
                                .path("count")
                                .asInt())
                .isEqualTo(2);

        Map<String, String> refused = new java.util.LinkedHashMap<>();
        refused.put(
                "GET /api/alerts?status=BOGUS",
                "status=BOGUS is not one of [OPEN, ACKNOWLEDGED, SHELVED, LATCHED, RESOLVED]");
        refused.put(
                "GET /api/alerts?severity=CRIT",
                "severity=CRIT is not one of [INFO, WARNING, CRITICAL]");
        refused.put(
                "GET /api/alerts?colour=red",
                "unknown query parameter colour; use [status, site, area, line, machine, sensor,"
                        + " severity, kind, rule, limit, before]");
        refused.put(
                "GET /api/alerts?limit=0",
                "limit=0 is not a number from 1 to 1000 (alerts on a page)");
        refused.put(
                "GET /api/alerts?limit=1001",
                "limit=1001 is not a number from 1 to 1000 (alerts on a page)");
        refused.put(
                "GET /api/alerts?limit=all",
                "limit=all is not a number from 1 to 1000 (alerts on a page)");
        refused.put(
                "GET /api/alerts?before=p42",
                "before=p42 is not a cursor this API gave; follow the next link of the page"
                        + " before");
        refused.put(
                "GET /api/silences?active", "unknown query parameter active; this path takes none");
        refused.put(
                "POST /api/alerts/a/shelve?for=100000h",
                "for=100000h is out of range; shelve for more than 0 and at most 30d");
        refused.put(
                "POST /api/alerts/a/shelve?for=0s",
                "for=0s is out of range; shelve for more than 0 and at most 30d");
        refused.put(
                "POST /api/alerts/a/shelve?for=soon",
                "for=soon is not a duration; write e.g. 30m, 2h or 1d");
        refused.put(
                "POST /api/alerts/a/shelve?fro=2h", "unknown query parameter fro; use [for, by]");
        for (Map.Entry<String, String> r : refused.entrySet()) {
            String[] request = r.getKey().split(" ");
            HttpResponse<String> answer = call(request[0], request[1], TOKEN, null);
            assertThat(answer.statusCode()).as(r.getKey()).isEqualTo(400);
            assertThat(json.readTree(answer.body()).path("error").asText())
                    .as(r.getKey())
                    .isEqualTo(r.getValue());
        }
        assertThat(store.statusOf("a")).isEqualTo(AlertStore.Status.OPEN);
        assertThat(call("POST", "/api/alerts/a/shelve?for=30d", TOKEN, null).statusCode())
                .isEqualTo(200);
    }

    @Test
    void theOpenApiDescriptionCoversEveryPath() throws Exception {
        JsonNode spec =
                new ObjectMapper(new com.fasterxml.jackson.dataformat.yaml.YAMLFactory())
                        .readTree(AlertingApi.class.getResourceAsStream("/openapi.yaml"));
        List<String> paths = new java.util.ArrayList<>();
        spec.path("paths").fieldNames().forEachRemaining(paths::add);
        assertThat(paths)
                .containsExactlyInAnyOrder(
                        "/health",
                        "/api/alerts",
                        "/api/alerts/{id}",
                        "/api/alerts/{id}/ack",
                        "/api/alerts/{id}/shelve",
                        "/api/alerts/{id}/close",
                        "/api/silences",
                        "/api/silences/{id}",
                        "/api/v2/alerts",
                        "/metrics");
        assertThat(
                        spec.path("components")
                                .path("securitySchemes")
                                .path("bearer")
                                .path("scheme")
                                .asText())
                .isEqualTo("bearer");
    }
}
