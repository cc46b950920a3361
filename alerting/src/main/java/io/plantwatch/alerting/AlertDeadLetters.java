package io.plantwatch.alerting;

import io.plantwatch.model.DeadLetters;
import io.plantwatch.model.KafkaClientSettings;
import io.plantwatch.model.Parsed;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Records of the alerts topic that are not alert events, kept in the DLQ ({@link DeadLetters})
 * before the journal records a position past them. A record's partition is paused and set back to
 * it while its own thread sends it, so the service's loop never waits on the DLQ: the other
 * partitions and the notifications go on. Once Kafka acknowledges it (or refuses it for itself),
 * the partition reads on after it; while the DLQ cannot take it (Kafka away, the topic missing, no
 * permission), the partition waits at it and it is tried again {@link #RETRY_MILLIS} after each
 * failed try (which itself waits up to 10 s for a missing topic). A kept record's position is
 * journaled, so a start does not keep it again; a stop while it waits leaves the journal before it,
 * so the next start reads it again.
 */
final class AlertDeadLetters implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(AlertDeadLetters.class);
    private static final long RETRY_MILLIS = 5_000;

    private enum Outcome {
        KEPT,
        REFUSED,
        FAILED
    }

    /** A held partition's record; {@code outcome} null while it waits for its next try. */
    private record Held(
            ConsumerRecord<byte[], byte[]> record,
            Parsed.Rejected<?> why,
            Future<Outcome> outcome,
            long retryAt) {}

    private final AlertingConfig config;
    private final Consumer<byte[], byte[]> consumer;
    private final AlertStore store;
    private final AtomicLong undecodable;
    private final AtomicLong holds;
    private final Map<TopicPartition, Held> held = new HashMap<>();
    private final ExecutorService sender =
            Executors.newSingleThreadExecutor(
                    r -> {
                        Thread t = new Thread(r, "alerting-dlq");
                        t.setDaemon(true);
                        return t;
                    });

    private final DeadLetters letters;

    /** What the last failed try said, for the loop's log line. */
    private volatile String lastFailure;

    private long lastLogged = -60_000;

    /**
     * @param undecodable counts the records kept or refused for themselves
     * @param holds counts the tries that failed
     */
    AlertDeadLetters(
            AlertingConfig config,
            Consumer<byte[], byte[]> consumer,
            AlertStore store,
            AtomicLong undecodable,
            AtomicLong holds) {
        this.config = config;
        this.consumer = consumer;
        this.store = store;
        // Its producer starts with the first record to keep, on the sender's thread.
        this.letters =
                new DeadLetters(
                        config.kafkaBootstrap(),
                        // The consumer's login: the DLQ's producer is the same user.
                        KafkaClientSettings.login(config.kafkaConsumer().values()),
                        config.dlqTopic(),
                        "alerting");
        this.undecodable = undecodable;
        this.holds = holds;
    }

    /** Whether {@code r}'s partition waits at an earlier record: it is read again after that. */
    boolean holds(ConsumerRecord<byte[], byte[]> r) {
        return !held.isEmpty() && held.containsKey(new TopicPartition(r.topic(), r.partition()));
    }

    /** Holds {@code r}'s partition at {@code r} and starts keeping it. */
    void hold(ConsumerRecord<byte[], byte[]> r, Parsed.Rejected<?> why) {
        TopicPartition tp = new TopicPartition(r.topic(), r.partition());
        consumer.pause(List.of(tp));
        consumer.seek(tp, at(r.offset(), r));
        held.put(tp, new Held(r, why, sender.submit(() -> keep(r, why)), 0));
    }

    /** Releases the partitions whose record is kept; tries again those that are due. */
    void settle(long now) {
        for (Iterator<Map.Entry<TopicPartition, Held>> it = held.entrySet().iterator();
                it.hasNext(); ) {
            Map.Entry<TopicPartition, Held> e = it.next();
            Held h = e.getValue();
            ConsumerRecord<byte[], byte[]> r = h.record();
            if (h.outcome() == null) {
                if (now >= h.retryAt()) {
                    e.setValue(new Held(r, h.why(), sender.submit(() -> keep(r, h.why())), 0));
                }
                continue;
            }
            if (!h.outcome().isDone()) {
                continue;
            }
            Outcome o = outcome(h.outcome());
            if (o == Outcome.FAILED) {
                holds.incrementAndGet();
                // Once a minute: a DLQ that stays away would otherwise log at every try.
                if (now - lastLogged >= 60_000) {
                    lastLogged = now;
                    LOG.error(
                            "Alerting holds {} at offset {}: the record there is not an alert"
                                    + " event ({}), and {}. Its later alerts wait; tried again"
                                    + " {} s after each failed try",
                            e.getKey(),
                            r.offset(),
                            h.why().message(),
                            lastFailure,
                            RETRY_MILLIS / 1000);
                }
                e.setValue(new Held(r, h.why(), null, now + RETRY_MILLIS));
                continue;
            }
            consumer.seek(e.getKey(), at(r.offset() + 1, r));
            consumer.resume(List.of(e.getKey()));
            // Else a record with no alert event after it would be kept again at every start.
            store.resume(r.partition(), r.offset() + 1, r.leaderEpoch());
            it.remove();
            undecodable.incrementAndGet();
            LOG.warn(
                    "Skipped an undecodable record at {}-{}@{}: {}; {}",
                    r.topic(),
                    r.partition(),
                    r.offset(),
                    h.why().message(),
                    o == Outcome.KEPT
                            ? "kept in " + config.dlqTopic()
                            : "Kafka refused to keep it in " + config.dlqTopic());
        }
    }

    /** {@code offset} with {@code r}'s leader epoch, so that a truncated log is found. */
    private static OffsetAndMetadata at(long offset, ConsumerRecord<byte[], byte[]> r) {
        return new OffsetAndMetadata(offset, r.leaderEpoch(), "");
    }

    private static Outcome outcome(Future<Outcome> f) {
        try {
            return f.get();
        } catch (ExecutionException e) {
            return Outcome.FAILED;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Outcome.FAILED;
        }
    }

    /** On {@link #sender}'s thread. */
    private Outcome keep(ConsumerRecord<byte[], byte[]> r, Parsed.Rejected<?> why) {
        long refusedBefore = letters.refused();
        try {
            letters.keep(r, why.reason(), why.detail());
            letters.awaitKept();
            return letters.refused() > refusedBefore ? Outcome.REFUSED : Outcome.KEPT;
        } catch (RuntimeException e) {
            lastFailure = e.getMessage();
            // The partition waits at the record, so it is given again at the next try.
            letters.retry();
            return Outcome.FAILED;
        }
    }

    @Override
    public void close() {
        sender.shutdownNow();
        try {
            if (!sender.awaitTermination(2, TimeUnit.SECONDS)) {
                // Still in a Kafka call that ignored the interrupt: closing the producer under
                // it would race; the daemon thread ends with it.
                LOG.warn("Alerting's DLQ sender did not stop within 2 s; left to end on its own");
                return;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        letters.close();
    }
}
