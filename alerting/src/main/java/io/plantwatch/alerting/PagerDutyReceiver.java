package io.plantwatch.alerting;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.plantwatch.model.Alert;
import io.plantwatch.model.AlertState;
import io.plantwatch.model.SensorId;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;

/**
 * PagerDuty's Events API v2: one event per alert of a notification, {@code trigger} when it opens
 * and {@code resolve} when it resolves, with the alert id as {@code dedup_key}, so PagerDuty keeps
 * one incident per alert however often it is told. Delivery and retries are the webhook's, unsigned
 * (the routing key authenticates).
 */
public final class PagerDutyReceiver implements Receiver {
    /** PagerDuty's public endpoint; configurable for a proxy or a test server. */
    public static final URI EVENTS_V2 = URI.create("https://events.pagerduty.com/v2/enqueue");

    private static final ObjectMapper JSON = new ObjectMapper();

    /** The summary Plantwatch writes unless the receiver has a {@code template.summary}. */
    static final NotificationTemplate SHIPPED_SUMMARY =
            NotificationTemplate.shipped("pagerduty-summary", NotificationTemplate.Scope.ALERT);

    /** PagerDuty refuses a longer summary (Events API v2, {@code payload.summary}). */
    static final int MAX_SUMMARY = 1024;

    private final WebhookReceiver http;
    private final String routingKey;
    private final NotificationTemplate summary;

    public PagerDutyReceiver(
            String name,
            URI url,
            String routingKey,
            Duration timeout,
            Duration maxBackoff,
            Duration giveUpAfter,
            NotificationTemplate summary) {
        this.http = new WebhookReceiver(name, url, null, timeout, maxBackoff, giveUpAfter);
        this.routingKey = routingKey;
        this.summary = summary;
    }

    @Override
    public String name() {
        return http.name();
    }

    @Override
    public long failedAttempts() {
        return http.failedAttempts();
    }

    @Override
    public WebhookReceiver.Outcome deliver(Notification n, byte[] json)
            throws InterruptedException {
        WebhookReceiver.Outcome worst = WebhookReceiver.Outcome.DELIVERED;
        for (Alert a : n.alerts()) {
            WebhookReceiver.Outcome o =
                    http.deliver(
                            n.id() + "-" + a.alertId(),
                            event(a, routingKey, n.chart(a), summary(n, a, summary)));
            if (o != WebhookReceiver.Outcome.DELIVERED) {
                worst = o;
            }
        }
        return worst;
    }

    /** One event per alert, a line each, the routing key (a secret) masked. */
    @Override
    public String preview(Notification n, byte[] json) {
        StringBuilder b = new StringBuilder();
        for (Alert a : n.alerts()) {
            b.append(
                            new String(
                                    event(a, "(routing key)", n.chart(a), summary(n, a, summary)),
                                    java.nio.charset.StandardCharsets.UTF_8))
                    .append('\n');
        }
        return b.toString();
    }

    /**
     * Alert {@code a}'s summary: one line of visible characters, cut to what PagerDuty takes (a
     * longer one is refused, and the incident never opens).
     */
    static String summary(Notification n, Alert a, NotificationTemplate summary) {
        String s =
                NotificationTemplate.orShipped(
                        summary.render(n, a, SensorId::visible).replaceAll("\\s+", " ").strip(),
                        () ->
                                SHIPPED_SUMMARY
                                        .render(n, a, SensorId::visible)
                                        .replaceAll("\\s+", " ")
                                        .strip(),
                        n.receiver(),
                        "summary");
        if (s.length() <= MAX_SUMMARY) {
            return s;
        }
        int cut = MAX_SUMMARY - 3;
        if (Character.isHighSurrogate(s.charAt(cut - 1))) {
            cut--;
        }
        return s.substring(0, cut) + "...";
    }

    /**
     * The Events API v2 body for one alert, with a link to its chart (null: none), which PagerDuty
     * shows on the incident.
     */
    static byte[] event(Alert a, String routingKey, String chart, String summary) {
        ObjectNode e = JSON.createObjectNode();
        e.put("routing_key", routingKey);
        e.put("event_action", a.state() == AlertState.RESOLVED ? "resolve" : "trigger");
        e.put("dedup_key", a.alertId());
        ObjectNode p = e.putObject("payload");
        p.put("summary", summary);
        p.put("source", a.sensorId().id());
        p.put(
                "severity",
                switch (a.severity()) {
                    case CRITICAL -> "critical";
                    case WARNING -> "warning";
                    default -> "info";
                });
        p.put("timestamp", Instant.ofEpochMilli(a.eventTime()).toString());
        p.put("component", a.sensorId().machine());
        p.put("group", a.sensorId().line());
        p.put("class", a.kind().name());
        ObjectNode details = p.putObject("custom_details");
        details.put("rule", a.rule());
        details.put("site", a.sensorId().site()).put("area", a.sensorId().area());
        AlertDetail.put(details, a);
        if (chart != null) {
            e.putArray("links").addObject().put("href", chart).put("text", "Chart on Grafana");
        }
        try {
            return JSON.writeValueAsBytes(e);
        } catch (com.fasterxml.jackson.core.JsonProcessingException x) {
            throw new IllegalStateException(x);
        }
    }
}
