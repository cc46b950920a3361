package io.plantwatch.alerting;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.plantwatch.model.Alert;
import io.plantwatch.model.AlertState;
import io.plantwatch.model.SensorId;
import io.plantwatch.model.Severity;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Problems the pipeline's parts report, told as alerts: with the journal on disk. */
class PipelineAlertsTest {
    private static final long T0 = Instant.parse("2026-12-07T08:00:00Z").toEpochMilli();
    private static final PipelineAlerts.Settings SETTINGS =
            new PipelineAlerts.Settings(true, "line-3-box", Duration.ofSeconds(30));
    private static final PipelineAlerts.Check JOB =
            new PipelineAlerts.Check(
                    "anomaly-job", "running", Severity.CRITICAL, "The job runs again.", false);
    private static final PipelineAlerts.Check DROPS =
            new PipelineAlerts.Check(
                    "mqtt-broker", "drops", Severity.CRITICAL, "No more drops.", true);
    private static final SensorId JOB_ID =
            SensorId.parse("plantwatch/pipeline/line-3-box/anomaly-job/running");

    @TempDir Path dir;

    private final List<Notification> told = new CopyOnWriteArrayList<>();

    /** Takes every notification, as a receiver that answers at once would. */
    private final Receiver shiftLead =
            new Receiver() {
                @Override
                public String name() {
                    return "shift-lead";
                }

                @Override
                public WebhookReceiver.Outcome deliver(Notification n, byte[] json) {
                    told.add(n);
                    return WebhookReceiver.Outcome.DELIVERED;
                }
            };

    private Dispatcher dispatcher(AlertStore store) {
        return new Dispatcher(
                store,
                ShippedRoutes.to("shift-lead"),
                Map.of("shift-lead", shiftLead),
                new FloodGate(20, 600_000),
                new FlapDetector(6, 1_800_000),
                List.of());
    }

    private static List<Alert> events(AlertStore store) {
        return store.all().stream().map(AlertStore.Entry::alert).toList();
    }

    /**
     * What the appliance waits for before it stops on its own: its alert told to the receivers (not
     * merely opened), or nothing to tell with pipeline alerts switched off.
     */
    @Test
    void toldIsWhenTheReceiversTookTheAlertOrWhenThereIsNothingToTell() throws Exception {
        PipelineAlerts pipeline = new PipelineAlerts();
        assertThat(pipeline.told(DROPS)).as("no service run yet").isFalse();
        try (AlertStore store = new AlertStore(dir);
                Dispatcher d = dispatcher(store)) {
            PipelineAlerts.Run run = pipeline.start(SETTINGS, store, T0);
            pipeline.report(DROPS, "The broker drops readings.", T0);
            assertThat(pipeline.told(DROPS)).as("reported, not opened").isFalse();
            run.apply(d, T0);
            assertThat(store.all()).hasSize(1);
            assertThat(pipeline.told(DROPS)).as("opened, not yet told").isFalse();
            d.dispatchDue(T0 + 60_000);
            await().atMost(Duration.ofSeconds(10)).until(() -> pipeline.told(DROPS));
            assertThat(told).hasSize(1);
        }
        PipelineAlerts off = new PipelineAlerts();
        try (AlertStore store = new AlertStore(dir.resolve("off"))) {
            off.start(
                    new PipelineAlerts.Settings(false, "line-3-box", Duration.ofSeconds(30)),
                    store,
                    T0);
            assertThat(off.told(DROPS)).isTrue();
        }
    }

    @Test
    void aProblemThatLastsOpensOnceAndItsEndResolvesIt() throws Exception {
        PipelineAlerts pipeline = new PipelineAlerts();
        try (AlertStore store = new AlertStore(dir);
                Dispatcher d = dispatcher(store)) {
            PipelineAlerts.Run run = pipeline.start(SETTINGS, store, T0);
            pipeline.report(JOB, "The anomaly job failed 3 times in 10 minutes: disk full.", T0);
            run.apply(d, T0);
            pipeline.report(
                    JOB, "The anomaly job failed 4 times in 10 minutes: disk full.", T0 + 20_000);
            run.apply(d, T0 + 29_999);
            assertThat(store.all()).as("shorter than after: a restart that recovers").isEmpty();

            run.apply(d, T0 + 30_000);
            run.apply(d, T0 + 31_000);
            assertThat(store.firing()).hasSize(1);
            Alert open = store.firing().get(0);
            assertThat(open.sensorId()).isEqualTo(JOB_ID);
            assertThat(open.rule()).isEqualTo(PipelineAlerts.RULE);
            assertThat(open.severity()).isEqualTo(Severity.CRITICAL);
            assertThat(open.episodeStart()).as("since the first report").isEqualTo(T0);
            assertThat(open.eventTime()).isEqualTo(T0 + 30_000);
            assertThat(open.message())
                    .as("the problem as last reported when it opens")
                    .isEqualTo("The anomaly job failed 4 times in 10 minutes: disk full.");
            assertThat(open.alertId()).isEqualTo(Alert.idFor(JOB_ID, PipelineAlerts.RULE, T0));

            d.dispatchDue(T0 + 60_000);
            await().atMost(Duration.ofSeconds(10)).until(() -> told.size() == 1);
            assertThat(told.get(0).status()).isEqualTo(Notification.Status.FIRING);
            assertThat(told.get(0).groupKey())
                    .isEqualTo("shift-lead/plantwatch/pipeline/line-3-box/anomaly-job");

            pipeline.report(JOB, null, T0 + 90_000);
            run.apply(d, T0 + 90_000);
            run.apply(d, T0 + 119_999);
            assertThat(store.firing()).as("clear for less than after").hasSize(1);
            run.apply(d, T0 + 120_000);
            assertThat(store.firing()).isEmpty();
            Alert resolved = store.alert(open.alertId());
            assertThat(resolved.state()).isEqualTo(AlertState.RESOLVED);
            assertThat(resolved.message()).isEqualTo("The job runs again.");
            d.dispatchDue(T0 + 120_000 + 5 * 60_000);
            await().atMost(Duration.ofSeconds(10)).until(() -> told.size() == 2);
            assertThat(told.get(1).status()).isEqualTo(Notification.Status.RESOLVED);
            assertThat(d.metrics().pipelineEvents).hasValue(2);
            assertThat(d.metrics().events).as("read from Kafka: none").hasValue(0);

            pipeline.report(JOB, "The anomaly job is not running (RESTARTING).", T0 + 130_000);
            run.apply(d, T0 + 160_000);
            assertThat(store.firing())
                    .as("a new episode, a new id")
                    .extracting(Alert::alertId)
                    .containsExactly(Alert.idFor(JOB_ID, PipelineAlerts.RULE, T0 + 130_000));
        }
    }

