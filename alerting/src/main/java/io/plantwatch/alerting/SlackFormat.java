package io.plantwatch.alerting;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.plantwatch.model.Alert;
import io.plantwatch.model.AlertState;

/**
 * A notification as a Slack-compatible incoming-webhook message ({@code {"text": ...}}, mrkdwn):
 * the machine and status in the first line, one line per alert. Mattermost and Rocket.Chat take the
 * same shape.
 *
 * <p>Every value put into the text (machine, sensor, message, receiver) is {@linkplain #escape
 * escaped}: sensor names and units come from the plant, and Slack reads {@code &}, {@code <} and
 * {@code >} as control sequences ({@code <!channel>} notifies the whole channel, {@code
 * <http://host|text>} is a link). The formatting added here is not escaped, so it keeps working.
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
                            .append(escape(n.receiver()))
                            .append(" are held for now; see the alerting API. Latest from ");
        }
        t.append('`').append(escape(machine)).append('`');
        for (Alert a : n.alerts()) {
            t.append("\n• ")
                    .append(a.state() == AlertState.RESOLVED ? "~resolved~ " : "")
                    .append('*')
                    .append(a.severity())
                    .append("* ")
                    .append(a.kind())
                    .append(" `")
                    .append(escape(a.sensorId().sensor()))
                    .append("`: ")
                    .append(escape(a.message()));
            if (n.chart(a) != null) {
                // A link as Slack writes one. Its values are percent-encoded, so no | or > ends
                // it; its & are written &amp;, which Slack decodes in a link as in text.
                t.append(" <").append(escape(n.chart(a))).append("|chart>");
            }
        }
        try {
            return JSON.writeValueAsBytes(JSON.createObjectNode().put("text", t.toString()));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * {@code s} as literal Slack text: {@code &}, {@code <} and {@code >} as {@code &amp;}, {@code
     * &lt;} and {@code &gt;}, the only entities Slack decodes (its formatting reference, "Escaping
     * text"); nothing else is changed.
     */
    static String escape(String s) {
        // & first, so that the entities written for < and > are not escaped again.
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }
}
