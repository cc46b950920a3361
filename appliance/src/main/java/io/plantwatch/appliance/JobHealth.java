package io.plantwatch.appliance;

import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.flink.api.common.JobID;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.Metric;
import org.apache.flink.metrics.MetricConfig;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.reporter.MetricReporter;
import org.apache.flink.metrics.reporter.MetricReporterFactory;

/**
 * Flink's counts of the local job's restarts and checkpoints, read in this JVM. Polling the job's
 * status misses most restarts: between two backoffs a failing job runs for a fraction of a second.
 * Kept per job: a job that replaces another (a changed file) starts while the old one's metrics may
 * still be registered, and the old one's restarts are not the new one's.
 */
public final class JobHealth implements MetricReporter {
    static final String NAME = "plantwatch-job-health";
    static final String RESTARTS = "numRestarts";
    static final String FAILED_CHECKPOINTS = "numberOfFailedCheckpoints";
    static final String COMPLETED_CHECKPOINTS = "numberOfCompletedCheckpoints";
    private static final Map<String, Gauge<?>> GAUGES = new ConcurrentHashMap<>();

    /** Restarts of {@code job} so far; 0 before it registered its metrics. */
    static long restarts(JobID job) {
        return count(job, RESTARTS);
    }

    /** Checkpoints of {@code job} that failed so far. */
    static long failedCheckpoints(JobID job) {
        return count(job, FAILED_CHECKPOINTS);
    }

    /** Checkpoints of {@code job} completed so far. */
    static long completedCheckpoints(JobID job) {
        return count(job, COMPLETED_CHECKPOINTS);
    }

    private static long count(JobID job, String name) {
        Gauge<?> g = GAUGES.get(job + "/" + name);
        return g != null && g.getValue() instanceof Number n ? n.longValue() : 0;
    }

    private static String key(String name, MetricGroup group) {
        return group.getAllVariables().get("<job_id>") + "/" + name;
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
            GAUGES.put(key(name, group), g);
        }
    }

    @Override
    public void notifyOfRemovedMetric(Metric metric, String name, MetricGroup group) {
        if (metric instanceof Gauge<?> g) {
            GAUGES.remove(key(name, group), g);
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
