package io.plantwatch.alerting;

import java.time.Instant;
import java.util.Map;
import java.util.function.LongSupplier;
import java.util.function.ToLongFunction;

/** The service's counters and gauges in Prometheus' text format, for {@code GET /metrics}. */
final class PrometheusMetrics {
    private final Dispatcher dispatcher;
    private final AlertStore store;
    private final LongSupplier undecodable;
    private final LongSupplier lost;
    private final LongSupplier deletedUnread;
    private final LongSupplier deadLetterHolds;
    private final LongSupplier clock;

    /** The watch of alerting's file, when the service watches it: changes applied and refused. */
    private LongSupplier configApplied;

    private LongSupplier configRefused;

    PrometheusMetrics(
            Dispatcher dispatcher, AlertStore store, LongSupplier undecodable, LongSupplier clock) {
        this(dispatcher, store, undecodable, () -> 0, () -> 0, () -> 0, clock);
    }

    /** The heartbeat, when one is set: pings its monitor took, and those that failed. */
    private LongSupplier heartbeatsSent;

    private LongSupplier heartbeatsFailed;

    PrometheusMetrics withHeartbeats(LongSupplier sent, LongSupplier failed) {
        this.heartbeatsSent = sent;
        this.heartbeatsFailed = failed;
        return this;
    }

    /** Also renders the counts of changes to alerting's file applied and refused while it runs. */
    PrometheusMetrics withConfigChanges(LongSupplier applied, LongSupplier refused) {
        this.configApplied = applied;
        this.configRefused = refused;
        return this;
    }

    PrometheusMetrics(
            Dispatcher dispatcher,
            AlertStore store,
            LongSupplier undecodable,
            LongSupplier lost,
            LongSupplier deletedUnread,
            LongSupplier deadLetterHolds,
            LongSupplier clock) {
        this.dispatcher = dispatcher;
        this.store = store;
        this.undecodable = undecodable;
        this.lost = lost;
        this.deletedUnread = deletedUnread;
        this.deadLetterHolds = deadLetterHolds;
        this.clock = clock;
    }

