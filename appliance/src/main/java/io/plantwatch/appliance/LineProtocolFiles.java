package io.plantwatch.appliance;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.InstantSource;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/**
 * InfluxDB 2's write endpoint on loopback, writing what it is sent to line-protocol files, for an
 * appliance without an InfluxDB. The job writes through its one InfluxDB sink either way (same
 * batching, retries and metrics); the files import later with {@code influx write --bucket
 * plantwatch --precision ns --file <file>}, which reads {@code .gz} files as they are.
 *
 * <p>One file per bucket and UTC hour of arrival ({@code plantwatch-2026-12-06T05.lp}), gzipped
 * once its hour has passed (about a twelfth of the bytes), off the write path. Hours, because a
 * disk short of room can give up only closed files: with one file a day, a day of series (10 GB at
 * 1,000 readings/s) could not go, and stopped the appliance. Files of days more than {@code
 * keepDays} ago are deleted (at start and when a day begins). Files from before hourly files (one a
 * day) are read the same way.
 */
final class LineProtocolFiles implements AutoCloseable {
    private final Path dir;
    private final HttpServer server;
    private final AtomicLong points = new AtomicLong();
    private volatile int keepDays;
    private final InstantSource clock;

    /** A series file's name: bucket, then its UTC day and hour (or day alone), gzipped or not. */
    private static final java.util.regex.Pattern SERIES =
            java.util.regex.Pattern.compile(".+-((\\d{4}-\\d{2}-\\d{2})(T\\d{2})?)\\.lp(\\.gz)?");

    private static final String PART = ".part";

    private static final DateTimeFormatter HOUR =
            DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH", Locale.ROOT).withZone(ZoneOffset.UTC);

    /**
     * The hour being written, as in the file's name. It never moves back: after a clock stepped
     * back, writes go on to the newest file rather than to one already closed and gzipped.
     */
    private volatile String hour;

    /** Gzips closed hours and deletes old days, one file at a time, off the write path. */
    private final ExecutorService closer =
            Executors.newSingleThreadExecutor(
                    r -> {
                        Thread t = new Thread(r, "series-files");
                        t.setDaemon(true);
                        return t;
                    });

    /**
     * Held while a file is deleted, or a gzipped copy takes its place: the disk's reclaim may give
     * up the file the closer is gzipping, and the copy must not bring it back.
     */
    private final Object swap = new Object();

    private volatile boolean closing;

    /** Files already checked for a torn tail in this process. */
    private final java.util.Set<Path> checked = new java.util.HashSet<>();

    private static final org.slf4j.Logger LOG =
            org.slf4j.LoggerFactory.getLogger(LineProtocolFiles.class);

    LineProtocolFiles(Path dir, int keepDays) throws IOException {
        this(dir, keepDays, InstantSource.system());
    }

