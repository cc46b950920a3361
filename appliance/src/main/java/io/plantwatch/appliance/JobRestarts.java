package io.plantwatch.appliance;

import java.util.Properties;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.Metric;
import org.apache.flink.metrics.MetricConfig;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.reporter.MetricReporter;
import org.apache.flink.metrics.reporter.MetricReporterFactory;

/**
 * Flink's count of the local job's restarts ({@code numRestarts}), read in this JVM. Polling the
 * job's status misses most restarts: between two backoffs a failing job runs for a fraction of a
 * second. The appliance runs one job, so one count.
 */
public final class JobRestarts implements MetricReporter {
    static final String NAME = "plantwatch-restarts";
    private static final AtomicReference<Gauge<?>> RESTARTS = new AtomicReference<>();

    /** Restarts of the running job so far; 0 before it registered its metrics. */
    static long count() {
        Gauge<?> g = RESTARTS.get();
        return g != null && g.getValue() instanceof Number n ? n.longValue() : 0;
    }

    @Override
    public void open(MetricConfig config) {}

    @Override
    public void close() {}

    @Override
    public void notifyOfAddedMetric(Metric metric, String name, MetricGroup group) {
        if (name.equals("numRestarts") && metric instanceof Gauge<?> g) {
            RESTARTS.set(g);
        }
    }

    @Override
    public void notifyOfRemovedMetric(Metric metric, String name, MetricGroup group) {
        RESTARTS.compareAndSet(metric instanceof Gauge<?> g ? g : null, null);
    }

    /** Named by {@code metrics.reporter.<name>.factory.class}; found on the class path. */
    public static final class Factory implements MetricReporterFactory {
        @Override
        public MetricReporter createMetricReporter(Properties properties) {
            return new JobRestarts();
        }
    }
}