    @Test
    void aCheckThatWaitedOpensAtOnce() throws Exception {
        PipelineAlerts pipeline = new PipelineAlerts();
        try (AlertStore store = new AlertStore(dir);
                Dispatcher d = dispatcher(store)) {
            PipelineAlerts.Run run = pipeline.start(SETTINGS, store, T0);
            pipeline.report(DROPS, "The MQTT broker drops readings: 36 so far.", T0);
            run.apply(d, T0);
            assertThat(events(store)).extracting(Alert::state).containsExactly(AlertState.OPEN);
        }
    }

    @Test
    void aRestartFindsWhatIsOpenAndResolvesItWhenItsProblemHasGoneOrNobodyChecksIt()
            throws Exception {
        PipelineAlerts before = new PipelineAlerts();
        try (AlertStore store = new AlertStore(dir);
                Dispatcher d = dispatcher(store)) {
            PipelineAlerts.Run run = before.start(SETTINGS, store, T0);
            before.report(JOB, "The anomaly job is not running (FAILING).", T0);
            before.report(DROPS, "The MQTT broker drops readings: 36 so far.", T0);
            run.apply(d, T0 + 30_000);
            assertThat(store.firing()).hasSize(2);
        }
        // A new process: nothing reported yet.
        PipelineAlerts after = new PipelineAlerts();
        try (AlertStore store = new AlertStore(dir);
                Dispatcher d = dispatcher(store)) {
            PipelineAlerts.Run run = after.start(SETTINGS, store, T0 + 60_000);
            after.report(JOB, "The anomaly job is not running (FAILING).", T0 + 60_000);
            run.apply(d, T0 + 60_000);
            assertThat(store.firing())
                    .as("not opened again, and the unreported one waits for its part to start")
                    .hasSize(2);
            run.apply(d, T0 + 95_000);
            assertThat(store.firing())
                    .as("Prometheus sends its alerts once a minute: a few minutes' grace")
                    .hasSize(2);
            long graceOver = T0 + 60_000 + PipelineAlerts.UNREPORTED_GRACE;
            run.apply(d, graceOver);
            assertThat(store.firing())
                    .as("the broker's check is not reported any more: resolved")
                    .extracting(a -> a.sensorId().machine())
                    .containsExactly("anomaly-job");
            Alert job = store.firing().get(0);
            assertThat(job.episodeStart()).as("the episode from before the restart").isEqualTo(T0);
            assertThat(store.all())
                    .filteredOn(e -> e.alert().sensorId().machine().equals("mqtt-broker"))
                    .extracting(e -> e.alert().message())
                    .singleElement()
                    .asString()
                    .startsWith("No part checks this any more");

            after.report(JOB, null, graceOver + 1_000);
            run.apply(d, graceOver + 1_000);
            run.apply(d, graceOver + 31_000);
            assertThat(store.firing()).isEmpty();
        }
    }

