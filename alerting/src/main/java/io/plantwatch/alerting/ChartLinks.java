package io.plantwatch.alerting;

import io.plantwatch.model.Alert;
import io.plantwatch.model.AlertState;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Where a notification's reader sees an alert's sensor: Grafana's sensor-detail dashboard (uid
 * {@code plantwatch-sensor}, shipped in docker/grafana) for its site, area, line, machine and
 * sensor, from an hour before its episode began. The notification then gives a plant engineer woken
 * at night one click to the chart instead of five menus. The chart runs to now while the alert is
 * open, and to an hour after it resolved.
 */
record ChartLinks(URI grafana) {
    /** The dashboard's path under Grafana's root: its uid, then its name (ignored by Grafana). */
    static final String DASHBOARD = "d/plantwatch-sensor/sensor-detail";

    private static final long MARGIN_MILLIS = 3_600_000;

    String chart(Alert a) {
        // ASCII: a bidi override or other invisible character in the setting is escaped, not sent.
        String root = grafana.toASCIIString();
        StringBuilder b = new StringBuilder(root);
        if (!root.endsWith("/")) {
            b.append('/');
        }
        b.append(DASHBOARD)
                .append("?var-site=")
                .append(encode(a.sensorId().site()))
                .append("&var-area=")
                .append(encode(a.sensorId().area()))
                .append("&var-line=")
                .append(encode(a.sensorId().line()))
                .append("&var-machine=")
                .append(encode(a.sensorId().machine()))
                .append("&var-sensor=")
                .append(encode(a.sensorId().sensor()))
                .append("&from=")
                .append(a.episodeStart() - MARGIN_MILLIS);
        // An open alert's chart runs to now; a resolved one's to an hour after it resolved.
        if (a.state() == AlertState.RESOLVED) {
            b.append("&to=").append(a.eventTime() + MARGIN_MILLIS);
        } else {
            b.append("&to=now");
        }
        return b.toString();
    }

    /** {@code n} with the chart of each of its alerts. */
    Notification on(Notification n) {
        Map<String, String> charts = new LinkedHashMap<>();
        n.alerts().forEach(a -> charts.put(a.alertId(), chart(a)));
        return n.withCharts(charts);
    }

    private static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }
}
