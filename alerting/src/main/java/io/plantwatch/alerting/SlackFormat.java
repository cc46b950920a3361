package io.plantwatch.alerting;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.plantwatch.model.Alert;
import io.plantwatch.model.AlertState;

/**
 * A notification as a Slack-compatible incoming-webhook message ({@code {"text": ...}}, mrkdwn):
 * the machine and status in the first line, one line per alert. Mattermost and Rocket.Chat take the
 * same shape.
 */
public final class SlackFormat {
    private static final ObjectMapper JSON = new ObjectMapper();

    private SlackFormat() {}

    public static byte[] render(Notification n) {
        StringBuilder t = new StringBuilder();
        String machine = n.groupKey().substring(n.groupKey().indexOf('/') + 1);
        switch (n.status()) {
            case FIRING -> t.append(":rotating_light: *FIRING* ");
            case RESOLVED -> t.append(":white_check_mark: *RESOLVED* ");
            case SUMMARY ->
                    t.append(":warning: *Flood limit reached*: further notifications to ")
                            .append(n.receiver())
                            .append(" are held for now; see the alerting API. Latest from ");
        }
        t.append('`').append(machine).append('`');
        for (Alert a : n.alerts()) {
            t.append("\n• ")
                    .append(a.state() == AlertState.RESOLVED ? "~resolved~ " : "")
                    .append('*')
                    .append(a.severity())
                    .append("* ")
                    .append(a.kind())
                    .append(" `")
                    .append(a.sensorId().sensor())
                    .append("`: ")
                    .append(a.message());
        }
        try {
            return JSON.writeValueAsBytes(JSON.createObjectNode().put("text", t.toString()));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
