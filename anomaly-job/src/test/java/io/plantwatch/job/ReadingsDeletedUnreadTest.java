package io.plantwatch.job;

import static io.plantwatch.job.Harnesses.reading;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.plantwatch.model.AvroReadingCodec;
import io.plantwatch.model.SensorReading;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.functions.util.ListCollector;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Readings Kafka deleted before the job read them (its retention, while the job was stopped or
 * behind) are counted and said, not skipped in silence: the Kafka consumer moves a position below
 * the log's start to the start without a word.
 */
class ReadingsDeletedUnreadTest {
    private static final String COUNTER = "readingsDeletedUnread";

    @Test
    void aRecordPastTheExpectedOffsetCountsTheOffsetsBetweenAsDeleted() {
        Map<String, Counter> counters = new HashMap<>();
        KafkaIo.ReadingDeserializer deserializer = InPlaceKeysTest.opened(true, counters);
        List<SensorReading> out = new ArrayList<>();
        ListCollector<SensorReading> collector = new ListCollector<>(out);
        // Partition 0 read from its first record on; partition 1 resumed at 5 by its split.
        deserializer.resumesAt(1, 5);
        long[][] partitionAndOffset = {{0, 0}, {0, 1}, {1, 5}, {0, 2}, {1, 9}, {0, 10}, {0, 11}};
        long seq = 0;
        for (long[] at : partitionAndOffset) {
            deserializer.deserialize(record((int) at[0], at[1], seq++), collector);
        }
        assertThat(out).hasSize(partitionAndOffset.length);
        assertThat(counters.get(COUNTER).getCount()).as("6..8 of 1 and 3..9 of 0").isEqualTo(10);

        // Read again from further back (a restore from an older checkpoint): nothing is skipped.
        deserializer.resumesAt(0, 4);
        deserializer.deserialize(record(0, 4, seq++), collector);
        deserializer.deserialize(record(0, 5, seq++), collector);
        // A partition first seen past its resumed offset: the records below it are gone.
        deserializer.resumesAt(3, 100);
        deserializer.deserialize(record(3, 140, seq), collector);
        assertThat(counters.get(COUNTER).getCount()).isEqualTo(50);
    }

    private static ConsumerRecord<byte[], byte[]> record(int partition, long offset, long seq) {
        SensorReading r = reading(seq * 1000, 20.0, seq);
        return new ConsumerRecord<>(
                "sensor-readings",
                partition,
                offset,
                r.key().getBytes(StandardCharsets.UTF_8),
                new AvroReadingCodec().encode(r));
    }

    /**
     * The job stops with a savepoint after the first half of a scenario; the second half is
     * written, and Kafka deletes the first {@link #GAP} readings of it in each partition before the
     * job is restored. The restored job counts exactly those, and its completeness reports count
     * them as missing.
     */
    @Test
    void readingsDeletedWhileTheJobWasStoppedAreCountedAndReportedMissing(@TempDir Path dir)
            throws Exception {
        List<SensorReading> data = SavepointFixture.data();
        int half = SavepointFixture.half(data);
        String job = SavepointFixture.PREFIX + "job";
        try (JobKafka kafka = new JobKafka();
                Admin admin = kafka.kafka.createAdmin()) {
            JobSettings settings = kafka.settings("deleted-unread-");
            kafka.createTopics(settings);
            JobClient first = start(settings, AnomalyJob.flinkConfiguration(settings));
            kafka.produce(settings.readingsTopic(), data.subList(0, half));
            await().atMost(Duration.ofSeconds(60))
                    .until(() -> JobCounters.sum(job, "Source", "numRecordsOut") == half);
            String savepoint =
                    first.stopWithSavepoint(
                                    false, dir.toUri().toString(), SavepointFormatType.CANONICAL)
                            .get();
            Map<String, List<Map<String, Long>>> reports = new HashMap<>();
            SavepointFixture.readAllCompleteness(kafka, settings, reports);

            List<TopicPartition> partitions = partitions(settings);
            Map<TopicPartition, Long> resumeAt = endOffsets(admin, partitions);
            kafka.produce(settings.readingsTopic(), data.subList(half, data.size()));
            deleteUnread(admin, resumeAt);

            Configuration conf = AnomalyJob.flinkConfiguration(settings);
            conf.set(
                    StateRecoveryOptions.SAVEPOINT_PATH,
                    Path.of(URI.create(savepoint)).toUri().toString());
            JobClient restored = start(settings, conf);
            try {
                kafka.finishStream(settings, data, SavepointFixture.START, reports);
                assertThat(JobCounters.sum(job, "Source", COUNTER))
                        .isEqualTo(GAP * partitions.size());
            } finally {
                restored.cancel().get();
            }
            SavepointFixture.readAllCompleteness(kafka, settings, reports);
            long missing =
                    reports.values().stream()
                            .flatMap(List::stream)
                            .mapToLong(m -> m.get("missing"))
                            .sum();
            assertThat(missing).isEqualTo(GAP * partitions.size());
        }
    }

