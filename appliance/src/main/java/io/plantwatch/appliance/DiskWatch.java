package io.plantwatch.appliance;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches the free space on the data folder's disk. On a full disk the embedded Kafka fails its log
 * folder and halts the whole process at once: no word on the console, the gateway's and the job's
 * work cut off mid-way (seen with a 400 MB disk at 600 readings/s). So the appliance warns while
 * there is time to act, and below a last margin it stops cleanly, saying what fills the disk,
 * before Kafka would halt it. With a {@link DiskReclaim}, the oldest history makes room first, so
 * that only what the appliance must not delete can stop it.
 */
final class DiskWatch {
    private static final Logger LOG = LoggerFactory.getLogger(DiskWatch.class);
    private static final long MB = 1L << 20;

    /** The gateway's /metrics counter of {@link #reclaimed()}. */
    static final String RECLAIMED_METRIC = "plantwatch_disk_reclaimed_bytes_total";

    private final Path dataDir;
    private final DiskReclaim reclaim;

    /**
     * The margins in bytes, as the file says; replaced when it changes while the appliance runs.
     */
    private volatile Margins margins;

    private record Margins(long warnBelow, long stopBelow) {}

    // The margins of the check under way, taken from margins as it begins: one check, one pair.
    private long warnBelow;
    private long stopBelow;
    private long reclaimBelow;
    private final AtomicLong reclaimed = new AtomicLong();
    private boolean warned;

    /** Why room is short, for a pipeline alert; null while there is room. */
    private volatile String problem;

    private boolean reclaimFailing;
    private static final long TELL_EVERY_MILLIS = 60_000;

    /** When the last reclaim WARN was; MIN_VALUE: none in this spell of short room. */
    private long toldAt = Long.MIN_VALUE;

    /** Given up since the last reclaim WARN. */
    private final Map<String, Long> untold = new java.util.LinkedHashMap<>();

    /** The clock of the reclaim WARNs; tests move it. */
    java.util.function.LongSupplier millis = System::currentTimeMillis;

    /**
     * @param warnFreeMb below this many MB free, one warning (again after it recovered); 0: none
     * @param stopFreeMb below this many MB free, the appliance stops; 0: never
     */
    DiskWatch(Path dataDir, long warnFreeMb, long stopFreeMb) {
        this(dataDir, warnFreeMb, stopFreeMb, null);
    }

    /**
     * @param reclaim gives up the oldest history when free space falls below the warning margin (or
     *     the stop margin, with no warning); null: nothing is given up
     */
    DiskWatch(Path dataDir, long warnFreeMb, long stopFreeMb, DiskReclaim reclaim) {
        this.dataDir = dataDir;
        this.reclaim = reclaim;
        margins(warnFreeMb, stopFreeMb);
    }

    /** The margins from the next check on: a change of the appliance's file while it runs. */
    void margins(long warnFreeMb, long stopFreeMb) {
        margins = new Margins(warnFreeMb * MB, stopFreeMb * MB);
    }

    /** Why room is short, one sentence; null while there is room (past the warning by a tenth). */
    String problem() {
        return problem;
    }

    /** Bytes of history given up for room since the start. */
    long reclaimed() {
        return reclaimed.get();
    }

