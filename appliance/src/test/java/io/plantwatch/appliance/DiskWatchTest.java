package io.plantwatch.appliance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * The data folder's disk: a warning while there is time, a clean stop before the embedded Kafka
 * would halt the process on a full disk. The margins are set above this disk's real free space.
 */
class DiskWatchTest {
    @TempDir Path dir;

    /** More MB than any disk here has free. */
    static final long ABOVE_ANY_DISK = 100_000_000;

    @Test
    void belowTheStopMarginTheApplianceDoesNotStartAndSaysWhatFillsTheDisk() throws Exception {
        Path data = dir.resolve("data");
        Files.createDirectories(data.resolve("kafka"));
        Files.write(data.resolve("kafka").resolve("segment"), new byte[3 << 20]);
        // The hour a stop on a full disk was writing, now past: before refusing, the start gzips
        // it. It gives up no series file, since all of them would not make room enough.
        Path pastHour =
                Files.createDirectories(data.resolve("series"))
                        .resolve(
                                "plantwatch-"
                                        + java.time.format.DateTimeFormatter.ofPattern(
                                                        "yyyy-MM-dd'T'HH")
                                                .withZone(java.time.ZoneOffset.UTC)
                                                .format(
                                                        java.time.Instant.now()
                                                                .minus(
                                                                        java.time.Duration.ofHours(
                                                                                2)))
                                        + ".lp");
        Files.writeString(pastHour, "m,sensor=a value=1 1\n");
        Path settings =
                Files.writeString(
                        dir.resolve("appliance.yaml"),
                        """
                        mqtt: {port: 0}
                        data-dir: %s
                        job: {config: ../config/job.yaml, rules: ../config/rules.yaml}
                        gateway: {config: ../config/gateway.yaml}
                        alerting: {config: ../config/alerting-demo.yaml}
                        disk: {warn-free-mb: %d, stop-free-mb: %d}
                        """
                                .formatted(data, ABOVE_ANY_DISK, ABOVE_ANY_DISK));
        CliRun run = CliRun.plantwatch("run", "--config", settings.toString());
        assertThat(run.code()).as(run.err()).isEqualTo(1);
        assertThat(run.err().strip())
                .startsWith("plantwatch run: the data folder's disk is full: ")
                .contains(
                        " free in "
                                + data
                                + ", below disk.stop-free-mb (100000000); in it kafka 3 MB")
                .endsWith(
                        "Free space, or lower kafka.retention or influx.files-keep-days, then run"
                                + " again")
                .doesNotContain("\n");
        assertThat(pastHour).doesNotExist();
        assertThat(pastHour.resolveSibling(pastHour.getFileName() + ".gz")).exists();
        // Nothing was started: no broker wrote its folders.
        assertThat(data.resolve("checkpoints")).doesNotExist();
    }

    @Test
    void belowTheWarningMarginOneWarningUntilThereIsRoomAgain() throws Exception {
        Logger log = (Logger) LoggerFactory.getLogger(DiskWatch.class);
        ListAppender<ILoggingEvent> said = new ListAppender<>();
        said.start();
        log.addAppender(said);
        try {
            DiskWatch watch = new DiskWatch(dir, ABOVE_ANY_DISK, 0);
            assertThat(watch.problem()).isNull();
            assertThat(watch.check()).isNull();
            assertThat(watch.check()).isNull();
            // For the pipeline alert, as long as it lasts.
            assertThat(watch.problem())
                    .startsWith("The data folder's disk is filling: ")
                    .contains("below disk.warn-free-mb (100000000); at 0 MB free the appliance");
            assertThat(said.list)
                    .singleElement()
                    .satisfies(
                            e -> {
                                assertThat(e.getLevel()).isEqualTo(Level.WARN);
                                assertThat(e.getFormattedMessage())
                                        .startsWith("The data folder's disk is filling: ")
                                        .contains("below disk.warn-free-mb (100000000)")
                                        .endsWith("At 0 MB free the appliance stops");
                            });
            watch.margins(1, 0);
            assertThat(watch.check()).isNull();
            assertThat(watch.problem()).as("room again").isNull();
        } finally {
            log.detachAppender(said);
        }
    }

    /**
     * HiveMQ's stores preallocate their logs, Kafka's indexes are sparse: what a folder takes on
     * the disk is its blocks, not its files' lengths.
     */
    @Test
    void aFolderCountsWhatItTakesOnTheDiskNotItsFilesLengths() throws Exception {
        Path data = dir.resolve("data");
        Files.createDirectories(data.resolve("kafka"));
        Files.createDirectories(data.resolve("mqtt"));
        try (java.io.RandomAccessFile sparse =
                new java.io.RandomAccessFile(
                        data.resolve("kafka").resolve("index").toFile(), "rw")) {
            sparse.setLength(500L << 20);
        }
        byte[] noise = new byte[2 << 20];
        new java.util.Random(7).nextBytes(noise); // zeros a compressing file system would not store
        Files.write(data.resolve("mqtt").resolve("log"), noise);
        assertThat(new DiskWatch(data, 0, 0).usage()).isEqualTo("in it mqtt 2 MB, kafka 0 MB");
    }

    @Test
    void theWatchHandsOnWhyItMustStop() throws Exception {
        CompletableFuture<String> why = new CompletableFuture<>();
        Thread t = new DiskWatch(dir, 0, ABOVE_ANY_DISK).watch(10, why::complete);
        assertThat(why.get(10, TimeUnit.SECONDS)).startsWith("the data folder's disk is full");
        t.join(10_000);
        assertThat(t.isAlive()).isFalse();
    }

    @Test
    void marginsAreCheckedAndHaveDefaults() throws Exception {
        Path f =
                Files.writeString(
                        dir.resolve("appliance.yaml"),
                        """
                        job: {config: ../config/job.yaml, rules: ../config/rules.yaml}
                        gateway: {config: ../config/gateway.yaml}
                        alerting: {config: ../config/alerting-demo.yaml}
                        """);
        ApplianceSettings s = ApplianceSettings.load(f, Map.of());
        assertThat(s.diskWarnFreeMb()).isEqualTo(2048);
        assertThat(s.diskStopFreeMb()).isEqualTo(256);
        assertThatThrownBy(
                        () ->
                                ApplianceSettings.load(
                                        f,
                                        Map.of(
                                                "disk.warn-free-mb",
                                                "100",
                                                "disk.stop-free-mb",
                                                "200")))
                .hasMessageContaining(
                        "disk.warn-free-mb (100) is below disk.stop-free-mb (200): the warning"
                                + " would come after the stop");
        assertThatThrownBy(() -> ApplianceSettings.load(f, Map.of("disk.stop-free-mb", "-1")))
                .hasMessageContaining("disk.stop-free-mb '-1' must be a whole number of MB");
        assertThat(
                        ApplianceSettings.load(
                                        f,
                                        Map.of("disk.warn-free-mb", "0", "disk.stop-free-mb", "0"))
                                .diskStopFreeMb())
                .isZero();
    }
}
