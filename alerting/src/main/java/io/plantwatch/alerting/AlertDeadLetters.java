package io.plantwatch.alerting;

import io.plantwatch.model.DeadLetters;
import io.plantwatch.model.Parsed;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Records of the alerts topic that are not alert events, kept in the DLQ ({@link DeadLetters})
 * before the journal records a position past them. A record's partition is paused and set back to
 * it while its own thread sends it, so the service's loop never waits on the DLQ: the other
 * partitions and the notifications go on. Once Kafka acknowledges it (or refuses it for itself),
 * the partition reads on after it; while the DLQ cannot take it (Kafka away, the topic missing, no
 * permission), the partition waits at it and it is tried again every {@link #RETRY_MILLIS}. A stop
 * meanwhile leaves the journal before it, so the next start reads it again.
 */
final class AlertDeadLetters implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(AlertDeadLetters.class);
    static final long RETRY_MILLIS = 5_000;

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

    /** Only on {@link #sender}'s thread, until {@link #close}. */
    private DeadLetters letters;

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
            AtomicLong undecodable,
            AtomicLong holds) {
        this.config = config;
        this.consumer = consumer;
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
        consumer.seek(tp, r.offset());
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
                                    + " every {} s",
                            e.getKey(),
                            r.offset(),
                            h.why().message(),
                            lastFailure,
                            RETRY_MILLIS / 1000);
                }
                e.setValue(new Held(r, h.why(), null, now + RETRY_MILLIS));
                continue;
            }
            consumer.seek(e.getKey(), r.offset() + 1);
            consumer.resume(List.of(e.getKey()));
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
        if (letters == null) {
            letters =
                    new DeadLetters(
                            config.kafkaBootstrap(),
                            producerLogin(config),
                            config.dlqTopic(),
                            "alerting");
        }
        long refusedBefore = letters.refused();
        try {
            letters.keep(r, why.reason(), why.detail());
            letters.awaitKept();
            return letters.refused() > refusedBefore ? Outcome.REFUSED : Outcome.KEPT;
        } catch (RuntimeException e) {
            lastFailure = e.getMessage();
            // A failed DeadLetters stays failed: the next try needs one of its own.
            letters.close();
            letters = null;
            return Outcome.FAILED;
        }
    }

    /**
     * The consumer's login and encryption settings, which the DLQ's producer needs too; not its
     * other settings (an interceptor, a client id), which are the consumer's.
     */
    private static Properties producerLogin(AlertingConfig c) {
        Properties p = new Properties();
        c.kafkaConsumer()
                .values()
                .forEach(
                        (k, v) -> {
                            if (k.startsWith("security.")
                                    || k.startsWith("sasl.")
                                    || k.startsWith("ssl.")) {
                                p.setProperty(k, v);
                            }
                        });
        return p;
    }

    @Override
    public void close() {
        sender.shutdownNow();
        try {
            sender.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (letters != null) {
            letters.close();
        }
    }
}