    @Test
    void anAlertClosedByHandIsNotOpenedAgainWhileItsProblemLasts() throws Exception {
        PipelineAlerts pipeline = new PipelineAlerts();
        try (AlertStore store = new AlertStore(dir);
                Dispatcher d = dispatcher(store)) {
            PipelineAlerts.Run run = pipeline.start(SETTINGS, store, T0);
            pipeline.report(JOB, "The anomaly job is not running (FAILING).", T0);
            run.apply(d, T0 + 30_000);
            String id = store.firing().get(0).alertId();
            d.closeByHand(id, "mia", "known: the disk is being replaced", T0 + 40_000);

            pipeline.report(JOB, "The anomaly job is not running (FAILING).", T0 + 50_000);
            run.apply(d, T0 + 50_000);
            run.apply(d, T0 + 120_000);
            assertThat(store.firing()).isEmpty();
            assertThat(store.statusOf(id)).isEqualTo(AlertStore.Status.RESOLVED);

            pipeline.report(JOB, null, T0 + 130_000);
            run.apply(d, T0 + 130_000);
            pipeline.report(JOB, "The anomaly job is not running (FAILING).", T0 + 140_000);
            run.apply(d, T0 + 180_000);
            assertThat(store.firing()).as("clear for less than after: the same spell").isEmpty();
            // Alerting restarted for a changed file, in the same process: still closed.
            run = pipeline.start(SETTINGS, store, T0 + 181_000);
            run.apply(d, T0 + 185_000);
            assertThat(store.firing()).isEmpty();

            pipeline.report(JOB, null, T0 + 190_000);
            run.apply(d, T0 + 190_000);
            run.apply(d, T0 + 220_000);
            pipeline.report(JOB, "The anomaly job is not running (FAILING).", T0 + 230_000);
            run.apply(d, T0 + 260_000);
            assertThat(store.firing()).as("a new episode opens").hasSize(1);
        }
    }

    @Test
    void aPartThatFailsEveryFewSecondsIsOneAlert() throws Exception {
        PipelineAlerts pipeline = new PipelineAlerts();
        try (AlertStore store = new AlertStore(dir);
                Dispatcher d = dispatcher(store)) {
            PipelineAlerts.Run run = pipeline.start(SETTINGS, store, T0);
            for (long t = 0; t < 60_000; t += 20_000) {
                pipeline.report(JOB, "The anomaly job is not running (RESTARTING).", T0 + t);
                run.apply(d, T0 + t);
                pipeline.report(JOB, null, T0 + t + 10_000);
                run.apply(d, T0 + t + 10_000);
            }
            pipeline.report(JOB, "The anomaly job is not running (RESTARTING).", T0 + 60_000);
            run.apply(d, T0 + 60_000);
            assertThat(events(store))
                    .singleElement()
                    .satisfies(
                            a -> {
                                assertThat(a.state()).isEqualTo(AlertState.OPEN);
                                assertThat(a.episodeStart()).isEqualTo(T0);
                            });
        }
    }

    @Test
    void switchedOffAndOnAgainOrRenamedAProblemStillThereIsToldAgain() throws Exception {
        PipelineAlerts pipeline = new PipelineAlerts();
        try (AlertStore store = new AlertStore(dir);
                Dispatcher d = dispatcher(store)) {
            pipeline.report(DROPS, "The MQTT broker drops readings: 36 so far.", T0);
            pipeline.start(SETTINGS, store, T0).apply(d, T0);
            pipeline.start(
                            new PipelineAlerts.Settings(
                                    false, "line-3-box", Duration.ofSeconds(30)),
                            store,
                            T0 + 1_000)
                    .apply(d, T0 + 1_000);
            assertThat(store.firing()).isEmpty();

            pipeline.start(SETTINGS, store, T0 + 2_000).apply(d, T0 + 2_000);
            assertThat(store.firing())
                    .as("a new episode from now, not the resolved one's id")
                    .singleElement()
                    .extracting(Alert::episodeStart)
                    .isEqualTo(T0 + 2_000);

            pipeline.start(
                            new PipelineAlerts.Settings(true, "line-4-box", Duration.ofSeconds(30)),
                            store,
                            T0 + 3_000)
                    .apply(d, T0 + 3_000);
            assertThat(store.firing())
                    .singleElement()
                    .extracting(a -> a.sensorId().line())
                    .isEqualTo("line-4-box");
            assertThat(store.all())
                    .filteredOn(e -> e.alert().sensorId().line().equals("line-3-box"))
                    .extracting(e -> e.alert().message())
                    .contains(
                            "This appliance's pipeline alerts are now under"
                                    + " pipeline-alerts.instance line-4-box.");
        }
    }

    @Test
    void switchedOffTheOpenOnesResolveAndNothingOpens() throws Exception {
        PipelineAlerts pipeline = new PipelineAlerts();
        try (AlertStore store = new AlertStore(dir);
                Dispatcher d = dispatcher(store)) {
            pipeline.report(DROPS, "The MQTT broker drops readings: 36 so far.", T0);
            pipeline.start(SETTINGS, store, T0).apply(d, T0);
            assertThat(store.firing()).hasSize(1);

            PipelineAlerts.Run off =
                    pipeline.start(
                            new PipelineAlerts.Settings(
                                    false, "line-3-box", Duration.ofSeconds(30)),
                            store,
                            T0 + 1_000);
            pipeline.report(JOB, "The anomaly job is not running (FAILING).", T0 + 1_000);
            off.apply(d, T0 + 1_000);
            off.apply(d, T0 + 60_000);
            assertThat(store.firing()).isEmpty();
            assertThat(store.all()).hasSize(1);
            assertThat(store.all().get(0).alert().message()).contains("switched off");
        }
    }
}
