package io.plantwatch.appliance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.plantwatch.infra.EmbeddedKafka;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * A disk running short: the oldest history the appliance no longer needs makes room, through a real
 * Kafka's own deletion, and nothing it still needs goes.
 */
class DiskReclaimTest {
    private static final String READINGS = "sensor-readings";
    private static final String LATE = "sensor-readings-late";
    private static final String ALERTS = "alerts";
    private static final String JOB_GROUP = "plantwatch-anomaly-job";
    private static final TopicPartition P0 = new TopicPartition(READINGS, 0);

    /** Kafka 4's smallest segment. */
    private static final int SEGMENT_BYTES = 1 << 20;

    @TempDir Path dir;

    /** The series files' clock: half past five, so earlier hours of the same day are closed. */
    private static final Instant NOW = Instant.parse("2026-03-10T05:30:00Z");

    private static final InstantSource CLOCK = InstantSource.fixed(NOW);

    @Test
    void readingsTheJobHasReadGoOldestFirstThenTopicsNobodyReadsThenPastSeriesAndNothingElse()
            throws Exception {
        Path series = Files.createDirectories(dir.resolve("series"));
        Path oldest = Files.write(series.resolve("plantwatch-2026-03-07.lp.gz"), kb(3));
        Path older = Files.write(series.resolve("plantwatch-2026-03-10T04.lp.gz"), kb(2));
        Path current = Files.write(series.resolve("plantwatch-2026-03-10T05.lp"), kb(1));
        try (EmbeddedKafka kafka =
                        EmbeddedKafka.builder()
                                .dataDirectory(dir.resolve("kafka"))
                                // Kafka's first retention check comes 30 s after its start.
                                .brokerProperty("log.initial.task.delay.ms", "500")
                                .brokerProperty("log.retention.check.interval.ms", "500")
                                .build()
                                .start();
                Admin admin = kafka.createAdmin();
                LineProtocolFiles files = new LineProtocolFiles(series, 14, CLOCK)) {
            kafka.createTopics(1, READINGS, LATE, ALERTS);
            admin.incrementalAlterConfigs(
                            Map.of(
                                    topic(READINGS), smallSegments(),
                                    topic(LATE), smallSegments(),
                                    topic(ALERTS), smallSegments()))
                    .all()
                    .get(20, TimeUnit.SECONDS);
            // About six segments each; the job has read and checkpointed the first half.
            long written = write(kafka, READINGS, 6 * SEGMENT_BYTES);
            write(kafka, LATE, 3 * SEGMENT_BYTES);
            write(kafka, ALERTS, 3 * SEGMENT_BYTES);
            long read = written / 2;
            admin.alterConsumerGroupOffsets(JOB_GROUP, Map.of(P0, new OffsetAndMetadata(read)))
                    .all()
                    .get(20, TimeUnit.SECONDS);
            List<Long> bases = segmentBases(kafka, READINGS);
            assertThat(bases).hasSizeGreaterThan(4);

            Properties login = new Properties();
            login.put("bootstrap.servers", kafka.bootstrapServers());
            long[] now = {1_000_000};
            try (DiskReclaim reclaim =
                    new DiskReclaim(
                            kafka.dataDirectory(),
                            login,
                            READINGS,
                            JOB_GROUP,
                            Duration.ofSeconds(70),
                            List.of(LATE),
                            files,
                            () -> now[0])) {
                // The job's offset bounds what goes only once it stood there longer than its
                // retained checkpoints span: a start may restore the oldest of them.
                reclaim.observe();
                now[0] += 60_000;
                admin.alterConsumerGroupOffsets(
                                JOB_GROUP, Map.of(P0, new OffsetAndMetadata(written)))
                        .all()
                        .get(20, TimeUnit.SECONDS);
                reclaim.observe();
                assertThat(reclaim.reclaim(1).what().keySet())
                        .as("nothing of the readings before the job stood anywhere 70 s")
                        .doesNotContain("Kafka " + READINGS + " the job had read");
                now[0] += 15_000;
                reclaim.observe();

                // A small shortfall: the one oldest segment, no series file.
                DiskReclaim.Reclaimed first = reclaim.reclaim(1);
                assertThat(first.bytes()).isGreaterThanOrEqualTo(SEGMENT_BYTES - 64 * 1024);
                assertThat(first.what().keySet())
                        .containsExactly("Kafka " + READINGS + " the job had read");
                assertThat(earliest(admin, P0)).isEqualTo(bases.get(1));
                assertThat(reclaim.pending()).isGreaterThan(0);
                assertThat(oldest).exists();

                // Any shortfall: every segment wholly read, the closed ones of the late readings,
                // then closed series files, oldest first: a day's from before hourly files, then
                // an earlier hour of today's.
                DiskReclaim.Reclaimed all = reclaim.reclaim(Long.MAX_VALUE);
                long lastWhollyRead = bases.stream().filter(b -> b <= read).reduce(0L, Math::max);
                assertThat(earliest(admin, P0))
                        .as(
                                "every segment below the job's offset of 70 s ago, %d, and not"
                                        + " one record more, though it stands at %d now",
                                read, written)
                        .isEqualTo(lastWhollyRead);
                assertThat(all.what().keySet())
                        .containsExactly(
                                "Kafka " + READINGS + " the job had read",
                                "Kafka " + LATE + " nobody reads",
                                "series " + oldest.getFileName(),
                                "series " + older.getFileName());
                assertThat(all.what().get("series " + oldest.getFileName())).isEqualTo(3 * 1024);
                List<Long> lateBases = segmentBases(kafka, LATE);
                assertThat(earliest(admin, new TopicPartition(LATE, 0)))
                        .as("the late readings' active segment stays")
                        .isEqualTo(lateBases.get(lateBases.size() - 1));
                assertThat(oldest).doesNotExist();
                assertThat(older).doesNotExist();
                assertThat(current).as("this hour's series are being written").exists();
                assertThat(earliest(admin, new TopicPartition(ALERTS, 0)))
                        .as("no topic the appliance reads but the readings")
                        .isZero();

                // Kafka removes the files itself; until then they count as on their way.
                await().atMost(Duration.ofSeconds(30))
                        .untilAsserted(
                                () -> {
                                    assertThat(segmentBases(kafka, READINGS).get(0))
                                            .isEqualTo(lastWhollyRead);
                                    assertThat(reclaim.pending()).isZero();
                                });
                assertThat(reclaim.reclaim(Long.MAX_VALUE))
                        .as("nothing more may go")
                        .isEqualTo(DiskReclaim.Reclaimed.NOTHING);
                assertThat(new DiskWatch(dir, 0, DiskWatchTest.ABOVE_ANY_DISK, reclaim).check())
                        .contains(
                                "; the oldest history the appliance may delete is already gone,"
                                        + " and what is left it still needs (readings the job has"
                                        + " not read, the hour's series being written)");
            }
        }
    }

