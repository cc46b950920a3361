package io.plantwatch.bench;

import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Metric;
import org.apache.flink.metrics.MetricConfig;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.reporter.MetricReporter;
import org.apache.flink.metrics.reporter.MetricReporterFactory;

/**
 * Flink's own count of the records each job's sources emitted ({@code numRecordsOut}), read in this
 * JVM. The benchmark polled it through the REST API before: every poll had the TaskManager
 * serialize every metric of the job, the Kafka clients' included, which took 6-8 % of the CPU while
 * (b) was being measured (async-profiler), more for (b)'s many operators than for (a).
 */
public final class SourceCounters implements MetricReporter {
    private static final Map<String, List<Counter>> BY_JOB = new ConcurrentHashMap<>();

    /** The records the sources of job {@code jobName} have emitted so far, over all subtasks. */
    static long recordsOut(String jobName) {
        long sum = 0;
        for (Counter c : BY_JOB.getOrDefault(jobName, List.of())) {
            sum += c.getCount();
        }
        return sum;
    }

    @Override
    public void open(MetricConfig config) {}

    @Override
    public void close() {}

    @Override
    public void notifyOfAddedMetric(Metric metric, String name, MetricGroup group) {
        String job = sourceJob(name, group);
        if (job != null && metric instanceof Counter counter) {
            BY_JOB.computeIfAbsent(job, j -> new CopyOnWriteArrayList<>()).add(counter);
        }
    }

    @Override
    public void notifyOfRemovedMetric(Metric metric, String name, MetricGroup group) {
        String job = sourceJob(name, group);
        if (job != null) {
            BY_JOB.computeIfPresent(
                    job,
                    (j, counters) -> {
                        counters.remove(metric);
                        return counters.isEmpty() ? null : counters;
                    });
        }
    }

    /** The job of a source operator's numRecordsOut, else null. */
    private static String sourceJob(String name, MetricGroup group) {
        if (!"numRecordsOut".equals(name)) {
            return null;
        }
        Map<String, String> variables = group.getAllVariables();
        String operator = variables.get("<operator_name>");
        return operator != null && operator.startsWith("Source")
                ? variables.get("<job_name>")
                : null;
    }

    /** Named by {@code metrics.reporter.<name>.factory.class}; found on the class path. */
    public static final class Factory implements MetricReporterFactory {
        @Override
        public MetricReporter createMetricReporter(Properties properties) {
            return new SourceCounters();
        }
    }
}
