package io.plantwatch.alerting;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A generic webhook: the notification's JSON in a POST, signed with HMAC-SHA256 over the body and
 * the timestamp, so the receiving side can check it came from here and is not a replay:
 *
 * <pre>
 * X-Plantwatch-Timestamp: 1795564800
 * X-Plantwatch-Signature: sha256=hex(HMAC-SHA256(secret, timestamp + "." + body))
 * X-Plantwatch-Delivery: the notification's id (the same on every retry, to de-duplicate)
 * </pre>
 *
 * Delivery is retried with exponential backoff and jitter while the endpoint is unreachable or
 * answers 5xx or 429, up to {@code giveUpAfter}; a 4xx other than 429 is a refusal that no retry
 * will change. Every failed attempt is counted and logged; giving up is logged as an error.
 */
public final class WebhookReceiver implements Receiver {
    public static final String SIGNATURE_HEADER = "X-Plantwatch-Signature";
    public static final String TIMESTAMP_HEADER = "X-Plantwatch-Timestamp";
    public static final String DELIVERY_HEADER = "X-Plantwatch-Delivery";

    private static final Logger LOG = LoggerFactory.getLogger(WebhookReceiver.class);

    private final String name;
    private final URI url;
    private final byte[] secret;
    private final java.util.function.Function<Notification, byte[]> format;
    private final Duration timeout;
    private final Duration maxBackoff;
    private final Duration giveUpAfter;
    private final HttpClient http;
    private final AtomicLong failedAttempts = new AtomicLong();
    private final AtomicLong delivered = new AtomicLong();

    /** What became of one notification. */
    public enum Outcome {
        DELIVERED,
        REFUSED,
        GAVE_UP
    }

    public WebhookReceiver(
            String name,
            URI url,
            byte[] secret,
            Duration timeout,
            Duration maxBackoff,
            Duration giveUpAfter) {
        this(name, url, secret, timeout, maxBackoff, giveUpAfter, null);
    }

    /**
     * @param secret null sends no signature headers (Slack's incoming webhooks carry their secret
     *     in the URL)
     * @param format renders the body from the notification (null from it: nothing it can send, a
     *     refusal); null sends the Dispatcher's JSON
     */
    public WebhookReceiver(
            String name,
            URI url,
            byte[] secret,
            Duration timeout,
            Duration maxBackoff,
            Duration giveUpAfter,
            java.util.function.Function<Notification, byte[]> format) {
        this.name = name;
        this.url = url;
        this.secret = secret == null ? null : secret.clone();
        this.format = format;
        this.timeout = timeout;
        this.maxBackoff = maxBackoff;
        this.giveUpAfter = giveUpAfter;
        this.http = HttpClient.newBuilder().connectTimeout(timeout).build();
    }

    /**
     * HMAC-SHA256 of {@code timestamp + "." + body}, hex: what the header carries after sha256=.
     */
    public static String sign(byte[] secret, long timestamp, byte[] body) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret, "HmacSHA256"));
            mac.update((timestamp + ".").getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(mac.doFinal(body));
        } catch (NoSuchAlgorithmException | InvalidKeyException e) {
            throw new IllegalStateException("HMAC-SHA256 is not available", e);
        }
    }

    /**
     * Delivers one notification, retrying as the class says; blocks until it is delivered, refused
     * or given up.
     *
     * @param deliveryId stable across retries of the same notification
     */
    @Override
    public Outcome deliver(Notification n, byte[] json) throws InterruptedException {
        byte[] body = format == null ? json : format.apply(n);
        if (body == null) {
            // The format said why; sending it would only be refused.
            failedAttempts.incrementAndGet();
            return Outcome.REFUSED;
        }
        return deliver(n.id(), body);
    }

    /** Delivers a body under {@code deliveryId}, retrying as the class says. */
    public Outcome deliver(String deliveryId, byte[] json) throws InterruptedException {
        long deadline = System.nanoTime() + giveUpAfter.toNanos();
        long backoff = 200;
        while (true) {
            long ts = System.currentTimeMillis() / 1000;
            HttpRequest.Builder b =
                    HttpRequest.newBuilder(url)
                            .timeout(timeout)
                            .header("Content-Type", "application/json")
                            .header(DELIVERY_HEADER, deliveryId)
                            .POST(HttpRequest.BodyPublishers.ofByteArray(json));
            if (secret != null) {
                b.header(TIMESTAMP_HEADER, Long.toString(ts))
                        .header(SIGNATURE_HEADER, "sha256=" + sign(secret, ts, json));
            }
            HttpRequest request = b.build();
            String problem;
            try {
                HttpResponse<String> response =
                        http.send(request, HttpResponse.BodyHandlers.ofString());
                int status = response.statusCode();
                if (status / 100 == 2) {
                    delivered.incrementAndGet();
                    return Outcome.DELIVERED;
                }
                if (status / 100 == 4 && status != 429) {
                    failedAttempts.incrementAndGet();
                    LOG.error(
                            "Receiver {} refused notification {} with {}: {}",
                            name,
                            deliveryId,
                            status,
                            abbreviate(response.body()));
                    return Outcome.REFUSED;
                }
                problem = "answered " + status;
            } catch (IOException e) {
                problem = "unreachable (" + e.getClass().getSimpleName() + ")";
            }
            failedAttempts.incrementAndGet();
            if (System.nanoTime() > deadline) {
                LOG.error(
                        "Receiver {} gave up on notification {} after {}: last {}",
                        name,
                        deliveryId,
                        giveUpAfter,
                        problem);
                return Outcome.GAVE_UP;
            }
            LOG.warn("Receiver {} {}; retrying notification {}", name, problem, deliveryId);
            Thread.sleep(ThreadLocalRandom.current().nextLong(backoff / 2, backoff + 1));
            backoff = Math.min(maxBackoff.toMillis(), backoff * 2);
        }
    }

    @Override
    public String preview(Notification n, byte[] json) {
        byte[] body = format == null ? json : format.apply(n);
        return body == null
                ? "(nothing: its template writes no JSON for this notification; see the log)"
                : new String(body, StandardCharsets.UTF_8);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public long failedAttempts() {
        return failedAttempts.get();
    }

    public long delivered() {
        return delivered.get();
    }

    private static String abbreviate(String s) {
        return s.length() <= 200 ? s : s.substring(0, 200) + "...";
    }
}