    LineProtocolFiles(Path dir, int keepDays, InstantSource clock) throws IOException {
        this.dir = dir;
        this.keepDays = keepDays;
        this.clock = clock;
        this.hour = HOUR.format(clock.instant());
        try {
            Files.createDirectories(dir);
            dropOldDays(dateOf(hour));
            // Files closed before this start (the appliance stopped in another hour, or a gzip
            // was cut short): gzipped now, in the background.
            closer.execute(this::closePastHours);
            server =
                    HttpServer.create(
                            new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        } catch (IOException | RuntimeException e) {
            closer.shutdownNow();
            throw e;
        }
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
        String now = HOUR.format(clock.instant());
        if (now.compareTo(hour) > 0) {
            boolean newDay = !dateOf(now).equals(dateOf(hour));
            hour = now;
            try {
                closer.execute(
                        () -> {
                            if (newDay) {
                                dropOldDaysQuietly();
                            }
                            closePastHours();
                        });
            } catch (java.util.concurrent.RejectedExecutionException closed) {
                // A batch still coming in as the appliance stops: the next start gzips the hour.
            }
        }
        Path file = dir.resolve(bucket + "-" + hour + ".lp");
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
            long before = out.size();
            out.position(before);
            try {
                ByteBuffer data = ByteBuffer.wrap(body);
                while (data.hasRemaining()) {
                    out.write(data);
                }
                if (body.length > 0 && body[body.length - 1] != '\n') {
                    out.write(ByteBuffer.wrap(new byte[] {'\n'}));
                }
            } catch (IOException e) {
                // A full disk took part of the batch: cut back, or the job's retry of the whole
                // batch would join its first line to the part's last.
                out.truncate(before);
                throw e;
            }
            // The 204 tells the job's writer the points are stored, and its checkpoint then
            // counts them so: a power cut lost what sat in the page cache, for good, though
            // Kafka still had it. InfluxDB's own 204 means the same.
            out.force(false);
        }
        if (created) {
            syncFolder();
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
        long end = wholeLines(ch);
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
     * Deletes the oldest closed file (of another hour than the one being written, gzipped or not),
     * the one being written never.
     *
     * @return what was deleted, or null when only the current hour's files are left
     */
    Deleted deleteOldest() throws IOException {
        synchronized (swap) {
            String current = hour;
            Path oldest = null;
            String oldestLabel = null;
            for (Path f : listed()) {
                java.util.regex.Matcher m = SERIES.matcher(f.getFileName().toString());
                // Later hours than the current one too, last: left by a clock stepped back.
                if (m.matches()
                        && !m.group(1).equals(current)
                        && (oldestLabel == null || m.group(1).compareTo(oldestLabel) < 0)) {
                    oldest = f;
                    oldestLabel = m.group(1);
                }
            }
            if (oldest == null) {
                return null;
            }
            long bytes = Files.size(oldest);
            Files.delete(oldest);
            return new Deleted(oldest, bytes);
        }
    }

    /** The bytes of the closed files: what {@link #deleteOldest} could free, all of it. */
    long closedBytes() throws IOException {
        String current = hour;
        long bytes = 0;
        for (Path f : listed()) {
            java.util.regex.Matcher m = SERIES.matcher(f.getFileName().toString());
            if (m.matches() && !m.group(1).equals(current)) {
                bytes += Files.size(f);
            }
        }
        return bytes;
    }

    /**
     * Keeps {@code days} UTC days of files from now on, and deletes those of days before them at
     * once: a change of the appliance's file while it runs, often to make room.
     */
    void keepDays(int days) throws IOException {
        keepDays = days;
        dropOldDays(LocalDate.ofInstant(clock.instant(), ZoneOffset.UTC));
    }

    /** Deletes the files of days before {@code today} minus the days kept. */
    void dropOldDays(LocalDate today) throws IOException {
        LocalDate oldestKept = today.minusDays(keepDays - 1L);
        synchronized (swap) {
            for (Path f : listed()) {
                java.util.regex.Matcher m = SERIES.matcher(f.getFileName().toString());
                if (m.matches() && LocalDate.parse(m.group(2)).isBefore(oldestKept)) {
                    Files.deleteIfExists(f);
                }
            }
        }
    }

    private void dropOldDaysQuietly() {
        try {
            dropOldDays(dateOf(hour));
        } catch (IOException e) {
            LOG.warn("Could not delete series files of days no longer kept: {}", e.toString());
        }
    }

    /**
     * Gzips every file of another hour than the one being written, oldest first. A copy cut short
     * (the appliance stopped mid-way) is deleted and made again. One file that cannot be gzipped (a
     * disk too full for the copy) leaves the others to go on.
     */
    private void closePastHours() {
        List<Path> closed = new ArrayList<>();
        try {
            for (Path f : listed()) {
                if (f.getFileName().toString().endsWith(PART)) {
                    Files.deleteIfExists(f);
                }
            }
            String current = hour;
            for (Path f : listed()) {
                java.util.regex.Matcher m = SERIES.matcher(f.getFileName().toString());
                // Not only earlier hours: a file named for a later hour than the clock's, left by
                // a clock that has since stepped back, is closed too.
                if (m.matches() && m.group(4) == null && !m.group(1).equals(current)) {
                    closed.add(f);
                }
            }
        } catch (IOException e) {
            LOG.warn("Could not list the series files in {}: {}", dir, e.toString());
            return;
        }
        closed.sort(java.util.Comparator.comparing(Path::getFileName));
        for (Path f : closed) {
            try {
                gzip(f);
            } catch (IOException e) {
                if (closing) {
                    // Cut short by the stop: the file stays whole, and the next start gzips it.
                    return;
                }
                LOG.warn(
                        "Could not gzip the series file {}: {}; it stays as it is until the next"
                                + " hour",
                        f,
                        e.toString());
            }
        }
    }

    /**
     * Writes {@code file}'s whole lines to {@code file.gz}, synced, and deletes {@code file}. A
     * torn last line (a power cut) is left out, with a WARN, as {@link #cutTornTail} would.
     *
     * <p>A {@code file.gz} there already is either this file's own copy, made before a stop between
     * the rename and the delete (the same bytes within), or an earlier copy of the same hour the
     * file was written again after (a clock that stepped back across a restart): then the file is
     * added to it as a second gzip member, which {@code influx write} reads on from the first.
     * Neither loses a line; at worst a line is in the copy twice, and InfluxDB keeps one point for
     * the same series and time.
     */
    private void gzip(Path file) throws IOException {
        Path gz = file.resolveSibling(file.getFileName() + ".gz");
        Path part = gz.resolveSibling(gz.getFileName() + PART);
        long whole;
        long size;
        try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ)) {
            size = in.size();
            whole = wholeLines(in);
            boolean earlier = Files.exists(gz);
            if (earlier && holds(gz, in, whole)) {
                synchronized (swap) {
                    Files.deleteIfExists(file);
                }
                return;
            }
            try (FileChannel out =
                    FileChannel.open(
                            part,
                            StandardOpenOption.CREATE,
                            StandardOpenOption.TRUNCATE_EXISTING,
                            StandardOpenOption.WRITE)) {
                if (earlier) {
                    try (FileChannel first = FileChannel.open(gz, StandardOpenOption.READ)) {
                        first.transferTo(0, first.size(), out);
                    }
                }
                BufferedOutputStream buffered =
                        new BufferedOutputStream(Channels.newOutputStream(out), 1 << 16);
                GZIPOutputStream zip = new GZIPOutputStream(buffered, 1 << 16);
                copyWhole(file, in, whole, zip);
                // finish() leaves the last block and the trailer in the buffer under it.
                zip.finish();
                buffered.flush();
                out.force(true);
                // Ends the deflater's native memory; closes the channel too, already synced.
                zip.close();
            }
        } catch (NoSuchFileException e) {
            // Given up for room while it waited, or while it was gzipped.
            Files.deleteIfExists(part);
            return;
        } catch (IOException e) {
            // A disk too full for the copy: the part would only take more of it.
            Files.deleteIfExists(part);
            throw e;
        }
        synchronized (swap) {
            if (!Files.exists(file)) {
                // Given up for room while it was gzipped: the copy must not bring it back.
                Files.deleteIfExists(part);
                return;
            }
            Files.move(
                    part, gz, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            syncFolder();
            Files.delete(file);
        }
        if (whole < size) {
            LOG.warn(
                    "Series file {} ended torn, as after a power cut: {} bytes after its last"
                            + " whole line left out of {}",
                    file,
                    size - whole,
                    gz.getFileName());
        }
        LOG.debug("Gzipped {}: {} bytes to {}", file, size, Files.size(gz));
    }

    /**
     * Copies the first {@code length} bytes of {@code in}; stops early, with NoSuchFileException,
     * once the disk's reclaim has deleted the file: its space is free only when it is closed.
     */
    private static void copyWhole(Path file, FileChannel in, long length, OutputStream out)
            throws IOException {
        ByteBuffer chunk = ByteBuffer.allocate(1 << 20);
        long at = 0;
        while (at < length) {
            if ((at & ((64L << 20) - 1)) == 0 && at > 0 && !Files.exists(file)) {
                throw new NoSuchFileException(file.toString());
            }
            chunk.clear().limit((int) Math.min(chunk.capacity(), length - at));
            int n = in.read(chunk, at);
            if (n < 0) {
                throw new IOException(file + " ended at " + at + " bytes, before " + length);
            }
            out.write(chunk.array(), 0, n);
            at += n;
        }
    }

    /** Whether {@code gz} holds exactly the first {@code length} bytes of {@code in}. */
    private static boolean holds(Path gz, FileChannel in, long length) {
        try (InputStream copy = new GZIPInputStream(Files.newInputStream(gz), 1 << 16)) {
            byte[] theirs = new byte[1 << 16];
            ByteBuffer ours = ByteBuffer.allocate(1 << 16);
            long at = 0;
            for (int n; (n = copy.readNBytes(theirs, 0, theirs.length)) > 0; at += n) {
                if (at + n > length) {
                    return false;
                }
                ours.clear().limit(n);
                while (ours.hasRemaining() && in.read(ours, at + ours.position()) >= 0) {
                    // read the whole chunk
                }
                if (ours.position() != n
                        || !java.util.Arrays.equals(theirs, 0, n, ours.array(), 0, n)) {
                    return false;
                }
            }
            return at == length;
        } catch (IOException e) {
            return false;
        }
    }

    /** The length of {@code ch}'s whole lines: up to and with its last newline. */
    private static long wholeLines(FileChannel ch) throws IOException {
        long end = ch.size();
        ByteBuffer chunk = ByteBuffer.allocate(64 << 10);
        while (end > 0) {
            long from = Math.max(0, end - chunk.capacity());
            chunk.clear().limit((int) (end - from));
            while (chunk.hasRemaining() && ch.read(chunk, from + chunk.position()) >= 0) {
                // read the whole chunk
            }
            for (int i = (int) (end - from) - 1; i >= 0; i--) {
                if (chunk.get(i) == '\n') {
                    return from + i + 1;
                }
            }
            end = from;
        }
        return 0;
    }

    private void syncFolder() throws IOException {
        try (FileChannel folder = FileChannel.open(dir, StandardOpenOption.READ)) {
            folder.force(true);
        }
    }

    private List<Path> listed() throws IOException {
        try (var files = Files.list(dir)) {
            return files.toList();
        }
    }

    private static LocalDate dateOf(String label) {
        return LocalDate.parse(label.substring(0, 10));
    }

    /** Waits until the files closed so far are gzipped; for tests. */
    void awaitClosed() throws Exception {
        closer.submit(() -> {}).get();
    }

    private static void answer(HttpExchange ex, int status) throws IOException {
        ex.sendResponseHeaders(status, -1);
        ex.close();
    }

    @Override
    public void close() {
        closing = true;
        server.stop(0);
        // A gzip cut short leaves its .part, deleted at the next start; the file stays whole.
        closer.shutdownNow();
        try {
            closer.awaitTermination(5, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
