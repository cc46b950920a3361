package io.plantwatch.alerting;

/** Where notifications go: a webhook, Slack, e-mail, MQTT, PagerDuty. */
public interface Receiver extends AutoCloseable {
    String name();

    /**
     * Delivers one notification, retrying as the receiver's settings say; blocks until done. The
     * notification's id is stable across retries and restarts, for the far side to de-duplicate.
     *
     * @param json the notification as the Dispatcher renders it
     */
    WebhookReceiver.Outcome deliver(Notification n, byte[] json) throws InterruptedException;

    /**
     * What {@link #deliver} would send for {@code n}, as text for a person checking a template
     * ({@code plantwatch alerts preview}), without the receiver's secrets.
     */
    default String preview(Notification n, byte[] json) {
        return new String(json, java.nio.charset.StandardCharsets.UTF_8);
    }

    /**
     * Delivery attempts that failed so far, retries included, for the metrics endpoint: a receiver
     * that is down shows there while it still retries, not only once it gives up.
     */
    default long failedAttempts() {
        return 0;
    }

    /**
     * Lets go of what the receiver holds open between deliveries (a broker connection), when its
     * service stops or restarts with a changed configuration. A delivery still running ends.
     */
    @Override
    default void close() {}
}
