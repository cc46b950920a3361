package io.plantwatch.alerting;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.IntUnaryOperator;

/**
 * A real HTTP endpoint on loopback, as a chat, PagerDuty or a gateway is: it keeps each request's
 * body and signature header, and answers each with the status {@code status} gives for its number
 * (1 for the first).
 */
final class RecordingEndpoint implements AutoCloseable {
    /** One request as received; {@code signature} null when it carried none. */
    record Request(String body, String signature) {}

    private final HttpServer server;
    private final String path;
    private final List<Request> requests = new CopyOnWriteArrayList<>();

    private RecordingEndpoint(String path, IntUnaryOperator status) {
        this.path = path;
        try {
            server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        server.createContext(
                path,
                ex -> {
                    requests.add(
                            new Request(
                                    new String(
                                            ex.getRequestBody().readAllBytes(),
                                            StandardCharsets.UTF_8),
                                    ex.getRequestHeaders()
                                            .getFirst(WebhookReceiver.SIGNATURE_HEADER)));
                    ex.sendResponseHeaders(status.applyAsInt(requests.size()), -1);
                    ex.close();
                });
        server.start();
    }

    /** An endpoint at {@code path} answering 200 to everything. */
    static RecordingEndpoint start(String path) {
        return start(path, n -> 200);
    }

    static RecordingEndpoint start(String path, IntUnaryOperator status) {
        return new RecordingEndpoint(path, status);
    }

    URI url() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + path);
    }

    int port() {
        return server.getAddress().getPort();
    }

    List<Request> requests() {
        return requests;
    }

    List<String> bodies() {
        return requests.stream().map(Request::body).toList();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