    /**
     * Checks once: gives up the oldest history when room is short, warns when free space fell below
     * the warning margin even so.
     *
     * @return why the appliance must stop, or null while there is room
     */
    String check() {
        Margins m = margins;
        warnBelow = m.warnBelow();
        stopBelow = m.stopBelow();
        reclaimBelow = Math.max(warnBelow, stopBelow);
        observe();
        long free = free();
        // Bytes Kafka was told to give up are free within its next retention check: counted as
        // free, or every check would give up more for the same shortfall, and a stop come early.
        long coming = free < reclaimBelow ? makeRoom(free) : 0;
        if (free >= reclaimBelow + reclaimBelow / 10 && toldAt != Long.MIN_VALUE) {
            if (!untold.isEmpty()) {
                LOG.warn(
                        "The data folder's disk has room again; since the last word the oldest"
                                + " history gave up {}",
                        said(untold));
                untold.clear();
            }
            toldAt = Long.MIN_VALUE;
        }
        long room = free + coming;
        if (room < stopBelow) {
            return "the data folder's disk is full: "
                    + size(free)
                    + " free in "
                    + dataDir
                    + ", below disk.stop-free-mb ("
                    + stopBelow / MB
                    + "); "
                    + usage()
                    + (reclaim == null
                            ? ". Free space, or lower kafka.retention or influx.files-keep-days,"
                                    + " then run again"
                            : reclaimFailing
                                    ? "; the oldest history could not be given up (the log says"
                                            + " why). Free space, or lower kafka.retention or"
                                            + " influx.files-keep-days, then run again"
                                    : reclaim.nothingLeftToGiveUp());
        }
        if (room < warnBelow) {
            problem =
                    "The data folder's disk is filling: "
                            + size(free)
                            + " free in "
                            + dataDir
                            + ", below disk.warn-free-mb ("
                            + warnBelow / MB
                            + "); at "
                            + stopBelow / MB
                            + " MB free the appliance stops (the log's WARN says what takes"
                            + " the room).";
        } else if (room >= warnBelow + warnBelow / 10) {
            problem = null;
        }
        if (room < warnBelow && !warned) {
            warned = true;
            LOG.warn(
                    "The data folder's disk is filling: {} free in {}, below disk.warn-free-mb"
                            + " ({}); {}. At {} MB free the appliance stops",
                    size(free),
                    dataDir,
                    warnBelow / MB,
                    usage(),
                    stopBelow / MB);
        } else if (room >= warnBelow + warnBelow / 10 && warned) {
            warned = false;
            LOG.warn("The data folder's disk has room again: {} free in {}", size(free), dataDir);
        }
        return null;
    }

    /**
     * Gives up the oldest history until the free space, with what is already on its way out, clears
     * the margin by a tenth.
     *
     * @return bytes given up and not yet freed
     */
    private long makeRoom(long free) {
        if (reclaim == null) {
            return 0;
        }
        long coming = 0;
        try {
            coming = reclaim.pending();
            long wanted = reclaimBelow + reclaimBelow / 10 - free - coming;
            if (wanted > 0) {
                DiskReclaim.Reclaimed r = reclaim.reclaim(wanted);
                if (r.bytes() > 0) {
                    reclaimed.addAndGet(r.bytes());
                    tell(free, r);
                }
                coming += r.bytes();
            }
            reclaimFailing = false;
        } catch (InterruptedException e) {
            // Closing: the watch ends at its next turn.
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            // Once per failing spell: Kafka may be restarting, and the check comes every 5 s.
            if (!reclaimFailing) {
                reclaimFailing = true;
                LOG.warn("Could not make room on the data folder's disk: {}", e.toString());
            }
        }
        return coming;
    }

    /** Tells the reclaim where the job stands; quietly, since Kafka may be restarting. */
    private void observe() {
        if (reclaim == null) {
            return;
        }
        try {
            reclaim.observe();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            LOG.debug("Where the job's group stands is unknown this time: {}", e.toString());
        }
    }

