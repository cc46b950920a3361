package io.plantwatch.appliance;

import static org.assertj.core.api.Assertions.assertThat;

import io.plantwatch.infra.EmbeddedKafka;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What keeps a long run's data folder from filling the disk: line-protocol files (without an
 * InfluxDB) kept for a number of days, the embedded Kafka's topics for {@code kafka.retention}.
 */
class DataRetentionTest {
    @TempDir Path dir;

    @Test
    void seriesFilesOfDaysNoLongerKeptAreDeleted() throws Exception {
        LocalDate today = LocalDate.now(ZoneOffset.UTC);
        Path old = Files.writeString(dir.resolve("plantwatch-" + today.minusDays(14) + ".lp"), "x");
        Path kept =
                Files.writeString(dir.resolve("plantwatch-" + today.minusDays(13) + ".lp"), "x");
        Path other = Files.writeString(dir.resolve("notes-2001-01-01.txt"), "x");
        try (LineProtocolFiles files = new LineProtocolFiles(dir, 14)) {
            assertThat(old).doesNotExist();
            assertThat(kept).exists();
            assertThat(other).as("only the series' own files").exists();
            files.dropOldDays(today.plusDays(1));
            assertThat(kept).doesNotExist();
        }
    }

    /**
     * After a power cut today's file can end in a line cut short and zeros where the page cache
     * never reached the disk; the next batch was appended to that fragment, a line {@code influx
     * write} refuses. The file is cut back to its last whole line first, once.
     */
    @Test
    void aTornSeriesFileIsCutBackToItsLastWholeLineBeforeTheNextBatch() throws Exception {
        LocalDate today = LocalDate.now(ZoneOffset.UTC);
        Path file = dir.resolve("plantwatch-" + today + ".lp");
        String whole = "m,sensor=a value=1 1\nm,sensor=a value=2 2\n";
        byte[] torn = (whole + "m,sensor=a val").getBytes(StandardCharsets.UTF_8);
        Files.write(file, java.util.Arrays.copyOf(torn, torn.length + 70_000));
        try (LineProtocolFiles files = new LineProtocolFiles(dir, 14)) {
            post(files.url(), "m,sensor=a value=3 3\n");
            post(files.url(), "m,sensor=a value=4 4");
        }
        assertThat(Files.readString(file))
                .isEqualTo(whole + "m,sensor=a value=3 3\nm,sensor=a value=4 4\n");
    }

    private static void post(String url, String lines) throws Exception {
        var response =
                java.net.http.HttpClient.newHttpClient()
                        .send(
                                java.net.http.HttpRequest.newBuilder(
                                                java.net.URI.create(
                                                        url + "/api/v2/write?bucket=plantwatch"))
                                        .POST(
                                                java.net.http.HttpRequest.BodyPublishers.ofString(
                                                        lines))
                                        .build(),
                                java.net.http.HttpResponse.BodyHandlers.discarding());
        assertThat(response.statusCode()).isEqualTo(204);
    }

    @Test
    void theEmbeddedKafkasTopicsKeepTheConfiguredRetentionInSmallSegments() throws Exception {
        try (EmbeddedKafka kafka =
                        EmbeddedKafka.builder()
                                .dataDirectory(dir.resolve("kafka"))
                                .build()
                                .start();
                Admin admin = kafka.createAdmin()) {
            kafka.createTopics(1, "sensor-readings", "alerts");
            Appliance.applyRetention(
                    admin,
                    List.of("sensor-readings", "alerts"),
                    Duration.ofDays(3),
                    Appliance.segmentBytes(16_000_000_000L));
            ConfigResource readings =
                    new ConfigResource(ConfigResource.Type.TOPIC, "sensor-readings");
            Config config =
                    admin.describeConfigs(List.of(readings))
                            .all()
                            .get(20, TimeUnit.SECONDS)
                            .get(readings);
            assertThat(config.get("retention.ms").value())
                    .isEqualTo(Long.toString(Duration.ofDays(3).toMillis()));
            assertThat(config.get("segment.bytes").value()).isEqualTo(Long.toString(59L << 20));
        }
    }

    @Test
    void kafkaSegmentsAreAFractionOfTheDiskFrom16To128MiB() {
        assertThat(Appliance.segmentBytes(252_000_000_000L)).isEqualTo(128L << 20);
        assertThat(Appliance.segmentBytes(16_000_000_000L)).isEqualTo(59L << 20);
        assertThat(Appliance.segmentBytes(2_000_000_000L)).isEqualTo(16L << 20);
    }
}
