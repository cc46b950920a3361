package io.plantwatch.alerting;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.plantwatch.model.Alert;
import io.plantwatch.model.AlertKind;
import io.plantwatch.model.AlertState;
import io.plantwatch.model.ConfigException;
import io.plantwatch.model.SensorId;
import io.plantwatch.model.Severity;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A webhook's body written by its {@code template.body}: JSON in the shape a chat or gateway takes
 * (a Microsoft Teams workflow's Adaptive Card, Google Chat, Telegram's sendMessage, an SMS
 * gateway), where Plantwatch's own JSON is not understood.
 *
 * <p>Each value is escaped for the inside of a JSON string ({@code "{{message}}"}), so a quote or a
 * line end in a plant's message cannot end the string or add a field. Whether the template writes
 * JSON at all is checked when the file is read, on notifications of every status with one, two and
 * three alerts of every severity, so a comma after the last alert of a list shows at the start
 * (write {@code {{^last}},{{/last}}}), and so does a value outside quotes (a reading may be NaN, an
 * alert may have none). A notification for which it still writes none is not sent but logged as an
 * error and refused, and so tried again at the group's next interval.
 */
final class JsonTemplate {
    private static final Logger LOG = LoggerFactory.getLogger(JsonTemplate.class);

    private static final ObjectMapper JSON =
            new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private JsonTemplate() {}

    /**
     * The body {@code template} writes for a notification, or null (logged) when it is not JSON; a
     * template that writes no JSON for the samples throws a {@link ConfigException} naming {@code
     * where}.
     */
    static Function<Notification, byte[]> body(NotificationTemplate template, String where) {
        for (Map.Entry<String, Notification> sample : samples().entrySet()) {
            String problem = problem(template.render(sample.getValue(), JsonTemplate::escape));
            if (problem != null) {
                throw new ConfigException(
                        where
                                + " does not write JSON for "
                                + sample.getKey()
                                + ": "
                                + problem
                                + " (every value, numbers too, is text for inside a JSON string:"
                                + " write \"{{message}}\", \"{{value}}\"; after each alert of a"
                                + " list but the last, {{^last}},{{/last}})");
            }
        }
        return n -> {
            String body = template.render(n, JsonTemplate::escape);
            String problem = problem(body);
            if (problem != null) {
                LOG.error(
                        "Receiver {}: its template.body wrote no JSON for notification {} ({});"
                                + " not sent",
                        n.receiver(),
                        n.id(),
                        problem);
                return null;
            }
            return body.getBytes(StandardCharsets.UTF_8);
        };
    }

    /**
     * {@code s} as the inside of a JSON string, {@linkplain SensorId#visible invisible characters}
     * as {@code ?}: escaped, a line end or a bidi override would still be decoded by the chat and
     * shown.
     */
    static String escape(String s) {
        return new String(JsonStringEncoder.getInstance().quoteAsString(SensorId.visible(s)));
    }

    /** Why {@code text} is not one JSON value, in one line; null when it is. */
    static String problem(String text) {
        try {
            com.fasterxml.jackson.databind.JsonNode body = JSON.readTree(text);
            if (body == null || body.isMissingNode()) {
                return "it wrote nothing";
            }
            // A chat or gateway takes an object (or a list); a bare value is a mistake.
            return body.isContainerNode()
                    ? null
                    : "it wrote " + body.getNodeType() + ", not an object";
        } catch (JsonProcessingException e) {
            String message = String.valueOf(e.getOriginalMessage());
            int newline = message.indexOf('\n');
            return (newline < 0 ? message : message.substring(0, newline)).strip()
                    + (e.getLocation() == null
                            ? ""
                            : " at line "
                                    + e.getLocation().getLineNr()
                                    + " column "
                                    + e.getLocation().getColumnNr()
                                    + " of what it wrote");
        }
    }

    /**
     * Notifications of each status, with one, two and three alerts of every severity and state, and
     * values JSON must escape; a reading that is not a number and an alert with none, so a value
     * written outside quotes, which a real alert can break, shows here.
     */
    private static Map<String, Notification> samples() {
        SensorId oil = SensorId.parse("dresden/press-shop/line-1/press-3/oil-temp");
        Alert critical =
                Alert.open(
                                oil,
                                "oil-temp-high",
                                AlertKind.OUT_OF_RANGE,
                                Severity.CRITICAL,
                                0,
                                1_000,
                                List.of(81.5, 84.0),
                                "oil-temp \"high\": 84 > 80 \\ degC\nsee <panel>")
                        .withDetail(
                                "\"deg\" C\\",
                                new java.util.TreeMap<>(Map.of("count", 2.0, "high", 80.0)));
        Alert warning =
                Alert.open(
                        oil,
                        "oil-temp-drift",
                        AlertKind.DRIFT,
                        Severity.WARNING,
                        0,
                        1_000,
                        List.of(Double.NaN),
                        "oil-temp drifts");
        Alert info =
                Alert.open(
                        oil,
                        "oil-temp-silent",
                        AlertKind.MISSING_DATA,
                        Severity.INFO,
                        0,
                        1_000,
                        List.of(),
                        "oil-temp is silent");
        Alert resolved =
                new Alert(
                        Alert.idFor(oil, "oil-temp-flat", 0),
                        oil,
                        "oil-temp-flat",
                        AlertKind.FLATLINE,
                        Severity.WARNING,
                        AlertState.RESOLVED,
                        0,
                        2_000,
                        3_000,
                        List.of(),
                        "oil-temp moves again");
        String group = "r/dresden/press-shop/line-1/press-3";
        Map<String, String> chart = Map.of(critical.alertId(), "https://grafana/d/x?a=1&b=\"2\"");
        // In this order, so the error names the same sample at every start.
        Map<String, Notification> samples = new java.util.LinkedHashMap<>();
        samples.put(
                "a firing notification of three alerts",
                new Notification(
                                "s-1",
                                "r",
                                group,
                                Notification.Status.FIRING,
                                List.of(critical, resolved, info))
                        .withCharts(chart));
        samples.put(
                "a firing notification of one alert",
                new Notification("s-2", "r", group, Notification.Status.FIRING, List.of(warning)));
        samples.put(
                "a resolved notification",
                new Notification(
                        "s-3", "r", group, Notification.Status.RESOLVED, List.of(resolved)));
        samples.put(
                "a flood summary",
                new Notification(
                                "s-4",
                                "r",
                                group,
                                Notification.Status.SUMMARY,
                                List.of(critical, warning))
                        .withCharts(chart));
        return samples;
    }
}
