package io.plantwatch.alerting;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.plantwatch.model.Alert;
import io.plantwatch.model.AlertState;
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

    private final WebhookReceiver http;
    private final String routingKey;

    public PagerDutyReceiver(
            String name,
            URI url,
            String routingKey,
            Duration timeout,
            Duration maxBackoff,
            Duration giveUpAfter) {
        this.http = new WebhookReceiver(name, url, null, timeout, maxBackoff, giveUpAfter);
        this.routingKey = routingKey;
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
                    http.deliver(n.id() + "-" + a.alertId(), event(a, routingKey, n.chart(a)));
            if (o != WebhookReceiver.Outcome.DELIVERED) {
                worst = o;
            }
        }
        return worst;
    }

    /**
     * The Events API v2 body for one alert, with a link to its chart (null: none), which PagerDuty
     * shows on the incident.
     */
    static byte[] event(Alert a, String routingKey, String chart) {
        ObjectNode e = JSON.createObjectNode();
        e.put("routing_key", routingKey);
        e.put("event_action", a.state() == AlertState.RESOLVED ? "resolve" : "trigger");
        e.put("dedup_key", a.alertId());
        ObjectNode p = e.putObject("payload");
        p.put("summary", a.message());
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
