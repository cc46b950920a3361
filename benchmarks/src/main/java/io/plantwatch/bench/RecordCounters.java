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
 * Flink's own record counters of every operator ({@code numRecordsIn}, {@code numRecordsOut}), read
 * in this JVM. The benchmark polled the source's through the REST API before: every poll had the
 * TaskManager serialize every metric of the job, the Kafka clients' included, which took 6-8 % of
 * the CPU while (b) was being measured (async-profiler), more for (b)'s many operators than for
 * (a).
 */
public final class RecordCounters implements MetricReporter {
    private record Registered(String operator, String name, Counter counter) {}

    private static final Map<String, List<Registered>> BY_JOB = new ConcurrentHashMap<>();

    /** The records the sources of job {@code jobName} have emitted so far, over all subtasks. */
    static long sourceRecordsOut(String jobName) {
        return sum(jobName, "Source", "numRecordsOut");
    }

    /** The records into the operators whose name starts with {@code operator}, over subtasks. */
    static long recordsIn(String jobName, String operator) {
        return sum(jobName, operator, "numRecordsIn");
    }

    private static long sum(String jobName, String operator, String name) {
        long sum = 0;
        for (Registered r : BY_JOB.getOrDefault(jobName, List.of())) {
            if (r.name.equals(name) && r.operator.startsWith(operator)) {
                sum += r.counter.getCount();
            }
        }
        return sum;
    }

    @Override
    public void open(MetricConfig config) {}

    @Override
    public void close() {}

    @Override
    public void notifyOfAddedMetric(Metric metric, String name, MetricGroup group) {
        Map<String, String> variables = group.getAllVariables();
        String operator = variables.get("<operator_name>");
        String job = variables.get("<job_name>");
        if (operator != null
                && job != null
                && metric instanceof Counter counter
                && (name.equals("numRecordsIn") || name.equals("numRecordsOut"))) {
            BY_JOB.computeIfAbsent(job, j -> new CopyOnWriteArrayList<>())
                    .add(new Registered(operator, name, counter));
        }
    }

    @Override
    public void notifyOfRemovedMetric(Metric metric, String name, MetricGroup group) {
        String job = group.getAllVariables().get("<job_name>");
        if (job != null) {
            BY_JOB.computeIfPresent(
                    job,
                    (j, counters) -> {
                        counters.removeIf(r -> r.counter == metric);
                        return counters.isEmpty() ? null : counters;
                    });
        }
    }

    /** Named by {@code metrics.reporter.<name>.factory.class}; found on the class path. */
    public static final class Factory implements MetricReporterFactory {
        @Override
        public MetricReporter createMetricReporter(Properties properties) {
            return new RecordCounters();
        }
    }
}
