package io.plantwatch.appliance;

import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.Metric;
import org.apache.flink.metrics.MetricConfig;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.reporter.MetricReporter;
import org.apache.flink.metrics.reporter.MetricReporterFactory;

/**
 * Flink's counts of the local job's restarts and checkpoints, read in this JVM. Polling the job's
 * status misses most restarts: between two backoffs a failing job runs for a fraction of a second.
 * The appliance runs one job, so one of each count.
 */
public final class JobHealth implements MetricReporter {
    static final String NAME = "plantwatch-job-health";
    static final String RESTARTS = "numRestarts";
    static final String FAILED_CHECKPOINTS = "numberOfFailedCheckpoints";
    static final String COMPLETED_CHECKPOINTS = "numberOfCompletedCheckpoints";
    private static final Map<String, Gauge<?>> GAUGES = new ConcurrentHashMap<>();

    /** Restarts of the running job so far; 0 before it registered its metrics. */
    static long restarts() {
        return count(RESTARTS);
    }

    /** Checkpoints that failed so far. */
    static long failedCheckpoints() {
        return count(FAILED_CHECKPOINTS);
    }

    /** Checkpoints completed so far. */
    static long completedCheckpoints() {
        return count(COMPLETED_CHECKPOINTS);
    }

    private static long count(String name) {
        Gauge<?> g = GAUGES.get(name);
        return g != null && g.getValue() instanceof Number n ? n.longValue() : 0;
    }

    @Override
    public void open(MetricConfig config) {}

    @Override
    public void close() {}

    @Override
    public void notifyOfAddedMetric(Metric metric, String name, MetricGroup group) {
        if ((name.equals(RESTARTS)
                        || name.equals(FAILED_CHECKPOINTS)
                        || name.equals(COMPLETED_CHECKPOINTS))
                && metric instanceof Gauge<?> g) {
            GAUGES.put(name, g);
        }
    }

    @Override
    public void notifyOfRemovedMetric(Metric metric, String name, MetricGroup group) {
        if (metric instanceof Gauge<?> g) {
            GAUGES.remove(name, g);
        }
    }

    /** Named by {@code metrics.reporter.<name>.factory.class}; found on the class path. */
    public static final class Factory implements MetricReporterFactory {
        @Override
        public MetricReporter createMetricReporter(Properties properties) {
            return new JobHealth();
        }
    }
}
