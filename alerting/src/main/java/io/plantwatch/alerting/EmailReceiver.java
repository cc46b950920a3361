package io.plantwatch.alerting;

import io.plantwatch.model.SensorId;
import jakarta.mail.AuthenticationFailedException;
import jakarta.mail.Message;
import jakarta.mail.MessagingException;
import jakarta.mail.SendFailedException;
import jakarta.mail.Session;
import jakarta.mail.Transport;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeMessage;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Date;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * E-mail over SMTP: one plain-text message per notification, subject naming the status and the
 * machine (or as the receiver's {@code template} writes them). STARTTLS is required by default (a
 * plant's relay on port 587), so credentials never cross the network in clear; {@code starttls:
 * off} is for a relay on the same host. The password comes from the environment or a file. The
 * notification id is the Message-ID's local part, so a mail system that sees a retry can tell it is
 * the same message.
 *
 * <p>Retried with exponential backoff while the server is unreachable or answers a transient (4xx)
 * failure; refused recipients and failed logins are refusals no retry changes.
 */
public final class EmailReceiver implements Receiver {
    private static final Logger LOG = LoggerFactory.getLogger(EmailReceiver.class);

    /** How the connection is secured. */
    public enum Tls {
        /** Plain SMTP, upgraded with STARTTLS; refuses to send if the server cannot. */
        STARTTLS,
        /** SMTP inside TLS from the first byte (port 465). */
        IMPLICIT,
        /** No TLS: only for a relay on the same host. */
        OFF
    }

    /**
     * @param trust hosts whose certificate is trusted without a CA chain ({@code
     *     mail.smtp.ssl.trust} syntax), for a relay with its own certificate; null trusts the JDK's
     *     CAs only
     */
    public record Settings(
            String host,
            int port,
            Tls tls,
            String username,
            byte[] password,
            String from,
            List<String> to,
            Duration timeout,
            Duration maxBackoff,
            Duration giveUpAfter,
            String trust) {}

    /** The subject Plantwatch writes unless the receiver has a {@code template.subject}. */
    static final NotificationTemplate SHIPPED_SUBJECT =
            NotificationTemplate.shipped("email-subject", NotificationTemplate.Scope.NOTIFICATION);

    /** The body Plantwatch writes unless the receiver has a {@code template.body}. */
    static final NotificationTemplate SHIPPED_BODY =
            NotificationTemplate.shipped("email-body", NotificationTemplate.Scope.NOTIFICATION);

    private final String name;
    private final Settings s;
    private final NotificationTemplate subject;
    private final NotificationTemplate body;
    private final Session session;
    private final AtomicLong failedAttempts = new AtomicLong();
    private final AtomicLong delivered = new AtomicLong();

