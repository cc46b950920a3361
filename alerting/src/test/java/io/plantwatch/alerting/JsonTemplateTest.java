package io.plantwatch.alerting;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.plantwatch.model.Alert;
import io.plantwatch.model.AlertKind;
import io.plantwatch.model.ConfigException;
import io.plantwatch.model.SensorId;
import io.plantwatch.model.Severity;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A webhook whose body its template writes, as a chat takes it (here a Microsoft Teams workflow's
 * Adaptive Card), received by a real HTTP server.
 */
class JsonTemplateTest {
    @TempDir Path dir;
    private final RecordingEndpoint endpoint = RecordingEndpoint.start("/workflows/x", n -> 202);

    @AfterEach
    void stop() {
        endpoint.close();
    }

    private List<String> bodies() {
        return endpoint.bodies();
    }

    private List<String> signatures() {
        return endpoint.requests().stream()
                .map(RecordingEndpoint.Request::signature)
                .filter(java.util.Objects::nonNull)
                .toList();
    }

    private String url() {
        return endpoint.url().toString();
    }

    /** The receiver named {@code teams} of a config with {@code receiver} (YAML, one mapping). */
    private Receiver load(String receiver, Map<String, String> env) throws Exception {
        Path config = dir.resolve("alerting.yaml");
        Files.writeString(
                config,
                "receivers:\n  - " + receiver + "\nroute: {receiver: teams}\napi: {port: -1}\n");
        Map<String, String> all = new HashMap<>(env);
        all.put("TEAMS_URL", url());
        return AlertingConfig.load(config, "127.0.0.1:9092", all::get).receivers().get("teams");
    }

    private static Alert alert(String sensor, Severity severity, String message, Double... values) {
        return Alert.open(
                SensorId.parse("dresden/press-shop/line-1/press-3/" + sensor),
                sensor + "-rule",
                AlertKind.OUT_OF_RANGE,
                severity,
                0,
                1_000,
                List.of(values),
                message);
    }

    private static Notification firing(Alert... alerts) {
        return new Notification(
                "n-1",
                "teams",
                "teams/dresden/press-shop/line-1/press-3",
                Notification.Status.FIRING,
                List.of(alerts));
    }

    /**
     * The URL of a Teams workflow carries its signature, so it is given as a secret and nothing is
     * signed; the plant's message, quotes and line ends included, arrives as the text it was, not
     * as JSON of its own.
     */
    @Test
    void aTeamsCardCarriesEachAlertAndThePlantsTextStaysText() throws Exception {
        // The example shipped beside the config, as an operator would name it.
        Path card = Path.of("../config/templates/teams-card.json.mustache");
        Receiver teams =
                load(
                        "{name: teams, type: webhook, url-env: TEAMS_URL, template: {body-file: %s}}"
                                .formatted(card),
                        Map.of());
        String spoof = "84 degC\", \"type\": \"Image\", \"url\": \"http://ev.il\"}\n{\"x\": \"";

        assertThat(
                        teams.deliver(
                                firing(
                                        alert("oil-temp", Severity.CRITICAL, "oil-temp high", 84.0),
                                        alert("fan", Severity.WARNING, spoof)),
                                new byte[0]))
                .isEqualTo(WebhookReceiver.Outcome.DELIVERED);

        assertThat(bodies()).hasSize(1);
        assertThat(signatures()).isEmpty();
        JsonNode blocks =
                new ObjectMapper()
                        .readTree(bodies().get(0))
                        .path("attachments")
                        .get(0)
                        .path("content")
                        .path("body");
        assertThat(blocks).hasSize(5);
        assertThat(blocks.get(0).path("text").asText())
                .isEqualTo("🚨 FIRING dresden/press-shop/line-1/press-3");
        assertThat(blocks.get(1).path("color").asText()).isEqualTo("Attention");
        assertThat(blocks.get(1).path("text").asText())
                .isEqualTo("**CRITICAL** OUT_OF_RANGE oil-temp: oil-temp high");
        assertThat(blocks.get(2).path("text").asText())
                .isEqualTo("since 1970-01-01 00:00:00 UTC, rule oil-temp-rule");
        assertThat(blocks.get(3).path("color").asText()).isEqualTo("Warning");
        // Its line end shown as ?, as in a mail: escaped, the chat would still decode it.
        assertThat(blocks.get(3).path("text").asText())
                .isEqualTo("**WARNING** OUT_OF_RANGE fan: " + spoof.replace('\n', '?'));
        assertThat(blocks.get(3).has("url")).isFalse();
    }

    /** A secret set as well still signs what is sent, as the webhook always did. */
    @Test
    void aSecretSetBesideASecretUrlSignsTheBody() throws Exception {
        Receiver teams =
                load(
                        "{name: teams, type: webhook, url-env: TEAMS_URL, secret-env: SECRET,"
                                + " template: {body: '{\"text\": \"{{count}} on {{machine}}\"}'}}",
                        Map.of("SECRET", "s3cret"));

        assertThat(teams.deliver(firing(alert("fan", Severity.INFO, "x")), new byte[0]))
                .isEqualTo(WebhookReceiver.Outcome.DELIVERED);

        assertThat(bodies()).containsExactly("{\"text\": \"1 on press-3\"}");
        assertThat(signatures()).hasSize(1).allSatisfy(s -> assertThat(s).startsWith("sha256="));
    }

