package io.plantwatch.appliance;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicReference;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The series files of an appliance without an InfluxDB: one per hour of arrival, gzipped once the
 * hour has passed, so that a disk short of room can give up all but the hour being written.
 */
class LineProtocolFilesTest {
    @TempDir Path dir;

    private final AtomicReference<Instant> now =
            new AtomicReference<>(Instant.parse("2026-03-10T05:59:59Z"));

    @Test
    void eachHourHasItsFileAndAPassedHourIsGzippedWithEveryLine() throws Exception {
        try (LineProtocolFiles files = new LineProtocolFiles(dir, 14, now::get)) {
            post(files.url(), "m,sensor=a value=1 1\n");
            post(files.url(), "m,sensor=a value=2 2");
            now.set(Instant.parse("2026-03-10T06:00:00Z"));
            post(files.url(), "m,sensor=a value=3 3\n");
            files.awaitClosed();

            assertThat(dir.resolve("plantwatch-2026-03-10T05.lp")).doesNotExist();
            assertThat(gunzip(dir.resolve("plantwatch-2026-03-10T05.lp.gz")))
                    .isEqualTo("m,sensor=a value=1 1\nm,sensor=a value=2 2\n");
            assertThat(Files.readString(dir.resolve("plantwatch-2026-03-10T06.lp")))
                    .isEqualTo("m,sensor=a value=3 3\n");
            assertThat(files.points()).isEqualTo(3);
            try (var listed = Files.list(dir)) {
                assertThat(listed.map(p -> p.getFileName().toString()))
                        .as("no copy left half-made")
                        .containsExactlyInAnyOrder(
                                "plantwatch-2026-03-10T05.lp.gz", "plantwatch-2026-03-10T06.lp");
            }
        }
    }

    /** A gzipped hour must not be written again: its new lines would sit beside the copy. */
    @Test
    void aClockSteppingBackKeepsWritingTheNewestHour() throws Exception {
        try (LineProtocolFiles files = new LineProtocolFiles(dir, 14, now::get)) {
            now.set(Instant.parse("2026-03-10T06:00:05Z"));
            post(files.url(), "m,sensor=a value=1 1\n");
            now.set(Instant.parse("2026-03-10T05:59:58Z"));
            post(files.url(), "m,sensor=a value=2 2\n");
            files.awaitClosed();
        }
        assertThat(Files.readString(dir.resolve("plantwatch-2026-03-10T06.lp")))
                .isEqualTo("m,sensor=a value=1 1\nm,sensor=a value=2 2\n");
        assertThat(dir.resolve("plantwatch-2026-03-10T05.lp")).doesNotExist();
    }

    /**
     * What a stop left: a file of an hour that has passed, torn by a power cut; a copy cut short; a
     * file beside its whole copy (stopped between the rename and the delete); a day's file from
     * before hourly files. Each ends gzipped, whole lines only, and nothing is left twice.
     */
    @Test
    void aStartGzipsWhatAStopLeftAndNothingTwice() throws Exception {
        Path torn = dir.resolve("plantwatch-2026-03-10T03.lp");
        byte[] tornBytes = "m,sensor=a value=1 1\nm,sensor=a val".getBytes(StandardCharsets.UTF_8);
        Files.write(torn, java.util.Arrays.copyOf(tornBytes, tornBytes.length + 70_000));
        Path halfMade =
                Files.write(dir.resolve("plantwatch-2026-03-10T03.lp.gz.part"), new byte[9]);
        Path copied =
                Files.writeString(
                        dir.resolve("plantwatch-2026-03-10T04.lp"), "m,sensor=b value=4 4\n");
        Path copy = gzip(dir.resolve("plantwatch-2026-03-10T04.lp.gz"), "m,sensor=b value=4 4\n");
        Path day = Files.writeString(dir.resolve("plantwatch-2026-03-09.lp"), "m,sensor=c v=9 9\n");
        Path current = Files.writeString(dir.resolve("plantwatch-2026-03-10T05.lp"), "m v=5 5\n");

        try (LineProtocolFiles files = new LineProtocolFiles(dir, 14, now::get)) {
            files.awaitClosed();
        }

        assertThat(torn).doesNotExist();
        assertThat(halfMade).doesNotExist();
        assertThat(gunzip(dir.resolve("plantwatch-2026-03-10T03.lp.gz")))
                .isEqualTo("m,sensor=a value=1 1\n");
        assertThat(copied).doesNotExist();
        assertThat(gunzip(copy)).as("the whole copy kept").isEqualTo("m,sensor=b value=4 4\n");
        assertThat(day).doesNotExist();
        assertThat(gunzip(dir.resolve("plantwatch-2026-03-09.lp.gz")))
                .isEqualTo("m,sensor=c v=9 9\n");
        assertThat(Files.readString(current)).as("the hour being written").isEqualTo("m v=5 5\n");
    }

