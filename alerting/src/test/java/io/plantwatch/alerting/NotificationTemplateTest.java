package io.plantwatch.alerting;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.plantwatch.model.Alert;
import io.plantwatch.model.AlertKind;
import io.plantwatch.model.AlertState;
import io.plantwatch.model.ConfigException;
import io.plantwatch.model.SensorId;
import io.plantwatch.model.Severity;
import java.time.ZoneId;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

class NotificationTemplateTest {
    private static final UnaryOperator<String> AS_IS = s -> s;

    /** 2026-06-01T12:00:00Z, 14:00 in Berlin (summer time). */
    private static final long NOON = 1_780_315_200_000L;

    private static Alert alert(String sensor, Severity severity, AlertState state) {
        SensorId id = SensorId.parse("dresden/press-shop/line-1/press-3/" + sensor);
        return new Alert(
                "id-" + sensor,
                id,
                sensor + "-high",
                AlertKind.OUT_OF_RANGE,
                severity,
                state,
                NOON,
                NOON + 5_000,
                NOON + 5_700,
                List.of(81.5, 84.0, 1e-7),
                sensor + " is above 80");
    }

    private static Notification notification(Notification.Status status, Alert... alerts) {
        return new Notification(
                        "n-1",
                        "shift-lead",
                        Grouper.groupKey("shift-lead", alerts[0]),
                        status,
                        List.of(alerts))
                .withCharts(Map.of(alerts[0].alertId(), "https://grafana/d/x?var-sensor=a&b"));
    }

    private static String render(String template, Notification n) {
        return NotificationTemplate.parse(template, NotificationTemplate.Scope.NOTIFICATION, "t")
                .render(n, AS_IS);
    }

    @Test
    void namesOfTheNotificationAndOfEachAlertAreFilledIn() {
        Notification n =
                notification(
                        Notification.Status.FIRING,
                        alert("oil-temp", Severity.CRITICAL, AlertState.OPEN),
                        alert("bearing-temp", Severity.WARNING, AlertState.RESOLVED));

        String text =
                render(
                        "{{status}} {{count}} at {{site}}, {{area}}, {{line}}, {{machine}}"
                                + " ({{group}}) for {{receiver}}\n"
                                + "{{#alerts}}"
                                + "[{{severity}} {{state}} {{kind}} {{rule}}] {{sensor}}"
                                + " = {{value}} ({{values}}) on {{sensor-id}}: {{message}}"
                                + " id {{alert-id}} from {{started}} at {{at}} told {{detected}}"
                                + "{{#chart}} chart {{chart}}{{/chart}};\n"
                                + "{{/alerts}}",
                        n);

        assertThat(text)
                .isEqualTo(
                        "FIRING 2 at dresden, press-shop, line-1, press-3"
                                + " (dresden/press-shop/line-1/press-3) for shift-lead\n"
                                + "[CRITICAL OPEN OUT_OF_RANGE oil-temp-high] oil-temp = 0.0000001"
                                + " (81.5, 84, 0.0000001) on dresden/press-shop/line-1/press-3/oil-temp:"
                                + " oil-temp is above 80 id id-oil-temp from 2026-06-01 12:00:00 UTC"
                                + " at 2026-06-01 12:00:05 UTC told 2026-06-01 12:00:05 UTC"
                                + " chart https://grafana/d/x?var-sensor=a&b;\n"
                                + "[WARNING RESOLVED OUT_OF_RANGE bearing-temp-high] bearing-temp"
                                + " = 0.0000001 (81.5, 84, 0.0000001) on"
                                + " dresden/press-shop/line-1/press-3/bearing-temp: bearing-temp is"
                                + " above 80 id id-bearing-temp from 2026-06-01 12:00:00 UTC at"
                                + " 2026-06-01 12:00:05 UTC told 2026-06-01 12:00:05 UTC;\n");
    }

    @Test
    void anAlertsUnitAndLimitsAreFilledInAndEmptyWhenItHasNone() {
        Map<String, Double> limits = new java.util.LinkedHashMap<>();
        limits.put("high", 80.0);
        limits.put("deadband", 1.5);
        limits.put("within_s", 60.0);
        Notification n =
                notification(
                        Notification.Status.FIRING,
                        alert("oil-temp", Severity.CRITICAL, AlertState.OPEN)
                                .withDetail("degC", limits),
                        alert("bearing-temp", Severity.WARNING, AlertState.OPEN));
        String text =
                render(
                        "{{#alerts}}{{sensor}} {{value}}{{#unit}} {{unit}}{{/unit}}"
                                + "{{#limits}} (limits: {{limits}}){{/limits}};{{/alerts}}",
                        n);
        assertThat(text)
                .isEqualTo(
                        "oil-temp 0.0000001 degC (limits: high 80, deadband 1.5, within_s 60);"
                                + "bearing-temp 0.0000001;");
    }