    public EmailReceiver(
            String name,
            Settings settings,
            NotificationTemplate subject,
            NotificationTemplate body) {
        this.name = name;
        this.s = settings;
        this.subject = subject;
        this.body = body;
        String protocol = settings.tls() == Tls.IMPLICIT ? "smtps" : "smtp";
        Properties p = new Properties();
        String prefix = "mail." + protocol + ".";
        p.put("mail.transport.protocol", protocol);
        p.put(prefix + "host", settings.host());
        p.put(prefix + "port", Integer.toString(settings.port()));
        p.put(prefix + "auth", Boolean.toString(settings.username() != null));
        p.put(prefix + "connectiontimeout", Long.toString(settings.timeout().toMillis()));
        p.put(prefix + "timeout", Long.toString(settings.timeout().toMillis()));
        p.put(prefix + "writetimeout", Long.toString(settings.timeout().toMillis()));
        if (settings.tls() == Tls.STARTTLS) {
            p.put(prefix + "starttls.enable", "true");
            p.put(prefix + "starttls.required", "true");
        }
        if (settings.tls() != Tls.OFF) {
            p.put(prefix + "ssl.checkserveridentity", "true");
            if (settings.trust() != null) {
                p.put(prefix + "ssl.trust", settings.trust());
            }
        }
        this.session = Session.getInstance(p);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public WebhookReceiver.Outcome deliver(Notification n, byte[] json)
            throws InterruptedException {
        long deadline = System.nanoTime() + s.giveUpAfter().toNanos();
        long backoff = 200;
        while (true) {
            String problem;
            try {
                send(n);
                delivered.incrementAndGet();
                return WebhookReceiver.Outcome.DELIVERED;
            } catch (AuthenticationFailedException e) {
                failedAttempts.incrementAndGet();
                LOG.error(
                        "Receiver {}: the SMTP server refused the login: {}", name, e.getMessage());
                return WebhookReceiver.Outcome.REFUSED;
            } catch (SendFailedException e) {
                failedAttempts.incrementAndGet();
                LOG.error(
                        "Receiver {}: the SMTP server refused notification {}: {}",
                        name,
                        n.id(),
                        e.getMessage());
                return WebhookReceiver.Outcome.REFUSED;
            } catch (MessagingException e) {
                if (s.tls() == Tls.STARTTLS
                        && String.valueOf(e.getMessage()).contains("STARTTLS")) {
                    failedAttempts.incrementAndGet();
                    LOG.error(
                            "Receiver {}: {} offers no STARTTLS, so nothing is sent (the login"
                                    + " would cross the network in clear); use port 465 with tls:"
                                    + " implicit, or tls: off only for a relay on the same host",
                            name,
                            s.host());
                    return WebhookReceiver.Outcome.REFUSED;
                }
                problem = e.getClass().getSimpleName() + ": " + e.getMessage();
            }
            failedAttempts.incrementAndGet();
            if (System.nanoTime() > deadline) {
                LOG.error(
                        "Receiver {} gave up on notification {} after {}: last {}",
                        name,
                        n.id(),
                        s.giveUpAfter(),
                        problem);
                return WebhookReceiver.Outcome.GAVE_UP;
            }
            LOG.warn("Receiver {} could not send ({}); retrying {}", name, problem, n.id());
            Thread.sleep(ThreadLocalRandom.current().nextLong(backoff / 2, backoff + 1));
            backoff = Math.min(s.maxBackoff().toMillis(), backoff * 2);
        }
    }

    private void send(Notification n) throws MessagingException {
        MimeMessage m =
                new MimeMessage(session) {
                    @Override
                    protected void updateMessageID() throws MessagingException {
                        setHeader("Message-ID", "<" + n.id() + "@plantwatch>");
                    }
                };
        m.setFrom(new InternetAddress(s.from()));
        for (String to : s.to()) {
            m.addRecipient(Message.RecipientType.TO, new InternetAddress(to));
        }
        m.setSentDate(new Date());
        m.setSubject(subject(n, subject), StandardCharsets.UTF_8.name());
        m.setText(body(n, body), StandardCharsets.UTF_8.name());
        m.setHeader("X-Plantwatch-Delivery", n.id());
        try (Transport t = session.getTransport()) {
            t.connect(
                    s.host(),
                    s.port(),
                    s.username(),
                    s.password() == null ? null : new String(s.password(), StandardCharsets.UTF_8));
            m.saveChanges();
            t.sendMessage(m, m.getAllRecipients());
        }
    }

    /**
     * The subject and body show the plant's names and messages through {@link SensorId#visible}, as
     * the console does: a CR/LF in a unit would forge a line in the body, a bidi override reverse
     * what follows it. The subject is one line whatever its template writes.
     */
    static String subject(Notification n, NotificationTemplate subject) {
        return NotificationTemplate.orShipped(
                oneLine(subject.render(n, SensorId::visible)),
                () -> oneLine(SHIPPED_SUBJECT.render(n, SensorId::visible)),
                n.receiver(),
                "subject");
    }

    private static String oneLine(String s) {
        return s.replaceAll("\\s+", " ").strip();
    }

    static String body(Notification n, NotificationTemplate body) {
        return body.render(n, SensorId::visible);
    }

    @Override
    public String preview(Notification n, byte[] json) {
        return "From: "
                + s.from()
                + "\nTo: "
                + String.join(", ", s.to())
                + "\nSubject: "
                + subject(n, subject)
                + "\n\n"
                + body(n, body);
    }

    @Override
    public long failedAttempts() {
        return failedAttempts.get();
    }

    public long delivered() {
        return delivered.get();
    }
}
