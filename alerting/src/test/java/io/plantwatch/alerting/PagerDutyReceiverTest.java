package io.plantwatch.alerting;

import static org.assertj.core.api.Assertions.assertThat;

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
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/** Events API v2 bodies as a real HTTP endpoint receives them: trigger, resolve, one dedup key. */
class PagerDutyReceiverTest {
    private static Alert alert(AlertState state) {
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
                "oil-temp spiked");
    }

    @Test
    void anAlertTriggersAndResolvesOneIncidentByItsId() throws Exception {
        List<JsonNode> events = new CopyOnWriteArrayList<>();
        ObjectMapper json = new ObjectMapper();
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext(
                "/v2/enqueue",
                ex -> {
                    events.add(json.readTree(ex.getRequestBody().readAllBytes()));
                    ex.sendResponseHeaders(202, -1);
                    ex.close();
                });
        server.start();
        try {
            PagerDutyReceiver pd =
                    new PagerDutyReceiver(
                            "pager",
                            URI.create(
                                    "http://127.0.0.1:"
                                            + server.getAddress().getPort()
                                            + "/v2/enqueue"),
                            "R0UTING",
                            Duration.ofSeconds(2),
                            Duration.ofMinutes(1),
                            Duration.ofSeconds(10));
            for (AlertState state : List.of(AlertState.OPEN, AlertState.RESOLVED)) {
                Notification n =
                        new Notification(
                                "n-" + state,
                                "pager",
                                "pager/dresden/press-shop/line-1/press-1",
                                Notification.Status.FIRING,
                                List.of(alert(state)));
                assertThat(pd.deliver(n, new byte[0])).isEqualTo(WebhookReceiver.Outcome.DELIVERED);
            }
        } finally {
            server.stop(0);
        }
        assertThat(events)
                .extracting(e -> e.path("event_action").asText())
                .containsExactly("trigger", "resolve");
        assertThat(events)
                .allSatisfy(
                        e -> {
                            assertThat(e.path("dedup_key").asText()).isEqualTo("alert-7");
                            assertThat(e.path("routing_key").asText()).isEqualTo("R0UTING");
                            assertThat(e.path("payload").path("severity").asText())
                                    .isEqualTo("critical");
                            assertThat(e.path("payload").path("source").asText())
                                    .isEqualTo("dresden/press-shop/line-1/press-1/oil-temp");
                        });
    }
}