    /**
     * One console WARN when the oldest history begins to make room, then at most one a minute
     * summing up what went meanwhile: a flood of rejected readings gave up a segment every few
     * seconds, each a WARN. Each reclaim is in the log file.
     */
    private void tell(long free, DiskReclaim.Reclaimed r) {
        LOG.info("Gave up {} for room: {}", size(r.bytes()), said(r.what()));
        long now = millis.getAsLong();
        r.what().forEach((what, bytes) -> untold.merge(what, bytes, Long::sum));
        if (toldAt != Long.MIN_VALUE && now - toldAt < TELL_EVERY_MILLIS) {
            return;
        }
        long bytes = untold.values().stream().mapToLong(Long::longValue).sum();
        LOG.warn(
                toldAt == Long.MIN_VALUE
                        ? "The data folder's disk is short of room ({} free in {}, below {} MB):"
                                + " the oldest history makes room, {} given up: {}"
                        : "The data folder's disk is still short of room ({} free in {}, below"
                                + " {} MB): the oldest history went on making room, {} given up"
                                + " in the last minute: {}",
                size(free),
                dataDir,
                reclaimBelow / MB,
                size(bytes),
                said(untold));
        untold.clear();
        toldAt = now;
    }

    private static String said(Map<String, Long> what) {
        List<String> parts = new ArrayList<>();
        what.forEach((w, bytes) -> parts.add(w + " " + size(bytes)));
        return String.join(", ", parts);
    }

    /** Checks every {@code periodMillis} until stopped, and hands on why it must stop. */
    Thread watch(long periodMillis, Consumer<String> stop) {
        return Periodic.every(
                "disk-watch",
                periodMillis,
                () -> {
                    String why = check();
                    if (why != null) {
                        stop.accept(why);
                        return false;
                    }
                    return true;
                });
    }

    long free() {
        try {
            return Files.getFileStore(dataDir).getUsableSpace();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** What the data folder's parts take, largest first: "kafka 3.1 GB, series 1.2 GB". */
    String usage() {
        List<String> parts = new ArrayList<>();
        try (Stream<Path> children = Files.list(dataDir)) {
            children.filter(Files::isDirectory)
                    .map(p -> new Object[] {p.getFileName().toString(), bytes(p)})
                    .sorted((a, b) -> Long.compare((long) b[1], (long) a[1]))
                    .forEach(e -> parts.add(e[0] + " " + size((long) e[1])));
        } catch (IOException e) {
            return "its folders cannot be listed: " + e.getMessage();
        }
        return "in it " + (parts.isEmpty() ? "nothing" : String.join(", ", parts));
    }

    /**
     * What {@code dir} takes on the disk. File lengths tell it wrong both ways: HiveMQ's RocksDB
     * stores preallocate their logs (a 10 KB file holding 5 MB; its folder said 327 MB while it
     * took 1.1 GB of a small disk), and Kafka's index files are sparse. So {@code du}'s count of
     * allocated blocks, and lengths only where there is no {@code du}.
     */
    private static long bytes(Path dir) {
        try {
            Process du =
                    new ProcessBuilder("du", "-sk", dir.toString())
                            .redirectError(ProcessBuilder.Redirect.DISCARD)
                            .start();
            String out = new String(du.getInputStream().readAllBytes()).strip();
            if (du.waitFor() == 0 && out.matches("\\d+\\s.*")) {
                return Long.parseLong(out.split("\\s")[0]) * 1024;
            }
        } catch (IOException | NumberFormatException e) {
            // no du here: lengths below
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try (Stream<Path> files = Files.walk(dir)) {
            // Kafka sizes the index files of each partition's active segment to 10 MB at once, as
            // sparse files that take almost no disk: their length would hide what fills it.
            return files.filter(Files::isRegularFile)
                    .filter(f -> !f.toString().endsWith(".index"))
                    .filter(f -> !f.toString().endsWith(".timeindex"))
                    .mapToLong(
                            f -> {
                                try {
                                    return Files.size(f);
                                } catch (IOException e) {
                                    return 0; // deleted while walking
                                }
                            })
                    .sum();
        } catch (IOException | UncheckedIOException e) {
            return 0;
        }
    }

    /** For people: "12.3 GB", "210 MB". */
    static String size(long bytes) {
        return bytes >= 1L << 30
                ? String.format(Locale.ROOT, "%.1f GB", bytes / (double) (1L << 30))
                : String.format(Locale.ROOT, "%d MB", bytes / MB);
    }
}
