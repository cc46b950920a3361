package io.plantwatch.appliance;

import static org.assertj.core.api.Assertions.assertThat;

import io.plantwatch.infra.EmbeddedKafka;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.time.LocalDate;
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
        // Hourly files, gzipped, and days' files from before them.
        Path old = Files.writeString(dir.resolve("plantwatch-2026-02-24T23.lp.gz"), "x");
        Path oldDay = Files.writeString(dir.resolve("plantwatch-2026-02-24.lp.gz"), "x");
        Path kept = Files.writeString(dir.resolve("plantwatch-2026-02-25T00.lp.gz"), "x");
        Path keptDay = Files.writeString(dir.resolve("plantwatch-2026-02-25.lp.gz"), "x");
        Path other = Files.writeString(dir.resolve("notes-2001-01-01.txt"), "x");
        try (LineProtocolFiles files =
                new LineProtocolFiles(
                        dir, 14, InstantSource.fixed(Instant.parse("2026-03-10T05:30:00Z")))) {
            assertThat(old).doesNotExist();
            assertThat(oldDay).doesNotExist();
            assertThat(kept).exists();
            assertThat(keptDay).exists();
            assertThat(other).as("only the series' own files").exists();
            files.dropOldDays(LocalDate.parse("2026-03-11"));
            assertThat(kept).doesNotExist();
            assertThat(keptDay).doesNotExist();
        }
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
