package io.plantwatch.job;

import io.plantwatch.model.SensorReading;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.source.Boundedness;
import org.apache.flink.api.connector.source.ReaderOutput;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.api.connector.source.SourceEvent;
import org.apache.flink.api.connector.source.SourceReader;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.apache.flink.api.java.typeutils.ResultTypeQueryable;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.KafkaSourceEnumState;
import org.apache.flink.connector.kafka.source.split.KafkaPartitionSplit;
import org.apache.flink.core.io.InputStatus;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.streaming.api.lineage.LineageVertex;
import org.apache.flink.streaming.api.lineage.LineageVertexProvider;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListConsumerGroupOffsetsSpec;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Flink's {@link KafkaSource} for the readings, telling its {@link KafkaIo.ReadingDeserializer}
 * where each partition resumes: the offset a checkpoint restores, or on a start without one the
 * group's committed offset. A position that Kafka's retention has deleted meanwhile is moved to the
 * log's start by the Kafka consumer without a word (its {@code auto.offset.reset}, which the source
 * sets itself); the deserializer sees the first record's offset lie past the resumed one and counts
 * and logs the readings skipped. Everything else is Kafka's source as it is: same splits,
 * serializers, state and metrics, so savepoints restore across the change.
 */
public final class ReadingsSource
        implements Source<SensorReading, KafkaPartitionSplit, KafkaSourceEnumState>,
                ResultTypeQueryable<SensorReading>,
                LineageVertexProvider {
    private static final long serialVersionUID = 1L;

    private static final Logger LOG = LoggerFactory.getLogger(ReadingsSource.class);

    private final KafkaSource<SensorReading> kafka;

    /** Kafka's address and login, for reading the group's committed offsets. */
    private final Properties admin;

    private final String groupId;

    /**
     * The very object {@link #kafka} decodes with: serialized with this source in one graph, each
     * subtask's copy of the source has one deserializer, shared by both.
     */
    private final KafkaIo.ReadingDeserializer deserializer;

    /**
     * @param consumer the source's consumer properties, its group id among them: those an admin
     *     client knows are used to read where the group committed, for a start without a checkpoint
     */
    ReadingsSource(
            KafkaSource<SensorReading> kafka,
            KafkaIo.ReadingDeserializer deserializer,
            Properties consumer) {
        this.kafka = kafka;
        this.deserializer = deserializer;
        this.admin = new Properties();
        consumer.stringPropertyNames().stream()
                .filter(AdminClientConfig.configNames()::contains)
                .forEach(k -> admin.setProperty(k, consumer.getProperty(k)));
        this.groupId = consumer.getProperty("group.id");
    }

    @Override
    public Boundedness getBoundedness() {
        return kafka.getBoundedness();
    }

    @Override
    public SourceReader<SensorReading, KafkaPartitionSplit> createReader(
            SourceReaderContext context) throws Exception {
        return new Reader(kafka.createReader(context), deserializer, this::committedOffsets);
    }

    @Override
    public SplitEnumerator<KafkaPartitionSplit, KafkaSourceEnumState> createEnumerator(
            SplitEnumeratorContext<KafkaPartitionSplit> context) {
        return kafka.createEnumerator(context);
    }

    @Override
    public SplitEnumerator<KafkaPartitionSplit, KafkaSourceEnumState> restoreEnumerator(
            SplitEnumeratorContext<KafkaPartitionSplit> context, KafkaSourceEnumState state)
            throws Exception {
        return kafka.restoreEnumerator(context, state);
    }

    @Override
    public SimpleVersionedSerializer<KafkaPartitionSplit> getSplitSerializer() {
        return kafka.getSplitSerializer();
    }

    @Override
    public SimpleVersionedSerializer<KafkaSourceEnumState> getEnumeratorCheckpointSerializer() {
        return kafka.getEnumeratorCheckpointSerializer();
    }

    @Override
    public TypeInformation<SensorReading> getProducedType() {
        return kafka.getProducedType();
    }

    @Override
    public LineageVertex getLineageVertex() {
        return kafka.getLineageVertex();
    }

    /**
     * Where the job's group committed on {@code partitions}; those without a committed offset, or
     * all when Kafka does not answer in time, are left out (a gap there is then not counted).
     */
    private Map<TopicPartition, Long> committedOffsets(List<TopicPartition> partitions) {
        Map<TopicPartition, Long> at = new HashMap<>();
        Admin client = null;
        try {
            client = Admin.create(admin);
            client.listConsumerGroupOffsets(
                            Map.of(
                                    groupId,
                                    new ListConsumerGroupOffsetsSpec().topicPartitions(partitions)))
                    .partitionsToOffsetAndMetadata(groupId)
                    .get(COMMITTED_TIMEOUT_SECONDS, TimeUnit.SECONDS)
                    .forEach(
                            (tp, o) -> {
                                if (o != null) {
                                    at.put(tp, o.offset());
                                }
                            });
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException | RuntimeException e) {
            LOG.info(
                    "Could not read where group {} committed on {} ({}); readings Kafka deleted"
                            + " before them are not counted",
                    groupId,
                    partitions,
                    e.toString());
        } finally {
            if (client != null) {
                client.close(Duration.ofSeconds(1));
            }
        }
        return at;
    }

    private static final long COMMITTED_TIMEOUT_SECONDS = 10;

    /** Kafka's reader, noting each added split's starting offset first. */
    private static final class Reader implements SourceReader<SensorReading, KafkaPartitionSplit> {
        private final SourceReader<SensorReading, KafkaPartitionSplit> kafka;
        private final KafkaIo.ReadingDeserializer deserializer;
        private final Function<List<TopicPartition>, Map<TopicPartition, Long>> committed;

        Reader(
                SourceReader<SensorReading, KafkaPartitionSplit> kafka,
                KafkaIo.ReadingDeserializer deserializer,
                Function<List<TopicPartition>, Map<TopicPartition, Long>> committed) {
            this.kafka = kafka;
            this.deserializer = deserializer;
            this.committed = committed;
        }

        @Override
        public void addSplits(List<KafkaPartitionSplit> splits) {
            List<TopicPartition> atCommitted = new ArrayList<>();
            for (KafkaPartitionSplit s : splits) {
                if (s.getStartingOffset() >= 0) {
                    deserializer.resumesAt(s.getPartition(), s.getStartingOffset());
                } else if (s.getStartingOffset() == KafkaPartitionSplit.COMMITTED_OFFSET) {
                    // A start without a checkpoint: Kafka's reader looks the offset up itself.
                    atCommitted.add(s.getTopicPartition());
                }
                // Earliest and latest are no position a gap could be counted from.
            }
            if (!atCommitted.isEmpty()) {
                committed
                        .apply(atCommitted)
                        .forEach((tp, o) -> deserializer.resumesAt(tp.partition(), o));
            }
            kafka.addSplits(splits);
        }

        @Override
        public void start() {
            kafka.start();
        }

        @Override
        public InputStatus pollNext(ReaderOutput<SensorReading> output) throws Exception {
            return kafka.pollNext(output);
        }

        @Override
        public List<KafkaPartitionSplit> snapshotState(long checkpointId) {
            // The positions taken here lie past every record decoded so far: the rejected ones
            // among them must be in the DLQ first, or a failed write would lose them.
            deserializer.awaitDeadLettersKept();
            return kafka.snapshotState(checkpointId);
        }

        @Override
        public CompletableFuture<Void> isAvailable() {
            return kafka.isAvailable();
        }

        @Override
        public void notifyNoMoreSplits() {
            kafka.notifyNoMoreSplits();
        }

        @Override
        public void handleSourceEvents(SourceEvent event) {
            kafka.handleSourceEvents(event);
        }

        @Override
        public void notifyCheckpointComplete(long checkpointId) throws Exception {
            kafka.notifyCheckpointComplete(checkpointId);
        }

        @Override
        public void notifyCheckpointAborted(long checkpointId) throws Exception {
            kafka.notifyCheckpointAborted(checkpointId);
        }

        @Override
        public void pauseOrResumeSplits(
                Collection<String> splitsToPause, Collection<String> splitsToResume) {
            kafka.pauseOrResumeSplits(splitsToPause, splitsToResume);
        }

        @Override
        public void close() throws Exception {
            try {
                kafka.close();
            } finally {
                deserializer.close();
            }
        }
    }
}