    String render() {
        Dispatcher.Metrics m = dispatcher.metrics();
        StringBuilder b = new StringBuilder();
        counter(b, "events", "Alert events read from Kafka", m.events.get());
        counter(
                b,
                "pipeline_events",
                "Alerts about the pipeline itself opened and resolved (pipeline-alerts)",
                m.pipelineEvents.get());
        counter(
                b,
                "duplicate_events",
                "Alert events already notified (at-least-once repeats)",
                m.duplicates.get());
        counter(
                b,
                "undecodable_records",
                "Records on the alerts topic that are not alert events, kept in the alerts DLQ (or"
                        + " refused by it for themselves, which is logged)",
                undecodable.getAsLong());
        counter(
                b,
                "dead_letter_holds",
                "Failed tries to keep a record that is not an alert event in the alerts DLQ; its"
                        + " partition waits at the record, tried again 5 s after each",
                deadLetterHolds.getAsLong());
        counter(
                b,
                "kafka_lost_records",
                "Alert records this service had applied that Kafka lost (its log's tail, e.g. in a"
                        + " broker crash); it read on where the log ends",
                lost.getAsLong());
        counter(
                b,
                "kafka_deleted_unread_records",
                "Alert records Kafka deleted (retention) before this service read them",
                deletedUnread.getAsLong());
        counter(
                b,
                "journal_bad_lines",
                "Alert journal lines that could not be applied at start (damage, not a torn last"
                        + " line), kept in alerts.journal.bad",
                store.badLines());
        counter(
                b,
                "alerts_expired",
                "Resolved alerts forgotten, their resolution told more than store.retention ago",
                store.expired());
        if (configApplied != null) {
            counter(
                    b,
                    "config_changes_applied",
                    "Changes to alerting's file applied while the service runs",
                    configApplied.getAsLong());
            counter(
                    b,
                    "config_changes_refused",
                    "Changes to alerting's file not applied: a mistake in the file, or a change"
                            + " of what it reads from Kafka",
                    configRefused.getAsLong());
        }
        if (heartbeatsSent != null) {
            counter(
                    b,
                    "heartbeats_sent",
                    "Pings the heartbeat's monitor took (heartbeat.every while the loop runs)",
                    heartbeatsSent.getAsLong());
            counter(
                    b,
                    "heartbeats_failed",
                    "Pings of the heartbeat's monitor that failed (unreachable, or not 2xx)",
                    heartbeatsFailed.getAsLong());
        }
        counter(b, "silenced", "Alert states recorded but muted by a silence", m.silenced.get());
        counter(
                b,
                "inhibited",
                "Alert states recorded but held back by a firing alert (inhibit)",
                m.inhibited.get());
        counter(b, "shelved", "Alert states recorded but held by shelving", m.shelved.get());
        counter(b, "flapping", "Alert states held because the alert flaps", m.flapping.get());
        counter(b, "latched", "Resolutions held until acknowledged", m.latched.get());
        counter(
                b,
                "closed_by_hand",
                "Alerts a person closed that the detector had not resolved",
                m.closedByHand.get());
        b.append("# HELP plantwatch_alerting_notifications_total Notifications per receiver and")
                .append(" outcome\n# TYPE plantwatch_alerting_notifications_total counter\n");
        for (String r : dispatcher.receiverNames()) {
            sample(b, r, "delivered", Dispatcher.Metrics.get(m.delivered, r));
            sample(b, r, "failed", Dispatcher.Metrics.get(m.failed, r));
        }
        // Counted per attempt, so a receiver that is down shows here while it still retries;
        // notifications_total counts it failed only once it gives up.
        perReceiver(
                b,
                "delivery_attempts_failed",
                "Delivery attempts that failed, retries included, per receiver",
                dispatcher::failedAttempts);
        perReceiver(
                b,
                "flood_held",
                "Notifications held back by the receiver's flood limit (the one a summary stands"
                        + " in for is not)",
                dispatcher::floodHeld);
        Map<AlertStore.Status, Integer> byStatus = store.countByStatus();
        b.append("# HELP plantwatch_alerting_alerts Alerts in the store by status\n")
                .append("# TYPE plantwatch_alerting_alerts gauge\n");
        byStatus.forEach(
                (s, n) ->
                        b.append("plantwatch_alerting_alerts{status=\"")
                                .append(s.name())
                                .append("\"} ")
                                .append(n)
                                .append('\n'));
        Instant now = Instant.ofEpochMilli(clock.getAsLong());
        gauge(
                b,
                "silences_active",
                "Silences in force or still to come",
                store.silences().stream().filter(s -> now.isBefore(s.endsAt())).count());
        gauge(
                b,
                "alert_states_untold",
                "Alert states no receiver has taken yet: waiting for their group, or for a receiver"
                        + " that refuses or is down (each is sent again a group interval later)",
                store.unnotified().size());
        gauge(
                b,
                "groups_pending",
                "Alert groups waiting to be notified",
                dispatcher.pendingGroups());
        return b.toString();
    }

    /** A counter with one sample per receiver. */
    private void perReceiver(
            StringBuilder b, String name, String help, ToLongFunction<String> byReceiver) {
        String full = "plantwatch_alerting_" + name + "_total";
        b.append("# HELP ").append(full).append(' ').append(help).append('\n');
        b.append("# TYPE ").append(full).append(" counter\n");
        for (String r : dispatcher.receiverNames()) {
            b.append(full)
                    .append("{receiver=\"")
                    .append(escape(r))
                    .append("\"} ")
                    .append(byReceiver.applyAsLong(r))
                    .append('\n');
        }
    }

    private static void sample(StringBuilder b, String receiver, String outcome, long v) {
        b.append("plantwatch_alerting_notifications_total{receiver=\"")
                .append(escape(receiver))
                .append("\",outcome=\"")
                .append(outcome)
                .append("\"} ")
                .append(v)
                .append('\n');
    }

    private static String escape(String label) {
        return label.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }

    private static void counter(StringBuilder b, String name, String help, long v) {
        String full = "plantwatch_alerting_" + name + "_total";
        b.append("# HELP ").append(full).append(' ').append(help).append('\n');
        b.append("# TYPE ").append(full).append(" counter\n");
        b.append(full).append(' ').append(v).append('\n');
    }

    private static void gauge(StringBuilder b, String name, String help, long v) {
        String full = "plantwatch_alerting_" + name;
        b.append("# HELP ").append(full).append(' ').append(help).append('\n');
        b.append("# TYPE ").append(full).append(" gauge\n");
        b.append(full).append(' ').append(v).append('\n');
    }
}