    @Test
    void sectionsShowForAYesOrATextAndInvertedOnesForANoOrNothing() {
        Notification n =
                notification(
                        Notification.Status.RESOLVED,
                        alert("oil-temp", Severity.CRITICAL, AlertState.RESOLVED),
                        alert("bearing-temp", Severity.INFO, AlertState.OPEN));
        String t =
                "{{#firing}}F{{/firing}}{{^firing}}not-F{{/firing}}"
                        + "{{#resolved}} R{{/resolved}}{{#flood-summary}} S{{/flood-summary}}"
                        + "{{#alerts}} [{{sensor}}"
                        // Inside the alerts, resolved is the alert's, not the notification's.
                        + "{{#resolved}} resolved{{/resolved}}{{#open}} open{{/open}}"
                        + "{{#critical}} critical{{/critical}}{{#warning}} warning{{/warning}}"
                        + "{{#info}} info{{/info}}"
                        + "{{#chart}} chart{{/chart}}{{^chart}} no-chart{{/chart}}"
                        // The notification's names are known inside the alerts too.
                        + "{{#firing}} n-firing{{/firing}} to {{receiver}}]{{/alerts}}"
                        + "{{^alerts}} none{{/alerts}}";

        assertThat(render(t, n))
                .isEqualTo(
                        "not-F R [oil-temp resolved critical chart to shift-lead]"
                                + " [bearing-temp open info no-chart to shift-lead]");
        assertThat(
                        render(
                                t,
                                new Notification(
                                        "n-2",
                                        "shift-lead",
                                        "shift-lead/s/a/l/m",
                                        Notification.Status.SUMMARY,
                                        List.of())))
                .isEqualTo("not-F S none");
    }

    @Test
    void aLineHoldingOnlyASectionTagOrACommentIsLeftOutAsIsTheFilesLastNewline() {
        String t =
                "{{! one line per alert }}\n"
                        + "Alerts on {{machine}}:\n"
                        + "{{#alerts}}\n"
                        + "  - {{sensor}}\n"
                        + "    {{#chart}}\n"
                        + "    see {{chart}}\n"
                        + "    {{/chart}}\n"
                        + "{{/alerts}}\n"
                        + "End\n";

        assertThat(
                        render(
                                t,
                                notification(
                                        Notification.Status.FIRING,
                                        alert("oil-temp", Severity.CRITICAL, AlertState.OPEN),
                                        alert("fan", Severity.CRITICAL, AlertState.OPEN))))
                .isEqualTo(
                        "Alerts on press-3:\n"
                                + "  - oil-temp\n"
                                + "    see https://grafana/d/x?var-sensor=a&b\n"
                                + "  - fan\n"
                                + "End");
    }

    /** As a Windows editor saves a file: CR LF line ends and a byte-order mark first. */
    @Test
    void windowsLineEndsAndAByteOrderMarkAreReadAsIfTheyWereNotThere() {
        String t = "\uFEFF{{! from Notepad }}\r\n{{#alerts}}\r\n{{sensor}}\r\n{{/alerts}}\r\n";

        assertThat(
                        render(
                                t,
                                notification(
                                        Notification.Status.FIRING,
                                        alert("oil-temp", Severity.CRITICAL, AlertState.OPEN),
                                        alert("fan", Severity.CRITICAL, AlertState.OPEN))))
                .isEqualTo("oil-temp\nfan\n");
    }

    /**
     * A template whose sections all stay shut writes nothing; Slack and PagerDuty refuse an empty
     * text, so the notification would be refused at every interval and never arrive. The shipped
     * text goes instead.
     */
    @Test
    void aTextATemplateLeavesBlankIsTheShippedOne() throws Exception {
        Alert warning = alert("oil-temp", Severity.WARNING, AlertState.OPEN);
        Notification n = notification(Notification.Status.FIRING, warning);
        NotificationTemplate onlyCritical =
                NotificationTemplate.parse(
                        "{{#critical}}{{message}}{{/critical}}",
                        NotificationTemplate.Scope.ALERT,
                        "t");
        NotificationTemplate nothing =
                NotificationTemplate.parse(
                        "{{#alerts}}{{#critical}}x{{/critical}}{{/alerts}}\n",
                        NotificationTemplate.Scope.NOTIFICATION,
                        "t");

        assertThat(PagerDutyReceiver.summary(n, warning, onlyCritical))
                .isEqualTo("oil-temp is above 80");
        assertThat(EmailReceiver.subject(n, nothing))
                .isEqualTo("[Plantwatch] FIRING 1 on dresden/press-shop/line-1/press-3");
        assertThat(
                        new com.fasterxml.jackson.databind.ObjectMapper()
                                .readTree(SlackFormat.render(n, nothing))
                                .path("text")
                                .asText())
                .startsWith(":rotating_light: *FIRING* `dresden/press-shop/line-1/press-3`");
    }

