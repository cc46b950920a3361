package io.plantwatch.alerting;

import io.plantwatch.model.Alert;
import java.util.List;

/**
 * What a receiver is told: one group's alerts (one machine's, on one route), or a summary when the
 * receiver's flood limit held notifications back.
 *
 * @param id stable for this content, sent as the delivery id so receivers can drop repeats
 * @param receiver the receiver's name
 * @param groupKey the route's receiver and the machine: receiver/site/area/line/machine
 * @param status FIRING while any of its alerts is open, else RESOLVED; SUMMARY for a flood summary
 * @param alerts the group's alerts as last seen, resolved ones included once; for a summary, those
 *     of the notification it stands in for
 * @param charts by alert id, a link to the alert's sensor on Grafana, where {@code
 *     links.grafana-url} is set; empty otherwise
 */
public record Notification(
        String id,
        String receiver,
        String groupKey,
        Status status,
        List<Alert> alerts,
        java.util.Map<String, String> charts) {

    public Notification(
            String id, String receiver, String groupKey, Status status, List<Alert> alerts) {
        this(id, receiver, groupKey, status, alerts, java.util.Map.of());
    }

    /** This notification with {@code charts}. */
    public Notification withCharts(java.util.Map<String, String> charts) {
        return new Notification(id, receiver, groupKey, status, alerts, charts);
    }

    /** The chart link of {@code a}, or null. */
    public String chart(Alert a) {
        return charts.get(a.alertId());
    }

    public enum Status {
        FIRING,
        RESOLVED,
        SUMMARY
    }

    public Notification {
        alerts = List.copyOf(alerts);
        charts = java.util.Map.copyOf(charts);
    }
}
