package io.plantwatch.alerting;

/** Where notifications go: a webhook, Slack, e-mail, MQTT, PagerDuty. */
public interface Receiver {
    String name();

    /**
     * Delivers one notification, retrying as the receiver's settings say; blocks until done.
     *
     * @param deliveryId stable across retries and restarts, for the far side to de-duplicate
     */
    WebhookReceiver.Outcome deliver(String deliveryId, byte[] json) throws InterruptedException;
}
