package io.plantwatch.alerting;

import io.plantwatch.model.Alert;
import io.plantwatch.model.AlertKind;
import io.plantwatch.model.AlertState;
import io.plantwatch.model.SensorId;
import io.plantwatch.model.Severity;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * What the alert store costs per alert: heap after a full GC, journal bytes, and the time a start
 * takes to replay the journal. It prints numbers and asserts nothing (not a test: the machine is
 * shared, and a soak's figures are what matter). Each alert lives as in the product: OPEN, told,
 * one in ten acknowledged, RESOLVED, told; 640 alerts an hour from 400 sensors and 4 rules.
 *
 * <pre>
 * java -Xmx4g -cp ... io.plantwatch.alerting.AlertStoreFootprint [alerts] [rounds] [dir]
 * </pre>
 *
 * The journal goes to {@code dir} (default /dev/shm where it exists): forcing 400,000 records to a
 * real disk would measure the disk, not the store.
 */
public final class AlertStoreFootprint {
    private static final String[] RULES = {"spike", "out-of-range", "rate-of-change", "flatline"};
    private static final AlertKind[] KINDS = {
        AlertKind.SPIKE, AlertKind.OUT_OF_RANGE, AlertKind.RATE_OF_CHANGE, AlertKind.FLATLINE
    };

    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0].replace("_", "")) : 100_000;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        Path base =
                args.length > 2
                        ? Path.of(args[2])
                        : Files.isDirectory(Path.of("/dev/shm"))
                                ? Path.of("/dev/shm")
                                : Path.of(System.getProperty("java.io.tmpdir"));
        System.out.printf(
                Locale.ROOT,
                "alerts %,d, rounds %d, journal in %s, max heap %,d MB%n",
                n,
                rounds,
                base,
                Runtime.getRuntime().maxMemory() >> 20);
        for (int round = 1; round <= rounds; round++) {
            Path dir = Files.createTempDirectory(base, "alert-store-footprint");
            try {
                round(round, n, dir);
            } finally {
                try (Stream<Path> files = Files.walk(dir)) {
                    files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                }
            }
        }
    }

    /** What writing the alerts cost: seconds, heap bytes while the store held them, alerts held. */
    private record Written(double seconds, long heap, int held) {}

    private static void round(int round, int n, Path dir) throws Exception {
        // The stream of alerts ends now: a start with a 30-day retention keeps those of the last
        // 30 days (all of 100k, which span 6.5 days; 460,810 of 500k).
        long now = System.currentTimeMillis();
        long step = 3_600_000L / 640;
        Written w = write(dir, n, now - n * step, step);
        double writeSeconds = w.seconds();
        long live = w.heap();
        int held = w.held();
        Path journal = dir.resolve("alerts.journal");
        long journalBytes = Files.size(journal);
        long records;
        try (Stream<String> lines = Files.lines(journal)) {
            records = lines.count();
        }
        long base = usedAfterGc();
        long t0 = System.nanoTime();
        AlertStore started = new AlertStore(dir, Duration.ofDays(30), now);
        double replaySeconds = (System.nanoTime() - t0) / 1e9;
        long replayed = usedAfterGc() - base;
        int after = started.all().size();
        long compacted = Files.size(journal);
        // The API's first page, and a filter that walks every alert and matches none.
        double page = fastest(() -> started.newestFirst((a, st) -> true, 100, null));
        double none =
                fastest(
                        () ->
                                started.newestFirst(
                                        (a, st) -> st == AlertStore.Status.SHELVED, 100, null));
        // The once-a-minute expiry on the day the older half of these alerts passes the retention:
        // it forgets them and compacts the journal, all under the store's lock, which the
        // dispatcher, the Kafka loop and the API wait on meanwhile.
        long halfOut = now - n * step + (n / 2) * step + Duration.ofDays(30).toMillis() + 120_000;
        // Meanwhile another thread asks the store what the API and the dispatcher would: the
        // longest answer is how long they waited for its lock.
        java.util.concurrent.atomic.AtomicLong longestWait =
                new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.atomic.AtomicBoolean probing =
                new java.util.concurrent.atomic.AtomicBoolean(true);
        Thread probe =
                new Thread(
                        () -> {
                            while (probing.get()) {
                                long p0 = System.nanoTime();
                                started.nextOffsets();
                                longestWait.accumulateAndGet(System.nanoTime() - p0, Math::max);
                                java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
                            }
                        });
        probe.start();
        long e0 = System.nanoTime();
        int forgot = started.expire(halfOut);
        double expireSeconds = (System.nanoTime() - e0) / 1e9;
        started.awaitCompaction();
        double compactSeconds = (System.nanoTime() - e0) / 1e9;
        probing.set(false);
        probe.join();
        started.close();
        System.out.printf(
                Locale.ROOT,
                "round %d: expiry forgetting %,d of %,d alerts: the sweep took %.2f s, the"
                        + " compaction %.2f s in all; the longest wait for the store meanwhile"
                        + " %.0f ms%n",
                round,
                forgot,
                after,
                expireSeconds,
                compactSeconds,
                longestWait.get() / 1e6);
        System.out.printf(
                Locale.ROOT,
                "round %d: written %,d alerts in %.1f s (%,d held); heap %,d B/alert; journal %,d"
                        + " records, %,d B/alert; start: replay %.2f s (%,.0f alerts/s), heap %,d"
                        + " B/alert, %,d alerts, journal %,d B/alert after start; a page of 100"
                        + " newest %.1f ms, a filter matching none %.1f ms%n",
                round,
                n,
                writeSeconds,
                held,
                live / n,
                records,
                journalBytes / n,
                replaySeconds,
                n / replaySeconds,
                replayed / n,
                after,
                compacted / n,
                page,
                none);
    }

    /** Writes {@code n} alerts from {@code start}; the store is gone when it returns. */
    private static Written write(Path dir, int n, long start, long step) {
        long empty = usedAfterGc();
        try (AlertStore store = new AlertStore(dir, Duration.ofDays(30), start)) {
            long t0 = System.nanoTime();
            for (int i = 0; i < n; i++) {
                long at = start + i * step;
                Alert open = alert(i, AlertState.OPEN, at);
                store.event(open, i % 3, 2L * i, Optional.of(1), at);
                store.notified(List.of(open));
                if (i % 10 == 0) {
                    store.status(open.alertId(), AlertStore.Status.ACKNOWLEDGED, "maria", at + 1);
                }
                Alert resolved = alert(i, AlertState.RESOLVED, at);
                store.event(resolved, i % 3, 2L * i + 1, Optional.of(1), at + 60_000);
                store.notified(List.of(resolved));
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            return new Written(seconds, usedAfterGc() - empty, store.all().size());
        }
    }

    private static Alert alert(int i, AlertState state, long at) {
        int sensor = i % 400;
        SensorId id =
                SensorId.parse(
                        "dresden/press-shop/line-"
                                + (sensor % 8)
                                + "/press-"
                                + (sensor % 50)
                                + "/"
                                + (sensor % 2 == 0 ? "oil-temp" : "vibration"));
        int rule = i % RULES.length;
        long episodeStart = at - 30_000;
        double value = 60 + (i % 997) / 10.0;
        return new Alert(
                Alert.idFor(id, RULES[rule], episodeStart),
                id,
                RULES[rule],
                KINDS[rule],
                i % 7 == 0 ? Severity.CRITICAL : Severity.WARNING,
                state,
                episodeStart,
                state == AlertState.OPEN ? at : at + 60_000,
                state == AlertState.OPEN ? at + 200 : at + 60_200,
                List.of(value - 20.5, value),
                String.format(
                        Locale.ROOT,
                        "%s rose %.1f degC in 10 s to %.1f degC (above 75.0 degC)",
                        id.sensor(),
                        20.5,
                        value));
    }

    /** The fastest of five runs, in milliseconds. */
    private static double fastest(Runnable r) {
        long best = Long.MAX_VALUE;
        for (int i = 0; i < 5; i++) {
            long t0 = System.nanoTime();
            r.run();
            best = Math.min(best, System.nanoTime() - t0);
        }
        return best / 1e6;
    }

    private static long usedAfterGc() {
        var memory = ManagementFactory.getMemoryMXBean();
        long used = Long.MAX_VALUE;
        // A few collections: one may leave objects that a reference queue still held.
        for (int i = 0; i < 4; i++) {
            System.gc();
            used = Math.min(used, memory.getHeapMemoryUsage().getUsed());
        }
        return used;
    }
}
