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
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Events API v2 bodies as a real HTTP endpoint receives them: trigger, resolve, one dedup key. */
class PagerDutyReceiverTest {
    @TempDir Path dir;

    private static Alert alert(AlertState state, String message) {
        return new Alert(
                "alert-7",
                SensorId.parse("dresden/press-shop/line-1/press-1/oil-temp"),
                "spike",
                AlertKind.SPIKE,
                Severity.CRITICAL,
                state,
                1_000,
                state == AlertState.OPEN ? 1_000 : 9_000,
                10_000,
                List.of(1.0),
                message);
    }

    private static Notification told(Alert a) {
        return new Notification(
                "n-" + a.state(),
                "pager",
                "pager/dresden/press-shop/line-1/press-1",
                Notification.Status.FIRING,
                List.of(a));
    }

    /** The events a PagerDuty at the URL given to {@code receiver} receives for {@code alerts}. */
    private static List<JsonNode> events(Function<URI, Receiver> receiver, List<Alert> alerts)
            throws Exception {
        try (RecordingEndpoint pagerDuty = RecordingEndpoint.start("/v2/enqueue", n -> 202)) {
            Receiver pd = receiver.apply(pagerDuty.url());
            for (Alert a : alerts) {
                assertThat(pd.deliver(told(a), new byte[0]))
                        .isEqualTo(WebhookReceiver.Outcome.DELIVERED);
            }
            List<JsonNode> events = new java.util.ArrayList<>();
            for (String body : pagerDuty.bodies()) {
                events.add(new ObjectMapper().readTree(body));
            }
            return events;
        }
    }

    @Test
    void anAlertTriggersAndResolvesOneIncidentByItsId() throws Exception {
        List<JsonNode> events =
                events(
                        url ->
                                new PagerDutyReceiver(
                                        "pager",
                                        url,
                                        "R0UTING",
                                        Duration.ofSeconds(2),
                                        Duration.ofMinutes(1),
                                        Duration.ofSeconds(10),
                                        PagerDutyReceiver.SHIPPED_SUMMARY),
                        List.of(
                                alert(AlertState.OPEN, "oil-temp spiked"),
                                alert(AlertState.RESOLVED, "oil-temp spiked")));

        assertThat(events)
                .extracting(e -> e.path("event_action").asText())
                .containsExactly("trigger", "resolve");
        assertThat(events)
                .allSatisfy(
                        e -> {
                            assertThat(e.path("dedup_key").asText()).isEqualTo("alert-7");
                            assertThat(e.path("routing_key").asText()).isEqualTo("R0UTING");
                            assertThat(e.path("payload").path("summary").asText())
                                    .isEqualTo("oil-temp spiked");
                            assertThat(e.path("payload").path("severity").asText())
                                    .isEqualTo("critical");
                            assertThat(e.path("payload").path("source").asText())
                                    .isEqualTo("dresden/press-shop/line-1/press-1/oil-temp");
                        });
    }

    /**
     * The summary is what the on-call engineer's phone shows: the receiver's template writes it, as
     * one line, cut to the 1,024 characters PagerDuty takes (a longer one is refused and no
     * incident opens).
     */
    @Test
    void theSummaryIsTheTemplatesOneLineCutToWhatPagerDutyTakes() throws Exception {
        Path config = dir.resolve("alerting.yaml");
        List<JsonNode> events =
                events(
                        url -> {
                            try {
                                Files.writeString(
                                        config,
                                        """
                                        receivers:
                                          - name: pager
                                            type: pagerduty
                                            url: %s
                                            routing-key-env: PD_KEY
                                            template:
                                              summary: |
                                                {{severity}} {{machine}}/{{sensor}}:
                                                {{message}}
                                        route: {receiver: pager}
                                        api: {port: -1}
                                        """
                                                .formatted(url));
                                return AlertingConfig.load(
                                                config,
                                                "127.0.0.1:9092",
                                                Map.of("PD_KEY", "R0UTING")::get)
                                        .receivers()
                                        .get("pager");
                            } catch (java.io.IOException e) {
                                throw new java.io.UncheckedIOException(e);
                            }
                        },
                        List.of(
                                alert(AlertState.OPEN, "oil-temp spiked"),
                                alert(AlertState.OPEN, "x".repeat(2_000))));

        assertThat(events.get(0).path("payload").path("summary").asText())
                .isEqualTo("CRITICAL press-1/oil-temp: oil-temp spiked");
        String cut = events.get(1).path("payload").path("summary").asText();
        assertThat(cut).hasSize(PagerDutyReceiver.MAX_SUMMARY).endsWith("x...");
    }
}
