package io.plantwatch.alerting;

import static org.assertj.core.api.Assertions.assertThat;

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

/** A Slack-compatible incoming webhook, received by a real HTTP server, unsigned. */
class SlackFormatTest {
    @Test
    void oneMessagePerNotificationWithTheMachineAndALinePerAlert() throws Exception {
        List<String> bodies = new CopyOnWriteArrayList<>();
        List<String> signatures = new CopyOnWriteArrayList<>();
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext(
                "/services/T/B/x",
                ex -> {
                    bodies.add(new String(ex.getRequestBody().readAllBytes()));
                    String sig = ex.getRequestHeaders().getFirst(WebhookReceiver.SIGNATURE_HEADER);
                    if (sig != null) {
                        signatures.add(sig);
                    }
                    ex.sendResponseHeaders(200, -1);
                    ex.close();
                });
        server.start();
        try {
            WebhookReceiver slack =
                    new WebhookReceiver(
                            "slack",
                            URI.create(
                                    "http://127.0.0.1:"
                                            + server.getAddress().getPort()
                                            + "/services/T/B/x"),
                            null,
                            Duration.ofSeconds(2),
                            Duration.ofMillis(200),
                            Duration.ofSeconds(10),
                            SlackFormat::render);
            Alert a =
                    new Alert(
                            "id-1",
                            SensorId.parse("dresden/press-shop/line-1/press-1/oil-temp"),
                            "spike",
                            AlertKind.SPIKE,
                            Severity.CRITICAL,
                            AlertState.OPEN,
                            0,
                            0,
                            0,
                            List.of(1.0),
                            "oil-temp rose 20 degC in 10 s");
            Notification n =
                    new Notification(
                            "n-1",
                            "slack",
                            "slack/dresden/press-shop/line-1/press-1",
                            Notification.Status.FIRING,
                            List.of(a));
            assertThat(slack.deliver(n, new byte[0])).isEqualTo(WebhookReceiver.Outcome.DELIVERED);
        } finally {
            server.stop(0);
        }
        assertThat(bodies).hasSize(1);
        String text = new ObjectMapper().readTree(bodies.get(0)).path("text").asText();
        assertThat(text)
                .startsWith(":rotating_light: *FIRING* `dresden/press-shop/line-1/press-1`")
                .contains("*CRITICAL* SPIKE `oil-temp`: oil-temp rose 20 degC in 10 s");
        assertThat(signatures).isEmpty();
    }
}
