package io.plantwatch.job;

import io.plantwatch.model.SensorReading;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;
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

/**
 * Flink's {@link KafkaSource} for the readings, telling its {@link KafkaIo.ReadingDeserializer}
 * where each partition resumes. A position restored from a checkpoint that Kafka's retention has
 * deleted meanwhile is moved to the log's start by the Kafka consumer without a word (its {@code
 * auto.offset.reset}, which the source sets itself); the deserializer sees the first record's
 * offset lie past the resumed one and counts and logs the readings skipped. Everything else is
 * Kafka's source as it is: same splits, serializers, state and metrics, so savepoints restore
 * across the change.
 */
public final class ReadingsSource
        implements Source<SensorReading, KafkaPartitionSplit, KafkaSourceEnumState>,
                ResultTypeQueryable<SensorReading>,
                LineageVertexProvider {
    private static final long serialVersionUID = 1L;

    private final KafkaSource<SensorReading> kafka;

    /**
     * The very object {@link #kafka} decodes with: serialized with this source in one graph, each
     * subtask's copy of the source has one deserializer, shared by both.
     */
    private final KafkaIo.ReadingDeserializer deserializer;

    ReadingsSource(KafkaSource<SensorReading> kafka, KafkaIo.ReadingDeserializer deserializer) {
        this.kafka = kafka;
        this.deserializer = deserializer;
    }

    @Override
    public Boundedness getBoundedness() {
        return kafka.getBoundedness();
    }

    @Override
    public SourceReader<SensorReading, KafkaPartitionSplit> createReader(
            SourceReaderContext context) throws Exception {
        return new Reader(kafka.createReader(context), deserializer);
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

    /** Kafka's reader, noting each added split's starting offset first. */
    private static final class Reader implements SourceReader<SensorReading, KafkaPartitionSplit> {
        private final SourceReader<SensorReading, KafkaPartitionSplit> kafka;
        private final KafkaIo.ReadingDeserializer deserializer;

        Reader(
                SourceReader<SensorReading, KafkaPartitionSplit> kafka,
                KafkaIo.ReadingDeserializer deserializer) {
            this.kafka = kafka;
            this.deserializer = deserializer;
        }

        @Override
        public void addSplits(List<KafkaPartitionSplit> splits) {
            for (KafkaPartitionSplit s : splits) {
                // Markers (earliest, latest, committed) are not positions: the first record is.
                if (s.getStartingOffset() >= 0) {
                    deserializer.resumesAt(s.getPartition(), s.getStartingOffset());
                }
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
            kafka.close();
        }
    }
}
