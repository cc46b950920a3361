package io.plantwatch.gateway;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

/** {@code /metrics} in Prometheus text format and {@code /health} (200 when healthy, else 503). */
final class HttpEndpoint implements AutoCloseable {
    private final HttpServer server;

    /** A health report: whether the component is healthy, and a JSON body saying why. */
    record Health(boolean up, String json) {}

    HttpEndpoint(String bind, int port, PrometheusRegistry registry, Supplier<Health> health)
            throws IOException {
        server = HttpServer.create(new InetSocketAddress(bind, port), 16);
        PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();
        server.createContext(
                "/metrics",
                exchange -> {
                    ByteArrayOutputStream body = new ByteArrayOutputStream();
                    writer.write(body, registry.scrape());
                    respond(exchange, 200, writer.getContentType(), body.toByteArray());
                });
        server.createContext(
                "/health",
                exchange -> {
                    Health h = health.get();
                    respond(
                            exchange,
                            h.up() ? 200 : 503,
                            "application/json",
                            h.json().getBytes(StandardCharsets.UTF_8));
                });
        server.setExecutor(
                Executors.newSingleThreadExecutor(
                        r -> {
                            Thread t = new Thread(r, "gateway-http");
                            t.setDaemon(true);
                            return t;
                        }));
        server.start();
    }

    int port() {
        return server.getAddress().getPort();
    }

    private static void respond(HttpExchange exchange, int status, String type, byte[] body)
            throws IOException {
        exchange.getResponseHeaders().set("Content-Type", type);
        exchange.sendResponseHeaders(status, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