    /**
     * One WARN when the history begins to make room, then at most one a minute summing up: a flood
     * of rejected readings gave up a segment every few seconds, each a WARN.
     */
    @Test
    void aDiskShortOfRoomIsToldWhatGaveWayThenOnceAMinuteAndThatItIsStillFilling()
            throws Exception {
        Path first = Files.write(dir.resolve("plantwatch-2026-03-09T01.lp.gz"), kb(5));
        Path current = Files.write(dir.resolve("plantwatch-2026-03-10T05.lp"), kb(1));
        Logger log = (Logger) LoggerFactory.getLogger(DiskWatch.class);
        ListAppender<ILoggingEvent> said = new ListAppender<>();
        said.start();
        log.addAppender(said);
        Level level = log.getLevel();
        log.setLevel(Level.INFO);
        try (LineProtocolFiles files = new LineProtocolFiles(dir, 14, CLOCK);
                DiskReclaim reclaim = DiskReclaim.seriesOnly(files, false)) {
            DiskWatch watch = new DiskWatch(dir, DiskWatchTest.ABOVE_ANY_DISK, 0, reclaim);
            long[] now = {1_000_000};
            watch.millis = () -> now[0];
            assertThat(watch.check()).isNull();
            assertThat(first).doesNotExist();
            assertThat(current).exists();
            // Two more files appear and go within the minute, then one after it.
            Path second = Files.write(dir.resolve("plantwatch-2026-03-09T02.lp.gz"), kb(6));
            now[0] += 20_000;
            assertThat(watch.check()).isNull();
            Path third = Files.write(dir.resolve("plantwatch-2026-03-10T04.lp.gz"), kb(7));
            now[0] += 41_000;
            assertThat(watch.check()).isNull();
            assertThat(second).doesNotExist();
            assertThat(third).doesNotExist();
            assertThat(watch.reclaimed()).isEqualTo(18 * 1024);
            assertThat(said.list)
                    .filteredOn(e -> e.getLevel() == Level.WARN)
                    .extracting(ILoggingEvent::getFormattedMessage)
                    .satisfiesExactly(
                            m ->
                                    assertThat(m)
                                            .startsWith("The data folder's disk is short of room")
                                            .endsWith(
                                                    "the oldest history makes room, 0 MB given"
                                                            + " up: series "
                                                            + first.getFileName()
                                                            + " 0 MB"),
                            m -> assertThat(m).startsWith("The data folder's disk is filling: "),
                            m ->
                                    assertThat(m)
                                            .startsWith(
                                                    "The data folder's disk is still short of room")
                                            .endsWith(
                                                    "given up in the last minute: series "
                                                            + second.getFileName()
                                                            + " 0 MB, series "
                                                            + third.getFileName()
                                                            + " 0 MB"));
            assertThat(said.list)
                    .as("each reclaim in the log file")
                    .filteredOn(e -> e.getLevel() == Level.INFO)
                    .hasSize(3);
        } finally {
            log.setLevel(level);
            log.detachAppender(said);
        }
    }

