package io.plantwatch.alerting;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The webhook against a real HTTP server on loopback that checks signatures as a client would. */
class WebhookReceiverTest {
    private static final byte[] SECRET = "shared-secret".getBytes(StandardCharsets.UTF_8);
    private HttpServer server;

    @AfterEach
    void stop() {
        if (server != null) {
            server.stop(0);
        }
    }

    /** Deliveries whose signature verified, as "delivery-id body". */
    private final List<String> verified = new CopyOnWriteArrayList<>();

    private final AtomicInteger forged = new AtomicInteger();

    private int start(int port, int failFirst) throws Exception {
        AtomicInteger calls = new AtomicInteger();
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 0);
        server.createContext(
                "/hook",
                exchange -> {
                    byte[] body = exchange.getRequestBody().readAllBytes();
                    if (calls.incrementAndGet() <= failFirst) {
                        exchange.sendResponseHeaders(503, -1);
                        exchange.close();
                        return;
                    }
                    long ts =
                            Long.parseLong(
                                    exchange.getRequestHeaders()
                                            .getFirst(WebhookReceiver.TIMESTAMP_HEADER));
                    String expected = "sha256=" + WebhookReceiver.sign(SECRET, ts, body);
                    String got =
                            exchange.getRequestHeaders().getFirst(WebhookReceiver.SIGNATURE_HEADER);
                    if (MessageDigest.isEqual(
                            expected.getBytes(StandardCharsets.UTF_8),
                            got.getBytes(StandardCharsets.UTF_8))) {
                        verified.add(
                                exchange.getRequestHeaders()
                                                .getFirst(WebhookReceiver.DELIVERY_HEADER)
                                        + " "
                                        + new String(body, StandardCharsets.UTF_8));
                        exchange.sendResponseHeaders(204, -1);
                    } else {
                        forged.incrementAndGet();
                        exchange.sendResponseHeaders(401, -1);
                    }
                    exchange.close();
                });
        server.start();
        return server.getAddress().getPort();
    }

    private static WebhookReceiver receiver(int port, byte[] secret) {
        return new WebhookReceiver(
                "hook",
                URI.create("http://127.0.0.1:" + port + "/hook"),
                secret,
                Duration.ofSeconds(2),
                Duration.ofMillis(400),
                Duration.ofSeconds(30));
    }

    @Test
    void aSignedNotificationVerifiesAndAWrongSecretIsRefusedNotRetried() throws Exception {
        int port = start(0, 0);
        byte[] json = "{\"status\":\"firing\"}".getBytes(StandardCharsets.UTF_8);
        assertThat(receiver(port, SECRET).deliver("n-1", json))
                .isEqualTo(WebhookReceiver.Outcome.DELIVERED);
        assertThat(verified).containsExactly("n-1 {\"status\":\"firing\"}");

        WebhookReceiver wrong = receiver(port, "guess".getBytes(StandardCharsets.UTF_8));
        assertThat(wrong.deliver("n-2", json)).isEqualTo(WebhookReceiver.Outcome.REFUSED);
        assertThat(forged).hasValue(1);
        assertThat(verified).hasSize(1);
    }

    @Test
    void aReceiverThatFailsAndThenRecoversGetsTheNotificationOnce() throws Exception {
        int port = start(0, 3);
        WebhookReceiver r = receiver(port, SECRET);
        assertThat(r.deliver("n-3", "{}".getBytes(StandardCharsets.UTF_8)))
                .isEqualTo(WebhookReceiver.Outcome.DELIVERED);
        assertThat(verified).containsExactly("n-3 {}");
        assertThat(r.failedAttempts()).isEqualTo(3);
    }
}
