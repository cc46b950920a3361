package io.plantwatch.alerting;

import java.time.Duration;
import java.util.Collection;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.LogTruncationException;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetOutOfRangeException;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where the consumer reads each partition: the journal's position, checked against what Kafka still
 * holds. The consumer runs with {@code auto.offset.reset=none}, so a position Kafka no longer has
 * comes here rather than being moved silently. Kafka's "latest" moved it to the end as it was when
 * the consumer got round to it, after the anomaly job had written into the gap, and those alerts
 * were never applied.
 *
 * <ul>
 *   <li>Past the log's end (a single broker without fsync lost its tail in a power cut): resume at
 *       the end as it is now, so every record written from here on is applied. With the leader
 *       epoch of the last applied record the consumer also asks Kafka where its log diverged, which
 *       finds a lost tail even once it has been written over again.
 *   <li>Before the log's start (retention deleted records while the service was away): resume at
 *       the start; the deleted records cannot be read by anyone.
 * </ul>
 *
 * Both are one WARN line and a counter, and the new position is written to the journal, so a
 * restart before the next record does not seek back past records written meanwhile.
 */
final class KafkaPositions {
    private static final Logger LOG = LoggerFactory.getLogger(KafkaPositions.class);

    private final Consumer<byte[], byte[]> consumer;
    private final AlertStore store;
    private final Duration timeout;
    private final AtomicLong lost;
    private final AtomicLong deletedUnread;

    KafkaPositions(
            Consumer<byte[], byte[]> consumer,
            AlertStore store,
            Duration timeout,
            AtomicLong lost,
            AtomicLong deletedUnread) {
        this.consumer = consumer;
        this.store = store;
        this.timeout = timeout;
        this.lost = lost;
        this.deletedUnread = deletedUnread;
    }

    /** Seeks assigned partitions (at start, or added to the topic since) to where to read. */
    void seek(Collection<TopicPartition> partitions) {
        if (partitions.isEmpty()) {
            return;
        }
        Map<Integer, Long> next = store.nextOffsets();
        Map<Integer, Integer> epochs = store.epochs();
        Map<TopicPartition, Long> start = consumer.beginningOffsets(partitions, timeout);
        Map<TopicPartition, Long> end = consumer.endOffsets(partitions, timeout);
        for (TopicPartition tp : partitions) {
            Long at = next.get(tp.partition());
            if (at == null) {
                // Never read: all it holds is new to this service.
                consumer.seek(tp, start.get(tp));
            } else if (!movedInside(tp, at, start.get(tp), end.get(tp))) {
                // A tail lost and written again before this start is not past the log's end; only
                // the epoch shows it, when the consumer validates the position before reading.
                consumer.seek(
                        tp,
                        new OffsetAndMetadata(
                                at, Optional.ofNullable(epochs.get(tp.partition())), ""));
            }
        }
    }

    /** The consumer's position is one Kafka no longer has: found while reading or validating. */
    void outOfRange(OffsetOutOfRangeException e) {
        Map<TopicPartition, Long> at = e.offsetOutOfRangePartitions();
        Map<TopicPartition, OffsetAndMetadata> divergent =
                e instanceof LogTruncationException t ? t.divergentOffsets() : Map.of();
        Map<TopicPartition, Long> start = consumer.beginningOffsets(at.keySet(), timeout);
        Map<TopicPartition, Long> end = consumer.endOffsets(at.keySet(), timeout);
        for (Map.Entry<TopicPartition, Long> p : at.entrySet()) {
            TopicPartition tp = p.getKey();
            long position = p.getValue();
            long s = start.get(tp);
            long last = end.get(tp);
            OffsetAndMetadata d = divergent.get(tp);
            if (d != null && d.offset() < position) {
                long resume = Math.max(d.offset(), s);
                long n = position - d.offset();
                lost.addAndGet(n);
                LOG.warn(
                        "Kafka lost {} alert records this service had applied on {}, probably a"
                                + " crash of its broker, and its log was written again from offset"
                                + " {}; resuming at {} (the journal's position {}, the log's end"
                                + " {})",
                        n,
                        tp,
                        d.offset(),
                        resume,
                        position,
                        last);
                consumer.seek(tp, resume);
                store.resume(tp.partition(), resume);
            } else if (!movedInside(tp, position, s, last)) {
                // Out of range a moment ago, inside now: there is nothing better to go by.
                LOG.warn(
                        "Kafka said position {} of {} was out of range, but its log now holds"
                                + " {}..{}; reading on from {}",
                        position,
                        tp,
                        s,
                        last,
                        position);
                consumer.seek(tp, position);
            }
        }
    }

    /**
     * Moves {@code at} into the log when it is outside, saying so.
     *
     * @return whether it was outside
     */
    private boolean movedInside(TopicPartition tp, long at, long start, long end) {
        if (at > end) {
            long n = at - end;
            lost.addAndGet(n);
            LOG.warn(
                    "Kafka lost {} alert records this service had applied on {}, probably a crash"
                            + " of its broker; resuming at {}, the log's end (the journal's"
                            + " position {})",
                    n,
                    tp,
                    end,
                    at);
            consumer.seek(tp, end);
            store.resume(tp.partition(), end);
            return true;
        }
        if (at < start) {
            long n = start - at;
            deletedUnread.addAndGet(n);
            LOG.warn(
                    "Kafka deleted {} alert records on {} before this service read them (its"
                            + " retention); resuming at {}, the log's start (the journal's position"
                            + " {})",
                    n,
                    tp,
                    start,
                    at);
            consumer.seek(tp, start);
            store.resume(tp.partition(), start);
            return true;
        }
        return false;
    }
}
