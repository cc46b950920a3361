package io.plantwatch.alerting;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.plantwatch.model.Alert;
import io.plantwatch.model.AlertKind;
import io.plantwatch.model.AlertState;
import io.plantwatch.model.SensorId;
import io.plantwatch.model.Severity;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The decisions end to end, with a real webhook endpoint and the journal on disk. */
class DispatcherTest {
    private static final byte[] SECRET = "s".getBytes(StandardCharsets.UTF_8);
    private static final long T0 = Instant.parse("2026-11-25T08:00:00Z").toEpochMilli();
    private static final Route ROOT = route("shift-lead", false, List.of());

    /**
     * A route to {@code receiver} with the shipped timings: 30 s wait, 5 min interval, 4 h repeat.
     */
    private static Route route(String receiver, boolean continueMatching, List<Route> children) {
        return ShippedRoutes.to(receiver, continueMatching, children);
    }

    @TempDir Path dir;
    private HttpServer server;
    private final List<JsonNode> received = new CopyOnWriteArrayList<>();
    private final ObjectMapper json = new ObjectMapper();

    @BeforeEach
    void start() throws Exception {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext(
                "/hook",
                ex -> {
                    received.add(json.readTree(ex.getRequestBody().readAllBytes()));
                    ex.sendResponseHeaders(204, -1);
                    ex.close();
                });
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    /** A webhook receiver "shift-lead" posting to this test's endpoint. */
    private WebhookReceiver hook() {
        return new WebhookReceiver(
                "shift-lead",
                URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/hook"),
                SECRET,
                Duration.ofSeconds(2),
                Duration.ofMillis(200),
                Duration.ofSeconds(30));
    }

    private Dispatcher dispatcher(AlertStore store, int floodLimit, List<Silence> silences) {
        return dispatcher(store, floodLimit, silences, List.of());
    }

    private Dispatcher dispatcher(
            AlertStore store, int floodLimit, List<Silence> silences, List<AlertMatcher> latching) {
        silences.forEach(store::silence);
        WebhookReceiver hook = hook();
        return new Dispatcher(
                store,
                ROOT,
                Map.of("shift-lead", hook),
                new FloodGate(floodLimit, 600_000),
                new FlapDetector(6, 1_800_000),
                latching);
    }

    /**
     * A receiver "shift-lead" that takes every notification, says it failed {@code failedAttempts}
     * times before, and sets {@code closed} when closed.
     */
    private static Receiver shiftLeadTaking(
            long failedAttempts, java.util.concurrent.atomic.AtomicBoolean closed) {
        return new Receiver() {
            @Override
            public String name() {
                return "shift-lead";
            }

            @Override
            public WebhookReceiver.Outcome deliver(Notification n, byte[] json) {
                return WebhookReceiver.Outcome.DELIVERED;
            }

            @Override
            public long failedAttempts() {
                return failedAttempts;
            }

            @Override
            public void close() {
                closed.set(true);
            }
        };
    }

    /** A dispatcher with the shipped-like limits and {@code receiver} as its one receiver. */
    private static Dispatcher dispatcherTo(AlertStore store, Receiver receiver) {
        return dispatcherTo(store, receiver, new Dispatcher.Metrics());
    }

    private static Dispatcher dispatcherTo(
            AlertStore store, Receiver receiver, Dispatcher.Metrics counters) {
        return new Dispatcher(
                store,
                ROOT,
                Map.of("shift-lead", receiver),
                new FloodGate(20, 600_000),
                new FlapDetector(6, 1_800_000),
                List.of(),
                counters);
    }

    /** A webhook receiver whose endpoint answers 500 to every attempt, counted. */
    private WebhookReceiver brokenReceiver(java.util.concurrent.atomic.AtomicInteger answered500) {
        server.createContext(
                "/broken",
                ex -> {
                    ex.getRequestBody().readAllBytes();
                    answered500.incrementAndGet();
                    ex.sendResponseHeaders(500, -1);
                    ex.close();
                });
        return new WebhookReceiver(
                "shift-lead",
                URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/broken"),
                SECRET,
                Duration.ofSeconds(2),
                Duration.ofMillis(200),
                Duration.ofHours(1));
    }

    private static Alert alert(int i, int machine, AlertState state) {
        return new Alert(
                "alert-" + i,
                SensorId.parse(
                        "dresden/press-shop/line-"
                                + (machine % 2 + 1)
                                + "/press-"
                                + machine
                                + "/s-"
                                + i),
                "spike",
                AlertKind.SPIKE,
                Severity.WARNING,
                state,
                T0,
                T0,
                T0,
                List.of(1.0),
                "m");
    }

    private static Alert alert(
            String id, String sensor, Severity severity, AlertKind kind, AlertState state) {
        return new Alert(
                id,
                SensorId.parse(sensor),
                kind.name().toLowerCase(java.util.Locale.ROOT),
                kind,
                severity,
                state,
                T0,
                T0,
                T0,
                List.of(1.0),
                "m");
    }

    private Dispatcher inhibiting(AlertStore store, String yaml) {
        List<Inhibition> rules =
                Inhibition.parse(
                        io.plantwatch.model.YamlFiles.parse(yaml, "test").path("inhibit"), "test");
        WebhookReceiver hook = hook();
        return new Dispatcher(
                store,
                ROOT,
                Map.of("shift-lead", hook),
                new FloodGate(20, 600_000),
                new FlapDetector(6, 1_800_000),
                List.of(),
                new Dispatcher.Metrics(),
                null,
                rules);
    }

    /** Every (alert id, state) the receiver was told, in order. */
    private List<String> told() {
        List<String> out = new ArrayList<>();
        for (JsonNode n : received) {
            n.path("alerts")
                    .forEach(
                            a ->
                                    out.add(
                                            a.path("alert_id").asText()
                                                    + " "
                                                    + a.path("state").asText()));
        }
        return out;
    }

    static final String CRITICAL_HOLDS_BACK_WARNINGS =
            """
            inhibit:
              - source: {match: {severity: [CRITICAL]}}
                target: {match: {severity: [WARNING]}}
                equal: [machine]
            """;

    /**
     * While a CRITICAL alert on a machine is open, its WARNINGs are not told; one still open when
     * the CRITICAL ends is told then (across a restart too), one that ended meanwhile never is.
     * Another machine's, and a machine of the same name on another line, are told at once.
     */
    @Test
    void aCriticalAlertHoldsBackItsMachinesWarningsUntilItEnds() throws Exception {
        String press2 = "dresden/press-shop/line-1/press-2/";
        try (AlertStore store = new AlertStore(dir);
                Dispatcher d = inhibiting(store, CRITICAL_HOLDS_BACK_WARNINGS)) {
            d.onEvent(
                    alert(
                            "crit",
                            press2 + "oil-temp",
                            Severity.CRITICAL,
                            AlertKind.OUT_OF_RANGE,
                            AlertState.OPEN),
                    0,
                    0,
                    T0);
            d.onEvent(
                    alert(
                            "warn-1",
                            press2 + "vibration",
                            Severity.WARNING,
                            AlertKind.SPIKE,
                            AlertState.OPEN),
                    0,
                    1,
                    T0);
            d.onEvent(
                    alert(
                            "warn-2",
                            press2 + "pressure",
                            Severity.WARNING,
                            AlertKind.FLATLINE,
                            AlertState.OPEN),
                    0,
                    2,
                    T0);
            d.onEvent(
                    alert(
                            "other-machine",
                            "dresden/press-shop/line-1/press-4/vibration",
                            Severity.WARNING,
                            AlertKind.SPIKE,
                            AlertState.OPEN),
                    0,
                    3,
                    T0);
            d.onEvent(
                    alert(
                            "other-line",
                            "dresden/press-shop/line-9/press-2/vibration",
                            Severity.WARNING,
                            AlertKind.SPIKE,
                            AlertState.OPEN),
                    0,
                    4,
                    T0);
            d.dispatchDue(T0 + 30_000);
            await().atMost(Duration.ofSeconds(10)).until(() -> told().size() == 3);
            assertThat(told())
                    .containsExactlyInAnyOrder(
                            "crit OPEN", "other-machine OPEN", "other-line OPEN");
            assertThat(d.metrics().inhibited.get()).isEqualTo(2);
            d.onEvent(
                    alert(
                            "warn-2",
                            press2 + "pressure",
                            Severity.WARNING,
                            AlertKind.FLATLINE,
                            AlertState.RESOLVED),
                    0,
                    5,
                    T0 + 60_000);
            d.dispatchDue(T0 + 5 * 60_000);
            d.drain(10);
            assertThat(told()).hasSize(3);
        }
        received.clear();
        // Restarted with the CRITICAL still open: still held back.
        try (AlertStore store = new AlertStore(dir);
                Dispatcher d = inhibiting(store, CRITICAL_HOLDS_BACK_WARNINGS)) {
            d.restore(T0 + HOUR);
            d.dispatchDue(T0 + HOUR + 30_000);
            assertThat(d.pendingGroups()).as("still held back").isZero();
            d.onEvent(
                    alert(
                            "crit",
                            press2 + "oil-temp",
                            Severity.CRITICAL,
                            AlertKind.OUT_OF_RANGE,
                            AlertState.RESOLVED),
                    0,
                    6,
                    T0 + 2 * HOUR);
            d.dispatchDue(T0 + 2 * HOUR + 30_000);
            d.dispatchDue(T0 + 2 * HOUR + 60_000);
            d.drain(10);
            assertThat(told()).containsExactlyInAnyOrder("crit RESOLVED", "warn-1 OPEN");
            assertThat(store.unnotified()).isEmpty();
        }
    }

    /**
     * A WARNING that came first and waits in its group when its machine's CRITICAL opens is held
     * back too (the usual order: the value passes the warning limit first); with {@code kind} in
     * {@code equal}, a WARNING of another kind is not. Closing the CRITICAL by hand lets it be
     * told.
     */
    @Test
    void aWarningWaitingInItsGroupIsHeldBackByACriticalThatOpensAfterIt() throws Exception {
        String press2 = "dresden/press-shop/line-1/press-2/";
        try (AlertStore store = new AlertStore(dir);
                Dispatcher d =
                        inhibiting(
                                store,
                                CRITICAL_HOLDS_BACK_WARNINGS.replace(
                                        "equal: [machine]", "equal: [machine, kind]"))) {
            d.onEvent(
                    alert(
                            "warn",
                            press2 + "oil-temp",
                            Severity.WARNING,
                            AlertKind.OUT_OF_RANGE,
                            AlertState.OPEN),
                    0,
                    0,
                    T0);
            d.onEvent(
                    alert(
                            "stuck",
                            press2 + "pressure",
                            Severity.WARNING,
                            AlertKind.FLATLINE,
                            AlertState.OPEN),
                    0,
                    1,
                    T0);
            d.onEvent(
                    alert(
                            "crit",
                            press2 + "temp-2",
                            Severity.CRITICAL,
                            AlertKind.OUT_OF_RANGE,
                            AlertState.OPEN),
                    0,
                    2,
                    T0 + 10_000);
            d.dispatchDue(T0 + 30_000);
            d.dispatchDue(T0 + 40_000);
            await().atMost(Duration.ofSeconds(10)).until(() -> told().size() == 2);
            assertThat(told()).containsExactlyInAnyOrder("crit OPEN", "stuck OPEN");
            assertThat(d.metrics().inhibited.get()).isEqualTo(1);
            assertThat(d.metrics().silenced.get()).isZero();
            d.closeByHand("crit", "maria", "sensor swapped", T0 + HOUR);
            d.dispatchDue(T0 + HOUR + 1);
            d.dispatchDue(T0 + HOUR + 30_000);
            d.drain(10);
            assertThat(told()).contains("warn OPEN");
        }
    }

    /**
     * A WARNING told before its machine's CRITICAL opened: its reminders are held back while the
     * CRITICAL is open, acknowledged or not, and its resolution is told.
     */
    @Test
    void aWarningToldBeforeTheCriticalHasItsRemindersHeldBackAndItsResolutionTold()
            throws Exception {
        String press2 = "dresden/press-shop/line-1/press-2/";
        try (AlertStore store = new AlertStore(dir);
                Dispatcher d = inhibiting(store, CRITICAL_HOLDS_BACK_WARNINGS)) {
            d.onEvent(
                    alert(
                            "warn",
                            press2 + "vibration",
                            Severity.WARNING,
                            AlertKind.SPIKE,
                            AlertState.OPEN),
                    0,
                    0,
                    T0);
            d.dispatchDue(T0 + 30_000);
            await().atMost(Duration.ofSeconds(10)).until(() -> told().size() == 1);
            assertThat(told()).containsExactly("warn OPEN");
            d.onEvent(
                    alert(
                            "crit",
                            press2 + "oil-temp",
                            Severity.CRITICAL,
                            AlertKind.OUT_OF_RANGE,
                            AlertState.OPEN),
                    0,
                    1,
                    T0 + 60_000);
            // A change to a group already told waits its group interval.
            d.dispatchDue(T0 + 30_000 + 5 * 60_000);
            await().atMost(Duration.ofSeconds(10)).until(() -> told().size() == 2);
            d.acknowledge("crit", "maria", T0 + 120_000);
            // The WARNING's 4-hour reminder is due, and held back (no fourth below).
            d.dispatchDue(T0 + 30_000 + 4 * HOUR);
            d.onEvent(
                    alert(
                            "warn",
                            press2 + "vibration",
                            Severity.WARNING,
                            AlertKind.SPIKE,
                            AlertState.RESOLVED),
                    0,
                    2,
                    T0 + 5 * HOUR);
            d.dispatchDue(T0 + 5 * HOUR + 30_000);
            d.drain(10);
            assertThat(told()).containsExactly("warn OPEN", "crit OPEN", "warn RESOLVED");
        }
    }

    /**
     * A held-back WARNING someone acknowledged (it shows in the API) is not told when its source
     * ends, and its resolution is not told either: nobody heard it open.
     */
    @Test
    void aHeldBackWarningAcknowledgedMeanwhileIsNeverTold() throws Exception {
        String press2 = "dresden/press-shop/line-1/press-2/";
        try (AlertStore store = new AlertStore(dir);
                Dispatcher d = inhibiting(store, CRITICAL_HOLDS_BACK_WARNINGS)) {
            d.onEvent(
                    alert(
                            "crit",
                            press2 + "oil-temp",
                            Severity.CRITICAL,
                            AlertKind.OUT_OF_RANGE,
                            AlertState.OPEN),
                    0,
                    0,
                    T0);
            d.onEvent(
                    alert(
                            "warn",
                            press2 + "vibration",
                            Severity.WARNING,
                            AlertKind.SPIKE,
                            AlertState.OPEN),
                    0,
                    1,
                    T0);
            d.dispatchDue(T0 + 30_000);
            await().atMost(Duration.ofSeconds(10)).until(() -> told().size() == 1);
            d.acknowledge("warn", "maria", T0 + 40_000);
            d.onEvent(
                    alert(
                            "crit",
                            press2 + "oil-temp",
                            Severity.CRITICAL,
                            AlertKind.OUT_OF_RANGE,
                            AlertState.RESOLVED),
                    0,
                    2,
                    T0 + 60_000);
            d.dispatchDue(T0 + 30_000 + 5 * 60_000);
            d.onEvent(
                    alert(
                            "warn",
                            press2 + "vibration",
                            Severity.WARNING,
                            AlertKind.SPIKE,
                            AlertState.RESOLVED),
                    0,
                    3,
                    T0 + 7 * 60_000);
            d.dispatchDue(T0 + 30_000 + 10 * 60_000);
            d.dispatchDue(T0 + 30_000 + 15 * 60_000);
            d.drain(10);
            assertThat(told()).containsExactly("crit OPEN", "crit RESOLVED");
        }
    }

    /**
     * Alerts that match both sides of a rule do not hold each other back (nobody would hear of
     * either), as in Alertmanager; they hold back the rule's other targets.
     */
    @Test
    void alertsMatchingBothSidesOfARuleDoNotHoldEachOtherBack() throws Exception {
        String press2 = "dresden/press-shop/line-1/press-2/";
        try (AlertStore store = new AlertStore(dir);
                Dispatcher d =
                        inhibiting(
                                store,
                                """
                                inhibit:
                                  - source: {match: {kind: [MISSING_DATA]}}
                                    target: {}
                                    equal: [machine]
                                """)) {
            d.onEvent(
                    alert(
                            "gone-1",
                            press2 + "oil-temp",
                            Severity.WARNING,
                            AlertKind.MISSING_DATA,
                            AlertState.OPEN),
                    0,
                    0,
                    T0);
            d.onEvent(
                    alert(
                            "gone-2",
                            press2 + "pressure",
                            Severity.WARNING,
                            AlertKind.MISSING_DATA,
                            AlertState.OPEN),
                    0,
                    1,
                    T0);
            d.onEvent(
                    alert(
                            "stuck",
                            press2 + "vibration",
                            Severity.WARNING,
                            AlertKind.FLATLINE,
                            AlertState.OPEN),
                    0,
                    2,
                    T0);
            d.dispatchDue(T0 + 30_000);
            d.drain(10);
            assertThat(told()).containsExactlyInAnyOrder("gone-1 OPEN", "gone-2 OPEN");
        }
    }

    /** What a receiver holds open (an MQTT connection) ends with its dispatcher. */
    @Test
    void closingTheDispatcherClosesItsReceivers() throws Exception {
        java.util.concurrent.atomic.AtomicBoolean closed =
                new java.util.concurrent.atomic.AtomicBoolean();
        Receiver receiver = shiftLeadTaking(0, closed);
        try (AlertStore store = new AlertStore(dir)) {
            Dispatcher d = dispatcherTo(store, receiver);
            assertThat(closed).isFalse();
            d.close();
            assertThat(closed).isTrue();
        }
    }

    /**
     * The dispatcher of an alerting restarted for a changed file counts on from its predecessor's
     * counters, those its receivers and flood gate kept included, each counted once.
     */
    @Test
    void theDispatcherThatTakesOverCountsOnFromTheOneBefore() throws Exception {
        Receiver failedThrice = shiftLeadTaking(3, new java.util.concurrent.atomic.AtomicBoolean());
        Dispatcher.Metrics counters = new Dispatcher.Metrics();
        try (AlertStore store = new AlertStore(dir)) {
            Dispatcher first = dispatcherTo(store, failedThrice, counters);
            first.onEvent(alert(1, 1, AlertState.OPEN), 0, 0, T0);
            assertThat(first.failedAttempts("shift-lead")).isEqualTo(3);
            first.close();
            first.close();
            assertThat(first.failedAttempts("shift-lead")).isEqualTo(3);
            try (Dispatcher next = dispatcherTo(store, failedThrice, counters)) {
                next.onEvent(alert(2, 1, AlertState.OPEN), 0, 1, T0);
                assertThat(next.failedAttempts("shift-lead")).isEqualTo(6);
                assertThat(new PrometheusMetrics(next, store, () -> 0, () -> T0).render())
                        .contains("plantwatch_alerting_events_total 2\n");
            }
        }
    }

    /**
     * A receiver answering 500 is retried for a long while before it gives up; its failed attempts
     * must show in /metrics meanwhile, not only once the notification is counted failed.
     */
    @Test
    void failedAttemptsShowInTheMetricsWhileTheReceiverStillRetries() throws Exception {
        java.util.concurrent.atomic.AtomicInteger answered500 =
                new java.util.concurrent.atomic.AtomicInteger();
        WebhookReceiver broken = brokenReceiver(answered500);
        try (AlertStore store = new AlertStore(dir);
                Dispatcher d = dispatcherTo(store, broken)) {
            PrometheusMetrics metrics = new PrometheusMetrics(d, store, () -> 0, () -> T0);
            d.onEvent(alert(1, 1, AlertState.OPEN), 0, 0, T0);
            d.dispatchDue(T0 + 31_000);
            await().atMost(Duration.ofSeconds(10)).until(() -> answered500.get() >= 3);
            String text = metrics.render();
            long shown =
                    Long.parseLong(
                            text.lines()
                                    .filter(
                                            l ->
                                                    l.startsWith(
                                                            "plantwatch_alerting_delivery_attempts_failed_total{receiver=\"shift-lead\"} "))
                                    .findFirst()
                                    .orElseThrow()
                                    .replaceAll(".* ", ""));
            assertThat(shown).isGreaterThanOrEqualTo(2).isLessThanOrEqualTo(answered500.get());
            assertThat(text)
                    .contains(
                            "plantwatch_alerting_notifications_total{receiver=\"shift-lead\","
                                    + "outcome=\"failed\"} 0");
        }
    }

    /**
     * A stop while the receiver fails ends at the drain's deadline with a line saying what waits,
     * and the next start tells it: an alert state counts as told only once a receiver took it.
     */
    @Test
    void aStopWhileTheReceiverFailsSaysWhatWaitsAndTheNextStartTellsIt() throws Exception {
        java.util.concurrent.atomic.AtomicInteger answered500 =
                new java.util.concurrent.atomic.AtomicInteger();
        WebhookReceiver broken = brokenReceiver(answered500);
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> log =
                new ch.qos.logback.core.read.ListAppender<>();
        log.start();
        ch.qos.logback.classic.Logger dispatcherLog =
                (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(Dispatcher.class);
        dispatcherLog.addAppender(log);
        try (AlertStore store = new AlertStore(dir)) {
            try (Dispatcher d = dispatcherTo(store, broken)) {
                d.onEvent(alert(1, 1, AlertState.OPEN), 0, 0, T0);
                d.dispatchDue(T0 + 31_000);
                await().atMost(Duration.ofSeconds(10)).until(() -> answered500.get() >= 2);
                d.drain(1);
            } finally {
                dispatcherLog.detachAppender(log);
            }
            assertThat(log.list)
                    .anySatisfy(
                            e ->
                                    assertThat(e.getFormattedMessage())
                                            .contains(
                                                    "1 alert state(s) not yet told",
                                                    "[shift-lead]",
                                                    "next start"));
            assertThat(store.unnotified()).hasSize(1);

            try (Dispatcher next = dispatcher(store, 20, List.of())) {
                next.restore(T0 + 100_000);
                next.dispatchDue(T0 + 200_000);
                next.drain(10);
            }
            assertThat(received).hasSize(1);
            assertThat(store.unnotified()).isEmpty();
        }
    }

    /**
     * A receiver that refuses or gives up has told nobody: the resolution it did not take stays
     * untold in the store (so a restart sends it too), goes back to its group, and is sent again a
     * group interval later; only the delivery that succeeds marks it told. The old code marked it
     * told at the give-up, and the resolution was never sent.
     */
    @Test
    void aResolutionTheReceiverDidNotTakeIsSentAgainAfterTheGroupIntervalThenTold()
            throws Exception {
        java.util.concurrent.atomic.AtomicBoolean up =
                new java.util.concurrent.atomic.AtomicBoolean(true);
        java.util.concurrent.atomic.AtomicInteger turnedAway =
                new java.util.concurrent.atomic.AtomicInteger();
        switchable("/flaky", up, received, turnedAway);
        WebhookReceiver flaky = oneAttempt("shift-lead", "/flaky");
        Alert open = alert(1, 1, AlertState.OPEN);
        Alert resolved = alert(1, 1, AlertState.RESOLVED);
        try (AlertStore store = new AlertStore(dir);
                Dispatcher d = dispatcherTo(store, flaky)) {
            PrometheusMetrics metrics = new PrometheusMetrics(d, store, () -> 0, () -> T0);
            d.onEvent(open, 0, 0, T0);
            d.dispatchDue(T0 + 30_000);
            await().atMost(Duration.ofSeconds(10)).until(() -> store.unnotified().isEmpty());

            up.set(false);
            d.onEvent(resolved, 0, 1, T0 + 60_000);
            long flush = T0 + 330_000;
            d.dispatchDue(flush);
            await().atMost(Duration.ofSeconds(10))
                    .until(
                            () ->
                                    metrics.render()
                                            .contains(
                                                    "plantwatch_alerting_notifications_total{receiver=\"shift-lead\","
                                                            + "outcome=\"failed\"} 1"));
            assertThat(turnedAway.get()).isEqualTo(1);
            assertThat(store.unnotified()).containsExactly(resolved);
            assertThat(metrics.render()).contains("plantwatch_alerting_alert_states_untold 1\n");

            d.dispatchDue(flush + 1_000);
            assertThat(d.nextDue()).isEqualTo(flush + 1_000 + 300_000);
            up.set(true);
            d.dispatchDue(flush + 300_999);
            assertThat(d.nextDue()).isEqualTo(flush + 301_000);
            d.dispatchDue(flush + 301_000);
            await().atMost(Duration.ofSeconds(10)).until(() -> store.unnotified().isEmpty());
            assertThat(received).hasSize(2);
            assertThat(received.get(1).get("status").asText()).isEqualTo("RESOLVED");
            assertThat(received.get(1).get("alerts").get(0).get("alert_id").asText())
                    .isEqualTo("alert-1");
            assertThat(turnedAway.get()).isEqualTo(1);
            assertThat(d.pendingGroups()).isZero();
            assertThat(metrics.render()).contains("plantwatch_alerting_alert_states_untold 0\n");
            d.dispatchDue(flush + Duration.ofHours(5).toMillis());
            d.drain(10);
            assertThat(received).hasSize(2);
        }
    }

    /**
     * Routes {@code root} over the receivers shift-lead (/hook) and pager (/pager), one attempt
     * each.
     */
    private Dispatcher toHookAndPager(AlertStore store, Route root) {
        return new Dispatcher(
                store,
                root,
                Map.of(
                        "shift-lead", oneAttempt("shift-lead", "/hook"),
                        "pager", oneAttempt("pager", "/pager")),
                new FloodGate(20, 600_000),
                new FlapDetector(6, 1_800_000),
                List.of());
    }

    /**
     * An endpoint at {@code path} that takes notifications into {@code into} while {@code up}, and
     * answers 503 otherwise, counted in {@code turnedAway}.
     */
    private void switchable(
            String path,
            java.util.concurrent.atomic.AtomicBoolean up,
            List<JsonNode> into,
            java.util.concurrent.atomic.AtomicInteger turnedAway) {
        server.createContext(
                path,
                ex -> {
                    byte[] body = ex.getRequestBody().readAllBytes();
                    if (up.get()) {
                        into.add(json.readTree(body));
                        ex.sendResponseHeaders(204, -1);
                    } else {
                        turnedAway.incrementAndGet();
                        ex.sendResponseHeaders(503, -1);
                    }
                    ex.close();
                });
    }

    /** A webhook receiver at {@code path}, one attempt per notification, no retries. */
    private WebhookReceiver oneAttempt(String name, String path) {
        return new WebhookReceiver(
                name,
                URI.create("http://127.0.0.1:" + server.getAddress().getPort() + path),
                SECRET,
                Duration.ofSeconds(5),
                Duration.ofMillis(200),
                Duration.ZERO);
    }

    /**
     * Routed to two receivers, a resolution one of them took and the other did not is not told yet:
     * it stays untold in the store until both have it, and a restart meanwhile sends it to the one
     * that waits. The old code counted it told when the first receiver took it, and after a restart
     * the second never got it.
     */
    @Test
    void aStateOneReceiverTookAndAnotherDidNotStaysUntoldUntilBothHaveIt() throws Exception {
        java.util.concurrent.atomic.AtomicBoolean pagerUp =
                new java.util.concurrent.atomic.AtomicBoolean(true);
        List<JsonNode> paged = new CopyOnWriteArrayList<>();
        switchable("/pager", pagerUp, paged, new java.util.concurrent.atomic.AtomicInteger());
        // The pager's route goes on to the next, so every alert reaches both receivers.
        Route both =
                route(
                        "shift-lead",
                        false,
                        List.of(
                                route("pager", true, List.of()),
                                route("shift-lead", false, List.of())));
        Alert open = alert(1, 1, AlertState.OPEN);
        Alert resolved = alert(1, 1, AlertState.RESOLVED);
        try (AlertStore store = new AlertStore(dir)) {
            try (Dispatcher d = toHookAndPager(store, both)) {
                d.onEvent(open, 0, 0, T0);
                d.dispatchDue(T0 + 30_000);
                await().atMost(Duration.ofSeconds(10))
                        .until(() -> received.size() == 1 && paged.size() == 1);
                await().atMost(Duration.ofSeconds(10)).until(() -> store.unnotified().isEmpty());

                pagerUp.set(false);
                d.onEvent(resolved, 0, 1, T0 + 60_000);
                d.dispatchDue(T0 + 330_000);
                await().atMost(Duration.ofSeconds(10))
                        .until(() -> received.size() == 2 && d.metrics().failed.size() == 1);
                assertThat(received.get(1).get("status").asText()).isEqualTo("RESOLVED");
                assertThat(store.unnotified()).containsExactly(resolved);
                // The same state replayed from Kafka goes to the receiver that waits, not again
                // to the one that has it.
                d.onEvent(resolved, 0, 2, T0 + 400_000);
                d.dispatchDue(T0 + 700_000);
                await().atMost(Duration.ofSeconds(10))
                        .until(() -> Dispatcher.Metrics.get(d.metrics().failed, "pager") == 2);
                assertThat(received).hasSize(2);
                d.drain(10);
            }
            pagerUp.set(true);
            try (Dispatcher next = toHookAndPager(store, both)) {
                next.restore(T0 + 400_000);
                next.dispatchDue(T0 + 430_000);
                await().atMost(Duration.ofSeconds(10)).until(() -> store.unnotified().isEmpty());
                next.drain(10);
            }
            assertThat(paged).hasSize(2);
            assertThat(paged.get(1).get("status").asText()).isEqualTo("RESOLVED");
            assertThat(received).as("the receiver that had it, not told twice").hasSize(2);
        }
    }

    /**
     * A notification that fails after a later one already carried its alert's resolution does not
     * bring back the older state. Before, its OPEN went back into the group after the resolution
     * had been sent, and the receiver was told FIRING again, at every repeat interval.
     */
    @Test
    void aFailureOfAnOlderStateAfterTheResolutionWasSentBringsNothingBack() throws Exception {
        java.util.concurrent.CountDownLatch answerFirst =
                new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.atomic.AtomicInteger requests =
                new java.util.concurrent.atomic.AtomicInteger();
        server.createContext(
                "/slow",
                ex -> {
                    byte[] body = ex.getRequestBody().readAllBytes();
                    if (requests.incrementAndGet() == 1) {
                        try {
                            answerFirst.await();
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                        ex.sendResponseHeaders(503, -1);
                    } else {
                        received.add(json.readTree(body));
                        ex.sendResponseHeaders(204, -1);
                    }
                    ex.close();
                });
        try (AlertStore store = new AlertStore(dir);
                Dispatcher d = dispatcherTo(store, oneAttempt("shift-lead", "/slow"))) {
            d.onEvent(alert(1, 1, AlertState.OPEN), 0, 0, T0);
            d.dispatchDue(T0 + 30_000);
            await().atMost(Duration.ofSeconds(10)).until(() -> requests.get() == 1);
            d.onEvent(alert(1, 1, AlertState.RESOLVED), 0, 1, T0 + 60_000);
            d.dispatchDue(T0 + 330_000); // the resolution waits behind the first on its lane
            answerFirst.countDown();
            await().atMost(Duration.ofSeconds(10)).until(() -> received.size() == 1);
            await().atMost(Duration.ofSeconds(10)).until(() -> d.metrics().failed.size() == 1);
            d.dispatchDue(T0 + 331_000);
            d.dispatchDue(T0 + 331_000 + Duration.ofHours(5).toMillis());
            d.drain(10);
            assertThat(received).hasSize(1);
            assertThat(received.get(0).get("status").asText()).isEqualTo("RESOLVED");
            assertThat(d.pendingGroups()).isZero();
            assertThat(store.unnotified()).isEmpty();
        }
    }

    /** A maintenance window on line 1 (machine 2's alerts) from {@code from} to {@code to}. */
    private static Silence lineOne(long from, long to) {
        return new Silence(
                "maintenance",
                List.of(),
                Map.of("line", List.of("line-1")),
                Instant.ofEpochMilli(from),
                Instant.ofEpochMilli(to),
                null,
                "maria",
                "line 1 down for maintenance");
    }

    private static final long HOUR = Duration.ofHours(1).toMillis();

    /**
     * A silence begun after an alert was told mutes its reminders, as Alertmanager's does, and its
     * resolution is told: held back (as it was before), the alert stayed open for good for the
     * receivers told it opened, a PagerDuty incident or an andon light never cleared.
     */
    @Test
    void aSilenceBegunAfterAnAlertWasToldMutesItsRemindersAndTellsItsResolution() throws Exception {
        try (AlertStore store = new AlertStore(dir);
                Dispatcher d = dispatcher(store, 20, List.of())) {
            d.onEvent(alert(1, 2, AlertState.OPEN), 0, 0, T0);
            d.dispatchDue(T0 + 30_000);
            await().atMost(Duration.ofSeconds(10)).until(() -> received.size() == 1);
            d.silence(lineOne(T0, T0 + 24 * HOUR));
            // Its 4-hour reminder is due, and muted.
            d.dispatchDue(T0 + 30_000 + 4 * HOUR);
            d.onEvent(alert(1, 2, AlertState.RESOLVED), 0, 1, T0 + 5 * HOUR);
            d.dispatchDue(T0 + 5 * HOUR + 30_000);
            d.dispatchDue(T0 + 5 * HOUR + 6 * 60_000);
            d.dispatchDue(T0 + 10 * HOUR);
            d.drain(10);
            assertThat(received).hasSize(2);
            assertThat(received.get(1).get("status").asText()).isEqualTo("RESOLVED");
            assertThat(received.get(1).path("alerts").get(0).path("alert_id").asText())
                    .isEqualTo("alert-1");
            assertThat(d.pendingGroups()).isZero();
            assertThat(store.unnotified()).isEmpty();
        }
    }

    /**
     * An acknowledged alert is not reminded of: a person has it. Before, its receivers were paged
     * every repeat interval until it cleared. Its resolution is told, and the alert beside it in
     * its group still reminded.
     */
    @Test
    void anAcknowledgedAlertIsNotRemindedOfAndItsResolutionIsTold() throws Exception {
        try (AlertStore store = new AlertStore(dir);
                Dispatcher d = dispatcher(store, 20, List.of())) {
            d.onEvent(alert(1, 2, AlertState.OPEN), 0, 0, T0);
            d.onEvent(alert(2, 2, AlertState.OPEN), 0, 1, T0);
            d.dispatchDue(T0 + 30_000);
            await().atMost(Duration.ofSeconds(10)).until(() -> received.size() == 1);
            assertThat(received.get(0).path("alerts")).hasSize(2);
            d.acknowledge("alert-1", "maria", T0 + 60_000);
            d.dispatchDue(T0 + 30_000 + 4 * HOUR);
            await().atMost(Duration.ofSeconds(10)).until(() -> received.size() == 2);
            assertThat(received.get(1).get("status").asText()).isEqualTo("FIRING");
            assertThat(received.get(1).path("alerts")).hasSize(1);
            assertThat(received.get(1).path("alerts").get(0).path("alert_id").asText())
                    .isEqualTo("alert-2");
            d.acknowledge("alert-2", "maria", T0 + 5 * HOUR);
            d.dispatchDue(T0 + 30_000 + 8 * HOUR);
            d.onEvent(alert(1, 2, AlertState.RESOLVED), 0, 2, T0 + 9 * HOUR);
            d.dispatchDue(T0 + 9 * HOUR);
            d.drain(10);
            assertThat(received).hasSize(3);
            assertThat(received.get(2).path("alerts")).hasSize(1);
            assertThat(received.get(2).path("alerts").get(0).path("state").asText())
                    .isEqualTo("RESOLVED");
        }
    }

    /**
     * A fault that begins in a maintenance window and outlasts it is told when the window ends,
     * across a restart during the window too; one that cleared within it is never told. Before,
     * both were recorded as told and nobody heard of the first.
     */
    @Test
    void anAlertOpenedUnderASilenceIsToldWhenTheSilenceEndsIfStillOpen() throws Exception {
        Silence window = lineOne(T0, T0 + 2 * HOUR);
        try (AlertStore store = new AlertStore(dir);
                Dispatcher d = dispatcher(store, 20, List.of(window))) {
            d.onEvent(alert(1, 2, AlertState.OPEN), 0, 0, T0 + 60_000);
            d.onEvent(alert(2, 2, AlertState.OPEN), 0, 1, T0 + 60_000);
            d.onEvent(alert(2, 2, AlertState.RESOLVED), 0, 2, T0 + HOUR);
            d.dispatchDue(T0 + HOUR + 30_000);
            d.drain(10);
            assertThat(received).isEmpty();
            assertThat(d.metrics().silenced.get()).isEqualTo(3);
        }
        try (AlertStore store = new AlertStore(dir);
                Dispatcher d = dispatcher(store, 20, List.of())) {
            d.restore(T0 + HOUR + 60_000);
            d.dispatchDue(T0 + HOUR + 90_000);
            d.dispatchDue(T0 + 2 * HOUR - 1);
            assertThat(d.pendingGroups()).as("still silenced").isZero();
            d.dispatchDue(T0 + 2 * HOUR);
            d.dispatchDue(T0 + 2 * HOUR + 30_000);
            d.drain(10);
            assertThat(received).hasSize(1);
            assertThat(received.get(0).get("status").asText()).isEqualTo("FIRING");
            assertThat(received.get(0).path("alerts")).hasSize(1);
            assertThat(received.get(0).path("alerts").get(0).path("alert_id").asText())
                    .isEqualTo("alert-1");
            assertThat(store.unnotified()).isEmpty();
        }
    }

    /**
     * A silence that ended while alerting was down (a power cut in the maintenance window): the
     * alert it muted, still open, is told at the start. One told before the silence began is not
     * told again, and its resolution under the silence, after the restart, is told.
     */
    @Test
    void aSilenceThatEndedWhileTheServiceWasDownLetsItsMutedAlertBeToldAtTheStart()
            throws Exception {
        try (AlertStore store = new AlertStore(dir);
                Dispatcher d = dispatcher(store, 20, List.of())) {
            d.onEvent(alert(3, 2, AlertState.OPEN), 0, 0, T0);
            d.dispatchDue(T0 + 30_000);
            await().atMost(Duration.ofSeconds(10)).until(() -> received.size() == 1);
            await().atMost(Duration.ofSeconds(10)).until(() -> store.unnotified().isEmpty());
            d.silence(lineOne(T0 + HOUR, T0 + 2 * HOUR));
            d.onEvent(alert(1, 2, AlertState.OPEN), 0, 1, T0 + HOUR + 60_000);
            d.dispatchDue(T0 + HOUR + 90_000);
            d.drain(10);
        }
        try (AlertStore store = new AlertStore(dir);
                Dispatcher d = dispatcher(store, 20, List.of())) {
            d.restore(T0 + 3 * HOUR);
            d.dispatchDue(T0 + 3 * HOUR);
            d.dispatchDue(T0 + 3 * HOUR + 30_000);
            await().atMost(Duration.ofSeconds(10)).until(() -> received.size() == 2);
            assertThat(received.get(1).path("alerts")).hasSize(1);
            assertThat(received.get(1).path("alerts").get(0).path("alert_id").asText())
                    .isEqualTo("alert-1");
        }
        try (AlertStore store = new AlertStore(dir);
                Dispatcher d = dispatcher(store, 20, List.of())) {
            d.restore(T0 + 4 * HOUR);
            d.silence(lineOne(T0 + 4 * HOUR, T0 + 24 * HOUR));
            d.onEvent(alert(3, 2, AlertState.RESOLVED), 0, 2, T0 + 5 * HOUR);
            d.dispatchDue(T0 + 5 * HOUR + 30_000);
            d.drain(10);
            assertThat(received).hasSize(3);
            assertThat(received.get(2).get("status").asText()).isEqualTo("RESOLVED");
            assertThat(received.get(2).path("alerts").get(0).path("alert_id").asText())
                    .isEqualTo("alert-3");
        }
    }

    /**
     * An OPEN on its way to a receiver (its delivery slow, or retrying) when a silence begins and
     * the alert resolves: the receiver that gets the OPEN hears the resolution too.
     */
    @Test
    void aResolutionUnderASilenceIsToldWhileItsOpenIsStillOnItsWay() throws Exception {
        java.util.concurrent.CountDownLatch answerFirst =
                new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.atomic.AtomicInteger requests =
                new java.util.concurrent.atomic.AtomicInteger();
        server.createContext(
                "/slow",
                ex -> {
                    byte[] body = ex.getRequestBody().readAllBytes();
                    if (requests.incrementAndGet() == 1) {
                        try {
                            answerFirst.await();
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }
                    received.add(json.readTree(body));
                    ex.sendResponseHeaders(204, -1);
                    ex.close();
                });
        try (AlertStore store = new AlertStore(dir);
                Dispatcher d = dispatcherTo(store, oneAttempt("shift-lead", "/slow"))) {
            d.onEvent(alert(1, 2, AlertState.OPEN), 0, 0, T0);
            d.dispatchDue(T0 + 30_000);
            await().atMost(Duration.ofSeconds(10)).until(() -> requests.get() == 1);
            d.silence(lineOne(T0 + 40_000, T0 + 24 * HOUR));
            d.onEvent(alert(1, 2, AlertState.RESOLVED), 0, 1, T0 + 60_000);
            answerFirst.countDown();
            await().atMost(Duration.ofSeconds(10)).until(() -> store.unnotified().size() == 1);
            d.dispatchDue(T0 + 330_000);
            d.drain(10);
            assertThat(received).hasSize(2);
            assertThat(received.get(1).get("status").asText()).isEqualTo("RESOLVED");
            assertThat(store.unnotified()).isEmpty();
        }
    }

    /**
     * A silence begun while an alert waits out its group wait: the alert is told when the silence
     * ends, not at the next repeat hours later, and had it resolved within, never.
     */
    @Test
    void anAlertASilenceCaughtInItsGroupWaitIsToldWhenTheSilenceEnds() throws Exception {
        try (AlertStore store = new AlertStore(dir);
                Dispatcher d = dispatcher(store, 20, List.of())) {
            d.onEvent(alert(1, 2, AlertState.OPEN), 0, 0, T0);
            d.onEvent(alert(2, 2, AlertState.OPEN), 0, 1, T0);
            d.silence(lineOne(T0 + 10_000, T0 + HOUR));
            d.dispatchDue(T0 + 30_000);
            d.onEvent(alert(2, 2, AlertState.RESOLVED), 0, 2, T0 + 60_000);
            d.dispatchDue(T0 + HOUR);
            d.dispatchDue(T0 + HOUR + 30_000);
            d.drain(10);
            assertThat(received).hasSize(1);
            assertThat(received.get(0).get("status").asText()).isEqualTo("FIRING");
            assertThat(received.get(0).path("alerts")).hasSize(1);
            assertThat(received.get(0).path("alerts").get(0).path("alert_id").asText())
                    .isEqualTo("alert-1");
            assertThat(store.unnotified()).isEmpty();
        }
    }

    /**
     * Ended early through the API (an expiry), a silence lets the open alerts it muted be told at
     * once; not one acknowledged meanwhile: a person has it.
     */
    @Test
    void anAlertAcknowledgedUnderASilenceIsNotToldWhenItEnds() throws Exception {
        Silence window = lineOne(T0, T0 + 2 * HOUR);
        try (AlertStore store = new AlertStore(dir);
                Dispatcher d = dispatcher(store, 20, List.of(window))) {
            d.onEvent(alert(1, 2, AlertState.OPEN), 0, 0, T0 + 60_000);
            d.onEvent(alert(2, 2, AlertState.OPEN), 0, 1, T0 + 60_000);
            d.acknowledge("alert-2", "maria", T0 + 120_000);
            d.silence(window.expiredAt(Instant.ofEpochMilli(T0 + 180_000)));
            d.dispatchDue(T0 + 180_000);
            d.dispatchDue(T0 + 210_000);
            d.drain(10);
            assertThat(received).hasSize(1);
            assertThat(received.get(0).path("alerts")).hasSize(1);
            assertThat(received.get(0).path("alerts").get(0).path("alert_id").asText())
                    .isEqualTo("alert-1");
        }
    }

    /**
     * A resolution the flood gate holds back goes back to its group and is told once the flood has
     * passed. Before, it counted as told, and the receiver told the alert opened kept it open.
     */
    @Test
    void aResolutionTheFloodGateHeldIsToldOnceTheFloodHasPassed() throws Exception {
        try (AlertStore store = new AlertStore(dir);
                Dispatcher d = dispatcher(store, 1, List.of())) {
            d.onEvent(alert(1, 2, AlertState.OPEN), 0, 0, T0);
            d.dispatchDue(T0 + 30_000);
            // The limit (1 in 10 minutes) is reached: the next is a summary, the one after held.
            d.onEvent(alert(2, 3, AlertState.OPEN), 0, 1, T0 + 40_000);
            d.dispatchDue(T0 + 70_000);
            d.onEvent(alert(1, 2, AlertState.RESOLVED), 0, 2, T0 + 80_000);
            d.dispatchDue(T0 + 30_000 + 5 * 60_000);
            await().atMost(Duration.ofSeconds(10)).until(() -> received.size() == 2);
            await().atMost(Duration.ofSeconds(10))
                    .untilAsserted(
                            () ->
                                    assertThat(store.unnotified())
                                            .extracting(Alert::alertId)
                                            .containsExactly("alert-1"));
            // Its group interval later, the first notification has left the 10-minute window.
            d.dispatchDue(T0 + 30_000 + 10 * 60_000);
            d.drain(10);
            assertThat(received).hasSize(3);
            assertThat(received.get(2).get("status").asText()).isEqualTo("RESOLVED");
            assertThat(received.get(2).path("alerts").get(0).path("alert_id").asText())
                    .isEqualTo("alert-1");
            assertThat(store.unnotified()).isEmpty();
        }
    }

    /**
     * The webhook's JSON says an alert in numbers: its readings (one that is not a number as null),
     * their unit and its rule's limits, in order.
     */
    @Test
    void theWebhooksJsonCarriesEachAlertsValuesUnitAndLimits() throws Exception {
        Map<String, Double> limits = new java.util.LinkedHashMap<>();
        limits.put("low", 10.0);
        limits.put("high", 90.0);
        Alert a =
                new Alert(
                        "alert-1",
                        SensorId.parse("dresden/press-shop/line-1/press-2/oil-temp"),
                        "range",
                        AlertKind.OUT_OF_RANGE,
                        Severity.WARNING,
                        AlertState.OPEN,
                        T0,
                        T0,
                        T0,
                        List.of(91.5, Double.NaN, 94.0),
                        "m",
                        "degC",
                        limits);
        try (AlertStore store = new AlertStore(dir);
                Dispatcher d = dispatcher(store, 20, List.of())) {
            d.onEvent(a, 0, 0, T0);
            d.dispatchDue(T0 + 30_000);
            d.drain(10);
            assertThat(received).hasSize(1);
            JsonNode told = received.get(0).path("alerts").get(0);
            assertThat(told.path("values").toString()).isEqualTo("[91.5,null,94.0]");
            assertThat(told.path("unit").asText()).isEqualTo("degC");
            assertThat(told.path("limits").toString()).isEqualTo("{\"low\":10.0,\"high\":90.0}");
        }
    }

    /** With Grafana's address set, the webhook's JSON links each alert to its sensor's chart. */
    @Test
    void theWebhooksJsonLinksEachAlertToItsChart() throws Exception {
        WebhookReceiver hook = hook();
        ChartLinks charts = new ChartLinks(URI.create("https://grafana.plant:3000"));
        try (AlertStore store = new AlertStore(dir);
                Dispatcher d =
                        new Dispatcher(
                                store,
                                ROOT,
                                Map.of("shift-lead", hook),
                                new FloodGate(20, 600_000),
                                new FlapDetector(6, 1_800_000),
                                List.of(),
                                new Dispatcher.Metrics(),
                                charts,
                                List.of())) {
            d.onEvent(alert(1, 2, AlertState.OPEN), 0, 0, T0);
            d.dispatchDue(T0 + 30_000);
            d.drain(10);
            assertThat(received).hasSize(1);
            assertThat(received.get(0).path("alerts").get(0).path("chart_url").asText())
                    .isEqualTo(charts.chart(alert(1, 2, AlertState.OPEN)))
                    .contains("var-machine=press-2");
        }
    }

    /**
     * An alert closed by hand is told closed to the receivers that heard it open, with who and why,
     * across a restart; the detector's own resolution later, and a replay of its OPEN, tell nobody.
     * One nobody heard (opened under a silence) closes without a word.
     */
    @Test
    void anAlertClosedByHandIsToldClosedOnceAndTheDetectorsResolutionTellsNobody()
            throws Exception {
        try (AlertStore store = new AlertStore(dir);
                Dispatcher d = dispatcher(store, 20, List.of())) {
            d.onEvent(alert(1, 2, AlertState.OPEN), 0, 0, T0);
            d.dispatchDue(T0 + 30_000);
            await().atMost(Duration.ofSeconds(10)).until(() -> received.size() == 1);
            d.silence(lineOne(T0 + 40_000, T0 + HOUR));
            d.onEvent(alert(2, 2, AlertState.OPEN), 0, 1, T0 + 60_000);
            assertThat(d.closeByHand("alert-1", "maria", "sensor removed", T0 + 120_000))
                    .isEqualTo(AlertStore.Status.RESOLVED);
            assertThat(d.closeByHand("alert-2", "maria", "", T0 + 120_000))
                    .isEqualTo(AlertStore.Status.RESOLVED);
            d.dispatchDue(T0 + 6 * 60_000);
            d.drain(10);
            assertThat(received).hasSize(2);
            JsonNode closed = received.get(1);
            assertThat(closed.get("status").asText()).isEqualTo("RESOLVED");
            assertThat(closed.path("alerts")).hasSize(1);
            assertThat(closed.path("alerts").get(0).path("alert_id").asText()).isEqualTo("alert-1");
            assertThat(closed.path("alerts").get(0).path("message").asText())
                    .isEqualTo("closed by maria: sensor removed");
            assertThat(store.unnotified()).isEmpty();
        }
        try (AlertStore store = new AlertStore(dir);
                Dispatcher d = dispatcher(store, 20, List.of())) {
            d.restore(T0 + 2 * HOUR);
            assertThat(store.statusOf("alert-1")).isEqualTo(AlertStore.Status.RESOLVED);
            d.onEvent(alert(1, 2, AlertState.RESOLVED), 0, 2, T0 + 3 * HOUR);
            d.onEvent(alert(1, 2, AlertState.OPEN), 0, 3, T0 + 3 * HOUR);
            d.onEvent(alert(2, 2, AlertState.RESOLVED), 0, 4, T0 + 3 * HOUR);
            d.dispatchDue(T0 + 3 * HOUR + 30_000);
            d.drain(10);
            assertThat(received).hasSize(2);
            assertThat(store.statusOf("alert-1")).isEqualTo(AlertStore.Status.RESOLVED);
            assertThat(d.pendingGroups()).isZero();
            org.assertj.core.api.Assertions.assertThatThrownBy(
                            () -> d.closeByHand("alert-1", "maria", "", T0 + 4 * HOUR))
                    .isInstanceOf(Dispatcher.Conflict.class);
        }
    }

    /**
     * The detector's resolution arriving before the hand-close was told (its group interval) is a
     * repeat too: the close goes out with who closed it, and a latching rule does not latch it.
     */
    @Test
    void theDetectorsResolutionBeforeTheCloseIsToldNeitherReplacesNorLatchesIt() throws Exception {
        AlertMatcher all =
                AlertMatcher.parse(
                        new ObjectMapper().readTree("{\"match\": {\"severity\": [\"WARNING\"]}}"),
                        "test",
                        "latching");
        try (AlertStore store = new AlertStore(dir);
                Dispatcher d = dispatcher(store, 20, List.of(), List.of(all))) {
            d.onEvent(alert(1, 2, AlertState.OPEN), 0, 0, T0);
            d.dispatchDue(T0 + 30_000);
            await().atMost(Duration.ofSeconds(10)).until(() -> received.size() == 1);
            d.closeByHand("alert-1", "maria", "sensor removed", T0 + 60_000);
            d.onEvent(alert(1, 2, AlertState.RESOLVED), 0, 1, T0 + 90_000);
            assertThat(store.statusOf("alert-1")).isEqualTo(AlertStore.Status.RESOLVED);
            d.dispatchDue(T0 + 6 * 60_000);
            d.drain(10);
            assertThat(received).hasSize(2);
            assertThat(received.get(1).path("alerts").get(0).path("message").asText())
                    .isEqualTo("closed by maria: sensor removed");
            assertThat(store.alert("alert-1").message())
                    .isEqualTo("closed by maria: sensor removed");
        }
    }

    /**
     * In a flood, a CRITICAL alert its receiver has not had goes at once; once it was told, a
     * warning beside it on its machine waits its turn like any other.
     */
    @Test
    void aCriticalAlertPassesAFloodAWarningBesideItOnceToldDoesNot() throws Exception {
        try (AlertStore store = new AlertStore(dir);
                Dispatcher d = dispatcher(store, 1, List.of())) {
            d.onEvent(alert(1, 2, AlertState.OPEN), 0, 0, T0);
            d.dispatchDue(T0 + 30_000);
            d.onEvent(alert(2, 3, AlertState.OPEN), 0, 1, T0 + 40_000);
            d.dispatchDue(T0 + 70_000); // the summary
            d.onEvent(alert(3, 4, AlertState.OPEN), 0, 2, T0 + 80_000);
            d.dispatchDue(T0 + 110_000); // held
            Alert fire =
                    new Alert(
                            "fire",
                            SensorId.parse("dresden/press-shop/line-2/press-5/oil-temp"),
                            "oil hot",
                            AlertKind.OUT_OF_RANGE,
                            Severity.CRITICAL,
                            AlertState.OPEN,
                            T0,
                            T0,
                            T0,
                            List.of(120.0),
                            "oil-temp 120 degC above 80");
            d.onEvent(fire, 0, 3, T0 + 120_000);
            d.dispatchDue(T0 + 150_000);
            await().atMost(Duration.ofSeconds(10)).until(() -> received.size() == 3);
            assertThat(received.get(2).path("alerts").get(0).path("alert_id").asText())
                    .isEqualTo("fire");
            // A warning beside it on that machine, with the fire still open, waits like the rest:
            // the fire was told, so the group is not urgent any more.
            Alert beside =
                    new Alert(
                            "beside",
                            SensorId.parse("dresden/press-shop/line-2/press-5/bearing"),
                            "spike",
                            AlertKind.SPIKE,
                            Severity.WARNING,
                            AlertState.OPEN,
                            T0,
                            T0,
                            T0,
                            List.of(1.0),
                            "m");
            await().atMost(Duration.ofSeconds(10)).until(() -> store.unnotified().isEmpty());
            d.onEvent(beside, 0, 4, T0 + 160_000);
            d.dispatchDue(T0 + 450_000);
            d.drain(10);
            assertThat(received).hasSize(3);
        }
    }

    /** Episode {@code n} of one sensor's spike rule: each has its own alert id. */
    private static Alert episode(int n, AlertState state) {
        return new Alert(
                "episode-" + n,
                SensorId.parse("dresden/press-shop/line-1/press-1/oil-temp"),
                "spike",
                AlertKind.SPIKE,
                Severity.WARNING,
                state,
                T0 + n,
                T0 + n,
                T0 + n,
                List.of(1.0),
                "m");
    }

    /**
     * The episode that started a sensor's flapping was told as open; its resolution is told too,
     * while the episodes after it are held back. Before, that resolution was held back like them:
     * its receivers had the episode open for good (a pager's incident never resolved), and it was
     * repeated as firing every repeat interval.
     */
    @Test
    void theResolutionOfTheEpisodeThatStartedTheFlappingIsTold() throws Exception {
        try (AlertStore store = new AlertStore(dir);
                Dispatcher d = dispatcher(store, 100, List.of())) {
            d.onEvent(episode(1, AlertState.OPEN), 0, 0, T0);
            d.dispatchDue(T0 + 30_000);
            long offset = 1;
            d.onEvent(episode(1, AlertState.RESOLVED), 0, offset++, T0 + 60_000);
            for (int n = 2; n <= 3; n++) {
                d.onEvent(episode(n, AlertState.OPEN), 0, offset++, T0 + 60_000 + n);
                d.onEvent(episode(n, AlertState.RESOLVED), 0, offset++, T0 + 60_000 + n);
            }
            d.onEvent(episode(4, AlertState.OPEN), 0, offset++, T0 + 65_000); // the 7th change
            d.dispatchDue(T0 + 330_000);
            await().atMost(Duration.ofSeconds(10)).until(() -> received.size() == 2);
            assertThat(received.get(1).get("status").asText()).isEqualTo("FIRING");

            d.onEvent(episode(4, AlertState.RESOLVED), 0, offset++, T0 + 400_000);
            d.onEvent(episode(5, AlertState.OPEN), 0, offset++, T0 + 700_000);
            d.onEvent(episode(5, AlertState.RESOLVED), 0, offset, T0 + 701_000);
            d.dispatchDue(T0 + 630_000);
            d.dispatchDue(T0 + Duration.ofHours(5).toMillis());
            d.drain(10);
            assertThat(received).hasSize(3);
            JsonNode last = received.get(2);
            assertThat(last.get("status").asText()).isEqualTo("RESOLVED");
            assertThat(last.get("alerts").get(0).get("alert_id").asText()).isEqualTo("episode-4");
            assertThat(last.toString()).doesNotContain("episode-5");
            assertThat(d.pendingGroups()).isZero();
            // Held for flapping, each transition through it: none went down a silence's path.
            assertThat(d.metrics().silenced.get()).isZero();
            assertThat(d.metrics().flapping.get()).isPositive();
        }
    }

    @Test
    void aThousandEventsFromFiveMachinesStayWithinTheFloodLimitGroupedPerMachineWithASummary()
            throws Exception {
        try (AlertStore store = new AlertStore(dir);
                Dispatcher d = dispatcher(store, 3, List.of())) {
            for (int i = 0; i < 1000; i++) {
                d.onEvent(alert(i, i % 5, AlertState.OPEN), 0, i, T0 + i * 60L);
            }
            for (long t = T0; t <= T0 + 600_000; t += 10_000) {
                d.dispatchDue(t);
            }
            d.drain(10);
            assertThat(received).hasSize(4);
            List<JsonNode> firing =
                    received.stream()
                            .filter(n -> n.path("status").asText().equals("FIRING"))
                            .toList();
            assertThat(firing).hasSize(3);
            for (JsonNode n : firing) {
                Set<String> machines = new HashSet<>();
                n.path("alerts").forEach(a -> machines.add(a.path("machine").asText()));
                assertThat(machines).hasSize(1);
                assertThat(n.path("alerts")).hasSize(200);
            }
            List<JsonNode> summaries =
                    received.stream()
                            .filter(n -> n.path("status").asText().equals("SUMMARY"))
                            .toList();
            assertThat(summaries).hasSize(1);
            // The summary stands in for the fourth machine's notification and carries its
            // alerts; only the fifth machine's is held, and the metric says one.
            assertThat(summaries.get(0).path("alerts")).hasSize(200);
            assertThat(summaries.get(0).has("suppressed")).isFalse();
            assertThat(new PrometheusMetrics(d, store, () -> 0, () -> T0).render())
                    .contains("plantwatch_alerting_flood_held_total{receiver=\"shift-lead\"} 1\n");
            assertThat(store.all()).hasSize(1000);
        }
    }

    @Test
    void aSilenceMutesExactlyItsLine() throws Exception {
        Silence line1 =
                new Silence(
                        "s",
                        List.of(),
                        Map.of("line", List.of("line-1")),
                        Instant.ofEpochMilli(T0),
                        Instant.ofEpochMilli(T0 + 3_600_000),
                        null,
                        "test",
                        "");
        try (AlertStore store = new AlertStore(dir);
                Dispatcher d = dispatcher(store, 100, List.of(line1))) {
            for (int i = 0; i < 10; i++) {
                d.onEvent(alert(i, i % 2, AlertState.OPEN), 0, i, T0);
            }
            d.dispatchDue(T0 + 30_000);
            d.drain(10);
            assertThat(received).hasSize(1);
            received.get(0)
                    .path("alerts")
                    .forEach(a -> assertThat(a.path("line").asText()).isEqualTo("line-2"));
            assertThat(d.metrics().silenced.get()).isEqualTo(5);
            assertThat(store.unnotified()).isEmpty();
        }
    }

    @Test
    void aRestartNeitherResendsNorMisses() throws Exception {
        List<String> told = new ArrayList<>();
        try (AlertStore store = new AlertStore(dir);
                Dispatcher d = dispatcher(store, 100, List.of())) {
            for (int i = 0; i < 4; i++) {
                d.onEvent(alert(i, i, AlertState.OPEN), 0, i, T0);
            }
            d.dispatchDue(T0 + 30_000);
            d.drain(10);
            // Two more arrive, and the service stops before their group wait is over.
            d.onEvent(alert(10, 7, AlertState.OPEN), 0, 4, T0 + 40_000);
            d.onEvent(alert(0, 0, AlertState.RESOLVED), 0, 5, T0 + 41_000);
        }
        assertThat(received).hasSize(4);
        try (AlertStore store = new AlertStore(dir);
                Dispatcher d = dispatcher(store, 100, List.of())) {
            assertThat(store.nextOffsets()).isEqualTo(Map.of(0, 6L));
            d.restore(T0 + 100_000);
            d.dispatchDue(T0 + 1_000_000);
            d.drain(10);
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> received.size() == 6);
        received.forEach(
                n ->
                        n.path("alerts")
                                .forEach(
                                        a ->
                                                told.add(
                                                        a.path("alert_id").asText()
                                                                + ":"
                                                                + a.path("state").asText())));
        assertThat(told)
                .containsExactlyInAnyOrder(
                        "alert-0:OPEN",
                        "alert-1:OPEN",
                        "alert-2:OPEN",
                        "alert-3:OPEN",
                        "alert-10:OPEN",
                        "alert-0:RESOLVED");
    }

    /**
     * The job restored from a checkpoint taken before an episode's resolution sends its OPEN again
     * (at-least-once); the resolution may follow, or not if the restored job resolves it later.
     * Neither the store nor a person sees the alert open again.
     */
    @Test
    void anOpenReplayedAfterItsResolutionChangesNothingAndTellsNobody() throws Exception {
        try (AlertStore store = new AlertStore(dir);
                Dispatcher d = dispatcher(store, 100, List.of())) {
            d.onEvent(alert(1, 1, AlertState.OPEN), 0, 0, T0);
            d.dispatchDue(T0 + 30_000);
            d.onEvent(alert(1, 1, AlertState.RESOLVED), 0, 1, T0 + 60_000);
            d.dispatchDue(T0 + 400_000);
            d.onEvent(alert(1, 1, AlertState.OPEN), 0, 2, T0 + 500_000);
            assertThat(store.statusOf("alert-1")).isEqualTo(AlertStore.Status.RESOLVED);
            assertThat(store.alert("alert-1").state()).isEqualTo(AlertState.RESOLVED);
            d.dispatchDue(T0 + 1_000_000);
            d.drain(10);
        }
        // Restarted when the test's time says, not the wall clock's: 30 days after T0 the store
        // forgets the resolved alert.
        try (AlertStore store = new AlertStore(dir, Duration.ofDays(30), T0 + 2_000_000)) {
            assertThat(store.statusOf("alert-1"))
                    .as("after a restart too")
                    .isEqualTo(AlertStore.Status.RESOLVED);
            assertThat(store.nextOffsets()).isEqualTo(Map.of(0, 3L));
        }
        List<String> told = new ArrayList<>();
        received.forEach(n -> n.path("alerts").forEach(a -> told.add(a.path("state").asText())));
        assertThat(told).containsExactly("OPEN", "RESOLVED");
    }

    @Test
    void aLatchedAlertStaysOpenUntilAcknowledgedThenItsResolutionIsTold() throws Exception {
        AlertMatcher critical = new AlertMatcher(List.of(), Map.of("rule", List.of("spike")));
        try (AlertStore store = new AlertStore(dir);
                Dispatcher d = dispatcher(store, 100, List.of(), List.of(critical))) {
            d.onEvent(alert(1, 1, AlertState.OPEN), 0, 0, T0);
            d.dispatchDue(T0 + 30_000);
            d.onEvent(alert(1, 1, AlertState.RESOLVED), 0, 1, T0 + 60_000);
            d.dispatchDue(T0 + 400_000);
            d.drain(10);
            assertThat(received).hasSize(1);
            assertThat(received.get(0).path("status").asText()).isEqualTo("FIRING");
            assertThat(store.statusOf("alert-1")).isEqualTo(AlertStore.Status.LATCHED);
        }
        // The latch survives a restart, and the held resolution is not sent by it.
        try (AlertStore store = new AlertStore(dir);
                Dispatcher d = dispatcher(store, 100, List.of(), List.of(critical))) {
            d.restore(T0 + 500_000);
            assertThat(store.statusOf("alert-1")).isEqualTo(AlertStore.Status.LATCHED);
            assertThat(d.acknowledge("alert-1", "maria", T0 + 600_000))
                    .isEqualTo(AlertStore.Status.RESOLVED);
            d.dispatchDue(T0 + 700_000);
            d.drain(10);
            assertThat(received).hasSize(2);
            assertThat(received.get(1).path("status").asText()).isEqualTo("RESOLVED");
        }
    }

    @Test
    void anAlertAcknowledgedBeforeItClearsIsNotLatched() throws Exception {
        AlertMatcher all = new AlertMatcher(List.of(), Map.of("kind", List.of("SPIKE")));
        try (AlertStore store = new AlertStore(dir);
                Dispatcher d = dispatcher(store, 100, List.of(), List.of(all))) {
            d.onEvent(alert(1, 1, AlertState.OPEN), 0, 0, T0);
            d.acknowledge("alert-1", "maria", T0 + 1_000);
            d.onEvent(alert(1, 1, AlertState.RESOLVED), 0, 1, T0 + 2_000);
            assertThat(store.statusOf("alert-1")).isEqualTo(AlertStore.Status.RESOLVED);
            d.dispatchDue(T0 + 40_000);
            d.drain(10);
            assertThat(received).hasSize(1);
            assertThat(received.get(0).path("status").asText()).isEqualTo("RESOLVED");
        }
    }

    @Test
    void aShelvedAlertIsQuietUntilItsShelvingRunsOutThenToldAgain() throws Exception {
        try (AlertStore store = new AlertStore(dir);
                Dispatcher d = dispatcher(store, 100, List.of())) {
            d.onEvent(alert(1, 1, AlertState.OPEN), 0, 0, T0);
            // Shelved during its group wait: its first notification never goes out.
            d.shelve("alert-1", "maria", T0 + 1_000, T0 + 3_600_000);
            d.onEvent(alert(1, 1, AlertState.OPEN), 0, 1, T0 + 40_000); // a repeat, still held
            d.dispatchDue(T0 + 3_000_000);
            assertThat(store.statusOf("alert-1")).isEqualTo(AlertStore.Status.SHELVED);
            assertThat(d.metrics().shelved.get()).isEqualTo(1);

            d.dispatchDue(T0 + 3_600_000);
            assertThat(store.statusOf("alert-1")).isEqualTo(AlertStore.Status.OPEN);
            d.dispatchDue(T0 + 3_700_000);
            d.drain(10);
            assertThat(received).hasSize(1);
            assertThat(received.get(0).path("status").asText()).isEqualTo("FIRING");
        }
    }
}
