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

    private static void round(int round, int n, Path dir) throws Exception {
        // The stream of alerts ends now, so with a 30-day retention every one of them is kept.
        long now = System.currentTimeMillis();
        long step = 3_600_000L / 640;
        long start = now - n * step;
        long empty = usedAfterGc();
        AlertStore store = new AlertStore(dir, Duration.ofDays(30), start);
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
        double writeSeconds = (System.nanoTime() - t0) / 1e9;
        long live = usedAfterGc() - empty;
        int held = store.all().size();
        store.close();
        store = null;
        Path journal = dir.resolve("alerts.journal");
        long journalBytes = Files.size(journal);
        long records;
        try (Stream<String> lines = Files.lines(journal)) {
            records = lines.count();
        }
        long base = usedAfterGc();
        t0 = System.nanoTime();
        store = new AlertStore(dir, Duration.ofDays(30), now);
        double replaySeconds = (System.nanoTime() - t0) / 1e9;
        long replayed = usedAfterGc() - base;
        int after = store.all().size();
        long compacted = Files.size(journal);
        store.close();
        System.out.printf(
                Locale.ROOT,
                "round %d: written %,d alerts in %.1f s (%,d held); heap %,d B/alert; journal %,d"
                        + " records, %,d B/alert; start: replay %.2f s (%,.0f alerts/s), heap %,d"
                        + " B/alert, %,d alerts, journal %,d B/alert after start%n",
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
                compacted / n);
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
