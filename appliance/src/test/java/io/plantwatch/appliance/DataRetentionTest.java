package io.plantwatch.appliance;

import static org.assertj.core.api.Assertions.assertThat;

import io.plantwatch.infra.EmbeddedKafka;
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
                    admin, List.of("sensor-readings", "alerts"), Duration.ofDays(3));
            ConfigResource readings =
                    new ConfigResource(ConfigResource.Type.TOPIC, "sensor-readings");
            Config config =
                    admin.describeConfigs(List.of(readings))
                            .all()
                            .get(20, TimeUnit.SECONDS)
                            .get(readings);
            assertThat(config.get("retention.ms").value())
                    .isEqualTo(Long.toString(Duration.ofDays(3).toMillis()));
            assertThat(config.get("segment.bytes").value()).isEqualTo(Long.toString(128L << 20));
        }
    }
}
