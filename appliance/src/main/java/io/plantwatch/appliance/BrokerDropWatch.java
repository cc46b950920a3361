package io.plantwatch.appliance;

import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Says on the console when the embedded MQTT broker drops messages, and when it has stopped. While
 * the gateway takes nothing (it restarts, Kafka is away or slow, the job restores), HiveMQ keeps
 * its readings in the gateway's session up to {@code mqtt.max-queue-size}, then drops every newer
 * one and still acknowledges it to the sensor: no error anywhere, only a gap in the job's
 * completeness reports. 10,000 sensors at 1 Hz fill the default 100,000 in 10 s.
 *
 * <p>One warning when drops begin, one line when none came for {@code quietChecks} checks: a queue
 * that fills again as soon as the gateway takes a batch drops in bursts, and a line per burst would
 * bury the console.
 */
final class BrokerDropWatch {
    private static final Logger LOG = LoggerFactory.getLogger(BrokerDropWatch.class);

    /** The gateway's {@code /metrics} name of the count, as {@link Appliance} registers it. */
    static final String METRIC = "plantwatch_mqtt_broker_dropped_total";

    private final LongSupplier dropped;
    private final long maxQueueSize;
    private final int quietChecks;
    private final long periodMillis;
    private long seen;
    private long episodeStart = -1;
    private int quiet;

    /** The episode under way, for a pipeline alert; null between episodes. */
    private volatile String problem;

    /**
     * @param dropped the broker's count of dropped messages since it was built, from 0
     * @param maxQueueSize the broker's queue per client, for the warning
     * @param periodMillis the time between two checks, for the lines that say how long
     * @param quietChecks checks in a row without a new drop that end an episode
     */
    BrokerDropWatch(LongSupplier dropped, long maxQueueSize, long periodMillis, int quietChecks) {
        this.dropped = dropped;
        this.maxQueueSize = maxQueueSize;
        this.periodMillis = periodMillis;
        this.quietChecks = quietChecks;
    }

    /** Checks once: warns when drops begin, and says when an episode of them has ended. */
    void check() {
        long now = dropped.getAsLong();
        if (now > seen) {
            if (episodeStart < 0) {
                episodeStart = seen;
                // HiveMQ's count has every reason in one; a full queue is the one a subscriber
                // that keeps a session runs into, and the only one a setting here changes.
                LOG.warn(
                        "The MQTT broker drops messages, and tells no client: {} so far. Most"
                                + " likely a subscriber's queue is full at mqtt.max-queue-size ({}"
                                + " messages): the gateway's, while it restarts or Kafka is away or"
                                + " slow, and every newer reading for it is lost. Raise"
                                + " mqtt.max-queue-size in the appliance's settings to readings"
                                + " per second times the outage to ride out; the gateway's"
                                + " /metrics counts them as {}",
                        now - episodeStart,
                        maxQueueSize,
                        METRIC);
            }
            seen = now;
            quiet = 0;
            problem =
                    "The MQTT broker drops readings and tells no client: "
                            + (seen - episodeStart)
                            + " so far. Most likely the gateway's queue is full at"
                            + " mqtt.max-queue-size ("
                            + maxQueueSize
                            + " messages) while the gateway restarts or Kafka is away or slow;"
                            + " raise it to readings per second times the outage to ride out.";
        } else if (episodeStart >= 0 && ++quiet >= quietChecks) {
            LOG.warn(
                    "The MQTT broker stopped dropping messages: {} dropped in this episode, {}"
                            + " since the start; none for {} s",
                    seen - episodeStart,
                    seen,
                    quietChecks * periodMillis / 1000);
            episodeStart = -1;
            quiet = 0;
            problem = null;
        }
    }

    /** The drops under way, one sentence; null when none came for the quiet checks. */
    String problem() {
        return problem;
    }

    /** Checks every period until interrupted. */
    Thread watch() {
        return Periodic.every(
                "mqtt-drop-watch",
                periodMillis,
                () -> {
                    check();
                    return true;
                });
    }
}
