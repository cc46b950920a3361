package io.plantwatch.alerting;

import static org.assertj.core.api.Assertions.assertThat;

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

/** A Slack-compatible incoming webhook, received by a real HTTP server, unsigned. */
class SlackFormatTest {
    @TempDir Path dir;

    /** What a Slack at the URL given to {@code receiver} receives for {@code n}. */
    private static List<RecordingEndpoint.Request> received(
            Function<URI, Receiver> receiver, Notification n) throws Exception {
        try (RecordingEndpoint slack = RecordingEndpoint.start("/services/T/B/x")) {
            assertThat(receiver.apply(slack.url()).deliver(n, new byte[0]))
                    .isEqualTo(WebhookReceiver.Outcome.DELIVERED);
            return slack.requests();
        }
    }

    private static final Alert OIL_TEMP =
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

    private static final Notification FIRING =
            new Notification(
                    "n-1",
                    "slack",
                    "slack/dresden/press-shop/line-1/press-1",
                    Notification.Status.FIRING,
                    List.of(OIL_TEMP));

    @Test
    void oneMessagePerNotificationWithTheMachineAndALinePerAlert() throws Exception {
        List<RecordingEndpoint.Request> received =
                received(
                        url ->
                                new WebhookReceiver(
                                        "slack",
                                        url,
                                        null,
                                        Duration.ofSeconds(2),
                                        Duration.ofMillis(200),
                                        Duration.ofSeconds(10),
                                        SlackFormat::render),
                        FIRING);

        assertThat(received).hasSize(1);
        String text = new ObjectMapper().readTree(received.get(0).body()).path("text").asText();
        assertThat(text)
                .isEqualTo(
                        ":rotating_light: *FIRING* `dresden/press-shop/line-1/press-1`\n"
                                + "• *CRITICAL* SPIKE `oil-temp`: oil-temp rose 20 degC in 10 s");
        assertThat(received.get(0).signature()).isNull();
    }

    /**
     * A channel's own wording from the receiver's {@code template.text}: the template may call the
     * channel for a critical alert, and what comes from the plant is still escaped.
     */
    @Test
    void aReceiversTemplateWritesTheMessageAndItsValuesAreStillEscaped() throws Exception {
        Path config = dir.resolve("alerting.yaml");
        Files.writeString(
                config,
                """
                receivers:
                  - name: slack
                    type: slack
                    url-env: SLACK_URL
                    template:
                      text: |
                        {{#alerts}}
                        {{#critical}}<!channel> {{/critical}}{{machine}} {{sensor}}: {{message}}
                        {{/alerts}}
                route: {receiver: slack}
                api: {port: -1}
                """);
        Alert spoof =
                Alert.open(
                        OIL_TEMP.sensorId(),
                        "spike",
                        AlertKind.SPIKE,
                        Severity.WARNING,
                        0,
                        0,
                        List.of(1.0),
                        "<!here> <http://ev.il|Ack here>");
        List<RecordingEndpoint.Request> received =
                received(
                        url ->
                                AlertingConfig.load(
                                                config,
                                                "127.0.0.1:9092",
                                                Map.of("SLACK_URL", url.toString())::get)
                                        .receivers()
                                        .get("slack"),
                        new Notification(
                                "n-1",
                                "slack",
                                FIRING.groupKey(),
                                Notification.Status.FIRING,
                                List.of(OIL_TEMP, spoof)));

        assertThat(new ObjectMapper().readTree(received.get(0).body()).path("text").asText())
                .isEqualTo(
                        "<!channel> press-1 oil-temp: oil-temp rose 20 degC in 10 s\n"
                                + "press-1 oil-temp: &lt;!here&gt; &lt;http://ev.il|Ack here&gt;");
    }

    /**
     * Sensor names and units come from the plant (MQTT topic levels and payloads) and may hold
     * {@code <}, {@code >} and {@code &}, which Slack reads as control sequences: {@code
     * <!channel>} notified the whole channel and {@code <http://...|text>} rendered as a link.
     * Every value is sent escaped; the formatting the message adds itself still works.
     */
    @Test
    void namesAndMessagesAreEscapedAndOurOwnFormattingIsKept() throws Exception {
        SensorId id = SensorId.parse("s/a/l/<!channel>/R&D-<temp>");
        Alert a =
                Alert.open(
                        id,
                        "out-of-range",
                        AlertKind.OUT_OF_RANGE,
                        Severity.WARNING,
                        0,
                        0,
                        List.of(100.0),
                        id + " is above its high limit 80: 100 <http://ev.il|Ack here>");
        String text =
                new ObjectMapper()
                        .readTree(
                                SlackFormat.render(
                                        new Notification(
                                                "n-1",
                                                "slack",
                                                Grouper.groupKey("slack", a),
                                                Notification.Status.FIRING,
                                                List.of(a))))
                        .path("text")
                        .asText();
        assertThat(text)
                .doesNotContain("<!channel>", "<http", "R&D", "<temp>")
                .startsWith(":rotating_light: *FIRING* `s/a/l/&lt;!channel&gt;`")
                .contains("*WARNING* OUT_OF_RANGE `R&amp;D-&lt;temp&gt;`: ")
                .endsWith("100 &lt;http://ev.il|Ack here&gt;");
        // No HTML entities beyond the three: Slack decodes only those.
        assertThat(text.replace("&amp;", "").replace("&lt;", "").replace("&gt;", ""))
                .doesNotContain("&", "<", ">");
    }

    @Test
    void theFloodSummaryEscapesTheReceiverName() throws Exception {
        String text =
                new ObjectMapper()
                        .readTree(
                                SlackFormat.render(
                                        new Notification(
                                                "n-2",
                                                "<!here>",
                                                "<!here>/s/a/l/m",
                                                Notification.Status.SUMMARY,
                                                List.of())))
                        .path("text")
                        .asText();
        assertThat(text)
                .startsWith(
                        ":warning: *Flood limit reached*: further notifications to &lt;!here&gt;")
                .doesNotContain("<!here>");
    }
}
