package io.plantwatch.alerting;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code plantwatch alerts preview}: what each receiver of a file sends, without a service, and a
 * test notification sent to a real HTTP endpoint.
 */
class AlertsPreviewTest {
    private static final Map<String, String> SECRETS =
            Map.of(
                    "SLACK_URL", "https://hooks.slack.com/services/T0/B0/SLACKSECRET",
                    "PD_KEY", "R0UTINGSECRET",
                    "HOOK_SECRET", "HOOKSECRET");

    @TempDir Path dir;
    // Takes the first test notification, refuses the rest.
    private final RecordingEndpoint hook =
            RecordingEndpoint.start("/hook", n -> n == 1 ? 200 : 400);
    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    @AfterEach
    void stop() {
        hook.close();
    }

    private Path config(String receivers) throws Exception {
        Path file = dir.resolve("alerting.yaml");
        Files.writeString(
                file,
                "receivers:\n"
                        + receivers
                        + "route: {receiver: hook}\napi: {port: -1}\n"
                        + "links: {grafana-url: 'https://grafana.plant.example'}\n");
        return file;
    }

    private static final String RECEIVERS =
            """
              - {name: hook, url: 'http://127.0.0.1:%d/hook', secret-env: HOOK_SECRET, give-up-after: 0s}
              - name: wartung
                type: email
                host: 127.0.0.1
                from: plantwatch@plant.example
                to: wartung@plant.example
                template:
                  subject: "[{{site}}] {{#firing}}STÖRUNG{{/firing}}{{#resolved}}Erledigt{{/resolved}}: {{machine}}"
                  time-zone: Europe/Berlin
              - {name: chat, type: slack, url-env: SLACK_URL}
              - {name: pager, type: pagerduty, routing-key-env: PD_KEY}
            """;

    private int run(String... args) {
        return AlertsCommand.mainWithExitCode(
                new PrintWriter(out, true), new PrintWriter(err, true), SECRETS::get, args);
    }

    @Test
    void everyReceiverShowsWhatItSendsAndNoneOfItsSecrets() throws Exception {
        Path file = config(RECEIVERS.formatted(hook.port()));

        assertThat(run("preview", "--config", file.toString())).isZero();

        String shown = out.toString();
        assertThat(shown)
                .contains("== hook (WebhookReceiver)", "\"status\" : \"FIRING\"")
                .contains("== wartung (EmailReceiver)", "Subject: [plantwatch] STÖRUNG: press-1")
                .contains("CRITICAL OUT_OF_RANGE on plantwatch/preview/line-1/press-1/oil-temp")
                .contains("== chat (WebhookReceiver)", ":rotating_light: *FIRING*")
                .contains("== pager (PagerDutyReceiver)", "\"routing_key\" : \"(routing key)\"")
                .contains("https://grafana.plant.example/d/plantwatch-sensor/sensor-detail?")
                .contains("TEST (plantwatch alerts preview)")
                .doesNotContain("SLACKSECRET", "R0UTINGSECRET", "HOOKSECRET");
        // One event per alert: the trigger and the resolve, each indented, neither dropped.
        String pager = shown.substring(shown.indexOf("== pager"));
        assertThat(pager.split("\"dedup_key\"", -1)).hasSize(3);
        assertThat(pager)
                .contains("\"event_action\" : \"trigger\"", "\"event_action\" : \"resolve\"");
        assertThat(hook.bodies()).as("a preview sends nothing").isEmpty();

        assertThat(
                        run(
                                "preview",
                                "--config",
                                file.toString(),
                                "--receiver",
                                "wartung",
                                "--status",
                                "resolved"))
                .isZero();
        assertThat(out.toString()).contains("Subject: [plantwatch] Erledigt: press-1");
    }

    @Test
    void sendDeliversATestToOneReceiverAndItsOutcomeIsTheExitCode() throws Exception {
        Path file = config(RECEIVERS.formatted(hook.port()));

        assertThat(run("preview", "--config", file.toString(), "--receiver", "hook", "--send"))
                .isZero();
        assertThat(hook.bodies()).hasSize(1);
        assertThat(hook.bodies().get(0)).contains("TEST (plantwatch alerts preview)");
        assertThat(out.toString()).contains("hook took it.");

        // The endpoint refuses the second.
        assertThat(run("preview", "--config", file.toString(), "--receiver", "hook", "--send"))
                .isEqualTo(1);
        assertThat(err.toString()).contains("plantwatch alerts: hook did not take it (REFUSED)");
    }

    @Test
    void mistakesAreOneLineWithExit2() throws Exception {
        Path file = config(RECEIVERS.formatted(hook.port()));
        assertThat(run("preview", "--config", file.toString(), "--send")).isEqualTo(2);
        assertThat(err.toString()).contains("--send needs --receiver");
        assertThat(run("preview", "--config", file.toString(), "--receiver", "nobody"))
                .isEqualTo(2);
        assertThat(err.toString())
                .contains("--receiver nobody is not one of hook, wartung, chat, pager");
        assertThat(run("preview", "--config", file.toString(), "--status", "open")).isEqualTo(2);
        assertThat(err.toString()).contains("--status open is not firing, resolved or summary");
        Path andon = config("  - {name: hook, type: mqtt, broker: 'tcp://127.0.0.1:1'}\n");
        assertThat(run("preview", "--config", andon.toString(), "--receiver", "hook", "--send"))
                .isEqualTo(2);
        assertThat(err.toString()).contains("--send does not go to an MQTT receiver");

        // The console shows a flood summary's line, as it prints it.
        Path console = config("  - {name: hook, type: console}\n");
        assertThat(run("preview", "--config", console.toString(), "--status", "summary")).isZero();
        assertThat(out.toString()).contains("ALERTS  flood limit reached for hook");

        Path broken =
                config(
                        "  - {name: hook, type: slack, url-env: SLACK_URL, template: {text:"
                                + " '{{#alerts}}{{sensr}}{{/alerts}}'}}\n");
        assertThat(run("preview", "--config", broken.toString())).isEqualTo(2);
        assertThat(err.toString())
                .contains(
                        "receivers[0].template.text line 1 column 12: {{sensr}} is not a name a"
                                + " template knows");
        assertThat(hook.bodies()).isEmpty();
    }
}
