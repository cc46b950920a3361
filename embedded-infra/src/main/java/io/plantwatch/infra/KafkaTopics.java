package io.plantwatch.infra;

import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.errors.RetriableException;

/**
 * Waits for new topics to take records, on any Kafka cluster.
 *
 * <p>A topic the controller has created is not yet writable: each partition's leader has still to
 * apply the creation. An idempotent producer with several requests in flight that writes at once
 * can have its first request refused (NOT_LEADER_OR_FOLLOWER) and a later one accepted, since up to
 * Kafka 4.4 a broker takes any first sequence number from a producer it does not know. Every retry
 * of the first request then fails with OUT_OF_ORDER_SEQUENCE_NUMBER until the delivery timeout
 * (KAFKA-15591, fixed in Kafka 4.5): a producer that gives up loses those records, and the edge
 * gateway, which never gives up, would hold its MQTT acknowledgements behind them for good. Seen
 * here in 4 of 24 topics written within milliseconds of their creation, with the gateway's producer
 * settings. A partition that answers a ListOffsets request from its leader takes produce requests.
 */
public final class KafkaTopics {
    private KafkaTopics() {}

    /**
     * Returns once every partition of {@code topics} has a leader that serves it.
     *
     * @throws TimeoutException when that takes longer than {@code timeout}
     */
    public static void awaitWritable(Admin admin, Collection<String> topics, Duration timeout)
            throws InterruptedException, TimeoutException {
        long deadline = System.nanoTime() + timeout.toNanos();
        Throwable last = null;
        while (System.nanoTime() - deadline < 0) {
            long left = Math.max(1, (deadline - System.nanoTime()) / 1_000_000);
            try {
                Map<String, TopicDescription> descriptions =
                        admin.describeTopics(topics)
                                .allTopicNames()
                                .get(left, TimeUnit.MILLISECONDS);
                Map<TopicPartition, OffsetSpec> partitions = new HashMap<>();
                boolean led = true;
                for (TopicDescription d : descriptions.values()) {
                    for (TopicPartitionInfo p : d.partitions()) {
                        led &= p.leader() != null && !p.leader().isEmpty();
                        partitions.put(
                                new TopicPartition(d.name(), p.partition()), OffsetSpec.latest());
                    }
                }
                if (led) {
                    admin.listOffsets(partitions).all().get(left, TimeUnit.MILLISECONDS);
                    return;
                }
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof RetriableException)) {
                    throw new IllegalStateException(
                            "Kafka topics " + topics + " are not usable", e.getCause());
                }
                last = e.getCause();
            } catch (TimeoutException e) {
                last = e;
            }
            Thread.sleep(50);
        }
        throw new TimeoutException(
                "Kafka topics "
                        + topics
                        + " do not take records after "
                        + timeout
                        + (last == null ? "" : " (" + last + ")"));
    }
}
