package io.plantwatch.model;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.InvalidRecordException;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Kafka records a consumer cannot take, kept in a dead-letter topic as they came (key, value,
 * headers) with the {@code dlq.*} headers saying why, where they were read and who rejected them,
 * stamped with the time of the rejection. Their source topic is no place to keep them: its
 * retention, or the appliance's disk reclaim, deletes them with the readings around them.
 *
 * <p>At least once: a caller waits in {@link #awaitKept} before it records a position past a
 * rejected record (a Flink source's checkpoint, a service's stored offset). When a record could not
 * be written (Kafka away, the topic missing, no permission to write it) that wait fails, and stays
 * failed: the caller must not move on. It reads the record again from its last position (the job's
 * restore), or holds its position at the record and gives it again after {@link #retry} (alerting).
 * A record Kafka refuses for itself and would refuse again (larger than the topic takes, invalid)
 * is counted in {@link #refused} and logged with its source position instead: failing over it would
 * stop the consumer on one record for good.
 *
 * <p>Its producer starts with the first rejected record, so a consumer that never rejects one opens
 * no second connection.
 */
public final class DeadLetters implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(DeadLetters.class);
    private static final AtomicLong INSTANCES = new AtomicLong();

    private final Properties producerProperties;
    private final String topic;
    private final byte[] rejectedBy;
    private KafkaProducer<byte[], byte[]> producer;
    private final AtomicLong kept = new AtomicLong();
    private final AtomicLong refused = new AtomicLong();
    private final AtomicReference<Exception> failed = new AtomicReference<>();

    /** When a failure to keep was last logged: once a minute, over {@link #retry}s too. */
    private final AtomicLong lastFailureLogged = new AtomicLong(Long.MIN_VALUE / 2);

    /**
     * @param producerOverrides the consumer's own producer settings (login, TLS), applied last
     * @param rejectedBy who rejects, in the {@link Topics#HEADER_REJECTED_BY} header
     */
    public DeadLetters(
            String bootstrap, Properties producerOverrides, String topic, String rejectedBy) {
        this.topic = topic;
        this.rejectedBy = rejectedBy.getBytes(StandardCharsets.UTF_8);
        Properties p = new Properties();
        p.setProperty("bootstrap.servers", bootstrap);
        // One per instance: subtasks in one JVM would otherwise share a client id and its MBean.
        p.setProperty(
                "client.id", "plantwatch-dlq-" + rejectedBy + "-" + INSTANCES.incrementAndGet());
        p.setProperty("acks", "all");
        p.setProperty("enable.idempotence", "true");
        p.setProperty("compression.type", "lz4");
        p.setProperty("linger.ms", "5");
        // The caller's thread waits in send() for the topic's metadata: a missing topic or an
        // absent Kafka must fail the wait soon (Kafka's default is a minute), not hold a Flink
        // task or alerting's sender thread for long.
        p.setProperty("max.block.ms", "10000");
        p.setProperty("request.timeout.ms", "10000");
        p.setProperty("delivery.timeout.ms", "30000");
        p.putAll(producerOverrides);
        // Kafka refuses a delivery timeout below the request timeout plus the linger: a plant's
        // longer request timeout must not make this producer impossible to start.
        long floor =
                Long.parseLong(p.getProperty("request.timeout.ms").trim())
                        + Long.parseLong(p.getProperty("linger.ms").trim());
        if (Long.parseLong(p.getProperty("delivery.timeout.ms").trim()) < floor) {
            p.setProperty("delivery.timeout.ms", Long.toString(floor));
        }
        this.producerProperties = p;
    }

    public String topic() {
        return topic;
    }

    /** Records Kafka acknowledged. */
    public long kept() {
        return kept.get();
    }

    /** Records Kafka refused for good; each was logged with its source position. */
    public long refused() {
        return refused.get();
    }

    /**
     * Sends {@code record} to the dead-letter topic; {@link #awaitKept} tells whether it arrived.
     *
     * @param detail the rejection in words, for the {@link Topics#HEADER_DETAIL} header
     */
    public void keep(ConsumerRecord<byte[], byte[]> record, RejectReason reason, String detail) {
        if (failed.get() != null) {
            // Read again from the last position anyway; another send would only wait out
            // max.block.ms on a missing topic.
            return;
        }
        RecordHeaders headers = new RecordHeaders(record.headers().toArray());
        headers.add(Topics.HEADER_SOURCE_TOPIC, utf8(record.topic()));
        headers.add(Topics.HEADER_SOURCE_PARTITION, utf8(Integer.toString(record.partition())));
        headers.add(Topics.HEADER_SOURCE_OFFSET, utf8(Long.toString(record.offset())));
        headers.add(Topics.HEADER_REASON, utf8(reason.code()));
        headers.add(Topics.HEADER_DETAIL, utf8(detail));
        headers.add(Topics.HEADER_REJECTED_BY, rejectedBy);
        headers.add(Topics.HEADER_RECEIVED_AT, utf8(Long.toString(System.currentTimeMillis())));
        ProducerRecord<byte[], byte[]> letter =
                new ProducerRecord<>(
                        topic,
                        null,
                        // Stamped now, as the gateway's: the DLQ's retention counts from the
                        // rejection, not from when a late reader came to the record.
                        null,
                        record.key(),
                        record.value(),
                        headers);
        try {
            producer().send(letter, (m, e) -> done(record, e));
        } catch (KafkaException e) {
            done(record, e);
        }
    }

    /**
     * Waits until every record given to {@link #keep} so far is acknowledged or refused for good.
     *
     * @throws DeadLetterException when one could not be written for now; every later wait throws it
     *     too
     */
    public void awaitKept() {
        if (producer != null) {
            producer.flush();
        }
        Exception e = failed.get();
        if (e != null) {
            throw new DeadLetterException(
                    "could not keep rejected records in Kafka topic "
                            + topic
                            + " ("
                            + e
                            + "); they are read again from the last position. Is the topic"
                            + " there, and Kafka?",
                    e);
        }
    }

    /**
     * Clears a failure to keep, with the producer that had it, so that the records not kept can be
     * given again: for a caller that holds its position itself rather than reading them again.
     */
    public void retry() {
        try {
            close();
        } finally {
            failed.set(null);
        }
    }

    private void done(ConsumerRecord<byte[], byte[]> record, Exception e) {
        if (e == null) {
            kept.incrementAndGet();
        } else if (!refusedForGood(e)) {
            if (failed.compareAndSet(null, e)
                    && !(e instanceof InterruptException)
                    && aMinuteSinceLastFailureLogged()) {
                LOG.error(
                        "Cannot keep the rejected record at {}-{} offset {} in {} ({}): it is read"
                                + " again from the last position once the DLQ takes records",
                        record.topic(),
                        record.partition(),
                        record.offset(),
                        topic,
                        e.toString());
            }
        } else {
            long n = refused.incrementAndGet();
            // One line per thousand: a flood of records Kafka refuses would flood the log.
            if (n % 1000 == 1) {
                LOG.error(
                        "Kafka refused to keep the rejected record at {}-{} offset {} in {} ({},"
                                + " {} so far); it is only in its source topic until that"
                                + " topic's retention deletes it",
                        record.topic(),
                        record.partition(),
                        record.offset(),
                        topic,
                        e.toString(),
                        n);
            }
        }
    }

    /** Whether a minute has passed since a failure was last logged; if so, now it is. */
    private boolean aMinuteSinceLastFailureLogged() {
        long now = System.currentTimeMillis();
        long before = lastFailureLogged.get();
        return now - before >= 60_000 && lastFailureLogged.compareAndSet(before, now);
    }

    /**
     * Whether Kafka refuses this one record and would refuse it again: only errors of the record
     * itself. A missing permission, a failed login or a bad setting refuses every record, and is a
     * failure to keep them, not a refusal of one.
     */
    private static boolean refusedForGood(Exception e) {
        return e instanceof RecordTooLargeException
                || e instanceof InvalidRecordException
                || e instanceof SerializationException;
    }

    private KafkaProducer<byte[], byte[]> producer() {
        if (producer == null) {
            producer =
                    new KafkaProducer<>(
                            producerProperties,
                            new ByteArraySerializer(),
                            new ByteArraySerializer());
        }
        return producer;
    }

    @Override
    public void close() {
        KafkaProducer<byte[], byte[]> p = producer;
        producer = null;
        if (p != null) {
            p.close(Duration.ofSeconds(5));
        }
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** Rejected records could not be kept for now; the consumer must not move past them. */
    public static final class DeadLetterException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        DeadLetterException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