    /**
     * A start without a checkpoint resumes at the group's committed offsets, which Kafka's reader
     * looks up itself: the source reads them too, so readings deleted past them are counted.
     */
    @Test
    void readingsDeletedBeforeAStartWithoutACheckpointCountFromTheCommittedOffsets()
            throws Exception {
        List<SensorReading> data = SavepointFixture.data();
        int half = SavepointFixture.half(data);
        String job = SavepointFixture.PREFIX + "job";
        try (JobKafka kafka = new JobKafka();
                Admin admin = kafka.kafka.createAdmin()) {
            JobSettings settings = kafka.settings("deleted-committed-");
            kafka.createTopics(settings);
            JobClient first = start(settings, AnomalyJob.flinkConfiguration(settings));
            kafka.produce(settings.readingsTopic(), data.subList(0, half));
            List<TopicPartition> partitions = partitions(settings);
            Map<TopicPartition, Long> end = endOffsets(admin, partitions);
            // Offsets are committed when a checkpoint completes.
            await().atMost(Duration.ofSeconds(60))
                    .until(() -> committed(admin, settings.groupId()).equals(end));
            first.cancel().get();

            kafka.produce(settings.readingsTopic(), data.subList(half, data.size()));
            deleteUnread(admin, end);
            JobClient fresh = start(settings, AnomalyJob.flinkConfiguration(settings));
            try {
                kafka.finishStream(settings, data, SavepointFixture.START);
                assertThat(JobCounters.sum(job, "Source", COUNTER))
                        .isEqualTo(GAP * partitions.size());
            } finally {
                fresh.cancel().get();
            }
        }
    }

    /** The job as {@code flink run} wires it, its counters read by {@link JobCounters}. */
    private static JobClient start(JobSettings settings, Configuration conf) throws Exception {
        return SavepointFixture.start(
                settings,
                StreamExecutionEnvironment.getExecutionEnvironment(JobCounters.reportTo(conf)));
    }

    private static List<TopicPartition> partitions(JobSettings settings) {
        return List.of(
                new TopicPartition(settings.readingsTopic(), 0),
                new TopicPartition(settings.readingsTopic(), 1));
    }

    /** Readings deleted per partition. */
    private static final int GAP = 100;

    /** Deletes the first {@link #GAP} records from {@code resumeAt} in each partition. */
    private static void deleteUnread(Admin admin, Map<TopicPartition, Long> resumeAt)
            throws Exception {
        Map<TopicPartition, RecordsToDelete> delete = new HashMap<>();
        resumeAt.forEach((tp, o) -> delete.put(tp, RecordsToDelete.beforeOffset(o + GAP)));
        admin.deleteRecords(delete).all().get();
    }

    private static Map<TopicPartition, Long> committed(Admin admin, String group) throws Exception {
        Map<TopicPartition, Long> at = new HashMap<>();
        admin.listConsumerGroupOffsets(group)
                .partitionsToOffsetAndMetadata()
                .get()
                .forEach((tp, o) -> at.put(tp, o.offset()));
        return at;
    }

    private static Map<TopicPartition, Long> endOffsets(
            Admin admin, List<TopicPartition> partitions) throws Exception {
        Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
        partitions.forEach(tp -> latest.put(tp, OffsetSpec.latest()));
        Map<TopicPartition, Long> end = new HashMap<>();
        admin.listOffsets(latest).all().get().forEach((tp, info) -> end.put(tp, info.offset()));
        return end;
    }
}
