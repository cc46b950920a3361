package io.plantwatch.appliance;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.GZIPInputStream;

/**
 * InfluxDB 2's write endpoint on loopback, writing what it is sent to line-protocol files, for an
 * appliance without an InfluxDB. The job writes through its one InfluxDB sink either way (same
 * batching, retries and metrics); the files import later with {@code influx write --bucket
 * plantwatch --precision ns --file <file>}. One file per bucket and UTC day; the files of days more
 * than {@code keepDays} ago are deleted (at start and when a day begins), so a long run without an
 * InfluxDB does not fill the disk (about 125 bytes per reading).
 */
final class LineProtocolFiles implements AutoCloseable {
    private final Path dir;
    private final HttpServer server;
    private final AtomicLong points = new AtomicLong();
    private final int keepDays;
    private String today = "";

    LineProtocolFiles(Path dir, int keepDays) throws IOException {
        this.dir = dir;
        this.keepDays = keepDays;
        Files.createDirectories(dir);
        dropOldDays(java.time.LocalDate.now(java.time.ZoneOffset.UTC));
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/api/v2/write", this::write);
        server.createContext("/ping", ex -> answer(ex, 204));
        server.createContext("/health", ex -> answer(ex, 200));
        server.start();
    }

    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    Path dir() {
        return dir;
    }

    long points() {
        return points.get();
    }

    private synchronized void write(HttpExchange ex) throws IOException {
        String query = ex.getRequestURI().getQuery() == null ? "" : ex.getRequestURI().getQuery();
        String bucket = "plantwatch";
        for (String kv : query.split("&")) {
            if (kv.startsWith("bucket=")) {
                bucket = kv.substring("bucket=".length()).replaceAll("[^A-Za-z0-9_-]", "_");
            }
        }
        InputStream in = ex.getRequestBody();
        if ("gzip".equalsIgnoreCase(ex.getRequestHeaders().getFirst("Content-Encoding"))) {
            in = new GZIPInputStream(in);
        }
        byte[] body = in.readAllBytes();
        java.time.LocalDate date = java.time.LocalDate.now(java.time.ZoneOffset.UTC);
        String day = date.toString();
        if (!day.equals(today)) {
            today = day;
            dropOldDays(date);
        }
        Path file = dir.resolve(bucket + "-" + day + ".lp");
        try (OutputStream out =
                Files.newOutputStream(file, StandardOpenOption.CREATE, StandardOpenOption.APPEND)) {
            out.write(body);
            if (body.length > 0 && body[body.length - 1] != '\n') {
                out.write('\n');
            }
        }
        long lines = 0;
        for (byte b : body) {
            if (b == '\n') {
                lines++;
            }
        }
        points.addAndGet(body.length > 0 && body[body.length - 1] != '\n' ? lines + 1 : lines);
        answer(ex, 204);
    }

    /** Deletes the files of days before {@code today} minus the days kept. */
    void dropOldDays(java.time.LocalDate today) throws IOException {
        java.time.LocalDate oldestKept = today.minusDays(keepDays - 1L);
        java.util.regex.Pattern dated =
                java.util.regex.Pattern.compile(".*-(\\d{4}-\\d{2}-\\d{2})\\.lp");
        try (var files = Files.list(dir)) {
            for (Path f : files.toList()) {
                java.util.regex.Matcher m = dated.matcher(f.getFileName().toString());
                if (m.matches() && java.time.LocalDate.parse(m.group(1)).isBefore(oldestKept)) {
                    Files.deleteIfExists(f);
                }
            }
        }
    }

    private static void answer(HttpExchange ex, int status) throws IOException {
        ex.sendResponseHeaders(status, -1);
        ex.close();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
