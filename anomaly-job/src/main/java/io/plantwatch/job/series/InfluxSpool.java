package io.plantwatch.job.series;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/**
 * Points waiting on disk for InfluxDB, for {@link InfluxWriter}: a folder per subtask of segment
 * files, each one or more batches of line protocol, gzipped (a spool of plain segments, written
 * before, is read as well), oldest first by a sequence number in its name (which also carries its
 * point count, so a restart needs no read to know what waits). A segment is written under a
 * temporary name and renamed, so a crash of the process leaves whole segments only; it is deleted
 * once the server took every point in it.
 *
 * <p>A power cut is another matter: a segment renamed but not yet synced (the spool is synced
 * before each checkpoint, not at every append) can come back with random bytes or zeros in place of
 * its tail, or cut mid-line. Such a segment is read line by line, as far as it inflates: every
 * whole line is sent, and the rest is kept in {@code <segment>.bad} beside it (a gzipped one whole,
 * as it was), so nothing is deleted. Its points were spooled after the last checkpoint, so the
 * job's replay from Kafka writes them again.
 */
final class InfluxSpool {
    /**
     * A segment: its sequence number, point count and writer (since, so that two writers that share
     * a folder never write one name); gzipped since, plain from before.
     */
    private static final Pattern SEGMENT =
            Pattern.compile("(\\d{19})-(\\d+)(\\.[0-9a-f]{8})?\\.lp(\\.gz)?");

    /**
     * A temporary file older than this was left by a crash: a live writer renames its own within
     * milliseconds of writing it.
     */
    private static final long ABANDONED_TMP_MILLIS = 60_000;

    /**
     * What a segment holds.
     *
     * @param lines its whole lines, to send
     * @param damage what was wrong with it; null when nothing was
     * @param aside the file what could not be sent went to; null when nothing did
     */
    record Contents(List<String> lines, String damage, Path aside) {}

    private static final long FIRST_RETRY_NANOS = 1_000_000_000L;
    private static final long MAX_RETRY_NANOS = 300_000_000_000L;

    /** A segment that could not be read for now: tried again once its time has come. */
    static final class SetApart extends IOException {
        private static final long serialVersionUID = 1L;

        SetApart(String message, IOException cause) {
            super(message, cause);
        }
    }

    /** One file of waiting points. */
    final class Segment {
        final Path file;
        final long points;
        final long bytes;

        /** When a segment that could not be read is tried again; 0 for any other. */
        private volatile long retryAtNanos;

        private long retryDelayNanos;

        private boolean due(long now) {
            return retryAtNanos == 0 || now - retryAtNanos >= 0;
        }

        private Segment(Path file, long points, long bytes) {
            this.file = file;
            this.points = points;
            this.bytes = bytes;
        }