    /**
     * A template that writes no JSON stops the start, tried on notifications of every status: a
     * comma after the last alert, a reading outside quotes, nothing for a resolution. One that
     * writes none for a notification the samples did not foresee sends nothing, counted as failed.
     */
    @Test
    void aTemplateThatWritesNoJsonIsRefusedAtStartAndANotificationItCannotWriteIsNotSent()
            throws Exception {
        String trailingComma =
                "{name: teams, type: webhook, url-env: TEAMS_URL, template: {body: '{\"alerts\":"
                        + " [{{#alerts}}\"{{sensor}}\",{{/alerts}}]}'}}";
        assertThatThrownBy(() -> load(trailingComma, Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("receivers[0].template.body does not write JSON for a")
                .hasMessageContaining("of what it wrote")
                .hasMessageContaining("{{^last}},{{/last}}")
                .hasMessageNotContaining("\n");
        Path file = dir.resolve("bad.json.mustache");
        Files.writeString(file, "[{{#alerts}}1,{{/alerts}}]");
        assertThatThrownBy(
                        () ->
                                load(
                                        "{name: teams, type: webhook, url-env: TEAMS_URL,"
                                                + " template: {body-file: %s}}".formatted(file),
                                        Map.of()))
                .hasMessageContaining(
                        "receivers[0].template.body-file " + file + " does not write JSON for a");
        Receiver fixed =
                load(
                        trailingComma.replace("\",{{/alerts}}", "\"{{^last}},{{/last}}{{/alerts}}"),
                        Map.of());
        assertThat(
                        fixed.deliver(
                                firing(
                                        alert("oil-temp", Severity.CRITICAL, "a"),
                                        alert("fan", Severity.CRITICAL, "b")),
                                new byte[0]))
                .isEqualTo(WebhookReceiver.Outcome.DELIVERED);
        assertThat(bodies()).containsExactly("{\"alerts\": [\"oil-temp\",\"fan\"]}");

        // Every value is text: a reading outside quotes is refused, as a real one may be NaN.
        assertThatThrownBy(
                        () ->
                                load(
                                        "{name: teams, type: webhook, url-env: TEAMS_URL, template:"
                                                + " {body: '{{#alerts}}{\"v\": {{value}}}{{/alerts}}'}}",
                                        Map.of()))
                .hasMessageContaining("receivers[0].template.body does not write JSON for a");
        // A body for firing notifications only writes nothing for a resolution.
        assertThatThrownBy(
                        () ->
                                load(
                                        "{name: teams, type: webhook, url-env: TEAMS_URL, template:"
                                                + " {body: '{{#firing}}{\"text\": \"{{group}}\"}{{/firing}}'}}",
                                        Map.of()))
                .hasMessageContaining(
                        "does not write JSON for a resolved notification: it wrote nothing");

        // What the samples cannot foresee (here one INFO alert alone) is not sent, and is counted.
        Receiver unforeseen =
                load(
                        "{name: teams, type: webhook, url-env: TEAMS_URL, template: {body: '{\"a\":"
                                + " 1{{#alerts}}{{#first}}{{#last}}{{#info}}x{{/info}}{{/last}}{{/first}}{{/alerts}}}'}}",
                        Map.of());
        assertThat(unforeseen.deliver(firing(alert("fan", Severity.INFO, "b")), new byte[0]))
                .isEqualTo(WebhookReceiver.Outcome.REFUSED);
        assertThat(unforeseen.failedAttempts()).isEqualTo(1);
        assertThat(bodies()).hasSize(1);
    }

    /**
     * A URL written in the file is known to whoever reads the file, so what goes to it must be
     * signed; one given as a secret need not be. Both at once is a mistake.
     */
    @Test
    void aWebhookUrlInTheFileNeedsItsSecretAndOneAsASecretDoesNot() throws Exception {
        assertThatThrownBy(() -> load("{name: teams, type: webhook, url: 'http://h/x'}", Map.of()))
                .hasMessageContaining("needs secret-file or secret-env to sign its webhooks");
        assertThatThrownBy(
                        () ->
                                load(
                                        "{name: teams, type: webhook, url: 'http://h/x',"
                                                + " url-env: TEAMS_URL}",
                                        Map.of()))
                .hasMessageContaining("receivers[0] has url and url-env; keep one");
        assertThatThrownBy(() -> load("{name: teams, type: webhook, url-env: NOT_SET}", Map.of()))
                .hasMessageContaining("receivers[0].url-env NOT_SET is not set");
        assertThatThrownBy(
                        () ->
                                load(
                                        "{name: teams, type: webhook, url-env: TEAMS_URL,"
                                                + " secret: abc}",
                                        Map.of()))
                .hasMessageContaining("receivers[0].secret must not be written in the file");
        assertThatThrownBy(() -> load("{name: teams, type: webhook}", Map.of()))
                .hasMessageContaining("receivers[0] needs url, or url-env or url-file");
        assertThatThrownBy(
                        () ->
                                load(
                                        "{name: teams, type: webhook, url-env: TEAMS_URL,"
                                                + " template: {time-zone: UTC}}",
                                        Map.of()))
                .hasMessageContaining(
                        "receivers[0].template sets no body (or body-file); without one it does"
                                + " nothing");
        assertThat(load("{name: teams, type: webhook, url-env: TEAMS_URL}", Map.of()))
                .isInstanceOf(WebhookReceiver.class);
    }
}