    @Test
    void everyValueIsEscapedAndTheTemplatesOwnTextIsNot() {
        Alert a =
                Alert.open(
                        SensorId.parse("s/a/l/<!channel>/R&D"),
                        "r",
                        AlertKind.SPIKE,
                        Severity.CRITICAL,
                        NOON,
                        NOON,
                        List.of(1.0),
                        "<http://ev.il|Ack here>");
        String text =
                NotificationTemplate.parse(
                                "{{#alerts}}{{#critical}}<!channel> {{/critical}}*{{machine}}*"
                                        + " {{sensor}}: {{message}}{{/alerts}}",
                                NotificationTemplate.Scope.NOTIFICATION,
                                "t")
                        .render(
                                new Notification(
                                        "n",
                                        "slack",
                                        Grouper.groupKey("slack", a),
                                        Notification.Status.FIRING,
                                        List.of(a)),
                                SlackFormat::escape);

        assertThat(text)
                .isEqualTo("<!channel> *&lt;!channel&gt;* R&amp;D: &lt;http://ev.il|Ack here&gt;");
    }

    @Test
    void timesAreShownInTheTemplatesTimeZone() {
        Alert a = alert("oil-temp", Severity.CRITICAL, AlertState.OPEN);
        NotificationTemplate t =
                NotificationTemplate.parse(
                                "{{started}} / {{detected}}", NotificationTemplate.Scope.ALERT, "t")
                        .in(ZoneId.of("Europe/Berlin"));

        assertThat(t.render(notification(Notification.Status.FIRING, a), a, AS_IS))
                .isEqualTo("2026-06-01 14:00:00 CEST / 2026-06-01 14:00:05 CEST");
    }

