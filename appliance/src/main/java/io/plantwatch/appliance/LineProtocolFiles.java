package io.plantwatch.appliance;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
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

    /** A series file's name: bucket, then its UTC day. */
    private static final java.util.regex.Pattern DATED =
            java.util.regex.Pattern.compile(".*-(\\d{4}-\\d{2}-\\d{2})\\.lp");

    private String today = "";

    /** Files already checked for a torn tail in this process. */
    private final java.util.Set<Path> checked = new java.util.HashSet<>();

    private static final org.slf4j.Logger LOG =
            org.slf4j.LoggerFactory.getLogger(LineProtocolFiles.class);

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
        boolean created = !Files.exists(file);
        try (FileChannel out =
                FileChannel.open(
                        file,
                        StandardOpenOption.CREATE,
                        StandardOpenOption.READ,
                        StandardOpenOption.WRITE)) {
            // Not APPEND, which Java will not open for reading too; writes are serialised here.
            if (!created && checked.add(file)) {
                cutTornTail(file, out);
            }
            out.position(out.size());
            ByteBuffer data = ByteBuffer.wrap(body);
            while (data.hasRemaining()) {
                out.write(data);
            }
            if (body.length > 0 && body[body.length - 1] != '\n') {
                out.write(ByteBuffer.wrap(new byte[] {'\n'}));
            }
            // The 204 tells the job's writer the points are stored, and its checkpoint then
            // counts them so: a power cut lost what sat in the page cache, for good, though
            // Kafka still had it. InfluxDB's own 204 means the same.
            out.force(false);
        }
        if (created) {
            try (FileChannel folder = FileChannel.open(dir, StandardOpenOption.READ)) {
                folder.force(true);
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

    /**
     * A file written before this process began may end torn, as after a power cut: a last line
     * without its newline, or zeros where the page cache never reached the disk. Appended to, the
     * next batch's first point would join that fragment, and {@code influx write} refuse it. It is
     * cut back to its last whole line, with a WARN; lines before it are not read.
     */
    private static void cutTornTail(Path file, FileChannel ch) throws IOException {
        long size = ch.size();
        long end = size;
        ByteBuffer chunk = ByteBuffer.allocate(64 << 10);
        scan:
        while (end > 0) {
            long from = Math.max(0, end - chunk.capacity());
            chunk.clear().limit((int) (end - from));
            while (chunk.hasRemaining() && ch.read(chunk, from + chunk.position()) >= 0) {
                // read the whole chunk
            }
            for (int i = (int) (end - from) - 1; i >= 0; i--) {
                if (chunk.get(i) == '\n') {
                    end = from + i + 1;
                    break scan;
                }
            }
            end = from;
        }
        if (end < size) {
            ch.truncate(end);
            LOG.warn(
                    "Series file {} ended torn, as after a power cut: {} bytes after its last"
                            + " whole line cut off",
                    file,
                    size - end);
        }
    }

    /** A series file given up for room on the disk. */
    record Deleted(Path file, long bytes) {}

    /**
     * Deletes the file of the oldest day before today (UTC), the one being written never; under the
     * write lock, so no batch goes to a file deleted under it.
     *
     * @return what was deleted, or null when only today's files are left
     */
    synchronized Deleted deleteOldestDay() throws IOException {
        String now = java.time.LocalDate.now(java.time.ZoneOffset.UTC).toString();
        Path oldest = null;
        String oldestDay = now;
        try (var files = Files.list(dir)) {
            for (Path f : files.toList()) {
                java.util.regex.Matcher m = DATED.matcher(f.getFileName().toString());
                if (m.matches() && m.group(1).compareTo(oldestDay) < 0) {
                    oldest = f;
                    oldestDay = m.group(1);
                }
            }
        }
        if (oldest == null) {
            return null;
        }
        long bytes = Files.size(oldest);
        Files.delete(oldest);
        return new Deleted(oldest, bytes);
    }

    /** Deletes the files of days before {@code today} minus the days kept. */
    void dropOldDays(java.time.LocalDate today) throws IOException {
        java.time.LocalDate oldestKept = today.minusDays(keepDays - 1L);
        try (var files = Files.list(dir)) {
            for (Path f : files.toList()) {
                java.util.regex.Matcher m = DATED.matcher(f.getFileName().toString());
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