    @Test
    void belowTheStopMarginTheStopSaysTheHistoryIsAlreadyGone() throws Exception {
        try (LineProtocolFiles files = new LineProtocolFiles(dir, 14, CLOCK);
                DiskReclaim reclaim = DiskReclaim.seriesOnly(files, false)) {
            assertThat(new DiskWatch(dir, 0, DiskWatchTest.ABOVE_ANY_DISK, reclaim).check())
                    .startsWith("the data folder's disk is full: ")
                    .contains("; the series files of past hours are already gone")
                    .endsWith(
                            "still needed. Free space or move data-dir to a larger disk, then run"
                                    + " again");
        }
    }

    private static ConfigResource topic(String name) {
        return new ConfigResource(ConfigResource.Type.TOPIC, name);
    }

    /** Small segments, and their files removed half a second after Kafka let them go. */
    private static List<AlterConfigOp> smallSegments() {
        return List.of(
                new AlterConfigOp(
                        new ConfigEntry("segment.bytes", Integer.toString(SEGMENT_BYTES)),
                        AlterConfigOp.OpType.SET),
                new AlterConfigOp(
                        new ConfigEntry("file.delete.delay.ms", "500"), AlterConfigOp.OpType.SET));
    }

    private static byte[] kb(int n) {
        return new byte[n * 1024];
    }

    /** Writes about {@code bytes} in 10 KB records; returns how many. */
    private static long write(EmbeddedKafka kafka, String topic, long bytes) throws Exception {
        Map<String, Object> p = kafka.clientProperties(null);
        long n = bytes / (10 * 1024);
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            for (long i = 0; i < n; i++) {
                producer.send(new ProducerRecord<>(topic, 0, null, kb(10)));
            }
            producer.flush();
        }
        return n;
    }

    /** The base offsets of a partition's segment files on disk, in order. */
    private static List<Long> segmentBases(EmbeddedKafka kafka, String topic) throws Exception {
        // Listed, not walked: Kafka's checkpoint .tmp files vanish under a walk.
        try (Stream<Path> files =
                Files.list(kafka.dataDirectory().resolve("node-0").resolve(topic + "-0"))) {
            return files.map(f -> f.getFileName().toString())
                    .filter(n -> n.matches("\\d{20}\\.log"))
                    .map(n -> Long.parseLong(n.substring(0, 20)))
                    .sorted()
                    .toList();
        }
    }

    private static long earliest(Admin admin, TopicPartition p) throws Exception {
        return admin.listOffsets(Map.of(p, OffsetSpec.earliest()))
                .partitionResult(p)
                .get(20, TimeUnit.SECONDS)
                .offset();
    }
}
