package io.plantwatch.alerting;

import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * A notification as a Slack-compatible incoming-webhook message ({@code {"text": ...}}, mrkdwn):
 * shipped, the machine and status in the first line, one line per alert ({@code
 * templates/slack-text.mustache}); a receiver's {@code template.text} writes its own. Mattermost
 * and Rocket.Chat take the same shape.
 *
 * <p>Every value put into the text (machine, sensor, message, receiver) is {@linkplain #escape
 * escaped}: sensor names and units come from the plant, and Slack reads {@code &}, {@code <} and
 * {@code >} as control sequences ({@code <!channel>} notifies the whole channel, {@code
 * <http://host|text>} is a link). The template's own text is not escaped, so its formatting (and a
 * {@code <!channel>} it writes) keeps working.
 */
public final class SlackFormat {
    private static final ObjectMapper JSON = new ObjectMapper();

    private SlackFormat() {}

    /** The message Plantwatch writes unless the receiver has a {@code template.text}. */
    static final NotificationTemplate SHIPPED =
            NotificationTemplate.shipped("slack-text", NotificationTemplate.Scope.NOTIFICATION);

    public static byte[] render(Notification n) {
        return render(n, SHIPPED);
    }

    /** {@code n} told in {@code text}, each value {@linkplain #escape escaped}. */
    public static byte[] render(Notification n, NotificationTemplate text) {
        try {
            String written =
                    NotificationTemplate.orShipped(
                            text.render(n, SlackFormat::escape).stripTrailing(),
                            () -> SHIPPED.render(n, SlackFormat::escape).stripTrailing(),
                            n.receiver(),
                            "text");
            return JSON.writeValueAsBytes(JSON.createObjectNode().put("text", written));
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
