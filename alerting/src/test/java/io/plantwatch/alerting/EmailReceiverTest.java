package io.plantwatch.alerting;

import static org.assertj.core.api.Assertions.assertThat;

import com.icegreen.greenmail.configuration.GreenMailConfiguration;
import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.GreenMailUtil;
import com.icegreen.greenmail.util.ServerSetup;
import io.plantwatch.model.Alert;
import io.plantwatch.model.AlertKind;
import io.plantwatch.model.AlertState;
import io.plantwatch.model.SensorId;
import io.plantwatch.model.Severity;
import jakarta.mail.internet.MimeMessage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** GreenMail, a real SMTP server, behind a real STARTTLS front (GreenMail has none of its own). */
class EmailReceiverTest {
    private static final String USER = "plantwatch";
    private static final String PASSWORD = "smtp-test-password";

    @TempDir Path dir;
    private GreenMail mail;
    private StartTlsRelay relay;

    @BeforeEach
    void start() throws Exception {
        mail =
                new GreenMail(new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_SMTP))
                        .withConfiguration(
                                GreenMailConfiguration.aConfig().withUser(USER, PASSWORD));
        mail.start();
        relay = new StartTlsRelay(mail.getSmtp().getPort(), dir);
    }

    @AfterEach
    void stop() throws Exception {
        relay.close();
        mail.stop();
    }

    private EmailReceiver receiver(int port, EmailReceiver.Tls tls, String password) {
        return new EmailReceiver(
                "maintenance-mail",
                new EmailReceiver.Settings(
                        "127.0.0.1",
                        port,
                        tls,
                        USER,
                        password.getBytes(StandardCharsets.UTF_8),
                        "plantwatch@plant.example",
                        List.of("maintenance@plant.example", "shift-lead@plant.example"),
                        Duration.ofSeconds(5),
                        Duration.ofMillis(200),
                        Duration.ofSeconds(1),
                        "127.0.0.1"),
                EmailReceiver.SHIPPED_SUBJECT,
                EmailReceiver.SHIPPED_BODY);
    }

    private static Notification firing() {
        SensorId oil = SensorId.parse("dresden/press-shop/line-1/press-3/oil-temp");
        Alert a =
                new Alert(
                        "alert-1",
                        oil,
                        "oil-temp-spike",
                        AlertKind.SPIKE,
                        Severity.CRITICAL,
                        AlertState.OPEN,
                        1_780_000_000_000L,
                        1_780_000_001_000L,
                        1_780_000_001_500L,
                        List.of(61.0, 84.0),
                        "oil-temp rose from 61 to 84 degC within 10s");
        return new Notification(
                "n-42",
                "maintenance-mail",
                "maintenance-mail/dresden/press-shop/line-1/press-3",
                Notification.Status.FIRING,
                List.of(a));
    }

    @Test
    void sendsOverStartTlsAfterLoggingInAndGreenMailReceivesIt() throws Exception {
        var outcome =
                receiver(relay.port(), EmailReceiver.Tls.STARTTLS, PASSWORD)
                        .deliver(firing(), new byte[0]);

        assertThat(outcome).isEqualTo(WebhookReceiver.Outcome.DELIVERED);
        assertThat(relay.tlsSessions).hasValue(1);
        // Only the greeting and the upgrade crossed in clear: the login came after TLS.
        assertThat(relay.plaintextCommands)
                .allSatisfy(c -> assertThat(c).matches("(?i)(EHLO|STARTTLS).*"));
        MimeMessage[] received = mail.getReceivedMessages();
        assertThat(received).hasSize(2); // one per recipient
        MimeMessage m = received[0];
        assertThat(m.getSubject())
                .isEqualTo("[Plantwatch] FIRING 1 on dresden/press-shop/line-1/press-3");
        assertThat(m.getMessageID()).isEqualTo("<n-42@plantwatch>");
        assertThat(GreenMailUtil.getBody(m))
                .contains("CRITICAL SPIKE on dresden/press-shop/line-1/press-3/oil-temp")
                .contains("oil-temp rose from 61 to 84 degC within 10s")
                .contains("alert alert-1");
    }

    /**
     * A plant's own wording, in its language and time zone, from the receiver's settings: the
     * subject written in the file, the body in a file of its own (UTF-8), as an operator sets them.
     */
    @Test
    void aReceiversTemplateWritesTheSubjectAndBodyInItsTimeZone() throws Exception {
        Path body = dir.resolve("wartung.mustache");
        java.nio.file.Files.writeString(
                body,
                """
                {{#alerts}}
                Störung {{severity}} an {{machine}} ({{line}}): {{message}}
                Messwert {{value}}, seit {{started}}
                {{/alerts}}
                """);
        Path config = dir.resolve("alerting.yaml");
        java.nio.file.Files.writeString(
                config,
                """
                receivers:
                  - name: wartung
                    type: email
                    host: 127.0.0.1
                    port: %d
                    tls: "off"
                    username: plantwatch
                    password-env: SMTP_PASSWORD
                    from: plantwatch@plant.example
                    to: wartung@plant.example
                    template:
                      subject: "{{#firing}}STÖRUNG{{/firing}}{{#resolved}}Erledigt{{/resolved}}:\n {{machine}}"
                      body-file: %s
                      time-zone: Europe/Berlin
                route: {receiver: wartung}
                api: {port: -1}
                """
                        .formatted(mail.getSmtp().getPort(), body));
        Receiver wartung =
                AlertingConfig.load(
                                config, "127.0.0.1:9092", Map.of("SMTP_PASSWORD", PASSWORD)::get)
                        .receivers()
                        .get("wartung");

        assertThat(wartung.deliver(firing(), new byte[0]))
                .isEqualTo(WebhookReceiver.Outcome.DELIVERED);

        MimeMessage m = mail.getReceivedMessages()[0];
        // One line, whatever the template writes: a newline in a subject would end the header.
        assertThat(m.getSubject()).isEqualTo("STÖRUNG: press-3");
        // (SMTP's end of data takes the last line end.)
        assertThat(((String) m.getContent()).replace("\r\n", "\n").stripTrailing())
                .isEqualTo(
                        "Störung CRITICAL an press-3 (line-1): oil-temp rose from 61 to 84 degC"
                                + " within 10s\n"
                                + "Messwert 84, seit 2026-05-28 22:26:40 CEST");
    }

    @Test
    void aWrongPasswordIsARefusalNotARetry() throws Exception {
        var outcome =
                receiver(relay.port(), EmailReceiver.Tls.STARTTLS, "wrong")
                        .deliver(firing(), new byte[0]);
        assertThat(outcome).isEqualTo(WebhookReceiver.Outcome.REFUSED);
        assertThat(mail.getReceivedMessages()).isEmpty();
    }

    @Test
    void sendsNothingToAServerWithoutStartTlsUnlessTlsIsOff() throws Exception {
        int plain = mail.getSmtp().getPort();
        var refused =
                receiver(plain, EmailReceiver.Tls.STARTTLS, PASSWORD)
                        .deliver(firing(), new byte[0]);
        assertThat(refused).isEqualTo(WebhookReceiver.Outcome.REFUSED);
        assertThat(mail.getReceivedMessages()).isEmpty();

        var sent = receiver(plain, EmailReceiver.Tls.OFF, PASSWORD).deliver(firing(), new byte[0]);
        assertThat(sent).isEqualTo(WebhookReceiver.Outcome.DELIVERED);
        assertThat(mail.getReceivedMessages()).hasSize(2);
    }

    @Test
    void retriesUntilTheServerIsUpAndSendsOnce() throws Exception {
        int port = mail.getSmtp().getPort();
        mail.stop();
        EmailReceiver r =
                new EmailReceiver(
                        "maintenance-mail",
                        new EmailReceiver.Settings(
                                "127.0.0.1",
                                port,
                                EmailReceiver.Tls.OFF,
                                null,
                                null,
                                "plantwatch@plant.example",
                                List.of("maintenance@plant.example"),
                                Duration.ofSeconds(2),
                                Duration.ofMillis(300),
                                Duration.ofSeconds(30),
                                null),
                        EmailReceiver.SHIPPED_SUBJECT,
                        EmailReceiver.SHIPPED_BODY);
        Thread restart =
                new Thread(
                        () -> {
                            org.awaitility.Awaitility.await().until(() -> r.failedAttempts() >= 2);
                            mail =
                                    new GreenMail(
                                            new ServerSetup(
                                                    port, "127.0.0.1", ServerSetup.PROTOCOL_SMTP));
                            mail.start();
                        });
        restart.start();

        assertThat(r.deliver(firing(), new byte[0])).isEqualTo(WebhookReceiver.Outcome.DELIVERED);
        restart.join();
        assertThat(r.failedAttempts()).isGreaterThanOrEqualTo(2);
        assertThat(mail.getReceivedMessages()).hasSize(1);
    }

    /**
     * A unit with CR/LF put a forged paragraph into the body ("RESOLVED CRITICAL ..."). The gateway
     * now refuses such units, but alerts made before still reach the mail: each such character
     * shows as {@code ?}, as on the console.
     */
    @Test
    void controlAndFormatCharactersInTheMessageShowAsQuestionMarks() {
        SensorId id = SensorId.parse("dresden/press-shop/line-1/press-3/oil-temp");
        Alert a =
                new Alert(
                        "alert-1",
                        id,
                        "oil-temp-spike",
                        AlertKind.SPIKE,
                        Severity.CRITICAL,
                        AlertState.OPEN,
                        1_780_000_000_000L,
                        1_780_000_001_000L,
                        1_780_000_001_500L,
                        List.of(61.0, 84.0),
                        "oil-temp rose to 84 degC\r\n\r\nRESOLVED CRITICAL SPIKE on x\u0007\u202e");
        Notification n =
                new Notification(
                        "n-43",
                        "maintenance-mail",
                        Grouper.groupKey("maintenance-mail", a),
                        Notification.Status.FIRING,
                        List.of(a));

        String body = EmailReceiver.body(n, EmailReceiver.SHIPPED_BODY);

        assertThat(body.chars().filter(c -> c != '\n' && Character.isISOControl(c)).count())
                .isZero();
        assertThat(body)
                .doesNotContain("\u202e")
                .startsWith("CRITICAL SPIKE on dresden/press-shop/line-1/press-3/oil-temp\n")
                .contains(
                        "\n  oil-temp rose to 84 degC????RESOLVED CRITICAL SPIKE on x??\n  since ");
        assertThat(body.lines().filter(l -> l.startsWith("RESOLVED"))).isEmpty();
        assertThat(EmailReceiver.subject(n, EmailReceiver.SHIPPED_SUBJECT))
                .isEqualTo("[Plantwatch] FIRING 1 on dresden/press-shop/line-1/press-3");
    }
}