        /**
         * Its whole lines, anything else moved to {@link #aside()}: a segment that cannot be read
         * at all goes there whole, since left in place it would hold every newer one back.
         */
        Contents read() throws IOException {
            byte[] bytes;
            try {
                bytes = Files.readAllBytes(file);
            } catch (NoSuchFileException gone) {
                // Another writer to the same server and bucket took it.
                return new Contents(List.of(), null, null);
            } catch (IOException unreadable) {
                if (!Files.isDirectory(file)) {
                    // Too many open files, a file's rights, a read error of the disk: perhaps gone
                    // at the next try, and its points were checkpointed, so no replay would write
                    // them again. It stays, set apart from the newer segments, which it does not
                    // hold back, and is tried again later and later, up to every 5 minutes.
                    retryDelayNanos =
                            Math.min(
                                    MAX_RETRY_NANOS,
                                    Math.max(FIRST_RETRY_NANOS, retryDelayNanos * 2));
                    retryAtNanos = System.nanoTime() + retryDelayNanos;
                    throw new SetApart(
                            "cannot read it now ("
                                    + unreadable
                                    + "); it stays in the spool, set apart from the newer"
                                    + " segments, and is tried again in "
                                    + retryDelayNanos / 1_000_000_000L
                                    + " s",
                            unreadable);
                }
                Path bad = Files.move(file, aside());
                return new Contents(List.of(), "cannot be read (" + unreadable + ")", bad);
            }
            // Read at last: sent as any other, and new points wait behind it again.
            retryAtNanos = 0;
            retryDelayNanos = 0;
            String cut = null;
            byte[] stored = bytes;
            if (file.getFileName().toString().endsWith(".gz")) {
                // A power cut can leave a gzipped segment cut short or with zeros for its tail:
                // what inflates before that is read on as any segment's lines.
                ByteArrayOutputStream plain =
                        new ByteArrayOutputStream((int) Math.min(points * 160, 64 << 20));
                try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(bytes))) {
                    byte[] chunk = new byte[1 << 16];
                    for (int n; (n = in.read(chunk)) > 0; ) {
                        plain.write(chunk, 0, n);
                    }
                } catch (IOException damaged) {
                    cut = "its compressed data ends damaged (" + damaged + ")";
                }
                bytes = plain.toByteArray();
            }
            List<String> lines = new ArrayList<>();
            ByteArrayOutputStream bad = new ByteArrayOutputStream();
            CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder();
            int withNul = 0;
            int notUtf8 = 0;
            boolean torn = false;
            for (int start = 0; start < bytes.length; ) {
                int end = start;
                boolean nul = false;
                while (end < bytes.length && bytes[end] != '\n') {
                    nul |= bytes[end] == 0;
                    end++;
                }
                int next = Math.min(bytes.length, end + 1);
                // Zeros are what a file system leaves in blocks whose data never reached the disk.
                if (nul) {
                    withNul++;
                } else if (end == bytes.length) {
                    // Every line is written with its newline: without one it may be cut short, and
                    // a point cut inside its timestamp would be stored at the wrong time.
                    torn = true;
                } else {
                    try {
                        lines.add(
                                utf8.decode(ByteBuffer.wrap(bytes, start, end - start)).toString());
                        start = next;
                        continue;
                    } catch (CharacterCodingException garbage) {
                        notUtf8++;
                    }
                }
                bad.write(bytes, start, next - start);
                start = next;
            }
            List<String> wrong = new ArrayList<>();
            if (cut != null) {
                wrong.add(cut);
            }
            if (notUtf8 > 0) {
                wrong.add(notUtf8 + (notUtf8 == 1 ? " line" : " lines") + " not UTF-8");
            }
            if (withNul > 0) {
                wrong.add(withNul + (withNul == 1 ? " line" : " lines") + " with NUL bytes");
            }
            if (torn) {
                wrong.add("a last line without its newline");
            }
            if (wrong.isEmpty() && lines.size() != points) {
                // Cut at a line's end, or empty: nothing to set aside, but points are missing.
                wrong.add(lines.size() + " whole lines where its name counts " + points);
            }
            if (wrong.isEmpty()) {
                return new Contents(lines, null, null);
            }
            Path aside = null;
            if (stored != bytes) {
                // Gzipped: the file as it was goes aside, what did not inflate with it.
                bad.reset();
                bad.writeBytes(stored);
            }
            if (bad.size() > 0) {
                Path tmp = dir.resolve(aside().getFileName() + ".tmp");
                try (FileChannel c =
                        FileChannel.open(
                                tmp,
                                StandardOpenOption.CREATE,
                                StandardOpenOption.TRUNCATE_EXISTING,
                                StandardOpenOption.WRITE)) {
                    ByteBuffer b = ByteBuffer.wrap(bad.toByteArray());
                    while (b.hasRemaining()) {
                        c.write(b);
                    }
                    // On disk before the segment is deleted: nothing of it is lost then.
                    c.force(true);
                }
                aside = Files.move(tmp, aside());
            }
            return new Contents(lines, String.join(", ", wrong), aside);
        }

        /**
         * Where what cannot be sent of this segment goes: beside it, under a name never read, and
         * never one that holds what an earlier segment of the same name set aside.
         */
        Path aside() {
            Path bad = file.resolveSibling(file.getFileName() + ".bad");
            for (int n = 2; Files.exists(bad, java.nio.file.LinkOption.NOFOLLOW_LINKS); n++) {
                bad = file.resolveSibling(file.getFileName() + ".bad." + n);
            }
            return bad;
        }

        /** The server took every point: gone from disk and from the counts. */
        void delete() throws IOException {
            Files.deleteIfExists(file);
            if (segments.remove(this)) {
                pointsWaiting.addAndGet(-points);
                bytesWaiting.addAndGet(-bytes);
            }
        }
    }

    private final Path dir;
    private final ConcurrentLinkedDeque<Segment> segments = new ConcurrentLinkedDeque<>();
    private final List<Path> unsynced = new ArrayList<>();
    private final AtomicLong pointsWaiting = new AtomicLong();
    private final AtomicLong bytesWaiting = new AtomicLong();
    private long nextSeq;

    /** This writer's mark in its segments' names. */
    private final String writer =
            String.format("%08x", java.util.concurrent.ThreadLocalRandom.current().nextInt());

    /**
     * @param root the spool folder of the job's writers
     * @param subtask whose folder this is
     * @param parallelism how many subtasks write now; the first adopts the folders of subtasks
     *     beyond that, left by a run at a higher parallelism
     */
    InfluxSpool(Path root, int subtask, int parallelism) {
        this.dir = root.resolve("subtask-" + subtask);
        try {
            Files.createDirectories(dir);
            List<Path> folders = new ArrayList<>(List.of(dir));
            if (subtask == 0) {
                try (Stream<Path> others = Files.list(root)) {
                    others.filter(
                                    p -> {
                                        String name = p.getFileName().toString();
                                        return name.matches("subtask-\\d+")
                                                && Integer.parseInt(name.substring(8))
                                                        >= parallelism;
                                    })
                            .forEach(folders::add);
                }
            }
            for (Path folder : folders) {
                List<Path> files;
                try (Stream<Path> list = Files.list(folder)) {
                    files = list.sorted(Comparator.comparing(Path::getFileName)).toList();
                }
                for (Path f : files) {
                    Matcher m = SEGMENT.matcher(f.getFileName().toString());
                    if (m.matches()) {
                        add(new Segment(f, Long.parseLong(m.group(2)), sizeOf(f)));
                        if (folder.equals(dir)) {
                            nextSeq = Math.max(nextSeq, Long.parseLong(m.group(1)) + 1);
                        }
                    } else if (f.getFileName().toString().endsWith(".tmp") && abandoned(f)) {
                        // Cut short by a crash before its rename: never counted as stored. A newer
                        // one may be another writer's, sharing the folder (two jobs writing one
                        // bucket with the default spool, a TaskManager not yet gone).
                        Files.deleteIfExists(f);
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot use the InfluxDB spool folder " + dir, e);
        }
    }

    private static boolean abandoned(Path tmp) {
        try {
            return System.currentTimeMillis() - Files.getLastModifiedTime(tmp).toMillis()
                    > ABANDONED_TMP_MILLIS;
        } catch (IOException gone) {
            return false;
        }
    }

    /** 0 for a file that cannot be read now: it is tried like any other, and says why then. */
    private static long sizeOf(Path f) {
        try {
            return Files.size(f);
        } catch (IOException e) {
            return 0;
        }
    }

    private void add(Segment s) {
        segments.add(s);
        pointsWaiting.addAndGet(s.points);
        bytesWaiting.addAndGet(s.bytes);
    }

    Path dir() {
        return dir;
    }

    /**
     * Whether a segment waits to be sent; one set apart, that could not be read, does not: new
     * points need not wait behind it, nor go to disk for it.
     */
    boolean hasWaiting() {
        for (Segment s : segments) {
            if (s.retryAtNanos == 0) {
                return true;
            }
        }
        return false;
    }

    long points() {
        return pointsWaiting.get();
    }

    long bytes() {
        return bytesWaiting.get();
    }

    /** The segments set apart, that could not be read; what they hold stays for the next run. */
    List<Segment> setApart() {
        return segments.stream().filter(s -> s.retryAtNanos != 0).toList();
    }

    /** The oldest segment to send now, or null. */
    Segment oldest() {
        long now = System.nanoTime();
        for (Segment s : segments) {
            if (s.due(now)) {
                return s;
            }
        }
        return null;
    }

    /**
     * Writes {@code batches} as one new segment, newest; with {@code sync} on disk before this
     * returns, along with every segment appended since the last sync. Called by one thread.
     */
    void append(List<List<String>> batches, boolean sync) throws IOException {
        StringBuilder text = new StringBuilder();
        long points = 0;
        for (List<String> batch : batches) {
            for (String line : batch) {
                text.append(line).append('\n');
                points++;
            }
        }
        // Gzipped: line protocol takes about a twelfth, so the same influx.spool-max-mb holds
        // twelve times the outage before it holds detection back.
        String name = String.format("%019d-%d.%s.lp.gz", nextSeq, points, writer);
        Path tmp = dir.resolve(name + ".tmp");
        ByteArrayOutputStream gzipped = new ByteArrayOutputStream(text.length() / 8 + 64);
        try (GZIPOutputStream zip = new GZIPOutputStream(gzipped, 1 << 16)) {
            zip.write(text.toString().getBytes(StandardCharsets.UTF_8));
        }
        byte[] bytes = gzipped.toByteArray();
        Path file;
        try {
            // Another writer sharing the folder may have removed it, empty, as it closed.
            Files.createDirectories(dir);
            Files.write(tmp, bytes);
            file = Files.move(tmp, dir.resolve(name), StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            // A full disk: what was written of it goes, so the space is there for the next try.
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException alsoFailed) {
                e.addSuppressed(alsoFailed);
            }
            throw e;
        }
        nextSeq++;
        unsynced.add(file);
        add(new Segment(file, points, bytes.length));
        if (sync) {
            sync();
        }
    }

    /** Every segment appended so far on disk, and their names in the folder. */
    void sync() throws IOException {
        if (unsynced.isEmpty()) {
            return;
        }
        for (Path f : unsynced) {
            try (FileChannel c = FileChannel.open(f, StandardOpenOption.WRITE)) {
                c.force(true);
            } catch (NoSuchFileException written) {
                // Already sent and deleted.
            }
        }
        unsynced.clear();
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        }
    }

    /**
     * Removes this subtask's folder when nothing waits in it, and with {@code root} the spool
     * folder too when no other subtask's is left (a default one under the temporary folder).
     */
    void removeIfEmpty(boolean root) {
        try {
            if (segments.isEmpty()) {
                Files.deleteIfExists(dir);
                if (root) {
                    Files.deleteIfExists(dir.getParent());
                }
            }
        } catch (IOException notEmpty) {
            // Another subtask's folder, or a file that came meanwhile: it stays.
        }
    }
}