    /**
     * A box that boots with a clock behind (no battery, before NTP) writes again to an hour whose
     * copy exists: the new lines join that copy as a second gzip member, not one is lost.
     */
    @Test
    void linesWrittenAgainToAGzippedHourJoinItsCopy() throws Exception {
        Path copy = gzip(dir.resolve("plantwatch-2026-03-10T05.lp.gz"), "m,sensor=a value=1 1\n");
        Files.writeString(dir.resolve("plantwatch-2026-03-10T06.lp"), "m,sensor=a value=2 2\n");
        try (LineProtocolFiles files = new LineProtocolFiles(dir, 14, now::get)) {
            post(files.url(), "m,sensor=a value=3 3\n");
            now.set(Instant.parse("2026-03-10T07:00:00Z"));
            post(files.url(), "m,sensor=a value=4 4\n");
            files.awaitClosed();
        }
        assertThat(gunzip(copy)).isEqualTo("m,sensor=a value=1 1\nm,sensor=a value=3 3\n");
        assertThat(gunzip(dir.resolve("plantwatch-2026-03-10T06.lp.gz")))
                .isEqualTo("m,sensor=a value=2 2\n");
        assertThat(dir.resolve("plantwatch-2026-03-10T05.lp")).doesNotExist();
    }

    /**
     * After a power cut the current hour's file can end in a line cut short and zeros where the
     * page cache never reached the disk; the next batch was appended to that fragment, a line
     * {@code influx write} refuses. The file is cut back to its last whole line first, once.
     */
    @Test
    void aTornSeriesFileIsCutBackToItsLastWholeLineBeforeTheNextBatch() throws Exception {
        Path file = dir.resolve("plantwatch-2026-03-10T05.lp");
        String whole = "m,sensor=a value=1 1\nm,sensor=a value=2 2\n";
        byte[] torn = (whole + "m,sensor=a val").getBytes(StandardCharsets.UTF_8);
        Files.write(file, java.util.Arrays.copyOf(torn, torn.length + 70_000));
        try (LineProtocolFiles files = new LineProtocolFiles(dir, 14, now::get)) {
            post(files.url(), "m,sensor=a value=3 3\n");
            post(files.url(), "m,sensor=a value=4 4");
        }
        assertThat(Files.readString(file))
                .isEqualTo(whole + "m,sensor=a value=3 3\nm,sensor=a value=4 4\n");
    }

    /** For room the oldest closed file goes, earlier hours of today too, the current one never. */
    @Test
    void forRoomEveryClosedFileGoesOldestFirstButNotTheHourBeingWritten() throws Exception {
        Path day = gzip(dir.resolve("plantwatch-2026-03-09.lp.gz"), "d\n");
        Path lastNight = gzip(dir.resolve("plantwatch-2026-03-09T23.lp.gz"), "n\n");
        Path thisMorning = Files.writeString(dir.resolve("plantwatch-2026-03-10T04.lp"), "m\n");
        Path current = Files.writeString(dir.resolve("plantwatch-2026-03-10T05.lp"), "c\n");
        try (LineProtocolFiles files = new LineProtocolFiles(dir, 14, now::get)) {
            files.awaitClosed();
            assertThat(files.deleteOldest().file()).isEqualTo(day);
            assertThat(files.deleteOldest().file()).isEqualTo(lastNight);
            LineProtocolFiles.Deleted gone = files.deleteOldest();
            assertThat(gone.file()).isEqualTo(thisMorning.resolveSibling(thisMorning + ".gz"));
            assertThat(gone.bytes()).isGreaterThan(0);
            assertThat(files.deleteOldest()).isNull();
            assertThat(current).exists();
            try (var listed = Files.list(dir)) {
                assertThat(listed).containsExactly(current);
            }
        }
    }

    /**
     * Fewer days kept, changed while the appliance runs: the files of days no longer kept go at
     * once, not when the next day begins; today's stay.
     */
    @Test
    void fewerDaysKeptDeleteTheDaysNoLongerKeptAtOnce() throws Exception {
        Path lastWeek = gzip(dir.resolve("plantwatch-2026-03-03T10.lp.gz"), "w\n");
        Path yesterday = gzip(dir.resolve("plantwatch-2026-03-09T23.lp.gz"), "y\n");
        Path current = Files.writeString(dir.resolve("plantwatch-2026-03-10T05.lp"), "c\n");
        try (LineProtocolFiles files = new LineProtocolFiles(dir, 14, now::get)) {
            files.awaitClosed();
            files.keepDays(2);
            assertThat(lastWeek).doesNotExist();
            assertThat(yesterday).exists();
            files.keepDays(1);
            assertThat(yesterday).doesNotExist();
            assertThat(current).exists();
        }
    }

    private static Path gzip(Path file, String text) throws IOException {
        try (var out = new java.util.zip.GZIPOutputStream(Files.newOutputStream(file))) {
            out.write(text.getBytes(StandardCharsets.UTF_8));
        }
        return file;
    }

    private static String gunzip(Path file) throws IOException {
        try (InputStream in = new GZIPInputStream(Files.newInputStream(file))) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static void post(String url, String lines) throws Exception {
        HttpResponse<Void> response =
                HttpClient.newHttpClient()
                        .send(
                                HttpRequest.newBuilder(
                                                URI.create(url + "/api/v2/write?bucket=plantwatch"))
                                        .timeout(Duration.ofSeconds(10))
                                        .POST(HttpRequest.BodyPublishers.ofString(lines))
                                        .build(),
                                HttpResponse.BodyHandlers.discarding());
        assertThat(response.statusCode()).isEqualTo(204);
    }
}
