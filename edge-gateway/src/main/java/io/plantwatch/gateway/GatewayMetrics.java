package io.plantwatch.gateway;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

/**
 * The gateway's Prometheus metrics, in a registry of its own (several gateways per JVM in tests).
 */
public final class GatewayMetrics {
    final PrometheusRegistry registry = new PrometheusRegistry();
    final Counter received;
    final Counter produced;
    final Counter dlq;
    final Counter kafkaRetries;
    final Counter producerRestarts;
    final Counter kafkaRefused;
    final Counter reconnects;
    final Counter skippedOnShutdown;
    final Histogram sendLatency;
    final Counter sparkplugMessages;
    final Counter sparkplugSkipped;
    final Counter sparkplugSequenceGaps;
    final Counter sparkplugRebirthRequests;
    final AtomicInteger inFlight = new AtomicInteger();
    final AtomicInteger mqttConnected = new AtomicInteger();

    /** The running bridge's, which each bridge sets as it starts. */
    volatile java.util.function.BooleanSupplier kafkaHealthy = () -> false;

    /** The running bridge's Sparkplug B edge nodes that are online (born, not dead). */
    volatile java.util.function.IntSupplier sparkplugNodesOnline = () -> 0;

    GatewayMetrics() {
        received =
                Counter.builder()
                        .name("plantwatch_gateway_received_total")
                        .help("MQTT messages received")
                        .register(registry);
        produced =
                Counter.builder()
                        .name("plantwatch_gateway_produced_total")
                        .help("Readings acknowledged by Kafka on the readings topic")
                        .register(registry);
        dlq =
                Counter.builder()
                        .name("plantwatch_gateway_dlq_total")
                        .help(
                                "Records written to the DLQ (a message, or its rejected part), by reject reason")
                        .labelNames("reason")
                        .register(registry);
        kafkaRetries =
                Counter.builder()
                        .name("plantwatch_gateway_kafka_send_retries_total")
                        .help("Kafka sends that failed and were tried again (nothing is dropped)")
                        .register(registry);
        producerRestarts =
                Counter.builder()
                        .name("plantwatch_gateway_kafka_producer_restarts_total")
                        .help(
                                "Kafka producers replaced because records waited longer than"
                                        + " kafka.producer-restart-after, or after Kafka refused"
                                        + " a record for a reason not its own (authorization);"
                                        + " their records were sent")
                        .register(registry);
        kafkaRefused =
                Counter.builder()
                        .name("plantwatch_gateway_kafka_refused_total")
                        .help(
                                "Records Kafka refused for good (e.g. larger than the topic"
                                        + " takes), sent to the DLQ instead, their value cut")
                        .register(registry);
        reconnects =
                Counter.builder()
                        .name("plantwatch_gateway_mqtt_reconnects_total")
                        .help("MQTT connections re-established after a loss")
                        .register(registry);
        skippedOnShutdown =
                Counter.builder()
                        .name("plantwatch_gateway_left_unacknowledged_total")
                        .help(
                                "Messages (or records of them) left unacknowledged at shutdown; the"
                                        + " broker redelivers the messages")
                        .register(registry);
        sendLatency =
                Histogram.builder()
                        .name("plantwatch_gateway_kafka_send_latency_seconds")
                        .help("From MQTT receive to Kafka acknowledgement")
                        .classicUpperBounds(
                                0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03,
                                0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
                        .register(registry);
        sparkplugMessages =
                Counter.builder()
                        .name("plantwatch_gateway_sparkplug_messages_total")
                        .help("Sparkplug B messages received, by message type (NBIRTH, DDATA, ...)")
                        .labelNames("type")
                        .register(registry);
        sparkplugSkipped =
                Counter.builder()
                        .name("plantwatch_gateway_sparkplug_metrics_skipped_total")
                        .help(
                                "Sparkplug B metrics that are not readings, by why: not_numeric"
                                        + " (a string, data set, template...), null, transient,"
                                        + " control (bdSeq, Node Control/...)")
                        .labelNames("why")
                        .register(registry);
        sparkplugSequenceGaps =
                Counter.builder()
                        .name("plantwatch_gateway_sparkplug_sequence_gaps_total")
                        .help(
                                "Sparkplug B messages whose seq was not the one after its edge"
                                        + " node's previous message: messages lost or reordered"
                                        + " before the gateway")
                        .register(registry);
        sparkplugRebirthRequests =
                Counter.builder()
                        .name("plantwatch_gateway_sparkplug_rebirth_requests_total")
                        .help(
                                "Rebirth requests (NCMD Node Control/Rebirth) sent to edge nodes"
                                        + " whose birth certificate the gateway lacked")
                        .register(registry);
        GaugeWithCallback.builder()
                .name("plantwatch_gateway_sparkplug_nodes_online")
                .help("Sparkplug B edge nodes born and not dead, as this gateway saw them")
                .callback(cb -> cb.call(sparkplugNodesOnline.getAsInt()))
                .register(registry);
        GaugeWithCallback.builder()
                .name("plantwatch_gateway_in_flight")
                .help(
                        "Records (readings and DLQ records) received and not yet acknowledged by Kafka")
                .callback(cb -> cb.call(inFlight.get()))
                .register(registry);
        GaugeWithCallback.builder()
                .name("plantwatch_gateway_mqtt_connected")
                .help("1 while connected to the MQTT broker")
                .callback(cb -> cb.call(mqttConnected.get()))
                .register(registry);
        GaugeWithCallback.builder()
                .name("plantwatch_gateway_kafka_healthy")
                .help(
                        "1 while Kafka acknowledges what the gateway sends, or answers it when"
                                + " there is nothing to send: /health's kafka field")
                .callback(cb -> cb.call(kafkaHealthy.getAsBoolean() ? 1 : 0))
                .register(registry);
    }

    /**
     * Adds a count kept outside the gateway to its {@code /metrics}, read at each scrape: a process
     * that runs the gateway beside other parts (the appliance, with its embedded MQTT broker) then
     * has one metrics endpoint.
     *
     * @param name a Prometheus counter name ending in {@code _total}
     */
    public void registerCounter(String name, String help, LongSupplier count) {
        CounterWithCallback.builder()
                .name(name)
                .help(help)
                .callback(cb -> cb.call(count.getAsLong()))
                .register(registry);
    }

    /**
     * Adds metrics kept outside the gateway, read at each scrape, as {@link #registerCounter} does
     * for one count: the appliance's job's metrics.
     */
    public void registerCollector(io.prometheus.metrics.model.registry.MultiCollector collector) {
        registry.register(collector);
    }

    /** Readings Kafka acknowledged so far. */
    public long produced() {
        return (long) produced.get();
    }

    /** MQTT messages received so far. */
    public long received() {
        return (long) received.get();
    }

    /**
     * A quantile of the receive-to-Kafka-ack latency in seconds, interpolated linearly inside its
     * histogram bucket; NaN before the first observation.
     */
    public double latencyQuantile(double q) {
        var points = sendLatency.collect().getDataPoints();
        if (points.isEmpty() || points.get(0).getCount() == 0) {
            return Double.NaN;
        }
        var buckets = points.get(0).getClassicBuckets();
        double rank = q * points.get(0).getCount();
        double seen = 0;
        double lower = 0;
        for (var bucket : buckets) {
            double count = bucket.getCount();
            if (seen + count >= rank && count > 0) {
                double upper =
                        Double.isInfinite(bucket.getUpperBound()) ? lower : bucket.getUpperBound();
                return lower + (upper - lower) * (rank - seen) / count;
            }
            seen += count;
            lower = bucket.getUpperBound();
        }
        return lower;
    }
}
