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
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Each alert of a notification links to its sensor's chart on Grafana, in every format a plant
 * engineer reads: the webhook's JSON, Slack, e-mail, PagerDuty.
 */
class ChartLinksTest {
    private static final long T0 = 1_764_057_600_000L;
    private static final long HOUR = 3_600_000;

    private static Alert alert(AlertState state) {
        return new Alert(
                "a-1",
                SensorId.parse("dresden/press-shop/line-1/press-1/oil-temp"),
                "oil hot",
                AlertKind.OUT_OF_RANGE,
                Severity.CRITICAL,
                state,
                T0,
                state == AlertState.OPEN ? T0 : T0 + 600_000,
                T0,
                List.of(91.0),
                "oil-temp 91 degC above 80");
    }

    @Test
    void anOpenAlertsChartRunsToNowAResolvedOnesToAnHourAfter() {
        ChartLinks links = new ChartLinks(URI.create("https://grafana.plant:3000/"));
        assertThat(links.chart(alert(AlertState.OPEN)))
                .isEqualTo(
                        "https://grafana.plant:3000/d/plantwatch-sensor/sensor-detail"
                                + "?var-site=dresden&var-area=press-shop&var-line=line-1"
                                + "&var-machine=press-1"
                                + "&var-sensor=oil-temp&from="
                                + (T0 - HOUR)
                                + "&to=now");
        assertThat(
                        new ChartLinks(URI.create("http://g:3000/grafana"))
                                .chart(alert(AlertState.RESOLVED)))
                .startsWith("http://g:3000/grafana/d/plantwatch-sensor/sensor-detail?")
                .endsWith("&from=" + (T0 - HOUR) + "&to=" + (T0 + 600_000 + HOUR));
    }

    @Test
    void everyFormatCarriesTheChart() throws Exception {
        ChartLinks links = new ChartLinks(URI.create("https://grafana.plant:3000"));
        Notification n =
                links.on(
                        new Notification(
                                "n-1",
                                "slack",
                                "slack/dresden/press-shop/line-1/press-1",
                                Notification.Status.FIRING,
                                List.of(alert(AlertState.OPEN))));
        String chart = links.chart(alert(AlertState.OPEN));
        String slack = new ObjectMapper().readTree(SlackFormat.render(n)).path("text").asText();
        // Its & as &amp;, which Slack decodes in a link as in text.
        assertThat(slack)
                .endsWith("oil-temp 91 degC above 80 <" + chart.replace("&", "&amp;") + "|chart>");
        assertThat(EmailReceiver.body(n, EmailReceiver.SHIPPED_BODY))
                .contains("  chart: " + chart + "\n");
        JsonNode pd =
                new ObjectMapper()
                        .readTree(
                                new String(
                                        PagerDutyReceiver.event(
                                                n.alerts().get(0),
                                                "key",
                                                n.chart(n.alerts().get(0)),
                                                "summary"),
                                        StandardCharsets.UTF_8));
        assertThat(pd.path("links").get(0).path("href").asText()).isEqualTo(chart);
        // Without Grafana's address, nothing is linked.
        Notification plain =
                new Notification("n-1", "slack", "g", Notification.Status.FIRING, n.alerts());
        assertThat(new String(SlackFormat.render(plain), StandardCharsets.UTF_8))
                .doesNotContain("chart");
        assertThat(EmailReceiver.body(plain, EmailReceiver.SHIPPED_BODY)).doesNotContain("chart");
    }
}