    @Test
    void aPerAlertTemplateKnowsTheAlertsNamesAtItsTopAndTheNotificationsToo() {
        Alert a = alert("oil-temp", Severity.CRITICAL, AlertState.OPEN);
        NotificationTemplate t =
                NotificationTemplate.parse(
                        "{{severity}} {{sensor}} on {{group}}",
                        NotificationTemplate.Scope.ALERT,
                        "t");

        assertThat(t.render(notification(Notification.Status.FIRING, a), a, AS_IS))
                .isEqualTo("CRITICAL oil-temp on dresden/press-shop/line-1/press-3");
        assertThatThrownBy(
                        () ->
                                NotificationTemplate.parse(
                                        "{{#alerts}}{{sensor}}{{/alerts}}",
                                        NotificationTemplate.Scope.ALERT,
                                        "t"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("alerts}} stands inside the alerts");
    }

    @Test
    void everyMistakeIsOneLineNamingWhereItIs() {
        Map<String, String> mistakes =
                Map.ofEntries(
                        Map.entry(
                                "x\n  {{machin}}",
                                "receivers[1].template.body line 2 column 3: {{machin}} is not a"
                                        + " name a template knows here (an alert's names are known"
                                        + " inside {{#alerts}}...{{/alerts}}); known: alerts, area,"
                                        + " count, firing, flood-summary, group, line, machine,"
                                        + " receiver, resolved, site, status"),
                        Map.entry(
                                "{{sensor}}",
                                "receivers[1].template.body line 1 column 1: {{sensor}} is not a"
                                        + " name a template knows here"),
                        Map.entry(
                                "{{#alerts}}{{sensr}}{{/alerts}}",
                                "line 1 column 12: {{sensr}} is not a name a template knows;"
                                        + " known: alert-id, alerts, area, at, chart, count,"),
                        Map.entry(
                                "{{#alerts}}\n{{sensor}}\n",
                                "line 1 column 1: {{#alerts}} is not closed by {{/alerts}}"),
                        Map.entry(
                                "{{#alerts}}{{#chart}}{{/alerts}}{{/chart}}",
                                "line 1 column 22: {{/alerts}} cannot close {{#chart}} (opened at"
                                        + " line 1 column 12)"),
                        Map.entry("{{/alerts}}", "line 1 column 1: {{/alerts}} closes no section"),
                        Map.entry("a {{status", "line 1 column 3: {{ is not closed by }}"),
                        Map.entry("{{{status}}}", "would show a value unescaped"),
                        Map.entry("{{&status}}", "would show a value unescaped"),
                        Map.entry("{{> footer}}", "partials ({{>...}}) are not offered"),
                        Map.entry("{{=<% %>=}}", "changing the delimiters is not offered"),
                        Map.entry("{{ }}", "{{}} names nothing"),
                        Map.entry(
                                "{{firing}}",
                                "{{firing}} is a yes or no, not a text: use it as a section,"
                                        + " {{#firing}}...{{/firing}}"),
                        Map.entry("{{alerts}}", "{{alerts}} is the list of alerts, not a text"),
                        Map.entry(
                                "{{#alerts}}{{#alerts}}{{/alerts}}{{/alerts}}",
                                "stands inside the alerts"),
                        Map.entry("x".repeat(NotificationTemplate.MAX_LENGTH + 1), "is longer"),
                        Map.entry(
                                "{{! write {{machine}} for the machine }}",
                                "a comment ends at its first }}, so it cannot hold a tag"),
                        Map.entry(
                                "{{^alerts}}\n",
                                "line 1 column 1: {{^alerts}} is not closed by {{/alerts}}"),
                        Map.entry("{{/a\nb\u202e}}", "{{/a b?}} closes no section"));
        mistakes.forEach(
                (template, message) ->
                        assertThatThrownBy(
                                        () ->
                                                NotificationTemplate.parse(
                                                        template,
                                                        NotificationTemplate.Scope.NOTIFICATION,
                                                        "receivers[1].template.body"))
                                .as(template)
                                .isInstanceOf(ConfigException.class)
                                .hasMessageStartingWith("receivers[1].template.body ")
                                .hasMessageContaining(message)
                                .hasMessageNotContaining("\n"));
    }

    @Test
    void theShippedTemplatesParse() {
        Alert a = alert("oil-temp", Severity.CRITICAL, AlertState.OPEN);
        Notification n = notification(Notification.Status.FIRING, a);

        assertThat(EmailReceiver.subject(n, EmailReceiver.SHIPPED_SUBJECT))
                .isEqualTo("[Plantwatch] FIRING 1 on dresden/press-shop/line-1/press-3");
        assertThat(EmailReceiver.body(n, EmailReceiver.SHIPPED_BODY))
                .isEqualTo(
                        "CRITICAL OUT_OF_RANGE on dresden/press-shop/line-1/press-3/oil-temp\n"
                                + "  oil-temp is above 80\n"
                                + "  since 2026-06-01 12:00:00 UTC, rule oil-temp-high, alert"
                                + " id-oil-temp\n"
                                + "  chart: https://grafana/d/x?var-sensor=a&b\n"
                                + "\n");
        assertThat(PagerDutyReceiver.summary(n, a, PagerDutyReceiver.SHIPPED_SUMMARY))
                .isEqualTo("oil-temp is above 80");
    }

    /** The example the shipped config points to, as an operator would copy it. */
    @Test
    void theExampleInTheConfigFolderParsesAndReads() throws Exception {
        java.nio.file.Path file =
                java.nio.file.Path.of("../config/templates/maintenance-mail.mustache");
        Map<String, Double> limits = new java.util.LinkedHashMap<>();
        limits.put("high", 80.0);
        limits.put("count", 3.0);
        Alert resolved =
                alert("oil-temp", Severity.CRITICAL, AlertState.RESOLVED)
                        .withDetail("degC", limits);

        String body =
                NotificationTemplate.parse(
                                java.nio.file.Files.readString(file),
                                NotificationTemplate.Scope.NOTIFICATION,
                                file.toString())
                        .in(ZoneId.of("Europe/Berlin"))
                        .render(notification(Notification.Status.RESOLVED, resolved), AS_IS);

        assertThat(body)
                .isEqualTo(
                        "Resolved: press-3 on line-1 (press-shop, dresden)\n"
                                + "  oil-temp is above 80\n"
                                + "  Sensor oil-temp, rule oil-temp-high; last value 0.0000001"
                                + " degC\n"
                                + "  Limits: high 80, count 3\n"
                                + "  Since 2026-06-01 14:00:00 CEST, resolved 2026-06-01 14:00:05"
                                + " CEST\n"
                                + "  Chart: https://grafana/d/x?var-sensor=a&b\n"
                                + "\n");
    }
}
